"""Shared by the store tests: subprocess launching and plain-pyarrow reading of a store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]


def child_env(store: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a child writer runs with (this checkout importable, unbuffered output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["LOCALTRACK_FLUSH_SECONDS"] = "0.2"
    if store is not None:
        env["LOCALTRACK_DIR"] = str(store)
    env.update(extra)
    return env


def spawn(code: str, store: Path | None, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter; stdout/stderr are pipes of text."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=child_env(store, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_code(code: str, store: Path | None, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` to completion in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=child_env(store, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def plain_manifest(run_dir: Path) -> dict[str, Any]:
    """A manifest read with json alone, as docs/FORMAT.md promises works."""
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def plain_points(run_dir: Path) -> list[dict[str, Any]]:
    """Every metric point of a run read with pyarrow alone, from the files its manifest names."""
    manifest = plain_manifest(run_dir)
    rows: list[dict[str, Any]] = []
    for writer in manifest["writers"].values():
        for filename in sorted(writer["segments"]):
            rows.extend(pq.read_table(run_dir / "metrics" / filename).to_pylist())
    return rows


def all_files(root: Path) -> set[str]:
    """Every path under ``root`` (relative), to prove nothing was written elsewhere."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}
