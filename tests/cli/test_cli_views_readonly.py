"""A read-only store: the views work, the edits fail with one clear line (RELIABILITY fault 5).

As root the store is bind-mounted read-only inside a private mount namespace (``unshare -m``),
so the host's mounts are never touched; as a normal user it is chmod-ed read-only.
"""

from __future__ import annotations

import json
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


# One interpreter inside the read-only namespace runs every command in turn (the mount is the
# point, not a process per command): each command's (exit code, stdout, stderr) as JSON.
BATCH = """
import json, sys
from typer.testing import CliRunner
from localtrack.cli import output
from localtrack.cli.entry import main
results = []
for args in json.loads(sys.argv[1]):
    output._console = output._err_console = None
    with CliRunner().isolation() as (out, err, _):
        code = main(args)
        sys.stdout.flush()
        sys.stderr.flush()
        results.append([code, out.getvalue().decode(), err.getvalue().decode()])
output._console = output._err_console = None
print(json.dumps(results))
"""


def run_all(prefix: list[str], commands: list[list[str]], cwd: Path) -> list[tuple[int, str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env.update(PYTHONPATH=str(REPO), COLUMNS="120", NO_COLOR="1")
    done = subprocess.run([*prefix, sys.executable, "-c", BATCH, json.dumps(commands)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [tuple(result) for result in json.loads(done.stdout.splitlines()[-1])]


def test_views_work_and_edits_fail_cleanly(readonly, tmp_path: Path) -> None:
    store, prefix = readonly
    s = ["--store", str(store)]
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*") if "index" not in p.parts}
    views = [["ls"], ["show", "roberta"], ["compare", "roberta", "bert"], ["report", "roberta", "-f", "json"],
             ["visualize", "roberta", "bert"], ["restore"]]
    edits = [["tag", "bert", "add", "x"], ["rename", "bert", "b2"], ["note", "bert", "hi"], ["rm", "bert"]]
    results = run_all(prefix, [[*args, *s] for args in views + edits], tmp_path)
    for args, (code, out, err) in zip(views, results[: len(views)], strict=True):
        assert code == 0, (args, err)
        assert "roberta" in out or args == ["restore"]
    for args, (code, out, err) in zip(edits, results[len(views):], strict=True):
        assert code == 1, (args, out, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "read-only" in lines[0] and "Traceback" not in err, err
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*") if "index" not in p.parts} == before
