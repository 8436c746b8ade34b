"""Fixtures for the viz tests (the shared headless Chromium, ``browser``, is in tests/conftest.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # helpers (cdp, viz_samples) under any import mode


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $LT_SCREENSHOT_DIR if set (to look at them), else tmp_path."""
    target = os.environ.get("LT_SCREENSHOT_DIR")
    if target:
        out = Path(target)
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path
