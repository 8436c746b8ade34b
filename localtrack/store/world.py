"""What a new run records about its world, at a cost the training loop does not notice.

Cheap facts (command, python, platform, HEAD commit and branch read from .git files) are
taken synchronously. The slow one, whether the tree is dirty (a ``git`` subprocess), runs
once per process, repository and store on a background thread and is patched into each
run's manifest when ready. The store's own files are left out of it: an untracked (or
committed) ``.localtrack/`` inside the repository is not a change to the user's code.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localtrack import capture, envvars

DirtyKey = tuple[str, str]  # (git root, store root excluded from it, "" for none)

_dirty_lock = threading.Lock()
_dirty_results: dict[DirtyKey, dict[str, Any]] = {}
_dirty_threads: dict[DirtyKey, threading.Thread] = {}
_dirty_callbacks: dict[DirtyKey, list[Callable[[dict[str, Any]], None]]] = {}


def store_folders(store_root: Path | str | None) -> list[str]:
    """The folders that are the store, never the user's code: the run's store, and the one
    ``LOCALTRACK_DIR`` names (a store kept inside the repository under another name)."""
    folders = [os.fspath(store_root)] if store_root is not None else []
    named = os.environ.get(envvars.LOCALTRACK_DIR)
    if named and named not in folders:
        folders.append(named)
    return folders


def dirty_state(git_root: Path | str, store_root: Path | str | None = None) -> dict[str, Any]:
    """``capture.dirty_state`` of ``git_root`` with the store's own files left out."""
    return capture.dirty_state(Path(git_root), exclude=store_folders(store_root))


def _key(git_root: str, store_root: Path | str | None) -> DirtyKey:
    return git_root, os.fspath(store_root) if store_root is not None else ""


def capture_sync(cwd: Path) -> dict[str, Any]:
    """The facts recorded at creation: git (without the dirty flag yet), command, environment."""
    git = capture.read_git_info(cwd)
    if git is not None:
        git = {**git, "dirty": None}
    return {"git": git, "command": capture.capture_command(), "environment": capture.capture_environment()}


def _compute_dirty(key: DirtyKey) -> None:
    try:
        result = dirty_state(key[0], key[1] or None)
    except Exception as exc:  # capture must never break a run
        result = {"dirty": None, "diff": b"", "untracked": [], "error": str(exc)}
    with _dirty_lock:
        _dirty_results[key] = result
        callbacks = _dirty_callbacks.pop(key, [])
    for callback in callbacks:
        _call_quietly(callback, result)


def _call_quietly(callback: Callable[[dict[str, Any]], None], result: dict[str, Any]) -> None:
    try:
        callback(result)
    except Exception:  # capture must never break a run
        logging.getLogger("localtrack").exception("localtrack: recording the git state failed")


def when_dirty_ready(
    git_root: str, callback: Callable[[dict[str, Any]], None], store_root: Path | str | None = None
) -> None:
    """Call ``callback(result)`` once the dirty state of ``git_root`` is known (now, if it is)."""
    key = _key(git_root, store_root)
    with _dirty_lock:
        result = _dirty_results.get(key)
        if result is None:
            _dirty_callbacks.setdefault(key, []).append(callback)
            return
    _call_quietly(callback, result)


def start_dirty_capture(git_root: str, store_root: Path | str | None = None) -> threading.Thread:
    """Start (once per process, repo and store) the background ``git status`` of ``git_root``,
    leaving ``store_root`` out of it."""
    key = _key(git_root, store_root)
    with _dirty_lock:
        thread = _dirty_threads.get(key)
        if thread is None:
            thread = threading.Thread(target=_compute_dirty, args=(key,), name="localtrack-git", daemon=True)
            _dirty_threads[key] = thread
            thread.start()
    return thread


def dirty_result(git_root: str, wait: float = 0.0, store_root: Path | str | None = None) -> dict[str, Any] | None:
    """The dirty-tree state of ``git_root`` if known (waiting up to ``wait`` seconds)."""
    key = _key(git_root, store_root)
    thread = _dirty_threads.get(key)
    if thread is not None and wait > 0:
        thread.join(wait)
    with _dirty_lock:
        return _dirty_results.get(key)
