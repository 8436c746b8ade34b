"""What a new run records about its world, at a cost the training loop does not notice.

Cheap facts (command, python, platform, HEAD commit and branch read from .git files) are
taken synchronously. The slow one, whether the tree is dirty (a ``git`` subprocess), runs
once per process on a background thread and is patched into each run's manifest when ready.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localtrack import capture

_dirty_lock = threading.Lock()
_dirty_results: dict[str, dict[str, Any]] = {}
_dirty_threads: dict[str, threading.Thread] = {}
_dirty_callbacks: dict[str, list[Callable[[dict[str, Any]], None]]] = {}


def capture_sync(cwd: Path) -> dict[str, Any]:
    """The facts recorded at creation: git (without the dirty flag yet), command, environment."""
    git = capture.read_git_info(cwd)
    if git is not None:
        git = {**git, "dirty": None}
    return {"git": git, "command": capture.capture_command(), "environment": capture.capture_environment()}


def _compute_dirty(root: str) -> None:
    try:
        result = capture.dirty_state(Path(root))
    except Exception as exc:  # capture must never break a run
        result = {"dirty": None, "diff": b"", "untracked": [], "error": str(exc)}
    with _dirty_lock:
        _dirty_results[root] = result
        callbacks = _dirty_callbacks.pop(root, [])
    for callback in callbacks:
        _call_quietly(callback, result)


def _call_quietly(callback: Callable[[dict[str, Any]], None], result: dict[str, Any]) -> None:
    try:
        callback(result)
    except Exception:  # capture must never break a run
        logging.getLogger("localtrack").exception("localtrack: recording the git state failed")


def when_dirty_ready(git_root: str, callback: Callable[[dict[str, Any]], None]) -> None:
    """Call ``callback(result)`` once the dirty state of ``git_root`` is known (now, if it is)."""
    with _dirty_lock:
        result = _dirty_results.get(git_root)
        if result is None:
            _dirty_callbacks.setdefault(git_root, []).append(callback)
            return
    _call_quietly(callback, result)


def start_dirty_capture(git_root: str) -> threading.Thread:
    """Start (once per process and repo) the background ``git status`` of ``git_root``."""
    with _dirty_lock:
        thread = _dirty_threads.get(git_root)
        if thread is None:
            thread = threading.Thread(target=_compute_dirty, args=(git_root,), name="localtrack-git", daemon=True)
            _dirty_threads[git_root] = thread
            thread.start()
    return thread


def dirty_result(git_root: str, wait: float = 0.0) -> dict[str, Any] | None:
    """The dirty-tree state of ``git_root`` if known (waiting up to ``wait`` seconds)."""
    thread = _dirty_threads.get(git_root)
    if thread is not None and wait > 0:
        thread.join(wait)
    with _dirty_lock:
        return _dirty_results.get(git_root)
