"""Ending runs the way the process ended: normal exit, ``sys.exit(n)``, uncaught exception,
Ctrl-C, SIGTERM.

Installed once, on the first ``init()``. Hooks chain to whatever was installed before, and
the SIGTERM handler is only installed when nobody else handles SIGTERM. ``sys.exit`` is
wrapped (as wandb does) because nothing else tells an atexit hook the exit code.

Nothing here imports a module or starts a thread once installed: the exit hook and the
signal handler run when the interpreter may refuse both (``RunWriter.start`` imported what
sealing needs).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from types import TracebackType
from typing import Any, NoReturn, Protocol


class LiveRun(Protocol):
    """What the exit hooks need of a run (``localtrack.api.run.Run`` is one). A Protocol, so
    this module never imports the run module that registers with it (no import cycle)."""

    id: str

    def finish(self, status: str = ..., exit_code: int | None = ..., error: BaseException | None = ...) -> None: ...


_active: list[LiveRun] = []
_owner: dict[int, int] = {}  # id(run) -> pid of the process that started it
_installed = False
_uncaught: BaseException | None = None
_exit_code: object = None  # what the main thread last passed to sys.exit()
terminated = False  # set by the SIGTERM handler: runs end as "killed"
_previous_excepthook = sys.excepthook
_original_exit = sys.exit


def register(run: LiveRun) -> None:
    """Make ``run`` the current run, ended by the exit hooks if the script does not finish it."""
    _install()
    if run not in _active:
        _active.append(run)
    _owner.setdefault(id(run), os.getpid())


def unregister(run: LiveRun) -> None:
    if run in _active:
        _active.remove(run)
    _owner.pop(id(run), None)


def current() -> LiveRun | None:
    """The most recently started run of this process that is still running."""
    return _active[-1] if _active else None


def _finish_all(status: str, error: BaseException | None = None) -> None:
    for run in list(reversed(_active)):
        if _owner.get(id(run)) != os.getpid():
            continue  # a fork()ed child (a data-loader worker) exiting must not end its parent's run
        try:
            run.finish(status, error=error)
        except BaseException as exc:  # at exit there is nobody left to raise to
            sys.stderr.write(f"localtrack: could not finish run {run.id}: {exc or type(exc).__name__}\n")


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    global _uncaught
    _uncaught = value
    _previous_excepthook(kind, value, tb)


def _exit(status: str | int | None = None) -> NoReturn:
    """``sys.exit``, noting the code first so the exit hook can end runs as failed for n != 0."""
    global _exit_code
    if threading.current_thread() is threading.main_thread():
        _exit_code = status
    _original_exit(status)


def _failed_exit(code: object) -> SystemExit | None:
    """A SystemExit for a code that means failure (a non-zero int or a message), else None."""
    if code is None or code == 0 or code is False:
        return None
    return SystemExit(code)


def _at_exit() -> None:
    if not _active:
        return
    # A second Ctrl-C while the runs are written would leave them half-finished ("crashed").
    # Finishing takes milliseconds; SIGTERM and SIGKILL still end the process.
    previous = _ignore_sigint()
    try:
        if terminated:
            _finish_all("killed")
        elif isinstance(_uncaught, KeyboardInterrupt):
            _finish_all("killed", _uncaught)
        elif _uncaught is not None:
            _finish_all("failed", _uncaught)
        elif (failure := _failed_exit(_exit_code)) is not None:
            _finish_all("failed", failure)
        else:
            _finish_all("finished")
    finally:
        _restore_sigint(previous)


def _ignore_sigint() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        return None


def _restore_sigint(previous: Any) -> None:
    if previous is None:
        return
    try:
        signal.signal(signal.SIGINT, previous)
    except (ValueError, OSError, TypeError):
        pass


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
    sys.exit = _exit
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):
            pass
