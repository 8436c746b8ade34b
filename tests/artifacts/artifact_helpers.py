"""Helpers shared by the artifact tests (no mocks: they read the real files)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from localtrack.cli.entry import main
from localtrack.storage.layout import StoreLayout


def object_files(layout: StoreLayout) -> dict[str, int]:
    """Object files (not temp files) under objects/ -> size."""
    out: dict[str, int] = {}
    for path in layout.objects_dir.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            out[str(path.relative_to(layout.objects_dir))] = path.stat().st_size
    return out


def temp_files(layout: StoreLayout) -> list[Path]:
    return [p for p in layout.objects_dir.rglob(".*") if p.is_file()]


def store_bytes(layout: StoreLayout) -> int:
    return sum(object_files(layout).values())


def manifest(layout: StoreLayout, run_id: str) -> dict[str, Any]:
    return json.loads(layout.manifest_path(run_id).read_text(encoding="utf-8"))


def tamper(layout: StoreLayout, run_id: str, change: Any) -> None:
    """Edit a run's manifest on disk the way a malicious commit could."""
    data = manifest(layout, run_id)
    change(data)
    # ensure_ascii: a hostile file may hold escapes (lone surrogates) no UTF-8 writer could produce
    layout.manifest_path(run_id).write_text(json.dumps(data, indent=2, ensure_ascii=True), encoding="ascii")


def flip_byte(path: Path, offset: int | None = None) -> None:
    mode = path.stat().st_mode
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    where = len(data) // 2 if offset is None else offset
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    os.chmod(path, mode & 0o777)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process; returns (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def make_tree(root: Path, files: dict[str, tuple[bytes, int]]) -> Path:
    for rel, (data, mode) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)
    return root
