"""init/finish as wandb scripts use them: modes, reinit, settings, run attributes, resume."""

from __future__ import annotations

import argparse
import math
import time
import types
from pathlib import Path
from typing import Any

import pytest
from wandb_helpers import history, manifest_of

import localtrack
from localtrack.errors import RunStateError


def test_disabled_mode_records_nothing_and_never_fails(store_dir: Path) -> None:
    runs_dir = store_dir / "runs"
    before = sorted(runs_dir.iterdir()) if runs_dir.exists() else []
    run = localtrack.init(project="d", dir=store_dir, mode="disabled", config={"lr": 0.1})
    assert run.disabled and localtrack.run is run
    assert run.config.lr == 0.1
    run.config.update(argparse.Namespace(epochs=3))
    run.summary["best"] = 1.0
    assert run.summary["best"] == 1.0 and run.config.epochs == 3
    run.log({"loss": "not even a number"})
    localtrack.log({"loss": 1.0}, step=5)
    run.define_metric("loss", summary="min")
    run.alert("t", "x")
    run.watch(object())
    run.log_artifact("no/such/file")
    run.anything_else_wandb_has(1, 2)
    run.tags = run.tags + ("x",)  # noqa: RUF005 - as wandb scripts write it
    localtrack.config.update({"more": 1})
    run.finish(exit_code=1, quiet=True)
    assert localtrack.run is None
    after = sorted(runs_dir.iterdir()) if runs_dir.exists() else []
    assert after == before


def test_offline_online_modes_settings_and_login_are_accepted(store_dir: Path) -> None:
    assert localtrack.login(key="anything") is True
    for mode in ("offline", "online"):
        run = localtrack.init(project="m", dir=store_dir, mode=mode, settings=localtrack.Settings(start_method="thread"))
        run.log({"a": 1.0})
        run.finish()
        assert manifest_of(run)["status"] == "finished"
    with pytest.raises(ValueError, match="mode="):
        localtrack.init(project="m", dir=store_dir, mode="cloud")


def test_wandb_init_keywords_are_accepted(store_dir: Path) -> None:
    run = localtrack.init(
        project="k", dir=store_dir, entity="me", save_code=True, anonymous="never", sync_tensorboard=False,
        monitor_gym=False, magic=False, force=False, allow_val_change=True, job_type="train", group="g",
        notes="n", tags=["a"], resume_from=None, fork_from=None, tensorboard=False,
    )
    assert run.entity == "me" and run.path == f"me/k/{run.id}" and run.job_type == "train" and run.group == "g"
    run.finish()
    with pytest.raises(TypeError, match="no_such_kwarg"):
        localtrack.init(project="k", dir=store_dir, no_such_kwarg=1)


def test_second_init_returns_the_active_run_by_default(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = localtrack.init(project="r", dir=store_dir)
    for reinit in (None, False, "default", "return_previous"):
        again = localtrack.init(project="r", dir=store_dir, reinit=reinit, config={"ignored": 1})
        assert again is first
    assert "returning it" in capsys.readouterr().err
    first.finish()
    assert "ignored" not in manifest_of(first)["config"]


@pytest.mark.parametrize("reinit", [True, "finish_previous"])
def test_reinit_finish_previous_ends_the_old_run(store_dir: Path, reinit: object) -> None:
    first = localtrack.init(project="r", dir=store_dir)
    first.log({"a": 1.0}, commit=False)
    second = localtrack.init(project="r", dir=store_dir, reinit=reinit)
    assert second is not first and first.status == "finished" and localtrack.run is second
    second.finish()
    assert manifest_of(first)["status"] == "finished"
    assert history(store_dir, first.id) == {0: {"a": 1.0}}  # its pending row was kept


def test_reinit_create_new_keeps_both(store_dir: Path) -> None:
    first = localtrack.init(project="r", dir=store_dir)
    second = localtrack.init(project="r", dir=store_dir, reinit="create_new")
    assert second is not first and first.status == "running"
    second.finish()
    first.finish()


def test_finish_exit_code_quiet_and_join(store_dir: Path) -> None:
    run = localtrack.init(project="f", dir=store_dir)
    localtrack.finish(exit_code=3, quiet=True)
    assert manifest_of(run)["status"] == "failed"
    run = localtrack.init(project="f", dir=store_dir)
    localtrack.join()
    assert manifest_of(run)["status"] == "finished"
    run = localtrack.init(project="f", dir=store_dir)
    run.finish(exit_code=0, quiet=False)
    assert manifest_of(run)["status"] == "finished"


def test_run_attributes_have_local_meanings(store_dir: Path) -> None:
    before = time.time()
    run = localtrack.init(project="attrs", name="n1", dir=store_dir, group="grp", job_type="eval", tags=["a"])
    assert run.id and run.name == "n1" and run.project == "attrs" and run.group == "grp" and run.job_type == "eval"
    assert Path(run.dir).is_dir() and run.url == Path(run.dir).resolve().as_uri() and run.url.startswith("file://")
    assert run.resumed is False and run.disabled is False and run.step == 0
    assert before - 1 <= run.start_time <= time.time()
    run.tags = run.tags + ("b",)  # noqa: RUF005 - as wandb scripts write it
    assert run.tags == ("a", "b") and run.tags[0] == "a" and "b" in run.tags
    run.finish()
    assert manifest_of(run)["tags"] == {"a": "", "b": "", "job_type": "eval"}


def test_media_names_exist_and_say_what_is_coming(store_dir: Path) -> None:
    run = localtrack.init(project="media", dir=store_dir)
    for name in ("Image", "Table", "Histogram", "Audio", "Video", "Html", "Object3D", "Artifact", "Api"):
        with pytest.raises(NotImplementedError, match="media and artifacts"):
            getattr(localtrack, name)()
    for call in (localtrack.use_artifact, localtrack.save, localtrack.log_code, run.use_artifact, run.save, run.log_code):
        with pytest.raises(NotImplementedError, match="media and artifacts"):
            call("x")
    run.finish()


def test_alert_is_recorded_and_printed(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = localtrack.init(project="al", dir=store_dir)
    localtrack.alert(title="Low acc", text="acc 0.1 < 0.5", level=localtrack.AlertLevel.WARN)
    run.alert("done", "ok")
    err = capsys.readouterr().err
    assert "ALERT [WARN] Low acc: acc 0.1 < 0.5" in err and err.count("ALERT") == 2
    run.finish()
    alerts = manifest_of(run)["alerts"]
    assert [(a["title"], a["text"], a["level"]) for a in alerts] == [("Low acc", "acc 0.1 < 0.5", "WARN"), ("done", "ok", "INFO")]


class FakeTensor:
    """The tensor methods watch() uses, over a list of floats (torch's documented names)."""

    def __init__(self, values: list[float], grad: FakeTensor | None = None) -> None:
        self.values, self.grad = values, grad

    def detach(self) -> FakeTensor:
        return self

    def float(self) -> FakeTensor:
        return self

    def numel(self) -> int:
        return len(self.values)

    def _scalar(self, value: float) -> Any:
        return types.SimpleNamespace(item=lambda: value)

    def mean(self) -> Any:
        return self._scalar(sum(self.values) / len(self.values))

    def std(self) -> Any:
        m = sum(self.values) / len(self.values)
        return self._scalar((sum((v - m) ** 2 for v in self.values) / (len(self.values) - 1)) ** 0.5)

    def min(self) -> Any:
        return self._scalar(min(self.values))

    def max(self) -> Any:
        return self._scalar(max(self.values))

    def norm(self) -> Any:
        return self._scalar(sum(v * v for v in self.values) ** 0.5)


class FakeModule:
    """``register_forward_hook(hook)`` returning a handle with ``remove()``, and ``named_parameters()``."""

    def __init__(self) -> None:
        self.hooks: list[Any] = []
        self.weight = FakeTensor([1.0, 3.0], grad=FakeTensor([0.5, -0.5]))

    def named_parameters(self) -> Any:
        yield "layer.weight", self.weight

    def register_forward_hook(self, hook: Any) -> Any:
        self.hooks.append(hook)
        return types.SimpleNamespace(remove=lambda: self.hooks.remove(hook))

    def __call__(self, x: float) -> float:
        for hook in list(self.hooks):
            hook(self, (x,), x)
        return x


def test_watch_summarises_parameters_and_gradients_every_log_freq_batches(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    torch_was_loaded = "torch" in sys.modules
    run = localtrack.init(project="w", dir=store_dir)
    model = FakeModule()
    localtrack.watch(model, log="all", log_freq=2)
    for step in range(4):
        model(float(step))  # the forward pass of batch `step`
        run.log({"loss": 1.0 / (step + 1)})
    localtrack.unwatch(model)
    assert model.hooks == []
    run.watch(object())  # not a module: one warning, nothing recorded
    assert "not watched" in capsys.readouterr().err
    assert ("torch" in sys.modules) == torch_was_loaded  # watch never imports torch itself
    run.finish()
    rows = history(store_dir, run.id)
    assert rows[1]["parameters/layer.weight/mean"] == 2.0 and rows[1]["parameters/layer.weight/max"] == 3.0
    assert rows[1]["gradients/layer.weight/norm"] == pytest.approx(0.5**0.5)
    assert rows[3]["gradients/layer.weight/mean"] == 0.0 and "loss" in rows[3]
    assert not any(k.startswith("parameters/") for k in {**rows[0], **rows[2]})


def test_resume_must_keeps_duration_and_does_not_recapture(store_dir: Path) -> None:
    run = localtrack.init(project="res", dir=store_dir, id="resume-me")
    run.log({"a": 1.0})
    run.finish()
    first = manifest_of(run)
    time.sleep(1.2)  # the pause between sessions must not count as run time
    again = localtrack.init(project="res", dir=store_dir, id="resume-me", resume="must")
    assert again.resumed
    assert again.step == 1  # as wandb: resuming continues after the last step
    again.log({"a": 2.0})
    again.finish()
    second = manifest_of(again)
    assert second["status"] == "finished"
    assert first["duration"] <= second["duration"] < first["duration"] + 1.0
    assert [a["name"] for a in second["artifacts"]] == [a["name"] for a in first["artifacts"]]
    assert history(store_dir, "resume-me") == {0: {"a": 1.0}, 1: {"a": 2.0}}


def test_resume_must_while_a_run_is_active_is_refused(store_dir: Path) -> None:
    run = localtrack.init(project="res", dir=store_dir)
    with pytest.raises(RunStateError, match="another is active"):
        localtrack.init(project="res", dir=store_dir, id=run.id, resume="must")
    run.finish()
    assert not math.isnan(manifest_of(run)["duration"])
