"""One background thread per process that seals every open writer's buffer on time.

A thread per run would cost a start and a join per run (200 short runs pay for it) and
would multiply wake-ups; one flusher visits all writers a few times a second instead.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

TICK_SECONDS = 0.1


class Tickable(Protocol):
    def tick(self) -> None: ...


class Flusher:
    """Calls ``tick()`` on each registered writer every ``TICK_SECONDS`` (or when woken)."""

    def __init__(self) -> None:
        self._writers: list[Tickable] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def register(self, writer: Tickable) -> None:
        with self._lock:
            self._writers.append(writer)
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()  # after fork() the parent's thread does not exist here
                self._thread = threading.Thread(target=self._loop, name="localtrack-flusher", daemon=True)
                self._thread.start()

    def unregister(self, writer: Tickable) -> None:
        with self._lock:
            if writer in self._writers:
                self._writers.remove(writer)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        # Imports nothing: RunWriter.start() imported what sealing needs on the caller's
        # thread (an import here could hold the import lock the main thread needs at exit).
        while True:
            self._wake.wait(TICK_SECONDS)
            self._wake.clear()
            with self._lock:
                writers = list(self._writers)
            for writer in writers:
                writer.tick()


FLUSHER = Flusher()
