"""Stores and row normalization for the two-engine tests (no DuckDB import: a child process
that must not load it uses these too)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import localtrack

TEXTS = ["adam", "sgd", "Adam", "", "a b", "bert-base", "10", "True", "é", "Ünïcode", "null", "x%y"]


def write_store(root: Path, seed: int, runs: int) -> None:
    """``runs`` runs through the real writer, their values drawn from ``seed``."""
    rng = random.Random(seed)
    for i in range(runs):
        config: dict[str, Any] = {
            "opt": rng.choice(TEXTS),
            "lr": rng.choice([0.1, 0.01, 1e-05, 3, 0.5, float("nan"), -2.5]),
            "layers": rng.choice([1, 2, 12, 600, -3]),
            "flag": rng.choice([True, False]),
            "none": None,
            "lst": rng.choice([[1, 2], ["a"], []]),
            "nested": {"a": rng.choice([1, 2.5, "z"]), "b": {"deep": rng.choice(TEXTS)}},
        }
        if rng.random() < 0.3:
            del config["opt"]
        tags = {"sweep": f"s{rng.randint(0, 2)}", "label": rng.choice(TEXTS)}
        if rng.random() < 0.4:
            tags["empty"] = ""
        run = localtrack.init(dir=root, project=rng.choice(["a", "b", "Ä"]), name=rng.choice(
            [f"run-{i}", "same", "Bert", "é-run"]), config=config, tags=tags, notes=rng.choice(["", "note", "Notes é"]))
        keys = rng.sample(["m0", "m1", "nanny", "acc"], rng.randint(0, 4))
        for step in range(rng.randint(1, 4)):
            values = {k: (float("nan") if k == "nanny" and rng.random() < 0.6 else round(rng.uniform(-1, 2), 3))
                      for k in keys}
            if values:
                run.log(values, step=step)
        if rng.random() < 0.5:
            run.summary["best"] = rng.choice([0.9, 3, "top", True, None, float("nan")])
        run.finish(status=rng.choice(["finished", "finished", "failed", "killed"]))


def normalized(rows: list[dict[str, Any]]) -> Any:
    """The rows as nested lists (NaN spelled out, dict order kept): equal lists, equal answers."""
    def fix(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return "NaN!"
        if isinstance(value, dict):
            return [[k, fix(v)] for k, v in value.items()]
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value
    return json.loads(json.dumps([fix(r) for r in rows], default=repr))


def same(a: Any, b: Any) -> bool:
    """Equal, except that a metric's mean may differ in its last bits: DuckDB's own mean depends
    on the order its scan and join hand it the points (a plain sum in that order)."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) == 2 and len(b) == 2 and a[0] == b[0] == "mean" and isinstance(a[1], float) and isinstance(b[1], float):
            return math.isclose(a[1], b[1], rel_tol=1e-12, abs_tol=1e-300)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)
