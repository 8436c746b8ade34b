"""Tampered run folders (a run can arrive through a malicious git commit) and store versions.

Whatever one run folder holds, the listing of the other runs keeps working and the damaged
run is reported with a clear error, never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.errors import CorruptRunError, LocaltrackError, StoreFormatError
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import open_store
from localtrack.store.reader import list_runs, load_run, metric_files, read_metrics, resolve_run
from localtrack.store.status import derive_status


def _make_runs(store_dir: Path, count: int = 3) -> list[str]:
    ids = []
    for index in range(count):
        with localtrack.init(project="t", name=f"run{index}", dir=store_dir) as run:
            run.log({"x": float(index)})
        ids.append(run.id)
    return ids


def _manifest(store_dir: Path, run_id: str) -> dict[str, Any]:
    return json.loads((store_dir / "runs" / run_id / "manifest.json").read_text())


def _write(store_dir: Path, run_id: str, data: bytes | str) -> None:
    path = store_dir / "runs" / run_id / "manifest.json"
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        m[field] = value

    return change


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _tamper_writers(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        for writer in m["writers"].values():
            writer.update(value)

    return change


# (id, how to damage, expect an error rather than a loadable record)
BAD_BYTES: list[Any] = [
    pytest.param(b"", id="empty"),
    pytest.param(b'{"format_version": 1, "id": "x", "na', id="torn"),
    pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
    pytest.param(b"[1, 2, 3]", id="not-an-object"),
    pytest.param(b"null", id="null"),
    pytest.param(('{"format_version": 1, "config": ' + _deep(100_000) + "}").encode(), id="deep-100k"),
    pytest.param(b'{"format_version": 1, "format_version": 1}', id="duplicate-keys"),
    pytest.param(b'{"format_version": 1, "id": 1e999999}', id="huge-number"),
    pytest.param(b'{"format_version": 1, "id": NaN}', id="bare-NaN"),
]


@pytest.mark.parametrize("data", BAD_BYTES)
def test_damaged_manifest_bytes_are_reported_and_others_still_list(store_dir: Path, data: bytes) -> None:
    ids = _make_runs(store_dir)
    _write(store_dir, ids[1], data)
    layout = open_store(store_dir)
    records = {r.id: r for r in list_runs(layout)}
    assert set(records) == set(ids)
    assert records[ids[0]].ok and records[ids[2]].ok
    bad = records[ids[1]]
    if bad.ok:  # a few "odd but valid JSON" cases may load; they must not break anything
        return
    assert bad.error and ids[1] in bad.error
    assert bad.status == "crashed"
    assert resolve_run(layout, "run0").id == ids[0]


FIELD_TAMPERS: list[Any] = [
    pytest.param(_set("id", "someone-else"), "does not match", id="id-mismatch"),
    pytest.param(_set("id", "../../etc"), "does not match", id="id-traversal"),
    pytest.param(_set("format_version", 99), "format_version 99", id="newer-version"),
    pytest.param(_set("format_version", 0), "format_version 0", id="version-zero"),
    pytest.param(_set("format_version", "1"), "format_version", id="version-string"),
    pytest.param(_set("format_version", True), "format_version", id="version-bool"),
    pytest.param(_set("format_version", None), "format_version", id="version-null"),
]


@pytest.mark.parametrize(("change", "message"), FIELD_TAMPERS)
def test_tampered_identity_fields_are_refused(store_dir: Path, change: Any, message: str) -> None:
    ids = _make_runs(store_dir)
    manifest = _manifest(store_dir, ids[1])
    change(manifest)
    _write(store_dir, ids[1], json.dumps(manifest))
    layout = open_store(store_dir)
    records = {r.id: r for r in list_runs(layout)}
    assert records[ids[1]].error is not None and message in records[ids[1]].error
    assert records[ids[0]].ok and records[ids[2]].ok


def test_unknown_manifest_version_is_a_clean_store_format_error(store_dir: Path) -> None:
    from localtrack.storage.manifest import read_manifest

    (run_id,) = _make_runs(store_dir, 1)
    manifest = _manifest(store_dir, run_id)
    manifest["format_version"] = 2
    _write(store_dir, run_id, json.dumps(manifest))
    with pytest.raises(StoreFormatError) as info:
        read_manifest(store_dir / "runs" / run_id / "manifest.json")
    assert info.value.value == 2
    assert "upgrade" in str(info.value)
    with pytest.raises(LocaltrackError):  # joining it must not rewrite it as version 1
        localtrack.init(project="t", dir=store_dir, id=run_id, resume="allow")
    assert _manifest(store_dir, run_id)["format_version"] == 2


ODD_VALUES: list[Any] = [
    pytest.param(_set("status", "\x1b[31mpwned"), id="status-ansi"),
    pytest.param(_set("status", 12), id="status-int"),
    pytest.param(_set("status", None), id="status-null"),
    pytest.param(_set("status", "running"), id="status-running-no-live-writer"),
    pytest.param(_set("writers", "nope"), id="writers-string"),
    pytest.param(_set("writers", {}), id="writers-empty"),
    pytest.param(_set("summary", {"x": {"count": -5, "min": "abc", "max": [1], "last": {}, "step": -1}}), id="summary-garbage"),
    pytest.param(_set("summary", {"x": {"count": 10**40, "step": 2**70}}), id="summary-huge"),
    pytest.param(_set("name", "n" * 5_000_000), id="huge-name"),
    pytest.param(_set("config", json.loads(_deep(500))), id="deep-500"),
    pytest.param(_tamper_writers({"pid": "abc", "heartbeat_at": "not a time", "status": "running"}), id="writer-garbage"),
    pytest.param(_tamper_writers({"pid": -1, "status": "running"}), id="writer-negative-pid"),
    pytest.param(_tamper_writers({"pid": 2**80, "status": "running"}), id="writer-huge-pid"),
    pytest.param(_tamper_writers({"heartbeat_at": "9" * 10_000, "status": "running", "host": "elsewhere"}), id="writer-huge-heartbeat"),
    pytest.param(_tamper_writers({"segments": {"../../../etc/passwd": {"rows": -1}, "/abs.parquet": {"rows": 10**30}}}), id="segments-traversal"),
]


@pytest.mark.parametrize("change", ODD_VALUES)
def test_odd_field_values_never_break_reading(store_dir: Path, change: Any) -> None:
    ids = _make_runs(store_dir)
    manifest = _manifest(store_dir, ids[1])
    change(manifest)
    _write(store_dir, ids[1], json.dumps(manifest))
    layout = open_store(store_dir)
    records = {r.id: r for r in list_runs(layout)}
    assert set(records) == set(ids)
    record = records[ids[1]]
    if record.ok:
        status = derive_status(record.manifest)
        assert isinstance(status, str) and len(status) <= 20
        assert record.status == status
        if manifest.get("status") == "running":
            assert status == "crashed", "a running run with no live writer must read as crashed"
    # Metrics come from the folder listing, never from paths named in the manifest.
    files, problems = metric_files(layout, ids[1])
    assert problems == [] and all(p.parent == store_dir / "runs" / ids[1] / "metrics" for p in files)
    assert read_metrics(layout, ids[1]).num_rows == 1


def test_missing_manifest_is_reported(store_dir: Path) -> None:
    ids = _make_runs(store_dir)
    (store_dir / "runs" / ids[0] / "manifest.json").unlink()
    records = {r.id: r for r in list_runs(open_store(store_dir))}
    assert "missing" in (records[ids[0]].error or "")
    assert records[ids[1]].ok


def test_manifest_that_is_a_directory_is_reported(store_dir: Path) -> None:
    ids = _make_runs(store_dir)
    path = store_dir / "runs" / ids[0] / "manifest.json"
    path.unlink()
    path.mkdir()
    records = {r.id: r for r in list_runs(open_store(store_dir))}
    assert records[ids[0]].error and records[ids[1]].ok


def test_run_folder_symlink_is_never_followed(tmp_path: Path, store_dir: Path) -> None:
    ids = _make_runs(store_dir, 2)
    outside = tmp_path / "outside-run"
    os.rename(store_dir / "runs" / ids[0], outside)
    os.symlink(outside, store_dir / "runs" / ids[0])
    layout = open_store(store_dir)
    listed = [r.id for r in list_runs(layout)]
    assert listed == [ids[1]]
    record = load_run(layout, ids[0])
    assert not record.ok and "symbolic link" in (record.error or "")


def test_manifest_symlink_pointing_outside_is_not_followed(tmp_path: Path, store_dir: Path) -> None:
    ids = _make_runs(store_dir, 2)
    secret = tmp_path / "secret.json"
    manifest = _manifest(store_dir, ids[0])
    manifest["name"] = "from-outside"
    secret.write_text(json.dumps(manifest))
    path = store_dir / "runs" / ids[0] / "manifest.json"
    path.unlink()
    os.symlink(secret, path)
    records = {r.id: r for r in list_runs(open_store(store_dir))}
    assert not records[ids[0]].ok, "a manifest symlink was followed out of the store"
    assert records[ids[1]].ok


def test_metrics_folder_symlink_is_not_followed(tmp_path: Path, store_dir: Path) -> None:
    ids = _make_runs(store_dir, 2)
    metrics = store_dir / "runs" / ids[0] / "metrics"
    outside = tmp_path / "outside-metrics"
    os.rename(metrics, outside)
    os.symlink(outside, metrics)
    layout = open_store(store_dir)
    files, problems = metric_files(layout, ids[0])
    assert files == [] and problems, "a metrics symlink was followed out of the store"
    with pytest.raises(CorruptRunError):
        read_metrics(layout, ids[0])
    assert read_metrics(layout, ids[1]).num_rows == 1


def test_segment_symlink_and_junk_names_are_ignored(tmp_path: Path, store_dir: Path) -> None:
    (run_id,) = _make_runs(store_dir, 1)
    metrics = store_dir / "runs" / run_id / "metrics"
    (real,) = list(metrics.iterdir())
    outside = tmp_path / "evil.parquet"
    outside.write_bytes(real.read_bytes())
    os.symlink(outside, metrics / "zzzzzzzzzz-000009-000009.parquet")
    (metrics / ".zzz-000001-000001.parquet.abc.tmp").write_bytes(b"PAR1 partial")
    (metrics / "README.parquet").write_bytes(b"junk")
    (metrics / "a-1-1.parquet").write_bytes(b"junk")
    layout = open_store(store_dir)
    files, problems = metric_files(layout, run_id)
    assert files == [real] and problems == []
    assert read_metrics(layout, run_id).num_rows == 1


def test_truncated_segment_is_reported_not_fatal(store_dir: Path) -> None:
    ids = _make_runs(store_dir, 2)
    (segment,) = list((store_dir / "runs" / ids[0] / "metrics").iterdir())
    data = segment.read_bytes()
    segment.write_bytes(data[: len(data) // 2])
    layout = open_store(store_dir)
    files, problems = metric_files(layout, ids[0])
    assert files == [] and len(problems) == 1 and segment.name in problems[0]
    with pytest.raises(CorruptRunError):
        read_metrics(layout, ids[0])
    assert {r.id for r in list_runs(layout)} == set(ids)
    assert read_metrics(layout, ids[1]).num_rows == 1


def test_junk_folders_in_runs_are_skipped(store_dir: Path) -> None:
    ids = _make_runs(store_dir, 1)
    runs = store_dir / "runs"
    (runs / ".hidden-staging.tmp").mkdir()
    (runs / "bad name").mkdir()
    (runs / "a..b").mkdir()
    (runs / "stray-file").write_text("x")
    assert [r.id for r in list_runs(open_store(store_dir))] == ids


# ----------------------------------------------------------------------------- store FORMAT
@pytest.mark.parametrize("text", ["localtrack-store 2\n", "localtrack-store 999999999999\n"])
def test_newer_store_is_refused_clearly(store_dir: Path, text: str) -> None:
    (store_dir / "FORMAT").write_text(text)
    with pytest.raises(StoreFormatError) as info:
        open_store(store_dir)
    assert "upgrade" in str(info.value).lower()
    with pytest.raises(StoreFormatError):
        localtrack.init(project="t", dir=store_dir)
    assert (store_dir / "FORMAT").read_text() == text, "a newer store must never be rewritten"
    assert list((store_dir / "runs").iterdir()) == []


@pytest.mark.parametrize("text", ["garbage", "", "localtrack-store", "localtrack-store one", "other-tool 1", "localtrack-store -1"])
def test_unrecognised_format_file_is_refused(store_dir: Path, text: str) -> None:
    (store_dir / "FORMAT").write_text(text)
    with pytest.raises(StoreFormatError):
        open_store(store_dir)


@pytest.mark.parametrize("text", ["localtrack-store 1\n", "localtrack-store 1", "localtrack-store 1\r\n"])
def test_same_or_older_store_opens(store_dir: Path, text: str) -> None:
    (store_dir / "FORMAT").write_text(text)
    layout = open_store(store_dir)
    assert isinstance(layout, StoreLayout)
    with localtrack.init(project="t", dir=store_dir) as run:
        run.log({"x": 1.0})
    assert load_run(layout, run.id).status == "finished"
