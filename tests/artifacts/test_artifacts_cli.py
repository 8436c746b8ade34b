"""The artifact commands: log-artifacts / artifact upload|ls|download from the shell, errors as one line."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from artifact_helpers import cli, make_tree

from localtrack.storage.layout import StoreLayout
from localtrack.store.artifacts import log_artifact

REPO = Path(__file__).resolve().parents[2]


def _shell(*args: str, cwd: Path, store: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("localtrack")
    command = [exe] if exe else [sys.executable, "-c", "from localtrack.cli.entry import main; main()"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb", "LOCALTRACK_DIR": str(store)})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_log_artifacts_from_the_shell(store_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    make_tree(work / "plots", {"loss.png": (b"png", 0o644), "acc/acc.png": (b"png2", 0o644)})
    (work / "model.pt").write_bytes(b"weights")
    created = _shell("create", "--project", "p", "--name", "shell-run", cwd=work, store=store_dir)
    assert created.returncode == 0, created.stderr
    run = created.stdout.strip()
    done = _shell("log-artifacts", run, "model.pt", "plots", "--type", "model", "--description", "first", cwd=work, store=store_dir)
    assert done.returncode == 0, done.stderr
    assert "model.pt v1" in done.stdout and "plots v1" in done.stdout
    done = _shell("artifact", "upload", run, "model.pt", "--name", "ckpt/best", "--format", "json", cwd=work, store=store_dir)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["new_bytes"] == 0  # a duplicate: nothing new
    listed = _shell("artifact", "ls", run, "--format", "json", cwd=work, store=store_dir)
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["version"], r["type"], r["kind"]) for r in rows] == [
        ("model.pt", 1, "model", "file"), ("plots", 1, "model", "dir"), ("ckpt/best", 1, "", "file"),
    ]
    assert rows[0]["description"] == "first" and rows[0]["run_name"] == "shell-run" and rows[0]["run"] == run
    assert rows[0]["hash"] == rows[2]["hash"] and rows[1]["files"] == 2
    bad = _shell("log-artifacts", run, "missing.bin", cwd=work, store=store_dir)
    assert bad.returncode == 1 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr


@pytest.fixture
def logged(layout: StoreLayout, run_id: str, tmp_path: Path) -> dict[str, bytes]:
    make_tree(tmp_path / "src" / "data", {"x.csv": (b"1,2\n", 0o644), "bin/run": (b"#!/bin/sh\n", 0o755)})
    (tmp_path / "src" / "model.pt").write_bytes(b"v1")
    log_artifact(layout, run_id, tmp_path / "src" / "model.pt", name="model", type="model")
    (tmp_path / "src" / "model.pt").write_bytes(b"v2")
    log_artifact(layout, run_id, tmp_path / "src" / "model.pt", name="model", type="model")
    log_artifact(layout, run_id, tmp_path / "src" / "data", type="data")
    return {"model": b"v2"}


def test_download_file_dir_version_and_all(
    layout: StoreLayout, run_id: str, logged: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(layout.root)
    code, out, _ = cli(capsys, "artifact", "download", run_id, "model", "-o", str(tmp_path / "f"), "--store", store)
    assert code == 0 and (tmp_path / "f" / "model.pt").read_bytes() == b"v2"
    code, _, _ = cli(capsys, "artifact", "download", run_id, "model", "--version", "1", "-o", str(tmp_path / "v1"), "--store", store)
    assert code == 0 and (tmp_path / "v1" / "model.pt").read_bytes() == b"v1"
    code, out, _ = cli(capsys, "artifact", "download", run_id, "data", "-o", str(tmp_path / "d"), "--format", "json", "--store", store)
    assert code == 0 and json.loads(out)[0]["path"] == str(tmp_path / "d" / "data")
    assert stat.S_IMODE((tmp_path / "d" / "data" / "bin" / "run").stat().st_mode) == 0o755
    code, _, err = cli(capsys, "artifact", "download", run_id, "-o", str(tmp_path / "all"), "--store", store)
    assert code == 0 and "restored 3 file(s)" in err
    assert sorted(str(p.relative_to(tmp_path / "all")) for p in (tmp_path / "all").rglob("*") if p.is_file()) == [
        "data/bin/run", "data/x.csv", "model.pt",
    ]
    code, _, _ = cli(capsys, "artifact", "download", run_id, "--type", "data", "-o", str(tmp_path / "typed"), "--store", store)
    assert code == 0 and not (tmp_path / "typed" / "model.pt").exists() and (tmp_path / "typed" / "data").is_dir()
    code, _, err = cli(capsys, "artifact", "download", run_id, "model", "-o", str(tmp_path / "f"), "--store", store)
    assert code == 1 and "already exists" in err
    code, _, _ = cli(capsys, "artifact", "download", run_id, "model", "-o", str(tmp_path / "f"), "--overwrite", "--store", store)
    assert code == 0


def test_ls_all_runs_filters_and_formats(
    layout: StoreLayout, run_id: str, logged: dict[str, bytes], new_run: Callable[..., str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = new_run("second")
    log_artifact(layout, other, tmp_path / "src" / "model.pt", name="model", type="model")
    store = str(layout.root)
    code, out, _ = cli(capsys, "artifact", "ls", "--format", "json", "--store", store)
    rows = json.loads(out)
    assert code == 0 and len(rows) == 4 and {r["run"] for r in rows} == {run_id, other}
    code, out, _ = cli(capsys, "artifact", "ls", run_id, "--latest", "--format", "json", "--store", store)
    assert [(r["name"], r["version"]) for r in json.loads(out)] == [("model", 2), ("data", 1)]
    code, out, _ = cli(capsys, "artifact", "ls", run_id, "--type", "data", "--format", "csv", "--store", store)
    assert out.splitlines()[0].startswith("run,run_name,name,version,type") and len(out.splitlines()) == 2
    code, out, _ = cli(capsys, "artifact", "ls", run_id, "--store", store)
    assert code == 0 and "model" in out and "data" in out and "2 B" in out


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["artifact", "download", "{run}", "nope", "-o", "out"], 1, "has no artifact 'nope'"),
        (["artifact", "download", "{run}", "model", "--version", "7", "-o", "out"], 1, "version 7"),
        (["artifact", "download", "{run}", "--version", "1", "-o", "out"], 2, "needs an artifact NAME"),
        (["artifact", "download", "no-such-run", "-o", "out"], 1, "no run matches"),
        (["log-artifacts", "{run}", "a", "b", "--name", "x"], 2, "--name applies to one path"),
        (["log-artifacts", "{run}", "{src}/model.pt", "--name", "../x"], 1, "invalid artifact name"),
    ],
)
def test_mistakes_are_one_line(
    layout: StoreLayout, run_id: str, logged: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    args: list[str], code: int, needle: str,
) -> None:
    argv = [a.format(run=run_id, src=tmp_path / "src") for a in args] + ["--store", str(layout.root)]
    got, _, err = cli(capsys, *argv)
    assert got == code and needle in err and err.startswith("error:")


@pytest.mark.parametrize(
    "command", [["log-artifacts"], ["artifact"], ["artifact", "upload"], ["artifact", "ls"], ["artifact", "download"], ["verify"], ["gc"]]
)
def test_every_command_has_help_with_an_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, *command, "--help")
    assert code == 0 and "Example:" in out
