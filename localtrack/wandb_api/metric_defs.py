"""``define_metric``: custom x-axes and min/max/mean/first/last/best summaries, as wandb does.

Only keys that match a definition cost anything: each ``log()`` key tuple is planned once
(which of its keys are tracked), so a run that defines ``val/*`` pays a dict lookup per call
for its ``train/*`` calls. Summaries are computed here from the values logged and written to
the manifest's ``summary_values`` at finish as flat keys ``<metric>.<op>`` (``loss.min``);
definitions go to the manifest's ``metric_definitions`` when made (docs/FORMAT.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localtrack.errors import InvalidValueError
from localtrack.names import validate_key
from localtrack.store.values import clean_metrics, coerce_metric

SUMMARY_OPS = ("min", "max", "mean", "best", "last", "first", "none", "copy")
_REPORTED_OPS = ("min", "max", "mean", "best", "last", "first")


@dataclass(frozen=True)
class MetricDefinition:
    """One ``define_metric`` call (names as wandb's arguments)."""

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    summary: tuple[str, ...] = ()
    goal: str | None = None  # "min" | "max" (wandb keeps the first three letters)
    hidden: bool | None = None

    def record(self) -> dict[str, Any]:
        """The manifest's ``metric_definitions`` entry."""
        return {
            "step_metric": self.step_metric,
            "step_sync": self.step_sync,
            "summary": list(self.summary),
            "goal": self.goal,
            "hidden": bool(self.hidden),
        }

    @property
    def syncs_step(self) -> bool:
        return self.step_metric is not None and self.step_sync is not False


def make_definition(
    name: str,
    step_metric: Any = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
) -> MetricDefinition:
    """Validate ``define_metric``'s arguments as wandb does, with one clear error each."""
    if not isinstance(name, str) or not name:
        raise InvalidValueError("define_metric() needs a non-empty metric name", name)
    if not isinstance(step_metric, (str, type(None))):
        step_metric = getattr(step_metric, "name", step_metric)  # a Metric returned by define_metric
    for what, value, kind in (("step_metric", step_metric, str), ("summary", summary, str), ("goal", goal, str)):
        if value is not None and not isinstance(value, kind):
            raise InvalidValueError(f"define_metric({what}=...) takes a string, got {type(value).__name__}", value)
    stripped = name[:-1] if name.endswith("*") else name
    if "*" in stripped:
        raise InvalidValueError(f"define_metric({name!r}): only a trailing '*' glob is supported (as in wandb)", name)
    if stripped:
        validate_key(stripped, "metric name")
    if step_metric is not None:
        validate_key(step_metric, "step_metric")
    ops: tuple[str, ...] = ()
    if summary:
        ops = tuple(op.strip().lower() for op in summary.split(","))
        for op in ops:
            if op not in SUMMARY_OPS:
                raise InvalidValueError(
                    f"define_metric(summary={summary!r}): unknown summary {op!r}; use {', '.join(SUMMARY_OPS)}",
                    summary,
                )
    clean_goal = None
    if goal is not None:
        clean_goal = goal[:3].lower()
        if clean_goal not in ("min", "max"):
            raise InvalidValueError(f"define_metric(goal={goal!r}): use 'minimize' or 'maximize'", goal)
    return MetricDefinition(name, step_metric, step_sync, ops, clean_goal, hidden)


@dataclass
class _Stats:
    count: int = 0
    total: float = 0.0
    first: float | None = None
    last: float | None = None
    min: float | None = None
    max: float | None = None

    def add(self, value: float) -> None:
        if self.count == 0:
            self.first = value
        self.count += 1
        self.total += value
        self.last = value
        if not math.isnan(value):
            if self.min is None or value < self.min:
                self.min = value
            if self.max is None or value > self.max:
                self.max = value


@dataclass
class _Plan:
    """What to do for one key tuple: which keys to track, which step metrics to fill in."""

    tracked: list[tuple[str, _Stats]] = field(default_factory=list)
    fill: list[str] = field(default_factory=list)
    flatten: bool = False


class MetricTracker:
    """The run's metric definitions and the summaries of the keys they cover."""

    def __init__(self) -> None:
        self._exact: dict[str, MetricDefinition] = {}
        self._globs: list[MetricDefinition] = []
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._stats: dict[str, _Stats] = {}
        self._step_metrics: set[str] = set()

    # -- definitions ---------------------------------------------------------------------
    def define(self, definition: MetricDefinition, overwrite: bool | None = None) -> MetricDefinition:
        """Add a definition; as wandb, a second one for a name merges into the first (summary ops
        add up, given fields replace) unless ``overwrite``. Returns the definition now in force."""
        earlier = self._exact.get(definition.name) or next((g for g in self._globs if g.name == definition.name), None)
        if earlier is not None and not overwrite:
            definition = MetricDefinition(
                definition.name,
                definition.step_metric if definition.step_metric is not None else earlier.step_metric,
                definition.step_sync if definition.step_sync is not None else earlier.step_sync,
                tuple(dict.fromkeys((*earlier.summary, *definition.summary))),
                definition.goal if definition.goal is not None else earlier.goal,
                definition.hidden if definition.hidden is not None else earlier.hidden,
            )
        if definition.name.endswith("*"):
            self._globs = [g for g in self._globs if g.name != definition.name] + [definition]
        else:
            self._exact[definition.name] = definition
        if definition.step_metric is not None:
            self._step_metrics.add(definition.step_metric)
        self._plans.clear()
        return definition

    def definitions(self) -> dict[str, dict[str, Any]]:
        return {d.name: d.record() for d in [*self._exact.values(), *self._globs]}

    def definition_for(self, key: str) -> MetricDefinition | None:
        found = self._exact.get(key)
        if found is not None:
            return found
        for glob in reversed(self._globs):  # the latest matching glob wins
            if key.startswith(glob.name[:-1]):
                return glob
        return None

    def _plan(self, row: Mapping[str, Any]) -> _Plan:
        plan = _Plan()
        fill: set[str] = set()
        for key, value in row.items():
            if isinstance(value, Mapping):
                plan.flatten = True
                return plan
            definition = self.definition_for(key)
            wanted = key in self._step_metrics or (definition is not None and bool(definition.summary))
            if wanted:
                plan.tracked.append((key, self._stats.setdefault(key, _Stats())))
            if definition is not None and definition.syncs_step and definition.step_metric != key:
                fill.add(definition.step_metric)  # type: ignore[arg-type]
        plan.fill = sorted(fill - set(row))
        return plan

    # -- the log path ---------------------------------------------------------------------
    def before_log(self, row: Mapping[str, Any]) -> Mapping[str, Any]:
        """``row`` with the last value of each step metric it lacks (wandb's ``step_sync``)."""
        plan = self._plans.get(tuple(row))
        if plan is None:
            plan = self._plans[tuple(row)] = self._plan(row)
        if plan.flatten:
            row = clean_metrics(row, wandb_shape=True)
            return self.before_log(row)
        if not plan.fill:
            return row
        extra = {k: self._stats[k].last for k in plan.fill if k in self._stats and self._stats[k].last is not None}
        return {**row, **extra} if extra else row

    def observe(self, row: Mapping[str, Any]) -> None:
        """Fold one committed row into the tracked keys' summaries."""
        plan = self._plans.get(tuple(row))
        if plan is None:
            plan = self._plans[tuple(row)] = self._plan(row)
        if plan.flatten:
            self.observe(clean_metrics(row, wandb_shape=True))
            return
        for key, stats in plan.tracked:
            value = row[key]
            if value is not None:  # None is skipped, as log() skips it
                stats.add(value if type(value) is float else coerce_metric(key, value))

    # -- results --------------------------------------------------------------------------
    def summary_view(self) -> dict[str, Any]:
        """As wandb's run.summary shows them: ``{"loss": {"min": 0.1}}``; None for summary="none"."""
        view: dict[str, Any] = {}
        for key, stats in self._stats.items():
            definition = self.definition_for(key)
            if definition is None or not definition.summary:
                continue
            if "none" in definition.summary:
                view[key] = None
                continue
            values = self._values(definition, stats)
            if values:
                view[key] = values
        return view

    def summary_values(self) -> dict[str, float]:
        """The flat ``<metric>.<op>`` keys written to the manifest's ``summary_values``."""
        flat: dict[str, float] = {}
        for key, values in self.summary_view().items():
            for op, value in (values or {}).items():
                flat[f"{key}.{op}"] = value
        return flat

    @staticmethod
    def _values(definition: MetricDefinition, stats: _Stats) -> dict[str, float]:
        if stats.count == 0:
            return {}
        values: dict[str, Any] = {}
        for op in definition.summary:
            if op == "mean":
                values["mean"] = stats.total / stats.count
            elif op == "best":
                values["best"] = stats.max if definition.goal == "max" else stats.min
            elif op in ("min", "max", "first", "last"):
                values[op] = getattr(stats, op)
        return {k: v for k, v in values.items() if v is not None}
