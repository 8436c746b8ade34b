"""The buffered run writer: ``log()`` appends to memory, a flusher thread seals segments.

The hot path (:meth:`RunWriter.log`) does a handful of C-level list operations per call and
takes one lock; validation runs fully only the first time a key is seen or when a value is
not a plain float. Sealing (building an Arrow table, writing Parquet, updating the manifest)
happens on the flusher thread every ``flush_seconds`` or when the buffer is large, and on
``finish()``. When the buffer reaches its hard limit the caller seals synchronously, so
memory stays bounded whatever the logging rate.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from localtrack import timefmt
from localtrack.errors import (
    InvalidValueError,
    InvalidValueTypeError,
    LocaltrackError,
    RunExistsError,
    RunNotFoundError,
    RunStateError,
)
from localtrack.storage import arrow_columns, parquet_lite, sync_batch
from localtrack.storage.atomic import (
    explain_os_error,
    fsync_dir,
    make_dirs,
    temp_path_for,
    write_new_file,
)
from localtrack.storage.layout import LOCK_FILENAME, MANIFEST_FILENAME, METRICS_DIRNAME, StoreLayout
from localtrack.storage.lease import host_name, process_start_ticks, run_lock
from localtrack.storage.manifest import dump_manifest, read_manifest, write_manifest
from localtrack.storage.own_manifest import remember_written, reread_manifest
from localtrack.storage.segments import (
    SegmentName,
    parse_segment_name,
    read_segments,
    write_segment,
)
from localtrack.store.buffer import Block, build_table_and_summary, small_columns
from localtrack.store.flusher import FLUSHER
from localtrack.store.limits import MAX_METRIC_KEYS
from localtrack.store.status import end_run_if_no_writer_alive
from localtrack.store.summary import merge_summary, merge_writer_summaries
from localtrack.store.values import MAX_EXACT_INT, MAX_STEP, check_step, clean_metrics

log = logging.getLogger("localtrack")

DEFAULT_FLUSH_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
SOFT_BUFFER_POINTS = 500_000  # ask the flusher to seal (about 20 MB of Python floats)
HARD_BUFFER_POINTS = 1_000_000  # the caller seals itself: the buffer never grows past this
MERGE_FANIN = 8  # size-tiered compaction: 8 segments of one tier become one of the next
MAX_MERGED_ROWS = 1 << 21  # compaction never writes a bigger segment: the writer's memory stays bounded
LOCK_PATIENCE_SECONDS = 30.0  # finishing waits this long for a seal in progress, then goes ahead
SEAL_RETRY_SECONDS = 1.0  # after a failed seal, a full buffer refuses new points for this long
SMALL_SEGMENT_ROWS = 100_000  # at finish, trailing segments smaller than this are merged
# Seals up to this size are written in pure Python (storage/parquet_lite.py) even in a process
# that has pyarrow loaded; without pyarrow, every seal is.
PURE_SEAL_POINTS = 20_000

_INT_OR_FLOAT = frozenset({float, int})
MISSED = 1 << 62  # log()'s fast path found the block taken: above any buffer limit, so one test sees both
LOWEST_INT = -MAX_EXACT_INT
_now = time.time
_own_process: list[Any] = [None, None, None]  # pid, its start ticks, host name (see writer_entry)

ManifestPatch = Callable[[dict[str, Any]], None]


class RunWriter:
    """One writer (process or DDP rank) of one run."""

    def __init__(
        self,
        layout: StoreLayout,
        run_id: str,
        writer_id: str,
        *,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
        soft_buffer_points: int = SOFT_BUFFER_POINTS,
        hard_buffer_points: int = HARD_BUFFER_POINTS,
    ) -> None:
        self.layout = layout
        self.run_id = run_id
        self.writer_id = writer_id
        self.run_dir = layout.run_dir(run_id)
        self.metrics_dir = self.run_dir / METRICS_DIRNAME
        self.manifest_path = self.run_dir / MANIFEST_FILENAME
        self.lock_path = self.run_dir / LOCK_FILENAME
        self._flush_seconds = max(0.05, flush_seconds)
        self._soft = soft_buffer_points
        self._hard = max(hard_buffer_points, soft_buffer_points)
        # The logging path never loads pyarrow (0.3 s): storage/parquet_lite.py seals any size
        # of buffer. A process that already paid for pyarrow (pandas loads it) seals with it.
        if "pyarrow" in sys.modules:
            arrow_columns.warm_up()

        # Reentrant on purpose: a signal can unwind the main thread between acquiring one of
        # these and the `try` that releases it; the exit hook then runs on that same thread and
        # must get the lock at once instead of waiting for a release that never comes.
        self._lock = threading.RLock()  # guards the buffer
        self._seal_lock = threading.RLock()  # one seal / manifest write at a time
        self._blocks: dict[tuple[str, ...], Block] = {}
        self._signatures: set[tuple[str, ...] | None] = set()  # key tuples already validated
        self._buffered = 0
        self._steps_ordered = True
        self._last_block: Block | None = None  # the block the previous call appended to (its keys)
        # That block while log()'s fast path may append to it: None whenever the next call must
        # take the checked path (an error to report, a failed seal, finished, buffer taken).
        # Written only under _lock, after the state it reflects.
        self._hot: Block | None = None
        self.next_step = 0

        self._seq = 0
        self._segments: dict[str, dict[str, Any]] = {}
        self._summary: dict[str, dict[str, Any]] = {}
        self._patches: list[ManifestPatch] = []
        self._last_manifest_write = time.monotonic()
        self._error: LocaltrackError | None = None
        self._failed_seal_at: float | None = None  # monotonic time of the last failed seal
        self._last_seal_error = ""
        self._closed = False
        self._last_seal = time.monotonic()
        self._started_monotonic = time.monotonic()  # for a duration no clock step can make negative
        self.joined = False  # True when this writer joined a run that already existed
        self._metrics_ready = False  # metrics/ known to exist: no mkdir per seal
        self._runs_dir_synced = True  # False while this run's folder name in runs/ is not fsynced
        self._manifest_bytes: bytes | None = None  # what this writer last wrote to manifest.json
        # Until a run this writer created has acknowledged something, its files are written
        # unsynced and the first manifest write fsyncs them all at once (sync_batch).
        self._acknowledged = True
        self._unsynced_files: list[Any] = []

    # ------------------------------------------------------------------ creation
    def writer_entry(self) -> dict[str, Any]:
        pid = os.getpid()
        now = timefmt.now_iso()
        if _own_process[0] != pid:  # this process's start time and host: read once per process (and after fork)
            _own_process[:] = [pid, process_start_ticks(pid), host_name()]
        return {
            "pid": pid,
            "pid_start": _own_process[1],
            "host": _own_process[2],
            "started_at": now,
            "heartbeat_at": now,
            "ended_at": None,
            "status": "running",
            "segments": {},
            "summary": {},
        }

    def create(self, manifest: dict[str, Any], resume: str | None) -> dict[str, Any]:
        """Create the run folder with ``manifest``, or join the existing run when ``resume`` allows.

        The folder is built under a temp name and renamed into place, so a run folder always
        has a manifest; of two processes creating one id at once, one renames and the other
        finds it existing and joins (``resume='allow'``) or fails cleanly.
        """
        manifest = dict(manifest)
        manifest["writers"] = {self.writer_id: self.writer_entry()}
        if resume == "must":
            return self.attach(manifest)
        if not self.layout.runs_dir.is_dir():
            make_dirs(self.layout.runs_dir)
        staging = temp_path_for(self.run_dir)
        try:
            # A fresh random name: mkdir fails on anything already there (a planted link
            # included, mkdir never follows one), so no link checks are needed below it.
            os.mkdir(staging)
            os.mkdir(staging / METRICS_DIRNAME)
            # The staging folder is invisible to readers (a dot name), so the manifest goes in
            # directly and one rename publishes the whole run. Nothing is fsynced yet: a new
            # run has acknowledged nothing. The first manifest write (a seal's, or finish's)
            # is durable and then fsyncs runs/ once, making the run folder's name durable
            # before anything the run acknowledges (docs/FORMAT.md, "Durability").
            first = dump_manifest(manifest)
            write_new_file(staging / MANIFEST_FILENAME, first, durable=False)
            os.rename(staging, self.run_dir)
            self._manifest_bytes = first
        except OSError as exc:
            _remove_tree_quietly(staging)
            if not self.run_dir.exists():
                raise explain_os_error(exc, self.run_dir, "create run folder") from exc
            if resume not in ("allow", "auto"):
                raise RunExistsError(
                    f"run {self.run_id!r} already exists; pass resume='allow' to add to it",
                    self.run_id,
                ) from None
            return self.attach(manifest)
        except BaseException:
            _remove_tree_quietly(staging)
            raise
        self._runs_dir_synced = False
        self._acknowledged = False
        self._metrics_ready = True
        return manifest

    def attach(self, fresh: dict[str, Any]) -> dict[str, Any]:
        """Join an existing run as one more writer; its config, tags and notes merge in."""
        if not self.manifest_path.exists():
            raise RunNotFoundError(f"run {self.run_id!r} does not exist (resume='must')", self.run_id)
        make_dirs(self.metrics_dir)
        self.joined = True
        self._runs_dir_synced = False  # its creator may not have synced the run folder's name yet
        with run_lock(self.lock_path):
            manifest = read_manifest(self.manifest_path)
            writers = manifest.setdefault("writers", {})
            writers[self.writer_id] = fresh["writers"][self.writer_id]
            manifest["status"] = "running"
            manifest["ended_at"] = None
            for key in ("config", "tags"):
                merged = dict(manifest.get(key) or {})
                merged.update(fresh.get(key) or {})
                manifest[key] = merged
            if fresh.get("notes"):
                manifest["notes"] = fresh["notes"]
            for key in ("git", "command", "environment"):
                if fresh.get(key) and not manifest.get(key):
                    manifest[key] = fresh[key]
            self._manifest_bytes = write_manifest(self.manifest_path, manifest)
        return manifest

    def start(self) -> None:
        """Hand this writer to the process's flusher thread.

        Nothing is imported here: until pyarrow is loaded (see :meth:`_arrow_ready`) every
        seal and merge is pure Python, so a seal at exit, in a signal's unwinding or on the
        flusher thread imports nothing.
        """
        sync_batch.prepare()
        FLUSHER.register(self)

    # ------------------------------------------------------------------ hot path
    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Buffer one step of metrics. Refuses the whole call if any key or value is bad.

        The common call (a dict with the previous call's keys, and the value types that call
        validated, at the next step) costs one key list, one type list and a range check of
        its ints, then the appends; every other call takes :meth:`_log_checked`. ``_hot`` is
        that previous call's block only while nothing else needs checking (no error to
        report, no failed seal, not finished): one test instead of four.
        """
        block = self._hot
        if (
            block is not None
            and step is None
            and type(metrics) is dict
            and [*metrics] == block.key_list
            and [*map(type, values := metrics.values())] == block.type_list
        ):
            if block.int_keys:
                for key in block.int_keys:
                    if not LOWEST_INT <= metrics[key] <= MAX_EXACT_INT:
                        return self._log_checked(metrics, step)
            step = self.next_step
            if step > MAX_STEP:
                raise InvalidValueError(f"step {step} would overflow int64; pass a smaller step explicitly")
            self.next_step = step + 1
            now = _now()
            lock = self._lock
            lock.acquire()  # not `with`: a third cheaper, and this runs once per call
            try:
                if block is self._hot:  # else the flusher took the buffer (or an error came) meanwhile
                    try:
                        block.values.extend(values)
                        block.steps.append(step)
                        block.times.append(now)
                    except BaseException:  # Ctrl-C amid the appends: the call happened only if its time is in
                        if not block.times or block.times[-1] is not now:
                            block.truncate(len(block.times))  # the times list is appended last: its length counts whole calls
                            self.next_step = step
                        raise
                    buffered = self._buffered = self._buffered + block.width
                else:
                    buffered = MISSED
            finally:
                lock.release()
            if buffered < self._soft:
                return None
            return self._past_soft(buffered, step, metrics)
        return self._log_checked(metrics, step)

    def _past_soft(self, buffered: int, step: int, metrics: dict[str, Any]) -> None:
        """After the fast path's append: wake the flusher past the soft limit, seal at the hard
        one; or, when the block was taken meanwhile (``MISSED``), log the call by the checked
        path at the same step."""
        if buffered == MISSED:
            self.next_step = step
            return self._log_checked(metrics, None)
        if buffered >= self._hard:
            self.seal()
        else:
            FLUSHER.wake()
        return None

    def _log_checked(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """:meth:`log` for any call: the state checks, validation, explicit steps, new key sets."""
        if self._closed:
            raise RunStateError(f"run {self.run_id!r} is finished; start a new run to log more", self.run_id)
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._buffered >= self._hard and self._failed_seal_at is not None:
            self._refuse_while_unsealable()
        # Fast path: a dict of floats and ints float64 holds exactly (min/max run in C; a NaN
        # or a value past 2**53 fails them and takes the exact check, which decides right).
        if (
            type(metrics) is dict
            and _INT_OR_FLOAT.issuperset(map(type, values := metrics.values()))
            and (not values or -MAX_EXACT_INT <= min(values) <= max(values) <= MAX_EXACT_INT or _exact_ints_and_floats(metrics))
        ):
            signature = tuple(metrics)
            last = self._last_block
            if (last is None or signature != last.keys) and signature not in self._signatures:
                metrics = self._admit(metrics)
                signature = tuple(metrics)
                self._signatures.add(signature)
        else:
            metrics = self._admit(metrics)
            signature = tuple(metrics)
            self._signatures.add(signature)
        if step is None:
            step = self.next_step
            if step > MAX_STEP:
                raise InvalidValueError(f"step {step} would overflow int64; pass a smaller step explicitly")
        else:
            if type(step) is not int or step < 0 or step > MAX_STEP:
                step = check_step(step)
            if step < self.next_step - 1:
                self._steps_ordered = False
        resume_at, self.next_step = self.next_step, step + 1
        if not signature:  # log({}): a step with nothing in it
            return
        # What log()'s first test compares against next time: the types of a plain dict whose
        # values all passed as they are (checked above; cleaning kept its keys unchanged).
        types = None
        if type(metrics) is dict and _INT_OR_FLOAT.issuperset(kinds := tuple(map(type, metrics.values()))):
            types = kinds
        now = time.time()
        with self._lock:
            block = self._last_block
            if block is not None and block.keys != signature:
                block = None
            if block is None:
                block = self._blocks.get(signature)
                if block is None:
                    block = self._blocks[signature] = Block(signature)
                # Switching blocks: note where in the buffer's call order this run of calls starts.
                block.runs.append((len(block.steps), sum(len(b.steps) for b in self._blocks.values())))
                self._last_block = block
            calls = len(block.steps)
            try:
                block.values.extend(metrics.values())
                block.steps.append(step)
                block.times.append(now)
            except BaseException:  # Ctrl-C between the appends: this call did not happen
                block.truncate(calls)
                self.next_step = resume_at
                raise
            self._buffered += len(signature)
            buffered = self._buffered
            if types is not None:
                block.type_list = list(types)
                block.int_keys = tuple(k for k, t in zip(signature, types, strict=True) if t is int)
            ok = self._error is None and self._failed_seal_at is None and not self._closed
            self._hot = block if ok else None
        if buffered >= self._soft:
            if buffered >= self._hard:
                self.seal()
            else:
                FLUSHER.wake()

    def _refuse_while_unsealable(self) -> None:
        """The buffer is full and the last seal failed: retry now and then, else refuse the point.

        Refusing (raising) keeps memory bounded and never drops what was acknowledged: every
        buffered point stays in memory until a seal succeeds.
        """
        if self._failed_seal_at is not None and time.monotonic() - self._failed_seal_at < SEAL_RETRY_SECONDS:
            raise LocaltrackError(
                f"run {self.run_id!r}: {self._buffered} points are waiting to be written and the last "
                f"write failed ({self._last_seal_error}); this point was not recorded",
                self.run_id,
            )
        self.seal()

    def _admit(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        if not isinstance(metrics, Mapping):
            raise InvalidValueTypeError(f"log() takes a dict of metric name -> number, got {type(metrics).__name__}")
        clean = clean_metrics(metrics, wandb_shape=True)
        known: set[str] | None = self.__dict__.get("_metric_keys")
        if known is None:
            known = self._metric_keys = set[str]()
        new = [k for k in clean if k not in known]
        if new and len(known) + len(new) > MAX_METRIC_KEYS:
            raise InvalidValueError(
                f"metric {new[0]!r}: run {self.run_id!r} already has {len(known):,} metric keys, the limit is "
                f"{MAX_METRIC_KEYS:,} per run; log fewer distinct keys (put per-item values in one key's steps)",
                new[0],
            )
        known.update(new)
        return clean

    # ------------------------------------------------------------------ sealing
    def _take_buffer(self) -> tuple[list[Block], bool] | None:
        with _held(self._lock, 2.0):
            if not self._buffered:
                return None
            blocks = list(self._blocks.values())
            ordered = self._steps_ordered
            self._blocks, self._buffered, self._steps_ordered = {}, 0, True
            self._last_block = self._hot = None
        return blocks, ordered

    def _restore_buffer(self, taken: tuple[list[Block], bool]) -> None:
        """Put back what a failed seal took, ahead of anything logged since."""
        blocks, ordered = taken
        with _held(self._lock, 2.0):
            old_calls = sum(len(b.steps) for b in blocks)
            for old in blocks:
                new = self._blocks.get(old.keys)
                if new is not None:
                    old.runs.extend((i + len(old.steps), g + old_calls) for i, g in new.runs)
                    old.values.extend(new.values)
                    old.steps.extend(new.steps)
                    old.times.extend(new.times)
                self._blocks[old.keys] = old
                self._buffered += len(old.steps) * len(old.keys) - (len(new.steps) * len(new.keys) if new else 0)
            self._steps_ordered = self._steps_ordered and ordered
            self._last_block = self._hot = None

    def seal(self, *, record: bool = True) -> None:
        """Write what is buffered as one sealed segment and (``record``) note it in the manifest."""
        with _held(self._seal_lock, LOCK_PATIENCE_SECONDS):
            self._last_seal = time.monotonic()
            taken = self._take_buffer()
            if taken is None:
                if self._patches and record:
                    self._write_manifest()
                return
            try:
                if self._arrow_ready(taken[0]):
                    table, stats = build_table_and_summary(*taken)
                else:
                    table, stats = small_columns(*taken)
                name = SegmentName(self.writer_id, self._seq + 1, self._seq + 1)
                if not self._metrics_ready:
                    make_dirs(self.metrics_dir)
                    self._metrics_ready = True
                info = write_segment(self.metrics_dir, name, table, durable=self._acknowledged)
                if not self._acknowledged:
                    self._unsynced_files.append(self.metrics_dir / name.filename)
            except BaseException as exc:  # whatever went wrong, the points stay buffered
                self._failed_seal_at = time.monotonic()  # first: the restore below cools log()'s fast path
                self._restore_buffer(taken)
                self._last_seal_error = _describe(exc)
                if not isinstance(exc, Exception):
                    raise  # KeyboardInterrupt, SystemExit: unwind as asked, the points are kept
                if isinstance(exc, OSError):
                    cause = str(explain_os_error(exc, self.metrics_dir, "write metrics to"))
                elif isinstance(exc, LocaltrackError):
                    cause = str(exc)
                else:
                    cause = f"cannot write metrics of run {self.run_id!r}: {self._last_seal_error}"
                self._last_seal_error = cause
                raise LocaltrackError(
                    f"{cause} ({self._buffered} points are kept in memory and written at the next try)", self.run_id
                ) from exc
            self._seq += 1
            self._failed_seal_at = None
            self._error = None  # an earlier failed seal is now written: nothing to report
            self._segments[name.filename] = info
            for key, key_stats in stats.items():
                self._summary[key] = merge_summary(self._summary.get(key), key_stats)
            if record:
                self._write_manifest()
            while self._merge_tail(_tiered_tail(self._ordered_segments())):
                pass

    def _arrow_ready(self, blocks: list[Block]) -> bool:
        """Whether this seal uses pyarrow: only if the process had loaded it already (see
        ``__init__``), for buffers past PURE_SEAL_POINTS (below, plain Python is faster than
        Arrow kernels' per-call overhead). Imports nothing."""
        return arrow_columns.is_warm() and sum(len(b.values) for b in blocks) > PURE_SEAL_POINTS

    def _ordered_segments(self) -> list[tuple[SegmentName, int]]:
        names = (parse_segment_name(f) for f in self._segments)
        return sorted((n, self._segments[n.filename]["rows"]) for n in names if n is not None)

    def _merge_tail(self, tail: list[SegmentName]) -> bool:
        """Merge consecutive segments into one; readers never see a point twice.

        The merged file covers the seal-number range of its inputs, so from its rename until
        the inputs are deleted a reader's covering rule already ignores them.
        """
        if len(tail) < 2 or sum(self._segments[n.filename]["rows"] for n in tail) > MAX_MERGED_ROWS:
            return False
        paths = [self.metrics_dir / n.filename for n in tail]
        table: Any
        if arrow_columns.is_warm():
            table = read_segments(paths).sort_by([("key", "ascending"), ("step", "ascending")])
        else:  # every segment of this writer was written by parquet_lite (pyarrow never loaded)
            try:
                table = parquet_lite.merge([parquet_lite.decode(p.read_bytes()) for p in paths])
            except (OSError, parquet_lite.NotOurSegment) as exc:
                log.warning("localtrack: segments of run %s left unmerged: %s", self.run_id, exc)
                return False
        merged = SegmentName(self.writer_id, tail[0].first, tail[-1].last)
        record = write_segment(self.metrics_dir, merged, table)
        for name in tail:
            self._segments.pop(name.filename, None)
        self._segments[merged.filename] = record
        self._write_manifest()
        for path in paths:
            try:
                path.unlink()
            except OSError:
                pass
        fsync_dir(self.metrics_dir)
        return True

    def summary_snapshot(self) -> dict[str, dict[str, Any]]:
        """This writer's per-metric summary as of its last seal."""
        return {k: dict(v) for k, v in self._summary.items()}

    # ------------------------------------------------------------------ manifest
    def patch_manifest(self, patch: ManifestPatch) -> None:
        """Queue a change to the shared manifest, applied under the run lock at the next write."""
        with self._lock:
            self._patches.append(patch)

    def _write_manifest(self, final: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            patches, self._patches = self._patches, []
        with run_lock(self.lock_path):
            manifest = reread_manifest(self.manifest_path, self._manifest_bytes)
            writers = manifest.setdefault("writers", {})
            entry = writers.get(self.writer_id) or self.writer_entry()
            entry["heartbeat_at"] = timefmt.now_iso()
            entry["segments"] = dict(sorted(self._segments.items()))
            entry["summary"] = dict(sorted(self._summary.items()))
            if final is not None:
                entry.update(final)
            writers[self.writer_id] = entry
            for patch in patches:
                patch(manifest)
            manifest["summary"] = merge_writer_summaries(writers)
            if final is not None:
                end_run_if_no_writer_alive(manifest, entry["ended_at"])
            self._manifest_bytes = None  # unknown if the write fails half-way
            # Another writer (a DDP rank that joined) may have acknowledged points this manifest
            # records: then it replaces the old one durably, in order, even on our first write.
            others = len(writers) > 1
            self._manifest_bytes = write_manifest(self.manifest_path, manifest, durable=self._acknowledged or others)
            remember_written(self.manifest_path, self._manifest_bytes)  # for this process's readers
        if not self._acknowledged:
            # The run's first durable point: every file and name it wrote, synced together.
            # Nothing was acknowledged before, so their order does not matter (docs/FORMAT.md).
            sync_batch.fsync_all(
                [*self._unsynced_files, *([] if others else [self.manifest_path])],
                [self.metrics_dir, self.run_dir, *([] if self._runs_dir_synced else [self.layout.runs_dir])],
            )
            self._unsynced_files.clear()
            self._acknowledged = self._runs_dir_synced = True
        elif not self._runs_dir_synced:  # a joined run's folder name may not be durable yet
            fsync_dir(self.layout.runs_dir)
            self._runs_dir_synced = True
        self._last_manifest_write = time.monotonic()
        return manifest

    def tick(self) -> None:
        """Called by the flusher thread: seal when due, else keep the heartbeat fresh."""
        if self._closed:
            return
        try:
            now = time.monotonic()
            if self._buffered and (self._buffered >= self._soft or now - self._last_seal >= self._flush_seconds):
                self.seal()
            elif (self._patches and now - self._last_manifest_write >= self._flush_seconds) or now - self._last_manifest_write > HEARTBEAT_SECONDS:
                with self._seal_lock:
                    self._write_manifest()
        except LocaltrackError as exc:
            if self._error is None or str(self._error) != str(exc):
                log.error("localtrack: %s", exc)
            self._set_error(exc)
        except Exception as exc:  # never let the flusher die silently
            log.exception("localtrack: flush of run %s failed", self.run_id)
            self._set_error(LocaltrackError(f"flush of run {self.run_id!r} failed: {exc}", self.run_id))

    def _set_error(self, error: LocaltrackError) -> None:
        """Note an error for the next log() to raise (the flusher's): that call takes the checked path."""
        self._error = error
        with _held(self._lock, 2.0):
            self._hot = None

    # ------------------------------------------------------------------ finish
    def finish(self, status: str = "finished", error: dict[str, Any] | None = None) -> dict[str, Any]:
        """Seal everything, compact, record this writer's end; returns the final manifest."""
        if self._closed:
            return read_manifest(self.manifest_path)
        self._closed = True
        with _held(self._lock, 2.0):
            self._hot = None
        FLUSHER.unregister(self)
        try:
            return self._finish(status, error)
        except BaseException:
            # Nothing is lost: the points are still buffered and the flusher retries them;
            # a later finish() can complete the run.
            self._closed = False
            FLUSHER.register(self)
            raise

    def _finish(self, status: str, error: dict[str, Any] | None) -> dict[str, Any]:
        self.seal(record=False)
        with _held(self._seal_lock, LOCK_PATIENCE_SECONDS):
            ordered = self._ordered_segments()
            small_tail: list[SegmentName] = []
            for name, rows in reversed(ordered):
                if rows >= SMALL_SEGMENT_ROWS:
                    break
                small_tail.insert(0, name)
            self._merge_tail(small_tail)
            final: dict[str, Any] = {
                "status": status,
                "ended_at": timefmt.now_iso(),
                "elapsed": round(time.monotonic() - self._started_monotonic, 6),
            }
            if error:
                final["error"] = error
            return self._write_manifest(final=final)


def _tier(rows: int) -> int:
    return max(rows, 1).bit_length() // 3  # factor-of-8 size classes


def _tiered_tail(ordered: list[tuple[SegmentName, int]]) -> list[SegmentName]:
    """The last MERGE_FANIN segments when none is in a higher tier than the one before them.

    Like a base-8 counter: each point is rewritten O(log8 n) times over a long run.
    """
    if len(ordered) < MERGE_FANIN:
        return []
    tail = ordered[-MERGE_FANIN:]
    ceiling = _tier(ordered[-MERGE_FANIN - 1][1]) if len(ordered) > MERGE_FANIN else 99
    if max(_tier(rows) for _, rows in tail) <= ceiling:
        return [name for name, _ in tail]
    return []


def _exact_ints_and_floats(metrics: dict[str, Any]) -> bool:
    """Only floats and ints float64 holds exactly: the hot path may buffer them as they are.

    (Epoch and token counters are ints; sending them through full validation every call
    would cost several microseconds.) Anything else takes the validating path.
    """
    if not _INT_OR_FLOAT.issuperset(map(type, metrics.values())):
        return False
    return all(-MAX_EXACT_INT <= v <= MAX_EXACT_INT for v in metrics.values() if type(v) is int)




def _remove_tree_quietly(path: Any) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextmanager
def _held(lock: threading.RLock, timeout: float) -> Iterator[None]:
    """Hold ``lock``, waiting at most ``timeout`` seconds, then going ahead without it.

    Only the seal path uses this: a signal can unwind the main thread while it holds a lock
    (between an acquire and the ``try`` that would release it), and finishing at exit must
    not wait forever for a lock nobody will release.
    """
    acquired = lock.acquire(timeout=timeout)
    try:
        yield
    finally:
        if acquired:
            lock.release()

