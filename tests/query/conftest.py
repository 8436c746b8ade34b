"""Fixtures of the query tests: one store of varied sample runs per module (read-only use)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # query_samples under any import mode

from query_samples import RunSpec, build_store, sample_specs

from localtrack.query.store import Store
from localtrack.store.project import create_store


@pytest.fixture(scope="module")
def specs() -> list[RunSpec]:
    return sample_specs()


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory, specs: list[RunSpec]) -> Path:
    root = tmp_path_factory.mktemp("samples") / ".localtrack"
    build_store(create_store(root), specs)
    return root


@pytest.fixture(scope="module")
def sample_store(sample_root: Path) -> Iterator[Store]:
    store = Store(sample_root)
    yield store
    store.close()
