"""Hyperband early termination as W&B's sweeps define it: brackets, thresholds, one decision.

An *iteration* is one logged value of the sweep metric (W&B: "brackets are based on the
number of logged iterations"; the step number itself is not used). The i-th logged value
is the trial's value at iteration i. Brackets are the iterations where trials are judged:

- ``min_iter: m, eta: e`` -> ``m, m*e, m*e^2, ...``
- ``max_iter: M, eta: e, s: k`` -> ``M/e, M/e^2, ... M/e^k`` (integer part, those >= 1), ascending

At each bracket ``b`` a running trial has reached, the values every trial of the sweep
(this one included, any status) had at iteration ``b`` are sorted best first (per
``metric.goal``) and the threshold is the one at index ``floor(n / eta)``; a trial whose
value at ``b`` is worse than the threshold is stopped. This is W&B's threshold: with ``n``
trials at a bracket about the best ``n / eta`` and those tied with the threshold go on.
W&B's controller looks continuously and judges the last bracket reached; an agent that
polls may look late, so every reached bracket is judged, lowest first.
Pure functions only; reading histories and stopping processes live in ``watcher.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localtrack.errors import LocaltrackError

DEFAULT_ETA = 3
MAX_BRACKETS = 64
MAX_BRACKET_ITER = 10**12


class HyperbandConfigError(LocaltrackError, ValueError):
    """An ``early_terminate`` block from which no brackets can be computed."""


@dataclass(frozen=True)
class Hyperband:
    """The checked hyperband schedule of one sweep."""

    brackets: tuple[int, ...]
    eta: int

    def reached(self, iterations: int) -> int | None:
        """The last bracket a trial with ``iterations`` logged values has reached (None: none yet)."""
        last = None
        for bracket in self.brackets:
            if bracket > iterations:
                break
            last = bracket
        return last


@dataclass(frozen=True)
class StopDecision:
    """Why a trial is stopped: its value at ``bracket`` is worse than ``threshold``."""

    bracket: int
    value: float
    threshold: float
    values: tuple[float, ...]  # every trial's value at the bracket (this one's included), best first
    goal: str

    def as_record(self) -> dict[str, Any]:
        return {"bracket": self.bracket, "value": self.value, "threshold": self.threshold, "goal": self.goal,
                "trials_at_bracket": len(self.values), "values_at_bracket": list(self.values)}


def compute_brackets(min_iter: int | None = None, max_iter: int | None = None, eta: int = DEFAULT_ETA,
                     s: int | None = None) -> tuple[int, ...]:
    """The bracket iterations, ascending (``min_iter`` wins when both are given, as in W&B)."""
    if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
        raise HyperbandConfigError(f"early_terminate.eta must be an integer >= 2, got {eta!r}", eta)
    if min_iter is not None:
        out: list[int] = []
        bracket = min_iter
        while bracket <= MAX_BRACKET_ITER and len(out) < MAX_BRACKETS:
            out.append(bracket)
            bracket *= eta
        return tuple(out)
    if max_iter is None:
        raise HyperbandConfigError("early_terminate (hyperband) needs min_iter, or max_iter with s", None)
    if s is None:
        raise HyperbandConfigError("early_terminate: max_iter needs s, the number of brackets (e.g. s: 2)", None)
    found: set[int] = set()
    for k in range(1, min(s, MAX_BRACKETS) + 1):
        bracket = max_iter // eta**k
        if bracket < 1:
            break
        found.add(bracket)
    if not found:
        raise HyperbandConfigError(
            f"early_terminate: max_iter {max_iter} / eta {eta} leaves no bracket; raise max_iter or lower eta", max_iter
        )
    return tuple(sorted(found))


def hyperband_of(spec: Mapping[str, Any] | None) -> Hyperband | None:
    """The schedule of a config's ``early_terminate`` block (None when the sweep has none)."""
    if not spec:
        return None
    eta = spec.get("eta", DEFAULT_ETA)
    return Hyperband(compute_brackets(spec.get("min_iter"), spec.get("max_iter"), eta, spec.get("s")), eta)


def clean_history(values: Sequence[Any]) -> list[float]:
    """The values that count as iterations: finite numbers (NaN and inf are skipped, as W&B does)."""
    return [float(v) for v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def decide(schedule: Hyperband, goal: str, own: Sequence[float], others: Sequence[Sequence[float]]) -> StopDecision | None:
    """Whether the trial with history ``own`` must stop, given the other trials' histories.

    Every bracket the trial has reached is judged, lowest first, and the first it fails
    stops it: so the answer does not depend on how late the agent looked.
    """
    sign = -1.0 if goal == "maximize" else 1.0  # compare as "lower is better"
    for bracket in schedule.brackets:
        if bracket > len(own):
            return None
        value = own[bracket - 1]
        at_bracket = sorted([sign * value] + [sign * h[bracket - 1] for h in others if len(h) >= bracket])
        threshold = at_bracket[len(at_bracket) // schedule.eta]
        if sign * value > threshold:
            return StopDecision(bracket, value, sign * threshold, tuple(sign * v for v in at_bracket), goal)
    return None
