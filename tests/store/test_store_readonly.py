"""A read-only store: reads work, writes fail with one clear StoreReadOnlyError line.

Root ignores file permissions, so as root the store is made read-only for real: the child
runs in a private mount namespace (``unshare -m``) where the store is bind-mounted read-only
(EROFS, like a read-only disk or a CI cache mount); the host's mounts are never touched.
As a normal user the store is simply chmod-ed read-only (EACCES).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import child_env

import localtrack

CLI = "import sys; from localtrack.cli.entry import main; main()"

CHILD = """
import json, sys, localtrack
from localtrack.errors import StoreReadOnlyError
from localtrack.store.project import open_store
from localtrack.store.reader import list_runs, read_metrics
store = sys.argv[1]
out = {}
layout = open_store(store)
records = list_runs(layout)
out["runs"] = [(r.id, r.status, r.ok) for r in records]
out["rows"] = read_metrics(layout, records[0].id).num_rows
for label, call in [
    ("new-run", lambda: localtrack.init(project="ro", dir=store)),
    ("join-run", lambda: localtrack.init(project="ro", dir=store, id="existing", resume="allow")),
]:
    try:
        call()
        out[label] = "no error"
    except StoreReadOnlyError as exc:
        out[label] = ["StoreReadOnlyError", str(exc)]
    except BaseException as exc:
        out[label] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def _make_readonly_runner(store_dir: Path) -> Iterator[list[str]]:
    """The command prefix that runs a child with ``store_dir`` read-only."""
    if os.geteuid() != 0:
        paths = [store_dir, *store_dir.rglob("*")]
        for path in paths:
            if path.is_dir():
                path.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            yield []
        finally:
            for path in paths:
                if path.is_dir():
                    path.chmod(stat.S_IRWXU)
        return
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare(1): cannot make the store read-only")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"running as root without mount namespaces ({probe.stderr.decode().strip()})")
    quoted = str(store_dir).replace("'", "'\\''")
    yield ["unshare", "-m", "sh", "-c",
           f"mount --bind '{quoted}' '{quoted}' && mount -o remount,ro,bind '{quoted}' '{quoted}' && exec \"$@\"", "sh"]


@pytest.fixture
def readonly_prefix(store_dir: Path) -> Iterator[list[str]]:
    with localtrack.init(project="ro", dir=store_dir, id="existing") as run:
        run.log({"x": 1.0})
        run.log({"x": 2.0})
    yield from _make_readonly_runner(store_dir)


def test_reads_work_and_writes_fail_with_one_clear_error(store_dir: Path, readonly_prefix: list[str], tmp_path: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in store_dir.rglob("*")}
    done = subprocess.run(
        [*readonly_prefix, sys.executable, "-c", textwrap.dedent(CHILD), str(store_dir)],
        env=child_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["runs"] == [["existing", "finished", True]]
    assert out["rows"] == 2
    for label in ("new-run", "join-run"):
        kind, message = out[label]
        assert kind == "StoreReadOnlyError", out[label]
        assert "read-only" in message and "\n" not in message
    assert {p: p.stat().st_mtime_ns for p in store_dir.rglob("*")} == before


def test_cli_write_on_readonly_store_is_one_line(store_dir: Path, readonly_prefix: list[str], tmp_path: Path) -> None:
    for args in (["create", "--project", "ro", "--store", str(store_dir)],
                 ["log-metrics", "existing", "--metrics", '{"x": 1}', "--store", str(store_dir)]):
        done = subprocess.run(
            [*readonly_prefix, sys.executable, "-c", CLI, *args],
            env=child_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode != 0
        assert "Traceback" not in done.stderr, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "read-only" in lines[0], done.stderr
