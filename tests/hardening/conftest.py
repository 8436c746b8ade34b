"""Shared by the hardening tests: hardening_support on the path under any import mode."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # hardening_support under any import mode
