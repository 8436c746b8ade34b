"""Helpers for the store tests: run a Python snippet in a real subprocess, read a store back."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # store_helpers under any import mode
