"""Run status: what writers record, and how a reader tells a live run from a crashed one.

A writer that died without finishing (SIGKILL, power loss) leaves ``running`` in the
manifest. On the same host we check its pid (and the pid's start time, against reuse);
from another host we trust its heartbeat, refreshed every 15 s while it lives.
"""

from __future__ import annotations

import time
from typing import Any

from localtrack.storage.lease import host_name, pid_alive, process_start_ticks
from localtrack.timefmt import parse_iso, seconds_between

STATUSES = ("running", "finished", "failed", "killed", "crashed")
REMOTE_HEARTBEAT_TIMEOUT = 75.0
LOCAL_HEARTBEAT_TIMEOUT = 600.0
EXTERNAL_HEARTBEAT_TIMEOUT = 7 * 24 * 3600.0  # shell-driven runs: no process to watch
MAX_FUTURE_HEARTBEAT = 300.0  # clock skew tolerated between hosts; later heartbeats are untrusted

_HOST = host_name()


def writer_is_alive(writer: object, now: float | None = None) -> bool:
    """Whether a writer marked running is still plausibly running."""
    if not isinstance(writer, dict) or writer.get("status") != "running":
        return False
    now = time.time() if now is None else now
    beat = parse_iso(writer.get("heartbeat_at"))
    if beat is None or beat > now + MAX_FUTURE_HEARTBEAT:
        # A heartbeat from the future is a spoof (or a badly wrong clock): it proves nothing,
        # and trusting it would keep a dead run "running" until that date.
        return False
    age = now - beat
    if writer.get("external"):
        return age < EXTERNAL_HEARTBEAT_TIMEOUT
    if writer.get("host") == _HOST:
        pid = writer.get("pid")
        if not isinstance(pid, int) or not pid_alive(pid):
            return False
        started = writer.get("pid_start")
        if started is not None and process_start_ticks(pid) not in (None, started):
            return False  # the pid now belongs to another process
        return age < LOCAL_HEARTBEAT_TIMEOUT
    return age < REMOTE_HEARTBEAT_TIMEOUT


def combine_final_status(writers: dict[str, Any]) -> str:
    """The run's status once no writer runs: the worst of its writers' outcomes."""
    seen = set()
    for writer in writers.values():
        status = writer.get("status") if isinstance(writer, dict) else None
        seen.add("crashed" if status == "running" else status)
    for status in ("crashed", "failed", "killed"):
        if status in seen:
            return status
    return "finished"


def end_run_if_no_writer_alive(manifest: dict[str, Any], ended_at: str) -> None:
    """Once no writer is alive, make the run's status final (the worst of its writers' outcomes).

    Called by every writer as it ends (Python and shell alike), so the last one closes the run.
    """
    writers = manifest.get("writers") or {}
    if any(writer_is_alive(w) for w in writers.values()):
        return
    manifest["status"] = combine_final_status(writers)
    manifest["ended_at"] = ended_at
    # A resumed run (api.init) counts its earlier sessions plus this one, not the time in between.
    duration = run_duration(manifest.get("resumed_at") or manifest.get("created_at"), ended_at, writers)
    earlier = manifest.get("duration_before_resume")
    if duration is not None and isinstance(earlier, (int, float)) and not isinstance(earlier, bool):
        duration += earlier
    manifest["duration"] = duration


def run_duration(created_at: Any, ended_at: Any, writers: dict[str, Any]) -> float | None:
    """The run's duration, never negative and never moved by a stepped wall clock.

    A Python writer records ``elapsed`` from the monotonic clock (time.monotonic() between its
    start and its finish). A run with one such writer takes it as is; with several (DDP ranks,
    resumed runs) the wall-clock span is used when it is at least the longest ``elapsed``,
    else the longest ``elapsed``. Shell-driven runs only have the wall clock: a negative span
    (the clock stepped back) is stored as unknown (``null``), never as a negative number.
    """
    elapsed: list[float] = [
        w["elapsed"] for w in writers.values()
        if isinstance(w, dict) and isinstance(w.get("elapsed"), (int, float)) and not isinstance(w.get("elapsed"), bool)
        and w["elapsed"] >= 0
    ]
    wall = seconds_between(created_at, ended_at)
    if elapsed:
        longest = round(max(elapsed), 6)
        if len(writers) == 1 or wall is None or wall < longest:
            return longest
        return wall
    return wall if wall is not None and wall >= 0 else None


def derive_status(manifest: dict[str, Any], now: float | None = None) -> str:
    """The status a reader should show: ``running`` only while some writer is alive."""
    status = manifest.get("status")
    if status not in STATUSES:
        return "crashed" if status is None else str(status)[:20]
    if status != "running":
        return str(status)
    writers = manifest.get("writers")
    if not isinstance(writers, dict) or not writers:
        return "crashed"
    if any(writer_is_alive(w, now) for w in writers.values()):
        return "running"
    return "crashed"
