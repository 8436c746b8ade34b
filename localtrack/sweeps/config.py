"""The sweep config: W&B's shape (``method``, ``metric``, ``parameters``...), checked once.

Read from YAML (with PyYAML, the ``sweeps`` extra) or JSON; the parsed, normalised form is
what the store keeps, so agents never re-interpret the user's file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localtrack.errors import LocaltrackError
from localtrack.sweeps.hyperband import HyperbandConfigError, hyperband_of

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
DISTRIBUTIONS = (
    "constant", "categorical", "int_uniform", "uniform", "q_uniform", "log_uniform", "log_uniform_values",
    "q_log_uniform", "q_log_uniform_values", "inv_log_uniform_values", "normal", "q_normal", "log_normal", "q_log_normal",
)
TOP_LEVEL_KEYS = frozenset(
    {"method", "metric", "parameters", "early_terminate", "name", "description", "program", "command", "project",
     "entity", "run_cap"}
)
MAX_CONFIG_BYTES = 1_000_000
MAX_PARAMETERS = 200
MAX_GRID_POINTS = 1_000_000


class SweepConfigError(LocaltrackError, ValueError):
    """A sweep config that does not have W&B's sweep shape (the message names the field)."""


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter: a dotted name (``optimizer.lr`` for nested ``parameters``) and its law."""

    name: str
    distribution: str
    values: tuple[Any, ...] = ()
    probabilities: tuple[float, ...] | None = None
    min: float | None = None
    max: float | None = None
    mu: float = 0.0
    sigma: float = 1.0
    q: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "distribution": self.distribution}
        if self.distribution in ("constant", "categorical"):
            out["values"] = list(self.values)
            if self.probabilities is not None:
                out["probabilities"] = list(self.probabilities)
        elif self.distribution.endswith("normal"):
            out.update(mu=self.mu, sigma=self.sigma, q=self.q)
        else:
            out.update(min=self.min, max=self.max, q=self.q)
        return out


@dataclass(frozen=True)
class SweepConfig:
    method: str
    metric_name: str | None
    goal: str
    params: tuple[ParamSpec, ...]
    raw: dict[str, Any]

    @property
    def program(self) -> str | None:
        program = self.raw.get("program")
        return program if isinstance(program, str) else None

    @property
    def command(self) -> list[str] | None:
        command = self.raw.get("command")
        return [str(c) for c in command] if isinstance(command, list) else None

    @property
    def run_cap(self) -> int | None:
        cap = self.raw.get("run_cap")
        return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else None


def load_config_file(path: Path) -> dict[str, Any]:
    """The mapping in a ``.yaml``/``.yml``/``.json`` sweep file (one clear error otherwise)."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise SweepConfigError(f"{path}: {size} bytes; a sweep config is at most {MAX_CONFIG_BYTES}", str(path))
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SweepConfigError(f"cannot read sweep config {path}: {exc.strerror or exc}", str(path)) from None
    except UnicodeDecodeError:
        raise SweepConfigError(f"{path} is not UTF-8 text", str(path)) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SweepConfigError(f"{path} is not valid JSON: {exc}", str(path)) from None
    else:
        try:
            import yaml
        except ImportError:
            raise SweepConfigError(
                f"{path}: reading YAML needs PyYAML (pip install 'localtrack[sweeps]'), or write the config as .json",
                str(path),
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SweepConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}", str(path)) from None
    if not isinstance(data, dict):
        raise SweepConfigError(f"{path}: a sweep config is a mapping with method, metric and parameters", str(path))
    return data


def parse_config(raw: Mapping[str, Any]) -> SweepConfig:
    """Check ``raw`` against W&B's sweep shape and normalise every parameter."""
    if not isinstance(raw, Mapping):
        raise SweepConfigError("a sweep config is a mapping with method, metric and parameters", raw)
    unknown = sorted(str(k) for k in raw if k not in TOP_LEVEL_KEYS)
    if unknown:
        raise SweepConfigError(f"unknown sweep config key {unknown[0]!r}; known: {', '.join(sorted(TOP_LEVEL_KEYS))}", unknown[0])
    method = raw.get("method")
    if method not in METHODS:
        raise SweepConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}", method)
    metric = raw.get("metric") or {}
    if not isinstance(metric, Mapping):
        raise SweepConfigError("metric must be a mapping like {name: val/loss, goal: minimize}", metric)
    metric_name = metric.get("name")
    if metric_name is not None and (not isinstance(metric_name, str) or not metric_name):
        raise SweepConfigError(f"metric.name must be a metric key, got {metric_name!r}", metric_name)
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise SweepConfigError(f"metric.goal must be minimize or maximize, got {goal!r}", goal)
    if method == "bayes" and not metric_name:
        raise SweepConfigError("method bayes needs metric.name to optimise", None)
    parameters = raw.get("parameters")
    if not isinstance(parameters, Mapping) or not parameters:
        raise SweepConfigError("parameters must be a non-empty mapping of name -> {values: [...]} or a distribution", parameters)
    params = tuple(_parse_parameters(parameters, ""))
    if len(params) > MAX_PARAMETERS:
        raise SweepConfigError(f"{len(params)} parameters; at most {MAX_PARAMETERS}", len(params))
    if method == "grid":
        for spec in params:
            if spec.distribution not in ("constant", "categorical", "int_uniform"):
                raise SweepConfigError(
                    f"parameter {spec.name!r}: grid needs values (or int_uniform), not a {spec.distribution} distribution",
                    spec.name,
                )
        points = math.prod(len(grid_values(spec)) for spec in params)
        if points > MAX_GRID_POINTS:
            raise SweepConfigError(f"the grid has {points} points; at most {MAX_GRID_POINTS}", points)
    _check_early_terminate(raw.get("early_terminate"))
    if raw.get("early_terminate") is not None and not metric_name:
        raise SweepConfigError("early_terminate judges trials on metric.name; add metric: {name: ..., goal: ...}", None)
    for key in ("program", "name", "description", "project", "entity"):
        if key in raw and not isinstance(raw[key], str):
            raise SweepConfigError(f"{key} must be a string", raw[key])
    if "command" in raw and not (isinstance(raw["command"], list) and all(isinstance(c, str) for c in raw["command"])):
        raise SweepConfigError("command must be a list of strings such as [${interpreter}, ${program}, ${args}]", raw["command"])
    if "run_cap" in raw and (not isinstance(raw["run_cap"], int) or isinstance(raw["run_cap"], bool) or raw["run_cap"] < 1):
        raise SweepConfigError(f"run_cap must be a positive integer, got {raw['run_cap']!r}", raw["run_cap"])
    return SweepConfig(method, metric_name, goal, params, json.loads(json.dumps(dict(raw), default=str)))


def _check_early_terminate(spec: Any) -> None:
    if spec is None:
        return
    if not isinstance(spec, Mapping) or spec.get("type") != "hyperband":
        raise SweepConfigError("early_terminate must be {type: hyperband, min_iter: N, eta: 3}", spec)
    for key in ("min_iter", "max_iter", "eta", "s"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise SweepConfigError(f"early_terminate.{key} must be a positive integer, got {value!r}", value)
    if spec.get("min_iter") is None and spec.get("max_iter") is None:
        raise SweepConfigError("early_terminate (hyperband) needs min_iter or max_iter", spec)
    try:
        hyperband_of(spec)
    except HyperbandConfigError as exc:
        raise SweepConfigError(str(exc), spec) from None


def _parse_parameters(parameters: Mapping[str, Any], prefix: str) -> list[ParamSpec]:
    specs: list[ParamSpec] = []
    for key, body in parameters.items():
        if not isinstance(key, str) or not key or "." in key:
            raise SweepConfigError(f"parameter name {key!r}: a non-empty string without '.'", key)
        name = f"{prefix}{key}"
        if not isinstance(body, Mapping):
            raise SweepConfigError(f"parameter {name!r}: give {{values: [...]}}, {{value: x}} or a distribution", name)
        if "parameters" in body:
            if not isinstance(body["parameters"], Mapping) or not body["parameters"]:
                raise SweepConfigError(f"parameter {name!r}: nested parameters must be a non-empty mapping", name)
            specs.extend(_parse_parameters(body["parameters"], f"{name}."))
        else:
            specs.append(_parse_spec(name, body))
    return specs


def _number(name: str, body: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SweepConfigError(f"parameter {name!r}: {key} must be a finite number, got {value!r}", name)
    return value


def _parse_spec(name: str, body: Mapping[str, Any]) -> ParamSpec:
    distribution = body.get("distribution")
    if distribution is None:
        if "values" in body:
            distribution = "categorical"
        elif "value" in body:
            distribution = "constant"
        elif "min" in body and "max" in body:
            both_int = all(isinstance(body[k], int) and not isinstance(body[k], bool) for k in ("min", "max"))
            distribution = "int_uniform" if both_int else "uniform"
        else:
            raise SweepConfigError(f"parameter {name!r}: give values, value, min/max or a distribution", name)
    if distribution not in DISTRIBUTIONS:
        raise SweepConfigError(f"parameter {name!r}: unknown distribution {distribution!r}", distribution)
    if distribution == "constant":
        if "value" not in body:
            raise SweepConfigError(f"parameter {name!r}: constant needs value", name)
        return ParamSpec(name, "constant", values=(body["value"],))
    if distribution == "categorical":
        values = body.get("values")
        if not isinstance(values, list) or not values:
            raise SweepConfigError(f"parameter {name!r}: values must be a non-empty list", name)
        probabilities = body.get("probabilities")
        if probabilities is not None:
            if (not isinstance(probabilities, list) or len(probabilities) != len(values)
                    or any(isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0 for p in probabilities)
                    or not math.isclose(sum(probabilities), 1.0, abs_tol=1e-6)):
                raise SweepConfigError(f"parameter {name!r}: probabilities must be one per value, non-negative, summing to 1", name)
            probabilities = tuple(float(p) for p in probabilities)
        return ParamSpec(name, "categorical", values=tuple(values), probabilities=probabilities)
    q = _number(name, body, "q", 1.0)
    if q <= 0:
        raise SweepConfigError(f"parameter {name!r}: q must be positive", name)
    if distribution.endswith("normal"):
        sigma = _number(name, body, "sigma", 1.0)
        if sigma <= 0:
            raise SweepConfigError(f"parameter {name!r}: sigma must be positive", name)
        return ParamSpec(name, distribution, mu=_number(name, body, "mu", 0.0), sigma=sigma, q=q)
    low, high = _number(name, body, "min"), _number(name, body, "max")
    if low > high:
        raise SweepConfigError(f"parameter {name!r}: min {low} is above max {high}", name)
    if distribution.endswith("_values") and low <= 0:
        raise SweepConfigError(f"parameter {name!r}: {distribution} needs min > 0 (the values, not their logs)", name)
    if distribution == "int_uniform" and not (float(low).is_integer() and float(high).is_integer()):
        raise SweepConfigError(f"parameter {name!r}: int_uniform needs integer min and max", name)
    return ParamSpec(name, distribution, min=low, max=high, q=q)


def grid_values(spec: ParamSpec) -> list[Any]:
    """The values a grid walks for one parameter."""
    if spec.distribution == "int_uniform":
        assert spec.min is not None and spec.max is not None
        return list(range(int(spec.min), int(spec.max) + 1))
    return list(spec.values)
