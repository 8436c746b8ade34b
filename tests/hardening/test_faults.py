"""Faults the store survives (RELIABILITY.md faults 2, 6, 8, 9, 10 and issue 10's findings).

Racing store creation, FORMAT versions no localtrack wrote, segments nobody recorded, edits
of a run whose manifest lies about its id, spoofed future heartbeats, a wall clock stepped
back, and tampered bytes behind ``artifact.path()``. Only the creation race uses real
processes (the race is the point); everything else goes through the API and the CLI in-process.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hardening_support import cli

import localtrack
from localtrack.errors import ArtifactError, CorruptRunError, StoreFormatError
from localtrack.store import manage, shell_writer
from localtrack.store.artifacts import artifact_handle
from localtrack.store.project import open_store
from localtrack.store.reader import list_runs, load_run, resolve_run
from localtrack.store.verify import verify_store

REPO = Path(__file__).resolve().parents[2]




def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert "Traceback" not in text and len(lines) == 1, text
    return lines[0]


def rewrite(store: Path, run_id: str, change: Any) -> None:
    path = store / "runs" / run_id / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def finished_run(store: Path, **log: float) -> str:
    with localtrack.init(project="p", dir=store) as run:
        run.log(log or {"loss": 1.0})
    return run.id


# ---------------------------------------------------------------- store creation race
RACER = """
import os, sys, time
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.0005)
import localtrack
with localtrack.init(project="race") as run:
    run.log({"x": 1.0})
print(run.id)
"""


@pytest.mark.slow
@pytest.mark.parametrize("start", ["missing", "empty folder"])
def test_eight_processes_creating_one_fresh_store_all_land_in_it(tmp_path: Path, start: str) -> None:
    store = tmp_path / "store"
    if start == "empty folder":
        store.mkdir()
    go = tmp_path / "go"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LOCALTRACK_")}
    env.update({"LOCALTRACK_DIR": str(store), "PYTHONPATH": str(REPO), "LOCALTRACK_FLUSH_SECONDS": "0.2"})
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(RACER), str(go)], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    time.sleep(0.5)  # let every interpreter start and wait at the line
    go.touch()
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        ids.append(out.strip())
    assert not (store / ".localtrack").exists(), "a second store was nested inside the first"
    layout = open_store(store)
    assert layout.root == store
    assert sorted(r.id for r in list_runs(layout) if r.ok) == sorted(ids)
    assert verify_store(layout).ok


def test_verify_reports_a_nested_store(store_dir: Path) -> None:
    finished_run(store_dir)
    nested = store_dir / ".localtrack"
    (nested / "runs").mkdir(parents=True)
    (nested / "FORMAT").write_text("localtrack-store 1\n")
    report = verify_store(open_store(store_dir))
    assert [f.path for f in report.damaged] == [str(nested)]
    assert cli(["verify", "--store", str(store_dir)])[0] == 1


# ---------------------------------------------------------------- FORMAT versions
@pytest.mark.parametrize("text", ["localtrack-store 0\n", "localtrack-store 00\n", "localtrack-store 2\n",
                                  "localtrack-store 99999999999999999999\n", "localtrack-store -1\n",
                                  "localtrack-store \u0661\n", "\x00\xff garbage", "localtrack-store 1 extra\n"])
def test_a_format_version_no_localtrack_wrote_is_refused_for_reads_and_writes(store_dir: Path, text: str) -> None:
    run_id = finished_run(store_dir)
    manifest_before = (store_dir / "runs" / run_id / "manifest.json").read_bytes()
    (store_dir / "FORMAT").write_text(text, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(StoreFormatError):
        open_store(store_dir)
    with pytest.raises(StoreFormatError):
        localtrack.Store(store_dir)
    with pytest.raises(StoreFormatError):
        localtrack.init(project="p", dir=store_dir)
    for args in (["ls"], ["show", run_id], ["create"], ["tag", run_id, "add", "x"], ["verify"], ["gc"]):
        code, out = cli([*args, "--store", str(store_dir)])
        assert code == 1, (args, out)
        assert "format" in one_line(out).lower()
    assert (store_dir / "FORMAT").read_text(encoding="utf-8", errors="surrogateescape") == text
    assert (store_dir / "runs" / run_id / "manifest.json").read_bytes() == manifest_before
    assert sorted(p.name for p in (store_dir / "runs").iterdir()) == [run_id]


# ---------------------------------------------------------------- unrecorded segments
def test_a_segment_no_manifest_records_is_damage(store_dir: Path) -> None:
    run_id = finished_run(store_dir, loss=1.0)
    metrics = store_dir / "runs" / run_id / "metrics"
    (recorded,) = list(metrics.glob("*.parquet"))
    writer = recorded.name.split("-")[0]
    # Its seal range covers the recorded one: readers would read it *instead*.
    planted = metrics / f"{writer}-000000-999999.parquet"
    shutil.copy(recorded, planted)
    stranger = metrics / "zzz999-000001-000001.parquet"  # a writer the manifest never had
    shutil.copy(recorded, stranger)
    report = verify_store(open_store(store_dir))
    damaged = {f.path: f.message for f in report.damaged}
    assert set(damaged) == {str(planted), str(stranger)}
    assert all("not recorded in the manifest" in m for m in damaged.values())
    assert cli(["verify", "--store", str(store_dir)])[0] == 1


def test_a_segment_a_live_writer_is_sealing_is_only_a_warning(store_dir: Path) -> None:
    run = localtrack.init(project="p", dir=store_dir)
    try:
        run.log({"loss": 1.0})
        run._writer.seal()
        metrics = store_dir / "runs" / run.id / "metrics"
        (recorded,) = list(metrics.glob("*.parquet"))
        writer = recorded.name.split("-")[0]
        shutil.copy(recorded, metrics / f"{writer}-000002-000002.parquet")  # sealed, manifest not yet written
        report = verify_store(open_store(store_dir))
        assert report.ok, report.findings
        assert [f.path for f in report.warnings] == [str(metrics / f"{writer}-000002-000002.parquet")]
    finally:
        run.finish()


# ---------------------------------------------------------------- writes refuse what reads refuse
def test_edits_of_a_run_whose_manifest_id_lies_are_refused(store_dir: Path) -> None:
    run_id = finished_run(store_dir)
    other = finished_run(store_dir)
    rewrite(store_dir, run_id, lambda m: m.__setitem__("id", other))
    path = store_dir / "runs" / run_id / "manifest.json"
    before = path.read_bytes()
    layout = open_store(store_dir)
    assert load_run(layout, run_id).error is not None
    for edit in (lambda: manage.change_tags(layout, run_id, add=["x"]),
                 lambda: manage.set_notes(layout, run_id, "hello"),
                 lambda: manage.rename_run(layout, run_id, "new")):
        with pytest.raises(CorruptRunError, match="does not match the folder"):
            edit()
    for args in (["tag", run_id, "add", "x"], ["note", run_id, "hello"], ["rename", run_id, "new"]):
        code, text = cli([*args, "--store", str(store_dir)])
        assert code == 1, (args, text)
        one_line(text)
    assert path.read_bytes() == before


# ---------------------------------------------------------------- heartbeats from the future
def _spoof(store: Path, run_id: str, **writer: Any) -> None:
    def change(m: dict[str, Any]) -> None:
        m["status"] = "running"
        m["ended_at"] = None
        m["writers"] = {"spoof": {"status": "running", "segments": {}, "summary": {}, **writer}}

    rewrite(store, run_id, change)


@pytest.mark.parametrize(
    "writer",
    [
        {"pid": 1, "pid_start": None, "host": socket.gethostname(), "heartbeat_at": "9999-12-31T23:59:59.000000Z"},
        {"external": True, "heartbeat_at": "9999-12-31T23:59:59.000000Z"},
        {"pid": 1, "host": "elsewhere", "heartbeat_at": "9999-12-31T23:59:59.000000Z"},
        {"pid": 1, "host": "elsewhere", "heartbeat_at": "ahead:3600"},
    ],
    ids=["pid-1-this-host", "external", "remote", "remote-one-hour-ahead"],
)
def test_a_heartbeat_in_the_future_does_not_keep_a_run_running(store_dir: Path, writer: dict[str, Any]) -> None:
    from localtrack.timefmt import iso_from_epoch

    if writer["heartbeat_at"].startswith("ahead:"):
        writer = {**writer, "heartbeat_at": iso_from_epoch(time.time() + float(writer["heartbeat_at"][6:]))}
    run_id = finished_run(store_dir)
    _spoof(store_dir, run_id, **writer)
    assert load_run(open_store(store_dir), run_id).status == "crashed"
    code, text = cli(["show", run_id, "--format", "json", "--store", str(store_dir)])
    assert code == 0 and json.loads(text)["status"] == "crashed"


def test_a_heartbeat_a_little_ahead_is_clock_skew_and_trusted(store_dir: Path) -> None:
    from localtrack.timefmt import iso_from_epoch

    run_id = finished_run(store_dir)
    _spoof(store_dir, run_id, pid=1, host="elsewhere", heartbeat_at=iso_from_epoch(time.time() + 30))
    assert load_run(open_store(store_dir), run_id).status == "running"


# ---------------------------------------------------------------- a wall clock stepped back
@pytest.fixture
def clock_stepped_back(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call it to step the wall clock (time.time) back one hour; monotonic time is untouched."""
    real = time.time

    def step() -> None:
        monkeypatch.setattr(time, "time", lambda: real() - 3600.0)

    return step


def test_a_clock_stepped_back_never_stores_a_negative_duration(store_dir: Path, clock_stepped_back: Any) -> None:
    run = localtrack.init(project="p", dir=store_dir)
    run.log({"loss": 1.0})
    clock_stepped_back()
    run.finish()
    manifest = load_run(open_store(store_dir), run.id).manifest
    assert manifest["ended_at"] < manifest["created_at"]  # the wall clock did step back ...
    assert 0 <= manifest["duration"] < 600  # ... the duration comes from the monotonic clock


def test_a_shell_run_across_a_clock_step_stores_no_negative_duration(store_dir: Path, clock_stepped_back: Any) -> None:
    layout = open_store(store_dir)
    run_id = shell_writer.create_run(layout, project="p", name="job")
    clock_stepped_back()
    shell_writer.finish_run(layout, run_id)
    duration = load_run(layout, run_id).manifest["duration"]
    assert duration is None or duration >= 0


def test_latest_is_the_last_run_created_even_after_a_clock_step(store_dir: Path, clock_stepped_back: Any) -> None:
    first = finished_run(store_dir)
    clock_stepped_back()
    second = finished_run(store_dir)
    assert second > first  # ids strictly increase within a process
    layout = open_store(store_dir)
    assert resolve_run(layout, "@latest").id == second
    code, text = cli(["show", "@latest", "--format", "json", "--store", str(store_dir)])
    assert code == 0 and json.loads(text)["id"] == second


# ---------------------------------------------------------------- artifact.path() hands out verified bytes
def _artifacts(store: Path, tmp: Path) -> str:
    folder = tmp / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.txt").write_text("beta")
    weights = tmp / "weights.bin"
    weights.write_bytes(b"\x00" * 1000)
    with localtrack.init(project="p", dir=store) as run:
        run.log_artifact(folder, name="data")
        run.log_artifact(weights, name="weights")
    return run.id


def test_a_planted_checkout_is_rebuilt_before_path_returns_it(store_dir: Path, tmp_path: Path) -> None:
    run_id = _artifacts(store_dir, tmp_path)
    handle = artifact_handle(open_store(store_dir), run_id, "data")
    planted = store_dir / "tmp" / "checkouts" / handle.hash
    (planted / "sub").mkdir(parents=True)
    (planted / "a.txt").write_text("evil")
    (planted / "sub" / "b.txt").write_text("beta")
    (planted / "extra.sh").write_text("rm -rf ~")
    path = handle.path()
    assert sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()) == ["a.txt", "sub/b.txt"]
    assert (path / "a.txt").read_text() == "alpha"
    # an intact checkout is reused as it is
    assert handle.path() == path and (path / "a.txt").read_text() == "alpha"


def test_a_checkout_holding_a_link_is_rebuilt(store_dir: Path, tmp_path: Path) -> None:
    run_id = _artifacts(store_dir, tmp_path)
    handle = artifact_handle(open_store(store_dir), run_id, "data")
    path = handle.path()
    (path / "a.txt").chmod(0o644)
    (path / "a.txt").unlink()
    (path / "a.txt").symlink_to("/etc/passwd")
    again = handle.path()
    assert not (again / "a.txt").is_symlink() and (again / "a.txt").read_text() == "alpha"


def test_a_tampered_file_object_is_refused_by_path_like_read_bytes(store_dir: Path, tmp_path: Path) -> None:
    run_id = _artifacts(store_dir, tmp_path)
    handle = artifact_handle(open_store(store_dir), run_id, "weights")
    assert handle.path().read_bytes() == b"\x00" * 1000
    obj = store_dir / "objects" / handle.hash[:2] / handle.hash
    obj.chmod(0o644)
    obj.write_bytes(b"\x01" * 1000)  # same size, other bytes (a malicious commit)
    with pytest.raises(ArtifactError, match="damaged"):
        handle.read_bytes()
    with pytest.raises(ArtifactError, match="damaged"):
        handle.path()
