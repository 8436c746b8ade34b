"""The allow-list: every field a filter or ``order_by`` may name, and MLflow's spellings of them.

Nothing outside these tables ever reaches SQL as an identifier; user keys travel as bound
parameters.
"""

from __future__ import annotations

from localtrack.query.filter_ast import ATTRIBUTE, METRIC, PARAM, TAG

# Values a script set with ``run.summary[k] = v`` (and define_metric results): ``summary.best_acc``.
SUMMARY = "summary"

# Entity prefixes, as MLflow spells them.
PREFIXES = {
    "metric": METRIC, "metrics": METRIC,
    "param": PARAM, "params": PARAM, "parameter": PARAM, "parameters": PARAM,
    "tag": TAG, "tags": TAG,
    "summary": SUMMARY,
    "attribute": ATTRIBUTE, "attributes": ATTRIBUTE, "attr": ATTRIBUTE, "run": ATTRIBUTE,
}

# attribute name -> (column in the runs table, value type)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "id": ("id", "string"),
    "name": ("name", "string"),
    "project": ("project", "string"),
    "group": ("group", "string"),
    "parent": ("parent", "string"),
    "status": ("status", "status"),
    "created_at": ("created_at", "time"),
    "ended_at": ("ended_at", "time"),
    "duration": ("duration", "number"),
    "git_commit": ("git_commit", "string"),
    "git_branch": ("git_branch", "string"),
    "git_dirty": ("git_dirty", "bool"),
    "notes": ("notes", "string"),
}

# MLflow's attribute names and aliases -> ours.
ATTRIBUTE_ALIASES = {
    "run_id": "id",
    "run_name": "name", "run name": "name", "Run name": "name", "Run Name": "name",
    "start_time": "created_at", "created": "created_at", "Created": "created_at",
    "end_time": "ended_at",
    "experiment": "project",
    "parent_run_id": "parent", "parent_id": "parent",
    "description": "notes",
}

# MLflow system tags that name one of our attributes.
TAG_ALIASES = {
    "mlflow.runName": "name",
    "mlflow.parentRunId": "parent",
    "mlflow.source.git.commit": "git_commit",
    "mlflow.source.git.branch": "git_branch",
    "mlflow.note.content": "notes",
}

# Aggregates over a metric's history -> column of the metric summary table.
AGGREGATES = {"last": "last", "latest": "last", "min": "min", "max": "max", "mean": "mean", "avg": "mean",
              "count": "count", "step": "step"}

# metric summary columns that hold floats (NaN possible) vs integers
FLOAT_STATS = frozenset({"last", "min", "max", "mean"})


def attribute_name(key: str) -> str | None:
    """Our canonical attribute for ``key`` (MLflow spellings accepted), or None."""
    key = ATTRIBUTE_ALIASES.get(key, key)
    return key if key in ATTRIBUTES else None


def known_attributes() -> list[str]:
    return sorted({*ATTRIBUTES, *ATTRIBUTE_ALIASES})
