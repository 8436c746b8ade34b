"""Faults while storing: SIGKILL mid-artifact leaves no partial object; the tree format round-trips."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from artifact_helpers import object_files
from hypothesis import given, settings
from hypothesis import strategies as st

from localtrack.errors import ArtifactError, InvalidNameError
from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import ObjectStore
from localtrack.store.artifact_tree import TreeEntry, encode_tree, parse_tree
from localtrack.store.gc import plan_gc, run_gc
from localtrack.store.verify import verify_store


def test_sigkill_mid_artifact_leaves_no_partial_object(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    with open(src, "wb") as handle:
        for _ in range(12):
            handle.write(os.urandom(8 << 20))
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from localtrack.storage.layout import StoreLayout
        from localtrack.store.artifacts import log_artifact
        log_artifact(StoreLayout(Path({str(layout.root)!r})), {run_id!r}, {str(src)!r})
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    child = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 30
    caught_temp = False
    while child.poll() is None and time.monotonic() < deadline:
        if any(p.name.endswith(".tmp") for p in layout.objects_dir.rglob(".*")):
            caught_temp = True
            break
        time.sleep(0.001)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) in (0, -signal.SIGKILL)
    # Whatever the moment of the kill: no object that fails its hash, the manifest readable.
    report = verify_store(layout)
    assert report.ok, report.damaged
    objects = object_files(layout)
    if caught_temp:
        assert objects == {} or list(objects.values()) == [src.stat().st_size]
    temps = [p for p in layout.objects_dir.rglob(".*") if p.is_file()]
    old = time.time() - 7200
    for temp in temps:
        assert temp in {e.path for e in ObjectStore(layout.objects_dir).iter_entries() if e.kind == "temp"}
        os.utime(temp, (old, old))
    plan = plan_gc(layout)
    assert sorted(e.path for e in plan.stale_temps) == sorted(temps)
    run_gc(layout, plan)
    assert [p for p in layout.objects_dir.rglob(".*") if p.is_file()] == []


_segment = st.builds(
    str.__add__,
    st.sampled_from("abcXYZ019_"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_+=@-.", max_size=11),
)
_path = st.lists(_segment, min_size=1, max_size=4).map("/".join).filter(lambda p: len(p) <= 255)
_entry = st.builds(
    TreeEntry,
    path=_path,
    hash=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    size=st.integers(0, 2**63 - 1),
    mode=st.integers(0, 0o777),
)


def _no_collisions(entries: list[TreeEntry]) -> bool:
    paths = {e.path for e in entries}
    return len(paths) == len(entries) and not any(
        "/".join(e.path.split("/")[:i]) in paths for e in entries for i in range(1, e.path.count("/") + 1)
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(_entry, max_size=20).filter(_no_collisions))
def test_tree_listing_round_trips(entries: list[TreeEntry]) -> None:
    data = encode_tree(entries)
    assert parse_tree(data, "t") == sorted(entries, key=lambda e: e.path)
    assert encode_tree(list(reversed(entries))) == data  # deterministic: equal folders, one object


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 299))
def test_tree_parser_only_refuses_cleanly(noise: bytes, at: int) -> None:
    base = encode_tree([TreeEntry("a/b.txt", "0" * 32, 3, 0o644), TreeEntry("c", "f" * 32, 0, 0o755)])
    mutated = base[:at] + noise + base[at + len(noise) :]
    try:
        parse_tree(mutated, "t")
    except (ArtifactError, InvalidNameError):
        pass
