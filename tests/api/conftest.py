"""Fixtures for the wandb-compatibility tests (helpers in wandb_helpers.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # wandb_helpers under any import mode


@pytest.fixture(autouse=True)
def _no_disabled_run_or_pending_config_leaks() -> Iterator[None]:
    """A disabled run (not in lifecycle) or a module-level ``config =`` before init must not leak."""
    yield
    from localtrack.api import active, module_attrs

    active.disabled_runs.clear()
    module_attrs.pending_config.clear()
