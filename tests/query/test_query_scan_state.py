"""The saved scan state (``index/scan-v1.state``): the next process checks the run folders
against it without re-listing ``runs/`` or reading the index's fingerprints, and still sees
every run changed, added, removed or damaged since; a damaged or hostile state is ignored."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from query_samples import age_store, build_store, sample_specs, write_run

from localtrack.query import scan_state
from localtrack.query.fastlist import current_listing, open_listing
from localtrack.query.scan_state import STATE_FILENAME, StoredRuns, load_state
from localtrack.query.store import Store
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import create_store

SPECS = [replace(s, status="finished") for s in sample_specs(24)]


def age(layout: StoreLayout, seconds: float = 3600.0) -> None:
    """Every manifest and the runs/ folder itself written ``seconds`` ago (past the racy window)."""
    age_store(layout, seconds)
    when = datetime.now(timezone.utc).timestamp() - seconds
    os.utime(layout.runs_dir, (when, when))


@pytest.fixture
def layout(tmp_path: Path) -> StoreLayout:
    layout = create_store(tmp_path / ".localtrack")
    build_store(layout, SPECS[:20])
    age(layout)
    Store(layout.root).runs()  # builds the index and saves the state
    return layout


def fresh_ids(layout: StoreLayout) -> list[str]:
    """The run ids a new process would list (a new Store: nothing kept in memory)."""
    with Store(layout.root) as store:
        return sorted(store.runs().ids)


def test_scan_state_is_saved_and_answers_the_next_process(layout: StoreLayout) -> None:
    assert (layout.index_dir / STATE_FILENAME).is_file()
    with Store(layout.root) as store:
        assert sorted(store.runs().ids) == sorted(s.id for s in SPECS[:20])
        assert store.index.last_refresh["runs_changed"] == 0
        stored = store.index.stored
        # answered from the state: no dict of every run was built, nothing re-read
        assert isinstance(stored, StoredRuns) and stored.state is not None
        assert len(stored.state.names) == 20


def test_scan_state_sees_a_rewritten_manifest(layout: StoreLayout) -> None:
    write_run(layout, replace(SPECS[0], notes="rewritten"))  # temp + rename, like the writer
    with Store(layout.root) as store:
        row = store.runs(filter=f"run_id = '{SPECS[0].id}'")[0]
        assert row["notes"] == "rewritten"
        assert store.index.last_refresh["runs_changed"] == 1


def test_scan_state_sees_a_manifest_edited_in_place(layout: StoreLayout) -> None:
    path = layout.manifest_path(SPECS[1].id)
    data = path.read_bytes()
    old = f'"name": "{SPECS[1].name}"'.encode()
    assert old in data
    with open(path, "r+b") as handle:  # same inode, new size and mtime
        handle.write(data.replace(old, f'"name": "{SPECS[1].name}-edited"'.encode()))
    with Store(layout.root) as store:
        assert store.runs(filter=f"run_id = '{SPECS[1].id}'")[0]["name"] == SPECS[1].name + "-edited"


def test_scan_state_sees_added_and_removed_runs(layout: StoreLayout) -> None:
    write_run(layout, SPECS[20])
    shutil.rmtree(layout.run_dir(SPECS[2].id))
    age(layout)  # runs/ looks old again: its mtime still differs from the one saved
    expected = sorted({s.id for s in SPECS[:21]} - {SPECS[2].id})
    assert fresh_ids(layout) == expected
    assert fresh_ids(layout) == expected  # and the state saved after that refresh agrees


def test_scan_state_sees_a_damaged_manifest_and_a_run_folder_turned_link(layout: StoreLayout,
                                                                       tmp_path: Path) -> None:
    layout.manifest_path(SPECS[3].id).write_bytes(b'{"format_version": 1, "id": ')
    outside = tmp_path / "elsewhere"
    shutil.move(str(layout.run_dir(SPECS[4].id)), outside)
    os.symlink(outside, layout.run_dir(SPECS[4].id))
    with Store(layout.root) as store:
        ids = store.runs().ids
        problems = dict(store.problems)
    assert SPECS[3].id not in ids and SPECS[3].id in problems
    assert SPECS[4].id not in ids  # never followed out of the store


def test_scan_state_sees_a_segment_added_to_a_running_run(tmp_path: Path) -> None:
    import pyarrow as pa

    from localtrack.storage.segments import SegmentName, schema, write_segment

    layout = create_store(tmp_path / ".localtrack")
    spec = replace(sample_specs(33)[32], status="crashed")  # marked running; its writer is gone
    build_store(layout, [*SPECS[:5], spec])
    age(layout)
    Store(layout.root).runs()
    with Store(layout.root) as store:
        before = store.runs(filter=f"run_id = '{spec.id}'")[0]["metrics"]["val/loss"]["count"]
    table = pa.table({"step": pa.array([999], pa.int64()), "timestamp": pa.array([0], pa.timestamp("us", tz="UTC")),
                      "key": ["val/loss"], "value": [0.001]}, schema=schema())
    write_segment(layout.run_dir(spec.id) / "metrics", SegmentName("w0", 2, 2), table)
    with Store(layout.root) as store:
        row = store.runs(filter=f"run_id = '{spec.id}'")[0]
    assert row["metrics"]["val/loss"]["count"] == before + 1


def test_scan_state_serves_ls_and_ls_sees_changes(layout: StoreLayout) -> None:
    open_listing(layout)
    assert current_listing(layout) is not None
    write_run(layout, SPECS[21])
    assert current_listing(layout) is None  # a new run folder: the listing is behind
    listing = open_listing(layout)
    assert listing is not None and SPECS[21].id in [e[0] for e in listing.entries()]
    write_run(layout, replace(SPECS[5], notes="again"))
    assert current_listing(layout) is None
    listing = open_listing(layout)
    assert listing is not None
    assert next(r for r in listing.rows(listing.entries()) if r["id"] == SPECS[5].id)["notes"] == "again"


def _state_bytes(layout: StoreLayout) -> bytes:
    return (layout.index_dir / STATE_FILENAME).read_bytes()


def _with_body(data: bytes, body: bytes, **changes: object) -> bytes:
    """A state file whose header matches ``body`` (a consistent, hostile-but-well-formed file)."""
    magic, line, _old = data.split(b"\n", 2)
    head = json.loads(line)
    head.update(changes)
    head["xxh3"] = scan_state.xxhash.xxh3_64_intdigest(body)
    return magic + b"\n" + json.dumps(head).encode() + b"\n" + body


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "outside", "dots", "sizes", "empty"])
def test_scan_state_damaged_or_hostile_is_discarded_and_rebuilt(layout: StoreLayout, damage: str) -> None:
    path = layout.index_dir / STATE_FILENAME
    data = _state_bytes(layout)
    magic, line, body = data.split(b"\n", 2)
    head = json.loads(line)
    names = body[: head["names_bytes"]]
    rest = body[head["names_bytes"]:]
    first = names.split(b"\n")[0]
    if damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        i = len(magic) + len(line) + 2 + 3
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1:])
    elif damage == "outside":  # a name that would leave runs/, with a matching checksum
        bad = names.replace(first, b"../../../etc" + first[12:], 1)
        path.write_bytes(_with_body(data, bad + rest, names_bytes=len(bad)))
    elif damage == "dots":
        bad = names.replace(first, first[:-2] + b"..", 1)
        path.write_bytes(_with_body(data, bad + rest))
    elif damage == "sizes":  # counts that do not add up with the body
        path.write_bytes(_with_body(data, body, count=head["count"] + 1))
    else:
        path.write_bytes(b"")
    key = head["key"]
    assert load_state(layout.index_dir, key) is None
    assert fresh_ids(layout) == sorted(s.id for s in SPECS[:20])
    assert load_state(layout.index_dir, key) is not None  # written afresh by that query


def test_scan_state_of_another_index_state_is_ignored(layout: StoreLayout) -> None:
    head = json.loads(_state_bytes(layout).split(b"\n", 2)[1])
    assert load_state(layout.index_dir, head["key"]) is not None
    assert load_state(layout.index_dir, head["key"] + "0") is None
    write_run(layout, SPECS[22])  # the index moves to a new generation; the state follows it
    assert fresh_ids(layout) == sorted(s.id for s in [*SPECS[:20], SPECS[22]])
    new = json.loads(_state_bytes(layout).split(b"\n", 2)[1])
    assert new["key"] != head["key"] and load_state(layout.index_dir, new["key"]) is not None
