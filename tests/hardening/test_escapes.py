"""Escapes from the store: names read from disk get the checks names from the user get.

RELIABILITY.md bad inputs 1, 2, 6 and 10 (and issue 10's critical finding): a run folder that
arrives through a malicious git commit carries a manifest whose writer ids, segment file
names, run id and artifact records are attacker-chosen. Each test plants such a manifest,
then drives the store the way a user would (Python API, the CLI in-process, ``verify``) and
asserts that nothing is written outside the store, that the refusal is one line naming the
bad name, and that ``verify`` names the damaged manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hardening_support import cli

import localtrack
from localtrack.errors import LocaltrackError
from localtrack.storage.layout import StoreLayout
from localtrack.store import shell_writer
from localtrack.store.reader import load_run
from localtrack.store.verify import verify_store

# Every traversal, absolute, Windows, encoded and smuggled form of RELIABILITY.md items 1-3.
HOSTILE_NAMES = [
    "..", "../../../../../X", "a/../../b", "/abs/X", "//host/share", "a/",
    "..\\x", "C:\\x", "\\\\server\\share", "%2e%2e%2f", "..%c0%af",
    "file:///etc/passwd", "..;/x", "x\x00y", "", "a" * 300, "UPPER",
]




def snapshot(folder: Path, skip: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder`` (``skip``, the store, excluded) with its bytes."""
    found: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in dirnames:
            found[str((here / name).relative_to(folder))] = None
        for name in filenames:
            path = here / name
            found[str(path.relative_to(folder))] = path.read_bytes() if not path.is_symlink() else b"->link"
    return found


def manifest_path(store: Path, run_id: str) -> Path:
    return store / "runs" / run_id / "manifest.json"


def rewrite(store: Path, run_id: str, change: Any) -> None:
    """Edit a manifest the way a git commit would: plain JSON, no validation."""
    path = manifest_path(store, run_id)
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def shell_run(store: Path) -> str:
    run_id = shell_writer.create_run(StoreLayout(store), project="p", name="job")
    shell_writer.log_metrics(StoreLayout(store), run_id, {"loss": 0.5}, None)
    return run_id


def one_line(text: str) -> None:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert "Traceback" not in text
    assert len(lines) == 1, text


def test_issue_repro_writer_id_traversal_does_not_write_outside(store_dir: Path, tmp_path: Path) -> None:
    run_id = shell_run(store_dir)
    absolute = tmp_path / "abs" / "X"
    for writer_id in ("../../../../../X", str(absolute)):
        rewrite(store_dir, run_id, lambda m, w=writer_id: m.__setitem__(
            "writers", {w: {"external": True, "status": "running", "heartbeat_at": m["created_at"], "segments": {}}}
        ))
        before = snapshot(tmp_path, store_dir)
        code, text = cli(["log-metrics", run_id, "--metrics", '{"loss":1}', "--store", str(store_dir)])
        assert code == 1
        one_line(text)
        assert "invalid writer id" in text and repr(writer_id)[:30] in text
        assert snapshot(tmp_path, store_dir) == before, "log-metrics wrote outside the store"
        assert not list(tmp_path.rglob("X-*.parquet"))
        assert not list(Path("/").glob("X-*.parquet"))


@pytest.mark.parametrize("writer_id", HOSTILE_NAMES, ids=repr)
def test_hostile_writer_id_is_refused_by_every_entry_point(store_dir: Path, tmp_path: Path, writer_id: str) -> None:
    run_id = shell_run(store_dir)

    def plant(m: dict[str, Any]) -> None:
        entry = next(iter(m["writers"].values()))
        m["writers"] = {writer_id: entry}

    rewrite(store_dir, run_id, plant)
    before = snapshot(tmp_path, store_dir)
    layout = StoreLayout(store_dir)
    assert load_run(layout, run_id).error is not None  # the reader refuses it ...
    report = verify_store(layout)  # ... verify names the manifest ...
    assert [f.path for f in report.damaged] == [str(manifest_path(store_dir, run_id))]
    assert "writer id" in report.damaged[0].message
    # ... and no writer uses it: shell, Python resume, edits.
    with pytest.raises(LocaltrackError, match="writer id"):
        shell_writer.log_metrics(layout, run_id, {"loss": 1.0}, None)
    with pytest.raises(LocaltrackError, match="writer id"):
        localtrack.init(id=run_id, resume="allow", dir=store_dir)
    for args in (["log-metrics", run_id, "--metrics", '{"loss": 2}'], ["tag", run_id, "add", "x"], ["finish", run_id]):
        code, text = cli([*args, "--store", str(store_dir)])
        assert code == 1, (args, text)
        one_line(text)
    assert snapshot(tmp_path, store_dir) == before


@pytest.mark.parametrize(
    "filename",
    ["../../x.parquet", "/tmp/x.parquet", "..\\x.parquet", "other0writer-000001-000001.parquet",
     "w-1-1.parquet", "w-000002-000001.parquet", "manifest.json", "%2e%2e%2fx.parquet"],
    ids=repr,
)
def test_hostile_segment_name_in_manifest_is_refused(store_dir: Path, tmp_path: Path, filename: str) -> None:
    run_id = shell_run(store_dir)

    def plant(m: dict[str, Any]) -> None:
        entry = next(iter(m["writers"].values()))
        entry["segments"][filename] = {"rows": 1, "bytes": 1, "digest": "0" * 32}

    rewrite(store_dir, run_id, plant)
    before = snapshot(tmp_path, store_dir)
    layout = StoreLayout(store_dir)
    assert "segment file name" in (load_run(layout, run_id).error or "")
    report = verify_store(layout)
    assert any(f.path == str(manifest_path(store_dir, run_id)) and "segment file name" in f.message for f in report.damaged)
    with pytest.raises(LocaltrackError, match="segment file name"):
        shell_writer.log_metrics(layout, run_id, {"loss": 1.0}, None)
    code, text = cli(["show", run_id, "--store", str(store_dir)])
    assert code in (0, 1)
    assert "Traceback" not in text
    assert snapshot(tmp_path, store_dir) == before


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../b", "C:\\x", "%2e%2e%2f"], ids=repr)
def test_hostile_artifact_record_never_becomes_a_path(store_dir: Path, tmp_path: Path, bad: str) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    with localtrack.init(project="p", dir=store_dir) as run:
        run.log_artifact(source, name="model")
    run_id = run.id

    def plant(m: dict[str, Any]) -> None:
        record = m["artifacts"][0]
        m["artifacts"].append({**record, "name": bad, "version": 1})
        m["artifacts"].append({**record, "name": "other", "version": 1, "hash": bad})
        m["artifacts"].append({**record, "name": "third", "version": 1, "filename": bad})

    rewrite(store_dir, run_id, plant)
    before = snapshot(tmp_path, store_dir)
    report = verify_store(StoreLayout(store_dir))
    messages = " ".join(f.message for f in report.damaged)
    assert repr(bad) in messages
    out = tmp_path / "download"
    for args in (["artifact", "download", run_id, "other", "--output-dir", str(out)],
                 ["artifact", "download", run_id, "third", "--output-dir", str(out)],
                 ["artifact", "ls", run_id]):
        code, text = cli([*args, "--store", str(store_dir)])
        assert code in (0, 1, 2), text
        assert "Traceback" not in text
    after = snapshot(tmp_path, store_dir)
    assert {k: v for k, v in after.items() if not k.startswith("download")} == before
    assert not any(Path(k).name == "passwd" for k in after)


@pytest.mark.parametrize("folder", ["..%2fx", "a..b", ".hidden", "-x", "UPPER\x1b[31m", "x y"], ids=repr)
def test_run_folders_with_unsafe_names_are_never_listed_or_opened(store_dir: Path, tmp_path: Path, folder: str) -> None:
    run_id = shell_run(store_dir)
    (store_dir / "runs" / folder).mkdir()
    (store_dir / "runs" / folder / "manifest.json").write_text((manifest_path(store_dir, run_id)).read_text())
    code, text = cli(["ls", "--format", "json", "--store", str(store_dir)])
    assert code == 0, text
    assert [row["id"] for row in json.loads(text)] == [run_id]
