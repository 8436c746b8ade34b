"""A script that never calls finish(): the sampler is stopped by the exit path, before the last seal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys, time, threading, localtrack
    from localtrack.system_metrics import sampler
    run = localtrack.init(project="exit", system_metrics_interval=0.1)
    for i in range(5):
        run.log({"loss": 1.0 / (i + 1)})
        time.sleep(0.6)
    assert sampler.SAMPLER.samples >= 3, sampler.SAMPLER.samples
    print(run.id)
    if sys.argv[1] == "raise":
        raise RuntimeError("boom")
    """
)


@pytest.mark.parametrize("ending", ["exit", "raise"])
def test_exit_without_finish_ends_both_writers(tmp_path: Path, ending: str) -> None:
    pytest.importorskip("psutil")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env.update(PYTHONPATH=str(REPO), LOCALTRACK_FLUSH_SECONDS="0.2")
    done = subprocess.run([sys.executable, "-c", SCRIPT, ending], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == (0 if ending == "exit" else 1), done.stderr
    assert "could not finish" not in done.stderr
    run_id = done.stdout.split()[0]
    manifest = json.loads((tmp_path / ".localtrack" / "runs" / run_id / "manifest.json").read_text())
    expected = "finished" if ending == "exit" else "failed"
    assert manifest["status"] == expected
    writers = list(manifest["writers"].values())
    assert sorted(w.get("role", "training") for w in writers) == ["system", "training"]
    assert {w["status"] for w in writers} == {expected}
    assert "system/cpu/utilization" in manifest["summary"]
