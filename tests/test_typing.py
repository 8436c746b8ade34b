"""mypy ``--strict`` holds for the whole package: ``[tool.mypy]`` in pyproject.toml (strict, the
oldest Python we support, ``files = localtrack``) is the one configuration, so a bare ``mypy``
at the repo root and this test check the same thing.

One test, on purpose: under pytest-xdist it runs once, on one worker. mypy keeps its default
cache (``.mypy_cache`` at the repo root, git-ignored): the first run checks everything (about
40 s on a loaded 2-core machine), later runs only what changed (a few seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mypy_strict_finds_no_errors() -> None:
    # This checkout's code, not whatever copy of localtrack is installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0 and "Success: no issues found" in report, (
        f"mypy --strict found problems (run `mypy` at the repo root):\n{report}"
    )
