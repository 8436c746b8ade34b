"""Where a long index refresh reports its progress: a hook the CLI sets (a library user gets none).

A refresh that reads thousands of run folders calls ``HOOK(phase, done, total)`` now and
then, and ``HOOK("done", 1, 1)`` at its end; the CLI draws a progress bar on a terminal.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressHook = Callable[[str, int, int], None]
HOOK: ProgressHook | None = None


def set_hook(hook: ProgressHook | None) -> None:
    """Report the progress of every index refresh of this process to ``hook`` (None: nowhere)."""
    global HOOK
    HOOK = hook
