"""Logged values: stored losslessly or refused whole, with the key named, and the run goes on."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.errors import InvalidNameError, LocaltrackError
from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None

needs_numpy = pytest.mark.skipif(np is None, reason="numpy not installed")


class Scalar:
    """A duck-typed 0-d tensor: localtrack must accept it through ``.item()``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def item(self) -> Any:
        return self.value


class ManyElements:
    """A multi-element tensor: ``.item()`` raises like torch/numpy do."""

    def __init__(self, exc: type[Exception]) -> None:
        self.exc = exc

    def item(self) -> Any:
        raise self.exc("only one element tensors can be converted to Python scalars")


def _points(store_dir: Path, run_id: str) -> list[tuple[str, int, float]]:
    return [(r["key"], r["step"], r["value"]) for r in read_metrics(open_store(store_dir), run_id).to_pylist()]


REFUSED: list[Any] = [
    pytest.param(b"1", id="bytes"),
    pytest.param([1.0], id="list"),  # (None is skipped and a dict flattened, as wandb: tests/api/test_wandb_steps.py)
    pytest.param((1.0,), id="tuple"),
    pytest.param(2**53 + 1, id="int>2**53"),
    pytest.param(-(2**53) - 1, id="int<-2**53"),
    pytest.param(2**64, id="int-2**64"),
    pytest.param(1 + 2j, id="complex"),
    pytest.param(object(), id="object"),
    pytest.param(ManyElements(ValueError), id="item-raises-ValueError"),
    pytest.param(ManyElements(RuntimeError), id="item-raises-RuntimeError"),
    pytest.param(Scalar("text"), id="item-returns-str"),
    pytest.param(Scalar(None), id="item-returns-None"),
    pytest.param(Scalar(2**60), id="item-returns-huge-int"),
]
if np is not None:
    REFUSED += [
        pytest.param(np.array([1.0, 2.0]), id="numpy-vector"),
        pytest.param(np.int64(2**62), id="numpy-int64-huge"),
        pytest.param(np.uint64(2**64 - 1), id="numpy-uint64-max"),
        pytest.param(np.datetime64("2024-01-01"), id="numpy-datetime64"),
    ]


@pytest.mark.parametrize("bad", REFUSED)
def test_refused_value_names_the_key_and_the_rest_is_logged(store_dir: Path, bad: Any) -> None:
    """As wandb keeps a call's other values, so does log(); the unstorable one is an error naming it."""
    run = localtrack.init(project="v", dir=store_dir)
    run.log({"good": 1.0, "other": 2.0})
    with pytest.raises((TypeError, ValueError)) as info:
        run.log({"good": 10.0, "bad/key": bad, "other": 20.0})
    assert isinstance(info.value, LocaltrackError)
    assert "bad/key" in str(info.value)
    assert run.step == 2, "the call's step is used, as wandb uses it"
    run.log({"good": 3.0, "other": 4.0})  # the run goes on
    run.finish()
    assert run.status == "finished"
    assert _points(store_dir, run.id) == [
        ("good", 0, 1.0), ("good", 1, 10.0), ("good", 2, 3.0), ("other", 0, 2.0), ("other", 1, 20.0), ("other", 2, 4.0)
    ]


ACCEPTED: list[Any] = [
    pytest.param(1.5, 1.5, id="float"),
    pytest.param(7, 7.0, id="int"),
    pytest.param(2**53, float(2**53), id="int-2**53"),
    pytest.param(-(2**53), -float(2**53), id="int--2**53"),
    pytest.param(True, 1.0, id="bool-true"),
    pytest.param(False, 0.0, id="bool-false"),
    pytest.param(-0.0, -0.0, id="negative-zero"),
    pytest.param(1e308, 1e308, id="1e308"),
    pytest.param(math.inf, math.inf, id="inf"),
    pytest.param(-math.inf, -math.inf, id="-inf"),
    pytest.param(math.nan, math.nan, id="nan"),
    pytest.param(Scalar(0.25), 0.25, id="duck-float"),
    pytest.param(Scalar(3), 3.0, id="duck-int"),
    pytest.param(Scalar(True), 1.0, id="duck-bool"),
]
if np is not None:
    ACCEPTED += [
        pytest.param(np.float64(0.1), 0.1, id="numpy-float64"),
        pytest.param(np.float32(0.5), 0.5, id="numpy-float32"),
        pytest.param(np.float16(2.0), 2.0, id="numpy-float16"),
        pytest.param(np.int64(-5), -5.0, id="numpy-int64"),
        pytest.param(np.int8(3), 3.0, id="numpy-int8"),
        pytest.param(np.uint32(9), 9.0, id="numpy-uint32"),
        pytest.param(np.bool_(True), 1.0, id="numpy-bool"),
        pytest.param(np.array(2.5), 2.5, id="numpy-0d-array"),
        pytest.param(np.array(4, dtype=np.int32), 4.0, id="numpy-0d-int-array"),
        pytest.param(np.float64("nan"), math.nan, id="numpy-nan"),
    ]
else:  # keep the ids visible as skips
    ACCEPTED.append(pytest.param(None, None, id="numpy", marks=needs_numpy))


@pytest.mark.parametrize(("value", "stored"), ACCEPTED)
def test_accepted_value_is_stored_exactly(store_dir: Path, value: Any, stored: float) -> None:
    run = localtrack.init(project="v", dir=store_dir)
    run.log({"x": value})
    run.log({"x": value})  # second call: the fast path of a known signature
    run.finish()
    points = _points(store_dir, run.id)
    assert len(points) == 2
    for _, _, got in points:
        if math.isnan(stored):
            assert math.isnan(got)
        else:
            assert got == stored and math.copysign(1, got) == math.copysign(1, stored)


@pytest.mark.parametrize(
    "step", [pytest.param(-1, id="negative"), pytest.param("3", id="str"), pytest.param(1.5, id="float"),
             pytest.param(True, id="bool"), pytest.param(2**63, id="overflow")]
)
def test_bad_step_is_refused_and_logs_nothing(store_dir: Path, step: Any) -> None:
    run = localtrack.init(project="v", dir=store_dir)
    with pytest.raises((TypeError, ValueError)):
        run.log({"a": 1.0}, step=step)
    run.log({"a": 2.0})
    run.finish()
    assert _points(store_dir, run.id) == [("a", 0, 2.0)]


@needs_numpy
def test_numpy_step_is_accepted(store_dir: Path) -> None:
    run = localtrack.init(project="v", dir=store_dir)
    run.log({"a": 1.0}, step=np.int64(5))
    run.finish()
    assert _points(store_dir, run.id) == [("a", 5, 1.0)]


def test_log_takes_a_mapping(store_dir: Path) -> None:
    run = localtrack.init(project="v", dir=store_dir)
    with pytest.raises(TypeError):
        run.log([("a", 1.0)])  # type: ignore[arg-type]
    with pytest.raises(InvalidNameError):
        run.log({1: 2.0})  # type: ignore[dict-item]
    run.finish()


def test_log_after_finish_is_a_clear_error(store_dir: Path) -> None:
    run = localtrack.init(project="v", dir=store_dir)
    run.finish()
    with pytest.raises(localtrack.RunStateError):
        run.log({"a": 1.0})


@pytest.mark.parametrize(
    "value",
    [pytest.param("bad \ud800 surrogate", id="lone-surrogate"), pytest.param(object(), id="object"),
     pytest.param({1, 2}, id="set")],
)
def test_unstorable_config_value_is_refused_at_once(store_dir: Path, value: Any) -> None:
    """Refused where it was written, not later in the flusher where nobody sees it."""
    with pytest.raises((TypeError, ValueError)) as info:
        localtrack.init(project="v", dir=store_dir, config={"opt": {"bad": value}})
    assert "bad" in str(info.value)
    assert not list((store_dir / "runs").iterdir()), "a refused init must not leave a run behind"
    run = localtrack.init(project="v", dir=store_dir)
    with pytest.raises((TypeError, ValueError)):
        run.config.update({"later": value})
    with pytest.raises((TypeError, ValueError)):
        run.summary["later"] = value
    run.config["fine"] = 1
    run.finish()
    assert run.status == "finished"
    from localtrack.store.reader import load_run

    record = load_run(open_store(store_dir), run.id)
    assert record.status == "finished" and record.manifest["config"] == {"fine": 1}


@pytest.mark.parametrize("text", ["1.0", "warmup"])
def test_a_logged_string_is_kept_in_the_summary_not_as_a_metric(store_dir: Path, text: str, capsys: Any) -> None:
    """Metric columns are numbers: the latest string of a key is kept in the summary (wandb's summary
    shows it too), with one warning, and the call's numbers are logged."""
    values: list[Any] = [text] + ([np.str_(text)] if np is not None else [])
    run = localtrack.init(project="v", dir=store_dir)
    for value in values:
        run.log({"good": 1.0, "phase": value})
    run.finish()
    assert [p for p in _points(store_dir, run.id) if p[0] == "phase"] == []
    assert [p[:2] for p in _points(store_dir, run.id)] == [("good", s) for s in range(len(values))]
    manifest = load_run(open_store(store_dir), run.id).manifest
    assert manifest["summary_values"]["phase"] == text
    assert capsys.readouterr().err.count("got text for 'phase'") == 1


def test_notes_with_lone_surrogate_are_refused(store_dir: Path) -> None:
    run = localtrack.init(project="v", dir=store_dir)
    with pytest.raises((TypeError, ValueError)):
        run.notes = "bad \udc80"
    run.finish()
    with pytest.raises((TypeError, ValueError)):
        localtrack.init(project="v", dir=store_dir, notes="bad \udc80")


@pytest.mark.parametrize("bad", [2**53 + 1, -(2**53) - 1, b"1", 1 + 0j])
def test_known_keys_do_not_skip_value_checks(store_dir: Path, bad: Any) -> None:
    """The hot path caches validated key sets; it must still refuse a bad value under known keys."""
    run = localtrack.init(project="v", dir=store_dir)
    for step in range(3):
        run.log({"a": step, "b": 0.5})  # ints and floats: the fast path
    with pytest.raises((TypeError, ValueError)) as info:
        run.log({"a": bad, "b": 0.5})
    assert "'a'" in str(info.value)
    run.log({"a": True, "b": 0.5})
    run.finish()
    rows = read_metrics(open_store(store_dir), run.id).to_pylist()
    assert [(r["key"], r["step"], r["value"]) for r in rows if r["key"] == "a"] == [("a", 0, 0.0), ("a", 1, 1.0), ("a", 2, 2.0), ("a", 4, 1.0)]
    assert [(r["step"], r["value"]) for r in rows if r["key"] == "b"][3] == (3, 0.5)  # the refused call's other value
