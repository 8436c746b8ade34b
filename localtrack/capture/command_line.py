"""How the run was launched: argv, interpreter and working directory.

Environment variables are deliberately not captured: they routinely hold API keys and
tokens, and a run folder is meant to be committed and shared.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["capture_command"]


def capture_command() -> dict[str, Any]:
    """``{"argv": [str], "executable": str, "cwd": str | None}`` for the current process.

    ``cwd`` is None when the working directory has been deleted under the process.
    """
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    return {"argv": [str(a) for a in sys.argv], "executable": sys.executable, "cwd": cwd}
