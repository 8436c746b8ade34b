"""run.summary and define_metric: summaries computed for defined keys, custom x-axes recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from wandb_helpers import history, manifest_of

import localtrack
from localtrack.errors import LocaltrackError

LOSSES = [3.0, 1.0, 2.0, 0.5, 4.0]


def test_summary_set_and_update(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.log({"loss": 2.0})
    run.log({"loss": 1.0})
    run.summary["best_acc"] = 0.93
    run.summary.update({"epochs_run": 2, "note": "ok"})
    assert run.summary["loss"] == 1.0 and run.summary["best_acc"] == 0.93 and run.summary.epochs_run == 2
    run.finish()
    assert manifest_of(run)["summary_values"] == {"best_acc": 0.93, "epochs_run": 2, "note": "ok"}


@pytest.mark.parametrize(
    ("summary", "goal", "expected"),
    [
        ("min", None, {"loss.min": 0.5}),
        ("max", None, {"loss.max": 4.0}),
        ("mean", None, {"loss.mean": sum(LOSSES) / len(LOSSES)}),
        ("last", None, {"loss.last": 4.0}),
        ("first", None, {"loss.first": 3.0}),
        ("best", "minimize", {"loss.best": 0.5}),
        ("best", "maximize", {"loss.best": 4.0}),
        ("min,max,last", None, {"loss.min": 0.5, "loss.max": 4.0, "loss.last": 4.0}),
        ("none", None, {}),
    ],
)
def test_define_metric_summaries(store_dir: Path, summary: str, goal: str | None, expected: dict[str, float]) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.define_metric("loss", summary=summary, goal=goal)
    for value in LOSSES:
        run.log({"loss": value, "other": value})
    if summary == "none":
        with pytest.raises(KeyError):
            run.summary["loss"]
    else:
        assert run.summary["loss"] == {k.split(".", 1)[1]: v for k, v in expected.items()}  # wandb's nested view
    run.finish()
    manifest = manifest_of(run)
    assert manifest["summary_values"] == expected
    assert manifest["metric_definitions"]["loss"]["summary"] == summary.split(",")
    assert history(store_dir, run.id)[4] == {"loss": 4.0, "other": 4.0}  # the history itself is unchanged


def test_glob_definition_covers_matching_keys_only(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    localtrack.define_metric("val/*", summary="max")
    for i, value in enumerate([0.1, 0.7, 0.4]):
        run.log({"val/acc": value, "val/f1": value / 2, "train/acc": value * 10, "step_i": i})
    run.finish()
    assert manifest_of(run)["summary_values"] == {"val/acc.max": 0.7, "val/f1.max": 0.35}


def test_summary_counts_the_committed_value_of_a_step(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.define_metric("loss", summary="min,mean")
    run.log({"loss": 0.1}, commit=False)  # overwritten in the same step: never a committed value
    run.log({"loss": 5.0})
    run.log({"loss": 3.0})
    run.finish()
    assert manifest_of(run)["summary_values"] == {"loss.min": 3.0, "loss.mean": 4.0}


def test_step_metric_is_recorded_and_synced_into_rows(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch")
    run.log({"epoch": 1, "train/loss": 0.9})
    run.log({"val/loss": 0.8})  # wandb's step_sync adds the last epoch to this row
    run.log({"epoch": 2, "val/loss": 0.7})
    run.finish()
    manifest = manifest_of(run)
    assert manifest["metric_definitions"]["val/*"]["step_metric"] == "epoch"
    assert manifest["metric_definitions"]["epoch"]["step_metric"] is None
    assert history(store_dir, run.id) == {
        0: {"epoch": 1.0, "train/loss": 0.9},
        1: {"val/loss": 0.8, "epoch": 1.0},
        2: {"epoch": 2.0, "val/loss": 0.7},
    }


def test_explicit_summary_value_wins_over_a_defined_summary(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    run.define_metric("acc", summary="max")
    run.log({"acc": 0.5})
    run.log({"acc": 0.9})
    run.summary["acc"] = 0.75  # the script's own value, as wandb's SetExplicit
    run.finish()
    assert manifest_of(run)["summary_values"] == {"acc": 0.75}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "a*b"}, "trailing"),
        ({"name": "loss", "summary": "median"}, "median"),
        ({"name": "loss", "goal": "up"}, "minimize"),
        ({"name": ""}, "non-empty"),
    ],
)
def test_bad_define_metric_arguments_are_one_clear_error(store_dir: Path, kwargs: dict[str, str], match: str) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    with pytest.raises(LocaltrackError, match=match):
        run.define_metric(**kwargs)
    run.finish()


def test_a_second_definition_of_a_name_merges_unless_overwrite(store_dir: Path) -> None:
    run = localtrack.init(project="s", dir=store_dir)
    localtrack.define_metric("loss", summary="min")
    localtrack.define_metric("loss", summary="max")  # wandb's docs snippet: both summaries
    localtrack.define_metric("acc", summary="min")
    localtrack.define_metric("acc", summary="max", overwrite=True)
    for value in LOSSES:
        run.log({"loss": value, "acc": value})
    run.finish()
    manifest = manifest_of(run)
    assert manifest["summary_values"] == {"loss.min": 0.5, "loss.max": 4.0, "acc.max": 4.0}
    assert manifest["metric_definitions"]["loss"]["summary"] == ["min", "max"]
