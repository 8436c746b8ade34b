"""Fixtures for the artifact tests: a store with a run, object-store accounting, the CLI in-process."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # artifact_helpers under any import mode

from localtrack.storage.layout import StoreLayout
from localtrack.store import shell_writer


@pytest.fixture
def layout(store_dir: Path) -> StoreLayout:
    return StoreLayout(store_dir)


@pytest.fixture
def new_run(layout: StoreLayout) -> Callable[..., str]:
    """``new_run(name=...)``: a run created the way the shell creates one (no writer thread)."""

    def make(name: str = "r") -> str:
        return shell_writer.create_run(layout, project="p", name=name)

    return make


@pytest.fixture
def run_id(new_run: Callable[..., str]) -> str:
    return new_run("first")
