"""A progress bar on stderr for index builds that take more than about half a second.

Set as the query layer's progress hook by the CLI entry point. Drawn only on a terminal,
without rich's refresh thread (each report redraws), and cleared when the refresh ends so
the command's own output follows on a clean screen.
"""

from __future__ import annotations

import sys
import time
from typing import Any

SHOW_AFTER_SECONDS = 0.5


class RefreshProgress:
    """The ``(phase, done, total)`` hook of :mod:`localtrack.query.progress`."""

    def __init__(self, stream: Any = None, show_after: float = SHOW_AFTER_SECONDS) -> None:
        self.stream = stream
        self.show_after = show_after
        self.started: float | None = None
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase == "done":
            self.close()
            return
        now = time.monotonic()
        if self.started is None:
            self.started = now
        if self.bar is None:
            stream = self.stream if self.stream is not None else sys.stderr
            if now - self.started < self.show_after or not stream.isatty():
                return
            self._start(stream)
        task = self.tasks.get(phase)
        if task is None:
            task = self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(task, completed=done, total=total)
        self.bar.refresh()

    def _start(self, stream: Any) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=stream, highlight=False, force_terminal=True)  # isatty() was checked
        self.bar = Progress(TextColumn("indexing: {task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True, auto_refresh=False)
        self.bar.start()

    def close(self) -> None:
        """Clear the bar (and be ready for another refresh)."""
        if self.bar is not None:
            self.bar.stop()
        self.bar, self.tasks, self.started = None, {}, None
