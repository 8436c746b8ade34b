"""The current run as ``localtrack.run`` sees it: a recording run, else a disabled one.

Kept apart from ``lifecycle`` because a ``mode="disabled"`` run has nothing to end at exit.
Imports nothing heavy: ``localtrack.config`` before ``init()`` must stay cheap.
"""

from __future__ import annotations

from typing import Any

from localtrack.api import lifecycle

disabled_runs: list[Any] = []


def current() -> Any:
    """The most recent running run of this process (recording or disabled), or None."""
    run = lifecycle.current()
    if run is not None:
        return run
    return disabled_runs[-1] if disabled_runs else None
