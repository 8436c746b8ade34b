"""Choosing a trial's parameters: the grid's n-th point, a seeded random draw, or Optuna's TPE.

Draws are deterministic in (sweep seed, trial key), so a trial's params can be recomputed
and two agents with different keys never share a random stream.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from localtrack.sweeps.config import ParamSpec, SweepConfig, SweepConfigError, grid_values


def grid_size(config: SweepConfig) -> int:
    return math.prod(len(grid_values(spec)) for spec in config.params)


def grid_points(config: SweepConfig) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, params)`` for every grid point, in W&B's order (the last parameter varies fastest)."""
    axes = [grid_values(spec) for spec in config.params]
    for index, combo in enumerate(itertools.product(*axes)):
        yield index, {spec.name: value for spec, value in zip(config.params, combo, strict=True)}


def _quantize(value: float, q: float) -> float:
    return round(value / q) * q


def sample_value(spec: ParamSpec, rng: random.Random) -> Any:
    """One draw from ``spec`` (W&B's meaning of each distribution's min/max/mu/sigma/q)."""
    kind = spec.distribution
    if kind == "constant":
        return spec.values[0]
    if kind == "categorical":
        if spec.probabilities is not None:
            return rng.choices(spec.values, weights=spec.probabilities)[0]
        return rng.choice(spec.values)
    low, high = spec.min, spec.max
    if kind == "int_uniform":
        return rng.randint(int(low), int(high))  # type: ignore[arg-type]
    if kind == "uniform":
        return rng.uniform(low, high)  # type: ignore[arg-type]
    if kind == "q_uniform":
        return _quantize(rng.uniform(low, high), spec.q)  # type: ignore[arg-type]
    if kind in ("log_uniform", "q_log_uniform"):  # min/max are natural-log exponents, as in W&B
        value = math.exp(rng.uniform(low, high))  # type: ignore[arg-type]
        return _quantize(value, spec.q) if kind.startswith("q_") else value
    if kind in ("log_uniform_values", "q_log_uniform_values"):
        value = math.exp(rng.uniform(math.log(low), math.log(high)))  # type: ignore[arg-type]
        return _quantize(value, spec.q) if kind.startswith("q_") else value
    if kind == "inv_log_uniform_values":
        return 1.0 / math.exp(rng.uniform(math.log(1.0 / high), math.log(1.0 / low)))  # type: ignore[operator]
    if kind in ("normal", "q_normal"):
        value = rng.gauss(spec.mu, spec.sigma)
        return _quantize(value, spec.q) if kind.startswith("q_") else value
    if kind in ("log_normal", "q_log_normal"):
        value = math.exp(rng.gauss(spec.mu, spec.sigma))
        return _quantize(value, spec.q) if kind.startswith("q_") else value
    raise SweepConfigError(f"parameter {spec.name!r}: cannot sample {kind}", kind)


def random_params(config: SweepConfig, seed: str, key: str) -> dict[str, Any]:
    rng = random.Random(f"{seed}:{key}")
    return {spec.name: sample_value(spec, rng) for spec in config.params}


def bayes_params(config: SweepConfig, seed: str, key: str, history: Sequence[tuple[dict[str, Any], float]]) -> dict[str, Any]:
    """Optuna's TPE sampler fitted on the finished trials ``history`` (params, metric value)."""
    try:
        import optuna
    except ImportError:
        raise SweepConfigError("method bayes uses Optuna's TPE sampler: pip install optuna (grid and random need nothing)", None) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {spec.name: _optuna_distribution(optuna, spec) for spec in config.params}
    direction: Literal["maximize", "minimize"] = "maximize" if config.goal == "maximize" else "minimize"
    sampler = optuna.samplers.TPESampler(seed=random.Random(f"{seed}:{key}").randrange(2**31), n_startup_trials=5)
    study = optuna.create_study(direction=direction, sampler=sampler)
    for params, value in history:
        try:
            chosen = {name: params[name] for name in distributions}
            study.add_trial(optuna.trial.create_trial(params=chosen, distributions=distributions, value=value))
        except Exception:
            continue  # a trial from an edited config or with a value outside the space: not evidence
    trial = study.ask(distributions)
    params = {}
    for spec in config.params:
        value = trial.params[spec.name]
        if spec.distribution.startswith("q_"):
            value = _quantize(value, spec.q)
        params[spec.name] = value
    return params


def _optuna_distribution(optuna: Any, spec: ParamSpec) -> Any:
    dists = optuna.distributions
    kind = spec.distribution
    if kind in ("constant", "categorical"):
        return dists.CategoricalDistribution(list(spec.values))
    if kind == "int_uniform":
        return dists.IntDistribution(int(spec.min), int(spec.max))  # type: ignore[arg-type]
    if kind in ("uniform", "q_uniform"):
        return dists.FloatDistribution(spec.min, spec.max)
    if kind in ("log_uniform", "q_log_uniform"):
        return dists.FloatDistribution(math.exp(spec.min), math.exp(spec.max), log=True)  # type: ignore[arg-type]
    if kind in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        return dists.FloatDistribution(spec.min, spec.max, log=True)
    # normal laws have no bounds; TPE searches mu ± 3 sigma (log-normal: of the log)
    low, high = spec.mu - 3 * spec.sigma, spec.mu + 3 * spec.sigma
    if kind.endswith("log_normal"):
        return dists.FloatDistribution(math.exp(low), math.exp(high), log=True)
    return dists.FloatDistribution(low, high)
