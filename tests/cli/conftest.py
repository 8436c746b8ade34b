"""The sample store the CLI view tests read: written once per module, copied for tests that change it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import copy_store, write_sweep


@pytest.fixture(scope="module")
def sweep_template(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> tuple[Path, dict[str, str]]:
    """The sweep of :func:`cli_views_support.write_sweep` and its run ids by name."""
    root = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    store = root / ".localtrack"
    return store, write_sweep(store, root)


@pytest.fixture(scope="module")
def sweep(sweep_template: tuple[Path, dict[str, str]]) -> tuple[Path, dict[str, str]]:
    """The module's shared store: for tests that only read it."""
    return sweep_template


@pytest.fixture
def private_sweep(sweep_template: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the module's store for one test that changes it."""
    store, ids = sweep_template
    return copy_store(store, tmp_path / "copy" / ".localtrack"), ids
