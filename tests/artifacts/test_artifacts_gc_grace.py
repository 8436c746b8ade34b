"""``gc --grace 0`` reclaims unreferenced objects now, but never a write in flight (a young temp file)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from localtrack.storage.layout import StoreLayout
from localtrack.store.gc import TEMP_FLOOR_SECONDS, plan_gc, run_gc
from localtrack.store.project import create_store


def test_grace_zero_keeps_a_young_temp_file_and_drops_an_abandoned_one(tmp_path: Path) -> None:
    layout = create_store(tmp_path / ".localtrack")
    shard = Path(layout.objects_dir) / "ab"
    shard.mkdir(parents=True, exist_ok=True)
    in_flight = shard / f".{'ab' * 16}.0123456789ab.tmp"
    abandoned = shard / f".{'ab' * 16}.ba9876543210.tmp"
    in_flight.write_bytes(b"being written")
    abandoned.write_bytes(b"left by a killed writer")
    old = time.time() - TEMP_FLOOR_SECONDS - 60
    os.utime(abandoned, (old, old))
    plan = plan_gc(layout, grace_seconds=0)
    result = run_gc(layout, plan, grace_seconds=0)
    assert in_flight.exists(), "a temp file minutes old may be a write in progress"
    assert not abandoned.exists()
    assert str(abandoned) in result.deleted
    assert isinstance(layout, StoreLayout)
