"""Fixtures for the viz tests: a shared headless Chromium (see cdp.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # helpers (cdp, viz_samples) under any import mode

from cdp import Browser, find_chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the session. Missing: skip locally, but fail when $CI is set."""
    binary = find_chromium()
    if binary is None:
        message = "chromium not found: apt-get install chromium (or set $CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with Browser.launch(binary) as b:
        yield b


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $LT_SCREENSHOT_DIR if set (to look at them), else tmp_path."""
    target = os.environ.get("LT_SCREENSHOT_DIR")
    if target:
        out = Path(target)
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path
