"""``localtrack log-metrics RUN --stdin``: many steps from one process, as JSON lines.

A shell call costs most of a second (interpreter, imports, lock, manifest write), so a
non-Python training loop that logs every step pipes them here instead::

    {"step": 3, "loss": 0.31, "acc": 0.9}

one object per line; ``step`` is optional (default: the largest step so far + 1) and every
other key is a metric. Lines are sealed as one segment every ``flush_seconds`` (also when
the input goes idle, so readers see a slow loop's progress) or every ``flush_points``
values, and at the end of input or on Ctrl-C (and SIGTERM, which the CLI turns into an exit).

A bad line stops the stream: the lines before it are logged (they may already be sealed),
nothing from it onwards is read, and the error names its line number. Half-logging is
the only honest option for a stream that can run for hours; stopping, rather than
skipping, makes a pipeline with ``set -o pipefail`` fail visibly at the first mistake.
"""

from __future__ import annotations

import json
import os
import select
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from localtrack.errors import InvalidValueError, LocaltrackError
from localtrack.storage.layout import StoreLayout
from localtrack.store.shell_writer import StepPoint, check_step, log_points
from localtrack.store.values import clean_metrics

STEP_FIELD = "step"
MAX_LINE_BYTES = 16 * 1024 * 1024  # one step's metrics; a longer line is a mistake, not data
DEFAULT_FLUSH_POINTS = 200_000
_CHUNK = 1 << 16


@dataclass
class StreamResult:
    """What a stream logged."""

    lines: int = 0  # lines read (blank ones included)
    steps: int = 0  # lines that logged at least one metric
    last_step: int | None = None


def parse_line(raw: bytes, number: int) -> StepPoint | None:
    """One stdin line as a step (None for a blank line); the error names the line number."""
    text = raw.strip()
    if not text:
        return None
    where = f"stdin line {number}"
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidValueError(f"{where}: JSON nested too deeply to read", number) from None
    except UnicodeDecodeError:
        raise InvalidValueError(f"{where}: not valid UTF-8", number) from None
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        pos = getattr(exc, "pos", None)
        at = f" at position {pos}" if pos is not None else ""
        raise InvalidValueError(f"{where}: not valid JSON ({msg}{at}): {_preview(text)}", number) from None
    if not isinstance(value, dict):
        raise InvalidValueError(
            f'{where}: expected a JSON object like {{"step": 3, "loss": 0.1}}, got {_preview(text)}', number
        )
    step = value.pop(STEP_FIELD, None)
    try:
        if step is not None:
            step = check_step(step, f"{where}: step")
        metrics = clean_metrics(value)
    except LocaltrackError as exc:
        message = str(exc)
        raise type(exc)(message if message.startswith(where) else f"{where}: {message}", number) from None
    return StepPoint(metrics, step)


def _preview(text: bytes) -> str:
    shown = text[:80].decode("utf-8", "backslashreplace")
    return repr(shown + ("..." if len(text) > 80 else ""))


def _chunks(source: BinaryIO, wait: Any) -> Iterator[bytes | None]:
    """Chunks of ``source`` as they arrive; None when nothing arrived within ``wait()`` seconds
    (so the caller can flush an idle stream). Without a pollable descriptor: plain reads."""
    try:
        fd = source.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    pollable = fd is not None and os.name == "posix"
    while True:
        if pollable and fd is not None:
            timeout = wait()
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                yield None
                continue
            chunk = os.read(fd, _CHUNK)
        else:
            read = getattr(source, "read1", None) or source.read
            chunk = read(_CHUNK)
        if not chunk:
            return
        yield chunk


def stream_metrics(
    layout: StoreLayout,
    run_id: str,
    source: BinaryIO,
    *,
    flush_seconds: float = 2.0,
    flush_points: int = DEFAULT_FLUSH_POINTS,
) -> StreamResult:
    """Log every JSON line of ``source`` to ``run_id``; raises on the first bad line after
    sealing the lines before it."""
    log_points(layout, run_id, [])  # the run exists and is running: fail before reading anything
    result = StreamResult()
    pending: list[StepPoint] = []
    pending_values = 0
    oldest = 0.0

    def flush() -> None:
        nonlocal pending, pending_values
        if pending:
            last = log_points(layout, run_id, pending)
            result.last_step = last if last is not None else result.last_step
            pending, pending_values = [], 0

    def wait() -> float | None:
        if not pending:
            return None
        return max(0.0, oldest + flush_seconds - time.monotonic())

    partial = b""
    try:
        for chunk in _chunks(source, wait):
            if chunk is not None:
                lines = (partial + chunk).split(b"\n")
                partial = lines.pop()
                if len(partial) > MAX_LINE_BYTES:
                    raise InvalidValueError(
                        f"stdin line {result.lines + len(lines) + 1}: longer than {MAX_LINE_BYTES} bytes", None
                    )
                for raw in lines:
                    result.lines += 1
                    if len(raw) > MAX_LINE_BYTES:
                        raise InvalidValueError(f"stdin line {result.lines}: longer than {MAX_LINE_BYTES} bytes", None)
                    point = parse_line(raw, result.lines)
                    if point is None:
                        continue
                    if not pending:
                        oldest = time.monotonic()
                    pending.append(point)
                    pending_values += len(point.metrics)
                    result.steps += bool(point.metrics)
                    if pending_values >= flush_points:
                        flush()
            if pending and time.monotonic() - oldest >= flush_seconds:
                flush()
        if partial.strip():  # the last line without its newline
            result.lines += 1
            point = parse_line(partial, result.lines)
            if point is not None:
                pending.append(point)
                result.steps += bool(point.metrics)
    except LocaltrackError as exc:
        flush()
        raise type(exc)(
            f"{exc}. The {result.steps} step(s) before it were logged; nothing from that line on was read",
            exc.value,
        ) from None
    except BaseException:  # Ctrl-C, a broken pipe: keep what arrived
        flush()
        raise
    flush()
    return result
