"""log()'s fast path for a repeated key set: a value whose type or range changes still gets full checks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.errors import LocaltrackError
from localtrack.store.project import open_store
from localtrack.store.reader import read_metrics


class Scalar:
    """A duck-typed 0-d tensor (accepted through ``.item()``)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def item(self) -> Any:
        return self.value


def _points(store_dir: Path, run_id: str) -> dict[str, list[tuple[int, float]]]:
    points: dict[str, list[tuple[int, float]]] = {}
    for row in read_metrics(open_store(store_dir), run_id).to_pylist():
        points.setdefault(row["key"], []).append((row["step"], row["value"]))
    return points


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(2**53 + 1, id="int>2**53"),
        pytest.param(-(2**53) - 1, id="int<-2**53"),
        pytest.param(b"1", id="bytes"),
        pytest.param(object(), id="object"),
        pytest.param(Scalar(2**60), id="item-huge-int"),
    ],
)
def test_a_bad_value_under_known_keys_is_refused_naming_its_key(store_dir: Path, bad: Any) -> None:
    run = localtrack.init(project="hot", dir=store_dir)
    for step in range(3):  # the same keys and types: later calls take the fast path
        run.log({"loss": 0.5 / (step + 1), "tokens": step * 4096})
    with pytest.raises(LocaltrackError) as info:
        run.log({"loss": 0.1, "tokens": bad})
    assert "tokens" in str(info.value)
    run.log({"loss": 0.05, "tokens": 4 * 4096})  # the run goes on
    run.finish()
    points = _points(store_dir, run.id)
    assert points["tokens"] == [(0, 0.0), (1, 4096.0), (2, 8192.0), (4, 16384.0)]
    assert points["loss"] == [(0, 0.5), (1, 0.25), (2, 0.5 / 3), (3, 0.1), (4, 0.05)]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        pytest.param(2**53, float(2**53), id="int-2**53"),
        pytest.param(-(2**53), -float(2**53), id="int--2**53"),
        pytest.param(7, 7.0, id="int-after-float"),
        pytest.param(True, 1.0, id="bool"),
        pytest.param(math.inf, math.inf, id="inf"),
        pytest.param(Scalar(0.25), 0.25, id="duck-float"),
    ],
)
def test_a_good_value_of_another_type_under_known_keys_is_stored(store_dir: Path, value: Any, stored: float) -> None:
    run = localtrack.init(project="hot", dir=store_dir)
    for step in range(3):
        run.log({"a": 1.5, "b": float(step)})
    run.log({"a": value, "b": 3.0})
    run.log({"a": 2.5, "b": 4.0})
    run.finish()
    assert _points(store_dir, run.id)["a"] == [(0, 1.5), (1, 1.5), (2, 1.5), (3, stored), (4, 2.5)]


def test_a_dict_reused_and_changed_in_place_is_copied_at_each_call(store_dir: Path) -> None:
    run = localtrack.init(project="hot", dir=store_dir)
    metrics = {"x": 0.0, "y": 0}
    for step in range(5):
        metrics["x"] = step * 0.5
        metrics["y"] = step
        run.log(metrics)
    run.finish()
    points = _points(store_dir, run.id)
    assert points["x"] == [(s, s * 0.5) for s in range(5)]
    assert points["y"] == [(s, float(s)) for s in range(5)]
