"""The sweep config: W&B's shape accepted, mistakes named in one line, every distribution's range."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from localtrack.sweeps.config import SweepConfigError, load_config_file, parse_config
from localtrack.sweeps.sampling import grid_points, grid_size, random_params, sample_value

WANDB_EXAMPLE = """
program: train.py
method: bayes
metric:
  name: val_loss
  goal: minimize
parameters:
  learning_rate:
    min: 0.0001
    max: 0.1
  optimizer:
    values: ["adam", "sgd"]
  epochs:
    value: 5
  layers:
    min: 1
    max: 4
early_terminate:
  type: hyperband
  min_iter: 3
"""


def test_wandb_documented_example_parses(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(WANDB_EXAMPLE)
    config = parse_config(load_config_file(path))
    kinds = {p.name: p.distribution for p in config.params}
    assert kinds == {"learning_rate": "uniform", "optimizer": "categorical", "epochs": "constant", "layers": "int_uniform"}
    assert (config.method, config.metric_name, config.goal, config.program) == ("bayes", "val_loss", "minimize", "train.py")


def test_json_file_and_nested_parameters(tmp_path: Path) -> None:
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"method": "grid", "parameters": {"opt": {"parameters": {"lr": {"values": [1, 2]}, "m": {"values": [0.9]}}}, "bs": {"values": [8, 16, 32]}}}))
    config = parse_config(load_config_file(path))
    assert grid_size(config) == 6
    points = [p for _, p in grid_points(config)]
    assert points[0] == {"opt.lr": 1, "opt.m": 0.9, "bs": 8} and points[1]["bs"] == 16
    assert len({json.dumps(p, sort_keys=True) for p in points}) == 6


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"method": "hill", "parameters": {"a": {"values": [1]}}}, "method must be one of"),
        ({"method": "grid", "parameters": {"a": {"min": 0.0, "max": 1.0}}}, "grid needs values"),
        ({"method": "random", "parameters": {}}, "parameters must be a non-empty"),
        ({"method": "random", "parameters": {"a": {"min": 2, "max": 1}}}, "above max"),
        ({"method": "random", "parmeters": {"a": {"values": [1]}}}, "unknown sweep config key 'parmeters'"),
        ({"method": "bayes", "parameters": {"a": {"values": [1]}}}, "bayes needs metric.name"),
        ({"method": "random", "metric": {"name": "x", "goal": "up"}, "parameters": {"a": {"values": [1]}}}, "goal"),
        ({"method": "random", "parameters": {"a": {"distribution": "zipf"}}}, "unknown distribution"),
        ({"method": "random", "parameters": {"a": {"distribution": "log_uniform_values", "min": 0, "max": 1}}}, "min > 0"),
        ({"method": "random", "parameters": {"a": {"values": [1]}}, "early_terminate": {"type": "median"}}, "hyperband"),
    ],
)
def test_mistakes_are_named(raw: dict, message: str) -> None:
    with pytest.raises(SweepConfigError, match=message):
        parse_config(raw)


def test_bad_yaml_and_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("method: [grid\n")
    with pytest.raises(SweepConfigError, match="not valid YAML"):
        load_config_file(bad)
    with pytest.raises(SweepConfigError, match="cannot read sweep config"):
        load_config_file(tmp_path / "missing.yaml")


def test_every_distribution_stays_in_its_range() -> None:
    config = parse_config({"method": "random", "parameters": {
        "u": {"min": -1.0, "max": 1.0},
        "i": {"min": 2, "max": 5},
        "q": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2.5},
        "lv": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "le": {"distribution": "log_uniform", "min": -3, "max": 0},
        "c": {"values": ["a", "b"], "probabilities": [1.0, 0.0]},
        "n": {"distribution": "normal", "mu": 10, "sigma": 0.001},
    }})
    rng = random.Random(0)
    for _ in range(300):
        values = {spec.name: sample_value(spec, rng) for spec in config.params}
        assert -1 <= values["u"] <= 1
        assert isinstance(values["i"], int) and 2 <= values["i"] <= 5
        assert values["q"] in (0, 2.5, 5.0, 7.5, 10)
        assert 1e-5 <= values["lv"] <= 1e-1
        assert math.exp(-3) <= values["le"] <= 1
        assert values["c"] == "a"
        assert abs(values["n"] - 10) < 0.1
    assert random_params(config, "seed", "k1") == random_params(config, "seed", "k1")
    assert random_params(config, "seed", "k1") != random_params(config, "seed", "k2")
