"""Watching a running trial's metric in the store and stopping it when hyperband says so.

The agent reads the trial's run and the sweep's other trial runs from their folders (the
same files every agent sees, so parallel agents on one store, or on clones merged by git,
judge on the same data; no server). It polls about once a second and only looks at the
other trials when its own trial has logged more values. A trial's points reach the store
when its writer seals (every ``LOCALTRACK_FLUSH_SECONDS``, 2 s by default), so a stop comes
a few seconds after a bracket at most.

A stop is recorded once as ``sweeps/<id>/stops/<key>.json`` (the bracket, the trial's
value, the threshold and every value it was compared with), then carried out by the
``on_stop`` callback: SIGTERM to a command trial's process group (SIGKILL if it is still
there 30 s later), or a flag the in-process hook turns into :class:`TrialEarlyTerminated`
at the trial's next ``log()``.
"""

from __future__ import annotations

import math
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from localtrack.errors import LocaltrackError
from localtrack.storage.lease import host_name, process_start_ticks
from localtrack.store.reader import load_run, read_metrics
from localtrack.sweeps.hyperband import Hyperband, StopDecision, clean_history, decide
from localtrack.sweeps.store import StoredSweep

POLL_SECONDS = 1.0
KILL_AFTER_SECONDS = 30.0  # a command still alive this long after SIGTERM gets SIGKILL
MAX_VALUES_RECORDED = 5_000
FINAL_STATUSES = frozenset({"finished", "failed", "killed", "crashed"})
EARLY_TERMINATED_TAG = "sweep_early_terminated"


class TrialEarlyTerminated(BaseException):
    """Raised at a function trial's ``log()`` once hyperband stopped it.

    A BaseException (like KeyboardInterrupt), so a training loop's ``except Exception``
    does not swallow it; the agent catches it and ends the run as ``killed``.
    """


def metric_history(sweep: StoredSweep, run_id: str, name: str) -> list[float]:
    """The run's values of ``name`` in step order, as sealed in the store ([] when unreadable)."""
    try:
        table = read_metrics(sweep.layout, run_id)
    except (LocaltrackError, OSError, ValueError):
        return []
    if table.num_rows == 0:
        return []
    import pyarrow.compute as pc

    picked = table.filter(pc.equal(table["key"], name))
    if picked.num_rows == 0:
        return []
    picked = picked.sort_by([("step", "ascending")])
    return clean_history(picked["value"].to_pylist())


class TrialWatcher:
    """A daemon thread judging one running trial at its brackets; stops it at most once."""

    def __init__(self, sweep: StoredSweep, schedule: Hyperband, key: str, run_id: str, agent_id: str,
                 on_stop: Callable[[StopDecision], int | None], poll_seconds: float = POLL_SECONDS) -> None:
        self.sweep, self.schedule, self.key, self.run_id, self.agent_id = sweep, schedule, key, run_id, agent_id
        self.on_stop = on_stop
        self.poll_seconds = poll_seconds
        self.decision: StopDecision | None = None
        self.signalled: int | None = None  # the process group sent SIGTERM, if any
        self.problem: str | None = None
        self._done = threading.Event()
        self._final: dict[str, list[float]] = {}  # histories of trials that ended: they never change
        self._seen = 0
        self._thread = threading.Thread(target=self._loop, name="localtrack-sweep-watcher", daemon=True)

    def start(self) -> None:
        import pyarrow.compute  # noqa: F401  imported here, not in the thread (never at shutdown)

        self._thread.start()

    def close(self) -> None:
        """The trial ended: stop watching (and the SIGKILL timer)."""
        self._done.set()
        self._thread.join(5.0)

    def _loop(self) -> None:
        while not self._done.wait(self.poll_seconds):
            try:
                decision = self.check()
            except Exception as exc:  # a damaged neighbour must not end the agent; the trial goes on
                self.problem = f"early termination check failed: {type(exc).__name__}: {exc}"
                return
            if decision is not None:
                self.decision = decision
                self._record(decision)
                group = self.on_stop(decision)
                if group is not None:
                    self.signalled = group
                    self._kill_if_still_there(group)
                return

    def check(self) -> StopDecision | None:
        """Judge the trial on what the store holds now (None: it goes on)."""
        name = self.sweep.config.metric_name
        if not name:
            return None
        own = metric_history(self.sweep, self.run_id, name)
        if len(own) == self._seen or self.schedule.reached(len(own)) is None:
            return None  # nothing new, or no bracket yet: do not read the other trials
        self._seen = len(own)
        return decide(self.schedule, self.sweep.config.goal, own, self._other_histories(name))

    def _other_histories(self, name: str) -> list[list[float]]:
        out = []
        for trial in self.sweep.trials():
            if "problem" in trial or trial["key"] == self.key:
                continue
            run_id = trial["run_id"]
            if run_id in self._final:
                out.append(self._final[run_id])
                continue
            record = load_run(self.sweep.layout, run_id)
            history = metric_history(self.sweep, run_id, name) if record.ok and record.manifest else []
            if record.ok and record.status in FINAL_STATUSES:
                self._final[run_id] = history
            out.append(history)
        return out

    def _record(self, decision: StopDecision) -> None:
        record = decision.as_record()
        record["values_at_bracket"] = [v for v in record["values_at_bracket"][:MAX_VALUES_RECORDED] if math.isfinite(v)]
        try:
            self.sweep.record_stop(self.key, self.run_id, self.agent_id, record)
        except (LocaltrackError, OSError) as exc:
            self.problem = f"could not record the stop of trial {self.key}: {exc}"

    def _kill_if_still_there(self, pgid: int) -> None:
        """After SIGTERM: SIGKILL the group if it is still there when the grace period ends."""
        if not self._done.wait(KILL_AFTER_SECONDS):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def trial_process_group(sweep: StoredSweep, run_id: str) -> int | None:
    """The process group of the command that writes the trial's run (never this agent's own).

    Found from the run's writer entries: a live writer on this host whose pid is not ours,
    whose start time matches the one it recorded (so a reused pid is never signalled), and
    whose process group is led by a child of this agent.
    """
    record = load_run(sweep.layout, run_id)
    writers = record.manifest.get("writers") if record.ok else None
    if not isinstance(writers, dict):
        return None
    host, mine = host_name(), os.getpgid(0)
    for writer in writers.values():
        if not isinstance(writer, dict) or writer.get("status") != "running" or writer.get("host") != host:
            continue
        pid = writer.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1 or pid == os.getpid():
            continue
        started = writer.get("pid_start")
        if started is not None and process_start_ticks(pid) != started:
            continue
        try:
            group = os.getpgid(pid)
        except OSError:
            continue
        if group != mine and _started_by_us(group):
            return group
    return None


def _started_by_us(group: int) -> bool:
    """Whether the group's leader is our child (exec starts the command as a new session).

    A run folder can come from anywhere (a git pull): its writer pid alone is not enough
    to signal a process. Where ``/proc`` is missing (macOS) the pid start check above is
    skipped too, and we trust the pid of the run this agent just created.
    """
    try:
        with open(f"/proc/{group}/stat", "rb") as handle:
            stat = handle.read()
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")
    except OSError:
        return False
    try:
        return int(stat[stat.rindex(b")") + 2 :].split()[1]) == os.getpid()
    except (ValueError, IndexError):
        return False


@contextmanager
def raise_at_log(run_id: str, stop: threading.Event) -> Iterator[None]:
    """While active, a ``log()`` to run ``run_id`` raises :class:`TrialEarlyTerminated` once ``stop`` is set.

    The only safe place to end a function trial early is between two of its calls into
    localtrack: the point just logged is recorded first. (wandb's agent raises into the
    thread asynchronously, which can land in the middle of anything.) Patches ``Run.log``
    for the duration of the trial; other runs' ``log()`` are unaffected.
    """
    from localtrack.api.run import Run

    original = Run.log

    def log(self: Run, *args: Any, **kwargs: Any) -> None:  # whatever Run.log's signature is
        original(self, *args, **kwargs)
        if stop.is_set() and self.id == run_id:
            raise TrialEarlyTerminated(f"run {run_id} was stopped by the sweep's early_terminate (hyperband)")

    Run.log = log  # type: ignore[method-assign]
    try:
        yield
    finally:
        Run.log = original  # type: ignore[method-assign]
