"""wandb's step rules for log(): commit=False, step=N, lower steps dropped, nested dicts, None.

Each expectation is what wandb 0.2x's core records for the same calls (its partial-history
handler: pending row per step, flush on a log without step or with commit=True).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from wandb_helpers import history, manifest_of, points

import localtrack
from localtrack.errors import LocaltrackError


def test_commit_false_accumulates_into_one_step(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"loss": 1.0}, commit=False)
    run.log({"acc": 0.5}, commit=False)
    run.log({"loss": 0.9}, commit=False)  # same key, same step: the later value wins
    assert run.step == 0
    run.log({"lr": 0.1})
    assert run.step == 1
    run.log({"loss": 0.8})
    run.finish()
    assert history(store_dir, run.id) == {0: {"loss": 0.9, "acc": 0.5, "lr": 0.1}, 1: {"loss": 0.8}}
    assert [p for p in points(store_dir, run.id) if p[0] == "loss"] == [("loss", 0, 0.9), ("loss", 1, 0.8)]


def test_explicit_step_then_plain_log_share_the_step(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"a": 1.0})  # step 0
    run.log({"a": 2.0}, step=5)  # moves to 5, not committed yet
    assert run.step == 5
    run.log({"b": 3.0})  # joins step 5 and commits it
    assert run.step == 6
    run.log({"a": 4.0}, step=6)
    run.log({"b": 5.0}, step=6)  # same step: accumulates
    run.log({"a": 6.0}, step=9)  # higher: commits step 6, moves to 9
    run.finish()  # the pending row of step 9 is kept, as wandb does at exit
    assert history(store_dir, run.id) == {
        0: {"a": 1.0},
        5: {"a": 2.0, "b": 3.0},
        6: {"a": 4.0, "b": 5.0},
        9: {"a": 6.0},
    }


def test_lower_step_is_dropped_with_one_warning_line(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"a": 1.0}, step=10)
    run.log({"a": 2.0}, step=11)
    capsys.readouterr()
    run.log({"a": 99.0}, step=3)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "step=3" in err and "11" in err and "dropped" in err
    assert run.step == 11
    run.log({"a": 3.0})
    run.finish()
    assert history(store_dir, run.id) == {10: {"a": 1.0}, 11: {"a": 3.0}}
    assert 99.0 not in [v for _, _, v in points(store_dir, run.id)]


def test_commit_true_with_step_writes_at_once(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"a": 1.0}, step=4, commit=True)
    assert run.step == 5
    run.log({"a": 2.0}, step=5, commit=False)
    run.log({"b": 1.0}, commit=True)
    run.finish()
    assert history(store_dir, run.id) == {4: {"a": 1.0}, 5: {"a": 2.0, "b": 1.0}}


def test_empty_log_is_accepted_and_advances_the_step(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"a": 1.0})
    run.log({})
    assert run.step == 2
    run.log({"a": 2.0})
    run.log({}, commit=False)
    assert run.step == 3
    run.finish()
    assert history(store_dir, run.id) == {0: {"a": 1.0}, 2: {"a": 2.0}}


def test_nested_dicts_are_flattened_with_dots_and_none_is_skipped(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"val": {"loss": 0.5, "acc": {"top1": 0.7}}, "skip": None, "lr": 0.1})
    run.log({"val": {"loss": 0.4}}, commit=False)
    run.log({"val": {"acc": {"top1": 0.8}}})
    run.log({"only_none": None})  # nothing to record, but the step is used
    run.finish()
    assert history(store_dir, run.id) == {
        0: {"val.loss": 0.5, "val.acc.top1": 0.7, "lr": 0.1},
        1: {"val.loss": 0.4, "val.acc.top1": 0.8},
    }
    assert run.step == 3


def test_an_unstorable_value_is_an_error_naming_it_and_the_rest_is_logged(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """wandb keeps the call's other values. A string goes to the summary (wandb's summary shows
    it too; metric columns are numbers), with one warning per key; an object is an error."""
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"a": 1.0})
    run.log({"a": 2.0, "val": {"text": "hello"}})
    assert run.step == 2
    with pytest.raises(LocaltrackError, match="'obj'"):
        run.log({"a": 3.0, "obj": object()}, commit=False)
    assert run.step == 2
    run.log({"b": 4.0})
    run.log({"s": "only text"})  # nothing numeric: the step is still used
    run.log({"a": 5.0, "val": {"text": "bye"}})
    run.finish()
    assert history(store_dir, run.id) == {0: {"a": 1.0}, 1: {"a": 2.0}, 2: {"a": 3.0, "b": 4.0}, 4: {"a": 5.0}}
    values = manifest_of(run)["summary_values"]
    assert values["val.text"] == "bye" and values["s"] == "only text"
    err = capsys.readouterr().err
    assert err.count("got text for 'val.text'") == 1 and "got text for 's'" in err


def test_a_bad_key_refuses_the_whole_call(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    with pytest.raises(LocaltrackError):
        run.log({"a": 1.0, "": 2.0})
    assert run.step == 0
    run.finish()
    assert history(store_dir, run.id) == {}


def test_a_dotted_key_and_the_same_nested_key_in_one_call_are_refused(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    with pytest.raises(LocaltrackError, match=r"'a\.b'"):
        run.log({"a.b": 1.0, "a": {"b": 2.0}})
    run.finish()
    assert history(store_dir, run.id) == {}


def test_module_level_log_passes_step_and_commit(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    localtrack.log({"a": 1.0}, commit=False)
    localtrack.log({"b": 2.0}, step=0)
    localtrack.log({"c": 3.0})
    localtrack.finish()
    assert run.status == "finished"
    assert history(store_dir, run.id) == {0: {"a": 1.0, "b": 2.0, "c": 3.0}}


def test_non_finite_values_and_numpy_steps(store_dir: Path) -> None:
    np = pytest.importorskip("numpy")
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"x": math.inf, "y": np.float32(0.5)}, step=np.int64(3))
    run.log({"x": math.nan})
    run.finish()
    rows = history(store_dir, run.id)
    assert rows[3]["x"] != rows[3]["x"] and rows[3]["y"] == 0.5  # NaN overwrote inf in step 3


def test_flush_writes_the_pending_row_and_stays_at_its_step(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    for step in range(3):
        run.log({"loss": float(step)}, step=step)
    run.flush()  # step 2 is pending in wandb's rules; flush makes it durable
    assert history(store_dir, run.id) == {0: {"loss": 0.0}, 1: {"loss": 1.0}, 2: {"loss": 2.0}}
    assert run.step == 2
    run.log({"acc": 0.5})  # still step 2, then committed
    run.finish()
    assert history(store_dir, run.id) == {0: {"loss": 0.0}, 1: {"loss": 1.0}, 2: {"loss": 2.0, "acc": 0.5}}
