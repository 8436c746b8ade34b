"""Ending runs the way the process ended: normal exit, uncaught exception, SIGTERM.

Installed once, on the first ``init()``. Hooks chain to whatever was installed before, and
the SIGTERM handler is only installed when nobody else handles SIGTERM.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localtrack.run_handle import Run

_active: list[Run] = []
_owner: dict[int, int] = {}  # id(run) -> pid of the process that started it
_installed = False
_uncaught: BaseException | None = None
terminated = False  # set by the SIGTERM handler: runs end as "killed"
_previous_excepthook = sys.excepthook


def register(run: Run) -> None:
    _install()
    _active.append(run)
    _owner[id(run)] = os.getpid()


def unregister(run: Run) -> None:
    if run in _active:
        _active.remove(run)
    _owner.pop(id(run), None)


def current() -> Run | None:
    """The most recently started run of this process that is still running."""
    return _active[-1] if _active else None


def _finish_all(status: str, error: BaseException | None = None) -> None:
    for run in list(reversed(_active)):
        if _owner.get(id(run)) != os.getpid():
            continue  # a fork()ed child (a data-loader worker) exiting must not end its parent's run
        try:
            run.finish(status, error=error)
        except Exception as exc:  # at exit there is nobody left to raise to
            sys.stderr.write(f"localtrack: could not finish run {run.id}: {exc}\n")


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    global _uncaught
    _uncaught = value
    _previous_excepthook(kind, value, tb)


def _at_exit() -> None:
    if terminated:
        _finish_all("killed")
    elif _uncaught is None:
        _finish_all("finished")
    elif isinstance(_uncaught, KeyboardInterrupt):
        _finish_all("killed", _uncaught)
    else:
        _finish_all("failed", _uncaught)


def _on_sigterm(signum: int, frame: Any) -> None:
    """Unwind the main thread like Ctrl-C does; runs are finished as killed on the way out.

    No work is done inside the handler itself: it may have interrupted ``log()`` while the
    writer's buffer lock was held.
    """
    global terminated
    terminated = True
    signal.signal(signum, signal.SIG_DFL)
    raise SystemExit(128 + signum)


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):
            pass
