"""The public logging API: what it imports, what it prints, how ``with`` ends a run, wandb scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import localtrack
from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full.get("PYTHONPATH", "")]))
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=full, capture_output=True, text=True, timeout=60
    )


def test_logging_path_never_imports_duckdb_rich_or_typer(tmp_path: Path) -> None:
    done = _python(
        """
        import json, sys
        import localtrack
        after_import = sorted(m for m in ("pyarrow", "duckdb", "rich", "typer", "click") if m in sys.modules)
        run = localtrack.init(project="imports", config={"lr": 0.1}, tags=["a"])
        run.log({"loss": 0.5})
        run.config.update({"more": 1})
        run.summary["best"] = 0.5
        run.flush()
        localtrack.log({"loss": 0.25})
        localtrack.finish()
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("duckdb", "rich", "typer", "click"))
        print(json.dumps({"after_import": after_import, "heavy": heavy}))
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["after_import"] == [], "import localtrack must stay light"
    assert out["heavy"] == []


def test_wandb_style_script_works_unchanged(tmp_path: Path) -> None:
    done = _python(
        """
        import localtrack as wandb
        wandb.init(project="compat", config={"lr": 0.01, "epochs": 3}, entity="ignored", reinit=True)
        assert wandb.config.lr == 0.01
        assert wandb.config["epochs"] == 3
        wandb.config.update({"batch_size": 32})
        wandb.config.dropout = 0.1
        for epoch in range(wandb.config.epochs):
            wandb.log({"loss": 1.0 / (epoch + 1), "epoch": epoch})
        wandb.log({"val/acc": 0.9}, commit=True)
        wandb.run.summary["x"] = 1
        wandb.summary["y"] = 2
        run_id = wandb.run.id
        wandb.finish()
        assert wandb.run is None
        wandb.finish()  # a second finish is a no-op, as in wandb
        print(run_id)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    layout = open_store(tmp_path / ".localtrack")
    record = load_run(layout, run_id)
    assert record.status == "finished"
    assert record.manifest["config"] == {"lr": 0.01, "epochs": 3, "batch_size": 32, "dropout": 0.1}
    assert record.manifest["summary_values"] == {"x": 1, "y": 2}
    assert record.manifest["summary"]["loss"]["count"] == 3
    assert record.manifest["summary"]["val/acc"]["step"] == 3
    assert read_metrics(layout, run_id).num_rows == 7


def test_library_prints_nothing_to_stdout(capfd: pytest.CaptureFixture[str], store_dir: Path) -> None:
    run = localtrack.init(project="quiet", name="q", dir=store_dir, config={"a": 1}, tags={"k": "v"}, notes="n")
    for step in range(50):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 50})
    run.flush()
    run.summary["best"] = 1.0
    _ = run.summary["loss"]
    run.finish()
    with localtrack.init(project="quiet", dir=store_dir) as second:
        second.log({"x": 1.0})
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


@pytest.mark.parametrize(
    ("exc", "status"),
    [(ZeroDivisionError, "failed"), (KeyboardInterrupt, "killed"), (ValueError, "failed")],
)
def test_exception_leaving_with_block_sets_status(store_dir: Path, exc: type[BaseException], status: str) -> None:
    with pytest.raises(exc), localtrack.init(project="with", dir=store_dir) as run:
        run.log({"a": 1.0})
        raise exc("went wrong")
    record = load_run(open_store(store_dir), run.id)
    assert record.status == status
    assert record.manifest["error"]["type"] == exc.__name__
    assert record.manifest["error"]["message"] == "went wrong"
    assert read_metrics(open_store(store_dir), run.id).num_rows == 1
    assert localtrack.run is None


def test_module_level_log_without_run_is_a_clear_error() -> None:
    with pytest.raises(localtrack.RunStateError):
        localtrack.log({"a": 1.0})
    localtrack.finish()  # no-op without a run


def test_errors_share_one_root_and_carry_the_value(store_dir: Path) -> None:
    with pytest.raises(localtrack.LocaltrackError) as info:
        localtrack.init(project="e", dir=store_dir, id="../x")
    assert isinstance(info.value, ValueError) and info.value.value == "../x"
    with pytest.raises(TypeError):
        localtrack.init(project="e", dir=store_dir, not_a_wandb_kwarg=1)
    with pytest.raises(ValueError):
        localtrack.init(project="e", dir=store_dir, resume="sometimes")


def test_store_is_found_from_env_and_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_dir: Path) -> None:
    deep = store_dir.parent / "src" / "pkg"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    with localtrack.init(project="find") as run:
        run.log({"a": 1.0})
    assert run.store_dir == store_dir
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.setenv("LOCALTRACK_DIR", str(other))  # a folder: the store is created inside it
    with localtrack.init(project="find") as run2:
        pass
    assert run2.store_dir in (other, other / ".localtrack")
    assert (run2.store_dir / "FORMAT").is_file()
