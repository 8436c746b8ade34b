"""Run and writer ids: sortable by creation time, unique without coordination."""

from __future__ import annotations

import os
import string
import threading
import time

_ALPHABET = string.digits + string.ascii_lowercase
_lock = threading.Lock()
_last_ms = 0


_UNBIASED = 256 - 256 % len(_ALPHABET)  # bytes below this map evenly onto the alphabet


def _random_token(length: int) -> str:
    """``length`` characters drawn uniformly from ``_ALPHABET`` (one ``urandom`` call, not
    one per character: a run's two ids cost 16 system calls that way)."""
    token = ""
    while len(token) < length:
        token += "".join(_ALPHABET[b % len(_ALPHABET)] for b in os.urandom(length * 2) if b < _UNBIASED)
    return token[:length]


def new_run_id(now: float | None = None) -> str:
    """``YYYYMMDD-HHMMSSmmm-rrrrrr`` (UTC): sorts by creation time, 36^6 random suffix.

    Within one process ids strictly increase even if the clock steps backwards.
    """
    global _last_ms
    with _lock:
        ms = int((time.time() if now is None else now) * 1000)
        if ms <= _last_ms:
            ms = _last_ms + 1
        _last_ms = ms
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(ms // 1000))
    return f"{stamp}{ms % 1000:03d}-{_random_token(6)}"


def short_id(run_id: str) -> str:
    """The part of an id people type: the random suffix for generated ids, else the id."""
    head, _, tail = run_id.rpartition("-")
    if head and len(tail) == 6 and len(run_id) == 25:
        return tail
    return run_id


def new_writer_id() -> str:
    """A writer (process or rank) id used in segment names."""
    return _random_token(10)


_ADJECTIVES = (
    "amber brave brisk calm clever crisp daring eager fancy gentle golden happy icy jolly keen "
    "lively lucky merry noble polar quick quiet rapid royal shiny silent snowy solar sunny swift "
    "tidy vivid warm witty young zesty"
).split()
_NOUNS = (
    "badger brook canyon cedar comet delta dune falcon fern forest galaxy glade harbor heron "
    "island lagoon maple meadow mesa nebula orbit otter pine planet prairie quartz river "
    "sparrow spruce summit tundra valley willow"
).split()


def new_run_name() -> str:
    """A friendly default name such as ``brisk-river-42``."""
    word, noun, number = (int.from_bytes(os.urandom(8), "little") % n for n in (len(_ADJECTIVES), len(_NOUNS), 100))
    return f"{_ADJECTIVES[word]}-{_NOUNS[noun]}-{number}"
