"""The sampler thread: one per process, logging ``system/...`` for every run this process writes.

Each run gets its own *system writer*: a second writer of the run (``"role": "system"`` in
its manifest entry) created at the first sample, so sampling never takes the training
writer's lock, never moves the step ``log()`` uses next, and its points have their own step
counter (the sample number) beside the wall-clock ``timestamp`` every point carries. Plots
put ``system/...`` on ``--x time``.

``init()`` calls :func:`start_for_run`, which builds the probes (importing psutil/pynvml)
on init's thread the first time, so the sampler thread never imports (the flusher thread starts
it when the first sample is due: a run shorter than one interval never starts it); ``Run.finish`` calls
the stop it registers (before the run's last seal). Stopping imports nothing and starts no
thread, so it is safe from the exit hook.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from localtrack.errors import InvalidValueError
from localtrack.ids import new_writer_id
from localtrack.store.flusher import FLUSHER
from localtrack.store.writer import RunWriter
from localtrack.system_metrics.probes import ProbeSet

if TYPE_CHECKING:
    from localtrack.storage.layout import StoreLayout

log = logging.getLogger("localtrack")


class SampledRun(Protocol):
    """What the sampler needs of a run (``localtrack.api.run.Run`` is one). A Protocol, so this
    package stays below the run API and never imports it."""

    id: str
    status: str
    _layout: StoreLayout
    _on_finish: list[Any]

LOCALTRACK_SYSTEM_METRICS = "LOCALTRACK_SYSTEM_METRICS"
"""``0``/``false``/``off`` turns system metrics off for runs that do not pass ``system_metrics=``."""
LOCALTRACK_SYSTEM_METRICS_INTERVAL = "LOCALTRACK_SYSTEM_METRICS_INTERVAL"
"""Seconds between system samples for runs that do not pass ``system_metrics_interval=`` (default 10)."""

DEFAULT_INTERVAL = 10.0
SYSTEM_FLUSH_SECONDS = 60.0  # system points are few: seal them about once a minute
STOP_TIMEOUT = 2.0
_OFF = frozenset({"0", "false", "no", "off"})


def default_probes() -> ProbeSet:
    """psutil's host/process readings (if installed) and NVML's GPUs (if importable)."""
    from localtrack.system_metrics.nvml import add_gpu_probes
    from localtrack.system_metrics.probes import add_psutil_probes

    probes = ProbeSet()
    try:
        import psutil
    except ImportError:
        log.debug("localtrack: psutil is not installed (pip install 'localtrack[system]'): no CPU/memory metrics")
    else:
        add_psutil_probes(probes, psutil)
    add_gpu_probes(probes)
    return probes


class _RunSink:
    """Where one run's samples go: its system writer, made on the first sample."""

    def __init__(self, layout: StoreLayout, run_id: str) -> None:
        self.layout = layout
        self.run_id = run_id
        self.writer: RunWriter | None = None
        self.step = 0
        self._lock = threading.Lock()
        self._closed = False

    def write(self, values: dict[str, float]) -> None:
        with self._lock:
            if self._closed or not values:
                return
            if self.writer is None:
                writer = RunWriter(self.layout, self.run_id, new_writer_id(), flush_seconds=SYSTEM_FLUSH_SECONDS)
                writer.create({}, "must")
                writer.patch_manifest(lambda m: m["writers"][writer.writer_id].__setitem__("role", "system"))
                writer.start()
                self.writer = writer
            self.writer.log(values, step=self.step)
            self.step += 1

    def close(self, status: str) -> None:
        with self._lock:
            self._closed = True
            writer, self.writer = self.writer, None
        if writer is not None:
            writer.finish(status if status in ("finished", "failed", "killed") else "finished")


class SystemSampler:
    """One thread sampling every ``interval`` seconds for all attached runs of this process."""

    def __init__(self, build_probes: Callable[[], ProbeSet] = default_probes) -> None:
        self.build_probes = build_probes
        self.interval = DEFAULT_INTERVAL
        self.samples = 0
        self.cpu_seconds = 0.0  # CPU time the sampler thread has used, for the benchmark
        self._sinks: dict[int, _RunSink] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._probes: ProbeSet | None = None
        self._due = 0.0  # monotonic time the first sample of the attached runs is due
        self._scheduled = False  # registered with the flusher to start the thread when due

    @property
    def running(self) -> bool:
        """Whether this process samples: runs are attached (the thread starts when their first
        sample is due) or the thread is still alive."""
        if self._pid != os.getpid():
            return False
        return bool(self._sinks) or (self._thread is not None and self._thread.is_alive())

    def prepare(self) -> None:
        """Build the probes and take one sample, on the caller's (``init()``'s) thread, once.

        psutil and pynvml are imported here and every probe has run once, so the sampler
        thread never imports: a thread importing while the interpreter exits can hang it.
        """
        if self._probes is None:
            try:
                probes = self.build_probes()
                probes.sample()  # primes lazy imports and psutil's CPU baselines
            except Exception as exc:
                log.debug("localtrack: system metrics disabled: %s", exc)
                probes = ProbeSet()
            self._probes = probes

    def attach(self, run: SampledRun, interval: float) -> None:
        """Sample for ``run`` from one ``interval`` on.

        The thread is not started here: the flusher thread (already running for the run's
        writer) starts it when the first sample is due, so a run shorter than one interval
        (200 short runs in a loop) never pays a thread start and join.
        """
        self.prepare()
        with self._lock:
            if self._pid != os.getpid():  # after fork() the parent's thread does not exist here
                self._pid, self._thread, self._sinks = os.getpid(), None, {}
            self._sinks[id(run)] = _RunSink(run._layout, run.id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = None
                self.interval = interval
                self._due = time.monotonic() + interval
                if not self._scheduled:
                    self._scheduled = True
                    FLUSHER.register(self)

    def tick(self) -> None:
        """Called by the flusher thread: start the sampling thread once a sample is due."""
        with self._lock:
            if self._thread is not None or not self._sinks or time.monotonic() < self._due:
                return
            self._stop = threading.Event()
            thread = threading.Thread(target=self._loop, args=(self._stop,), name="localtrack-system-metrics", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: no more samples
                return
            self._thread = thread
            self._scheduled = False
        FLUSHER.unregister(self)

    def detach(self, run: SampledRun) -> None:
        """Stop sampling for ``run`` and finish its system writer; the thread ends with the last run."""
        with self._lock:
            sink = self._sinks.pop(id(run), None)
            last = not self._sinks
            thread = self._thread if last else None
            if last:
                if thread is not None:
                    self._stop.set()
                self._thread = None
                unschedule, self._scheduled = self._scheduled, False
            else:
                unschedule = False
        if unschedule:
            FLUSHER.unregister(self)
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(STOP_TIMEOUT)
        if sink is not None:
            sink.close(run.status)

    def _loop(self, stop: threading.Event) -> None:
        started = time.thread_time()
        probes = self._probes
        if probes is None or not len(probes):
            return
        while True:  # started when the first sample is due: sample, then wait
            values = probes.sample()
            with self._lock:
                sinks = list(self._sinks.values())
            for sink in sinks:
                try:
                    sink.write(values)
                except Exception as exc:  # a full disk must not kill the thread or reach training
                    log.debug("localtrack: system metrics for run %s not written: %s", sink.run_id, exc)
            self.samples += 1
            self.cpu_seconds = time.thread_time() - started
            if stop.wait(self.interval):
                return


SAMPLER = SystemSampler()


def is_sampling_rank() -> bool:
    """Rank 0 and local rank 0 (or no launcher at all): one sampler per job, not one per GPU."""
    for name in ("RANK", "LOCAL_RANK"):
        raw = (os.environ.get(name) or "").strip()
        if raw and raw != "0":
            return False
    return True


def resolve_settings(enabled: bool | None, interval: float | None) -> tuple[bool, float]:
    """``init()``'s arguments, else the environment, else on every 10 s."""
    if enabled is None:
        enabled = (os.environ.get(LOCALTRACK_SYSTEM_METRICS) or "1").strip().lower() not in _OFF
    if interval is None:
        raw = os.environ.get(LOCALTRACK_SYSTEM_METRICS_INTERVAL)
        try:
            interval = float(raw) if raw else DEFAULT_INTERVAL
        except ValueError:
            raise InvalidValueError(f"{LOCALTRACK_SYSTEM_METRICS_INTERVAL}={raw!r} is not a number of seconds", raw) from None
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval) or interval <= 0:
        raise InvalidValueError(f"system_metrics_interval={interval!r}: give a positive number of seconds", interval)
    return bool(enabled), float(interval)


def start_for_run(run: SampledRun, enabled: bool | None = None, interval: float | None = None,
                  sampler: SystemSampler | None = None) -> bool:
    """Sample system metrics into ``run`` until it finishes; returns whether sampling started."""
    on, seconds = resolve_settings(enabled, interval)
    if not on or not is_sampling_rank():
        return False
    chosen = sampler or SAMPLER
    chosen.attach(run, seconds)
    run._on_finish.append(chosen.detach)
    return True
