"""A fork()ed child (as data-loader workers are) exiting must not finish its parent's run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from localtrack.store.project import open_store
from localtrack.store.reader import load_run

SCRIPT = textwrap.dedent(
    """
    import os, sys, localtrack
    run = localtrack.init(project="p", dir=sys.argv[1])
    run.log({"loss": 1.0})
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # the child runs atexit handlers on its way out
    os.waitpid(pid, 0)
    print(run.id, flush=True)
    sys.stdin.readline()  # the parent stays alive until the test has looked
    run.finish()
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_forked_child_exit_leaves_the_parents_run_running(store_dir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(store_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(30, proc.kill)  # a child that deadlocks on inherited locks hangs the parent
    watchdog.start()
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, "the parent never got past waiting for its forked child"
        record = load_run(open_store(store_dir), run_id)
        assert record.status == "running", record.manifest.get("writers")
        assert record.manifest["status"] == "running"
    finally:
        _, err = proc.communicate("\n", timeout=30)
        watchdog.cancel()
    assert proc.returncode == 0, err
    assert load_run(open_store(store_dir), run_id).status == "finished"
