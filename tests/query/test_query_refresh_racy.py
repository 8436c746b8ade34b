"""Runs written just now (the "racy" window of the stat fingerprint) are checked by their
manifest's digest instead of being re-read whole on every query, and changes are still seen."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from query_samples import build_store, sample_specs, write_run

from localtrack.query import index_plan, index_scan
from localtrack.query.store import Store
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import create_store


@pytest.fixture
def fresh(tmp_path: Path) -> StoreLayout:
    """Finished runs written a moment ago: every one of them is racy when first indexed."""
    layout = create_store(tmp_path / ".localtrack")
    build_store(layout, [replace(s, status="finished") for s in sample_specs(20)])
    return layout


def test_query_racy_runs_are_not_reread_on_every_query(fresh: StoreLayout) -> None:
    store = Store(fresh.root)
    assert len(store.runs()) == 20
    assert store.index.last_refresh["runs_changed"] == 20
    assert all(s.racy and s.digest for s in store.index.stored.values())
    for _ in range(3):
        assert len(store.runs(filter="metrics.acc > 0")) > 0
        assert store.index.last_refresh["runs_changed"] == 0  # was 20 each time: every run re-read


def test_query_racy_rewrite_with_the_same_stat_is_seen(fresh: StoreLayout) -> None:
    """Same size, same mtime, same inode (rewritten in place): only the digest tells."""
    spec = sample_specs(20)[0]
    store = Store(fresh.root)
    assert store.runs(filter=f"run_id = '{spec.id}'")[0]["notes"] == spec.notes
    path = fresh.manifest_path(spec.id)
    before = os.stat(path)
    data = path.read_bytes()
    old = f'"name": "{spec.name}"'.encode()
    assert old in data
    new = f'"name": "{spec.name[:-1]}Z"'.encode()
    with open(path, "r+b") as handle:  # in place: the inode stays
        handle.write(data.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    row = store.runs(filter=f"run_id = '{spec.id}'")[0]
    assert row["name"] == spec.name[:-1] + "Z"
    assert store.index.last_refresh["runs_changed"] == 1


def test_query_racy_runs_settle_once_old_enough(fresh: StoreLayout, monkeypatch: pytest.MonkeyPatch) -> None:
    window = 1.5
    monkeypatch.setattr(index_scan, "RACY_SECONDS", window)
    monkeypatch.setattr(index_plan, "RACY_SECONDS", window)
    store = Store(fresh.root)
    store.refresh()
    new = sample_specs(21)[20]
    write_run(fresh, new)
    written = os.stat(fresh.manifest_path(new.id)).st_mtime
    store.refresh()
    if time.time() - written >= window:
        pytest.skip("the machine took longer than the racy window to index one run")
    assert store.index.stored[new.id].racy
    time.sleep(max(0.0, written + window + 0.1 - time.time()))
    assert new.id in store.runs().ids
    assert not any(s.racy for s in store.index.stored.values())
    assert store.index.last_refresh["runs_changed"] == 0
    other = Store(fresh.root)  # another process's view: read back from the index file
    other.refresh()
    assert not any(s.racy for s in other.index.stored.values())
