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


def test_key_sets_that_change_between_calls_keep_every_point_at_its_step(store_dir: Path) -> None:
    run = localtrack.init(project="hot", dir=store_dir)
    calls = [
        {"a": 1.0, "b": 2.0},
        {"a": 1.5, "b": 2.5},  # the previous call's keys: the fast path
        {"b": 3.0, "a": 3.5},  # the same keys in another order are another key set
        {"a": 4.0},
        {"a": 5.0, "b": 5.5},  # back to the first key set
        {"a": 6.0, "b": 6.5},
    ]
    for metrics in calls:
        run.log(metrics)
    run.finish()
    points = _points(store_dir, run.id)
    assert points["a"] == [(0, 1.0), (1, 1.5), (2, 3.5), (3, 4.0), (4, 5.0), (5, 6.0)]
    assert points["b"] == [(0, 2.0), (1, 2.5), (2, 3.0), (4, 5.5), (5, 6.5)]


def test_ints_and_floats_may_trade_places_under_known_keys(store_dir: Path) -> None:
    run = localtrack.init(project="hot", dir=store_dir)
    logged = [
        {"epoch": 0, "lr": 0.1},
        {"epoch": 0, "lr": 0.1},
        {"epoch": 1.5, "lr": 1},  # each key changes type: validated again, then fast again
        {"epoch": 2.5, "lr": 2},
        {"epoch": 3, "lr": 0.4},
        {"epoch": 2**53, "lr": -(2**53)},  # the largest ints float64 holds exactly
    ]
    for metrics in logged:
        run.log(metrics)
    with pytest.raises(LocaltrackError, match="epoch"):
        run.log({"epoch": 2**53 + 1, "lr": 0.5})  # int keys of the fast path are range-checked
    run.finish()
    points = _points(store_dir, run.id)
    assert points["epoch"] == [(s, float(m["epoch"])) for s, m in enumerate(logged)]
    # wandb's rule: the refused call's storable values are kept at its step
    assert points["lr"] == [(s, float(m["lr"])) for s, m in enumerate(logged)] + [(6, 0.5)]


def test_nan_and_none_under_known_keys(store_dir: Path) -> None:
    run = localtrack.init(project="hot", dir=store_dir)
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1), "acc": 0.5})
    run.log({"loss": math.nan, "acc": -math.inf})  # stored as they are
    run.log({"loss": None, "acc": 0.75})  # wandb's rule: a None value is skipped, the rest is kept
    run.log({"loss": 0.2, "acc": 0.8})
    run.finish()
    points = _points(store_dir, run.id)
    loss = points["loss"]
    assert [step for step, _ in loss] == [0, 1, 2, 3, 5]
    assert math.isnan(loss[3][1]) and loss[4] == (5, 0.2)
    assert points["acc"] == [(0, 0.5), (1, 0.5), (2, 0.5), (3, -math.inf), (4, 0.75), (5, 0.8)]


@pytest.mark.parametrize("bad", [b"9", None, Scalar(2**60), 2**53 + 1, [1.0]], ids=["bytes", "none", "item-huge", "int", "list"])
def test_the_writer_refuses_a_whole_call_on_its_fast_path_and_keeps_the_step(store_dir: Path, bad: Any) -> None:
    """RunWriter.log's own contract (the wandb-style Run.log keeps a refused call's good values)."""
    run = localtrack.init(project="hot", dir=store_dir)
    writer = run._writer
    for step in range(3):
        writer.log({"x": float(step), "y": float(step)})
    if bad is None:  # the writer skips a None value as wandb does: the call is stored without it
        writer.log({"x": 9.0, "y": bad})
        run.finish()
        assert _points(store_dir, run.id)["x"][-1] == (3, 9.0)
        return
    with pytest.raises(LocaltrackError, match="'y'"):
        writer.log({"x": 9.0, "y": bad})
    assert run.step == 3
    run.log({"x": 3.0, "y": 3.0})
    run.finish()
    points = _points(store_dir, run.id)
    assert points["x"] == points["y"] == [(s, float(s)) for s in range(4)]


def test_calls_after_a_seal_and_around_explicit_steps_are_all_kept(store_dir: Path) -> None:
    run = localtrack.init(project="hot", dir=store_dir)
    writer = run._writer
    for step in range(3):
        run.log({"v": float(step)})
    run.flush()  # the buffer is sealed: the next call starts a new block
    for step in range(3, 6):
        run.log({"v": float(step)})
    writer.log({"v": 10.0}, step=10)  # an explicit step (the writer's own rule: taken as given)
    run.log({"v": 11.0})  # plain calls go on from it
    run.log({"v": 12.0})
    run.finish()
    assert _points(store_dir, run.id)["v"] == [(s, float(s)) for s in [*range(6), 10, 11, 12]]


def test_a_large_buffer_keeps_mixed_key_sets_in_step_order(store_dir: Path) -> None:
    """Enough points for the Arrow seal path (more than SMALL_SEAL_POINTS) across two key sets."""
    run = localtrack.init(project="hot", dir=store_dir)
    steps = 30_000  # 40,000 points: one seal at finish() past SMALL_SEAL_POINTS
    for step in range(steps):
        if step % 3 == 2:
            run.log({"loss": step * 0.5, "extra": step})
        else:
            run.log({"loss": step * 0.5})
    run.finish()
    points = _points(store_dir, run.id)
    assert points["loss"] == [(s, s * 0.5) for s in range(steps)]
    assert points["extra"] == [(s, float(s)) for s in range(2, steps, 3)]


class _InterruptedOnce(list):  # type: ignore[type-arg]
    """A block's list whose next append is hit by Ctrl-C (KeyboardInterrupt), as a signal can."""

    armed = True

    def append(self, item: Any) -> None:
        if _InterruptedOnce.armed:
            _InterruptedOnce.armed = False
            raise KeyboardInterrupt
        super().append(item)


@pytest.mark.parametrize("which", ["steps", "times"])
@pytest.mark.parametrize("path", ["fast", "checked"])
def test_ctrl_c_between_a_calls_appends_leaves_no_value_without_its_step(store_dir: Path, which: str, path: str) -> None:
    """A script that catches KeyboardInterrupt and logs on: the interrupted call is not stored
    and every later call keeps its values at its own step."""
    run = localtrack.init(dir=store_dir, project="p")
    run.log({"a": 0.0, "b": 0.5})
    run.log({"a": 1.0, "b": 1.5})  # the key set is known: the next call takes the fast path
    block = run._writer._last_block
    _InterruptedOnce.armed = True
    setattr(block, which, _InterruptedOnce(getattr(block, which)))
    with pytest.raises(KeyboardInterrupt):
        if path == "fast":
            run.log({"a": 2.0, "b": 2.5})
        else:
            run.log({"a": 2, "b": 2.5})  # an int where a float was: the checked path
    for step in (2, 3):
        run.log({"a": float(step), "b": step + 0.5})
    run.finish()
    assert _points(store_dir, run.id) == {"a": [(s, float(s)) for s in range(4)], "b": [(s, s + 0.5) for s in range(4)]}


class _InterruptedAfter(list):  # type: ignore[type-arg]
    """A block's list whose next append lands, then Ctrl-C arrives (before log() returns)."""

    armed = True

    def append(self, item: Any) -> None:
        super().append(item)
        if _InterruptedAfter.armed:
            _InterruptedAfter.armed = False
            raise KeyboardInterrupt


@pytest.mark.parametrize(("which", "kept"), [("steps", False), ("times", True)])
def test_ctrl_c_after_an_append_keeps_a_whole_call_only(store_dir: Path, which: str, kept: bool) -> None:
    """Interrupted after its step was appended the call did not happen; after its time (the last
    append) it did, and the next call takes the next step: never a step twice or a gap."""
    run = localtrack.init(dir=store_dir, project="p")
    run.log({"a": 0.0})
    run.log({"a": 1.0})
    block = run._writer._last_block
    _InterruptedAfter.armed = True
    setattr(block, which, _InterruptedAfter(getattr(block, which)))
    with pytest.raises(KeyboardInterrupt):
        run.log({"a": 2.0})
    run.log({"a": 3.0})
    run.finish()
    expected = [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0)] if kept else [(0, 0.0), (1, 1.0), (2, 3.0)]
    assert _points(store_dir, run.id)["a"] == expected
