"""Comparing runs: which params differ, which way each metric should go, who wins.

Pure data in, pure data out (rows as the read API returns them: ``id``, ``name``,
``status``, flat ``params``, ``metrics`` of key -> {last, min, max, ...}), so the CLI, the
report and the Python API share one definition of "best".

Direction comes from the metric name's words (split on ``/ _ - .``, spaces and camelCase):
the last word that says something decides, so ``val/loss`` is minimised, ``val_accuracy``
maximised, and ``error_rate`` minimised. ``maximize``/``minimize`` override by exact key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["max", "min"]

LOWER_IS_BETTER = frozenset(
    {"loss", "error", "err", "time", "latency", "perplexity", "ppl", "mse", "mae", "rmse", "wer", "cer",
     "duration", "seconds", "regret", "cost"}
)
HIGHER_IS_BETTER = frozenset(
    {"acc", "accuracy", "f1", "auc", "precision", "recall", "score", "reward", "bleu", "rouge", "map",
     "iou", "dice", "throughput", "r2"}
)
_SPLIT = re.compile(r"[/_\-.\s]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def name_words(key: str) -> list[str]:
    """The lower-case words of a metric name: ``val/top1_accuracy`` -> val, top1, accuracy."""
    return [w.lower() for part in _SPLIT.split(key) for w in _CAMEL.split(part) if w]


def metric_direction(
    key: str, maximize: Iterable[str] = (), minimize: Iterable[str] = ()
) -> Direction | None:
    """``"max"``, ``"min"`` or None (unknown) for a metric; explicit choices win over words."""
    if key in set(maximize):
        return "max"
    if key in set(minimize):
        return "min"
    for word in reversed(name_words(key)):
        if word in LOWER_IS_BETTER:
            return "min"
        if word in HIGHER_IS_BETTER:
            return "max"
    return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def metric_value(row: Mapping[str, Any], key: str, which: str = "last") -> float | None:
    """One summary value (``last``/``min``/``max``/``mean``) of a run's metric, if it has one."""
    metrics = row.get("metrics") or {}
    entry = metrics.get(key)
    if isinstance(entry, Mapping):
        value = entry.get(which)
        if isinstance(value, str):  # manifests spell non-finite floats as strings
            return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(entry, (int, float)) and not isinstance(entry, bool):
        return float(entry)
    return None


@dataclass
class MetricVerdict:
    """One metric across the compared runs: its direction, each run's value, the best runs."""

    key: str
    direction: Direction | None
    values: dict[str, float | None]
    best: list[str] = field(default_factory=list)

    @property
    def judged(self) -> bool:
        return self.direction is not None and bool(self.best)


@dataclass
class ParamRow:
    """One param across the runs; ``differs`` when not every run has the same value."""

    key: str
    values: dict[str, Any]
    differs: bool


@dataclass
class Comparison:
    """Everything ``compare`` shows, independent of how it is drawn."""

    runs: list[dict[str, Any]]
    params: list[ParamRow]
    metrics: list[MetricVerdict]

    def differing_params(self) -> list[ParamRow]:
        return [p for p in self.params if p.differs]

    def equal_params(self) -> list[ParamRow]:
        return [p for p in self.params if not p.differs]

    def winners(self) -> list[tuple[str, list[str]]]:
        """(run id, metrics it is best at) in metric order, for "Winner: a (best x), b (best y)"."""
        by_run: dict[str, list[str]] = {}
        for verdict in self.metrics:
            if verdict.judged:
                by_run.setdefault(verdict.best[0], []).append(verdict.key)
        return list(by_run.items())

    def best_for(self, run_id: str) -> list[str]:
        return [v.key for v in self.metrics if run_id in v.best]


_MISSING = object()


def _same(values: Sequence[Any]) -> bool:
    first = values[0]
    return all(_canonical(v) == _canonical(first) for v in values[1:])


def _canonical(value: Any) -> Any:
    if value is _MISSING:
        return ("<missing>",)
    if isinstance(value, float) and math.isnan(value):
        return ("<nan>",)
    if isinstance(value, bool):
        return ("<bool>", value)
    if isinstance(value, (dict, list)):
        import json

        return ("<json>", json.dumps(value, sort_keys=True, default=str))
    return value


def choose_metrics(rows: Sequence[Mapping[str, Any]], wanted: Sequence[str] | None = None) -> list[str]:
    """The metrics to compare: ``wanted`` in order, else every metric some run has, sorted."""
    if wanted:
        return list(dict.fromkeys(wanted))
    keys: dict[str, None] = {}
    for row in rows:
        for key in row.get("metrics") or {}:
            keys.setdefault(key, None)
    return sorted(keys)


def compare(
    rows: Sequence[Mapping[str, Any]],
    metrics: Sequence[str] | None = None,
    *,
    maximize: Iterable[str] = (),
    minimize: Iterable[str] = (),
    which: str = "last",
) -> Comparison:
    """Compare runs on their params and on the ``which`` value (default: last) of each metric."""
    maximize, minimize = list(maximize), list(minimize)
    both = set(maximize) & set(minimize)
    if both:
        from localtrack.errors import LocaltrackError

        raise LocaltrackError(f"metric {sorted(both)[0]!r} cannot be both maximised and minimised", sorted(both)[0])
    run_rows = [dict(r) for r in rows]
    ids = [str(r["id"]) for r in run_rows]
    param_keys: dict[str, None] = {}
    for row in run_rows:
        for key in row.get("params") or {}:
            param_keys.setdefault(key, None)
    params = []
    for key in sorted(param_keys):
        values = [(row.get("params") or {}).get(key, _MISSING) for row in run_rows]
        params.append(
            ParamRow(
                key=key,
                values={i: (None if v is _MISSING else v) for i, v in zip(ids, values, strict=True)},
                differs=len(values) > 1 and not _same(values),
            )
        )
    verdicts = []
    for key in choose_metrics(run_rows, metrics):
        direction = metric_direction(key, maximize, minimize)
        by_run = {i: metric_value(row, key, which) for i, row in zip(ids, run_rows, strict=True)}
        verdicts.append(MetricVerdict(key, direction, by_run, winners_of(by_run, direction)))
    return Comparison(runs=run_rows, params=params, metrics=verdicts)


def winners_of(values: Mapping[str, float | None], direction: Direction | None) -> list[str]:
    """The runs holding the best finite value (several on a tie); none without a direction."""
    finite = {k: f for k, v in values.items() if (f := _finite(v)) is not None}
    if direction is None or not finite:
        return []
    target = max(finite.values()) if direction == "max" else min(finite.values())
    return [k for k, v in finite.items() if v == target]


_EVAL_WORDS = frozenset({"val", "valid", "validation", "eval", "test", "dev"})
_SYSTEM_PREFIXES = ("system/", "sys/", "_")


def key_metrics(rows: Sequence[Mapping[str, Any]], limit: int = 3) -> list[str]:
    """The metrics worth a column when the user named none.

    Those most runs have, preferring names with a known direction, then evaluation metrics
    (val/eval/test) over training ones; system metrics (``system/...``) come last.
    """
    coverage: dict[str, int] = {}
    for row in rows:
        for key in row.get("metrics") or {}:
            coverage[key] = coverage.get(key, 0) + 1

    def rank(key: str) -> tuple[int, int, int, int, int, str]:
        words = set(name_words(key))
        return (
            1 if key.startswith(_SYSTEM_PREFIXES) else 0,
            -coverage[key],
            0 if metric_direction(key) is not None else 1,
            0 if words & _EVAL_WORDS else 1,
            0 if metric_direction(key) == "max" else 1,
            key,
        )

    return sorted(coverage, key=rank)[: max(0, limit)]
