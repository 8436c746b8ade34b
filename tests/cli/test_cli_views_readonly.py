"""A read-only store: the views work, the edits fail with one clear line (RELIABILITY fault 5).

As root the store is bind-mounted read-only inside a private mount namespace (``unshare -m``),
so the host's mounts are never touched; as a normal user it is chmod-ed read-only.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import write_sweep

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from localtrack.cli.entry import main; sys.exit(main())"


@pytest.fixture
def readonly(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    store = tmp_path / ".localtrack"
    write_sweep(store, tmp_path)
    if os.geteuid() != 0:
        dirs = [store, *(p for p in store.rglob("*") if p.is_dir())]
        for path in dirs:
            path.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            yield store, []
        finally:
            for path in dirs:
                path.chmod(stat.S_IRWXU)
        return
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("running as root without mount namespaces: cannot make the store read-only")
    quoted = str(store).replace("'", "'\\''")
    yield store, ["unshare", "-m", "sh", "-c",
                  f"mount --bind '{quoted}' '{quoted}' && mount -o remount,ro,bind '{quoted}' '{quoted}' && exec \"$@\"",
                  "sh"]


def run(prefix: list[str], args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env.update(PYTHONPATH=str(REPO), COLUMNS="120", NO_COLOR="1")
    return subprocess.run([*prefix, sys.executable, "-c", CLI, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_views_work_and_edits_fail_cleanly(readonly, tmp_path: Path) -> None:
    store, prefix = readonly
    s = ["--store", str(store)]
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*") if "index" not in p.parts}
    for args in (["ls"], ["show", "roberta"], ["compare", "roberta", "bert"], ["report", "roberta", "-f", "json"],
                 ["visualize", "roberta", "bert"], ["restore"]):
        done = run(prefix, [*args, *s], tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert "roberta" in done.stdout or args == ["restore"]
    for args in (["tag", "bert", "add", "x"], ["rename", "bert", "b2"], ["note", "bert", "hi"], ["rm", "bert"]):
        done = run(prefix, [*args, *s], tmp_path)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "read-only" in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*") if "index" not in p.parts} == before
