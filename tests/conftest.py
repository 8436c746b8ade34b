"""Shared fixtures: every test gets its own real store in tmp_path and a clean environment."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent

# No test asserts a timing: hypothesis' per-example deadline is one, and a loaded 2-core CI
# machine trips it on correct code. Example counts stay as each test sets them.
settings.register_profile("localtrack", deadline=None)
settings.load_profile("localtrack")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's store, run id or terminal settings."""
    for name in list(os.environ):
        if name.startswith("LOCALTRACK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALTRACK_FLUSH_SECONDS", "0.2")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.chdir(tmp_path)
    yield
    from localtrack.api import lifecycle

    for run in list(lifecycle._active):  # never leak a running writer thread into the next test
        run.finish()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A fresh store folder (``.../.localtrack``) created the way users create one."""
    from localtrack.store.project import create_store

    root = tmp_path / "proj" / ".localtrack"
    create_store(root)
    return root


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session (tests/viz/cdp.py). Missing: skip locally, fail when $CI is set."""
    sys.path.insert(0, str(REPO / "tests" / "viz"))
    from cdp import Browser, find_chromium

    binary = find_chromium()
    if binary is None:
        message = "chromium not found: apt-get install chromium (or set $CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with Browser.launch(binary) as b:
        yield b


@pytest.fixture
def python() -> str:
    """The interpreter for subprocess tests (same environment as the tests)."""
    return sys.executable
