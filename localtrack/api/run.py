"""``Run``: the object a training script holds. Thin: the writer does the work."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from localtrack import timefmt
from localtrack.api.fields import Config, Summary, Tags
from localtrack.errors import (
    InvalidArgumentError,
    InvalidValueError,
    InvalidValueTypeError,
    RunStateError,
)
from localtrack.names import validate_label
from localtrack.storage.layout import StoreLayout
from localtrack.storage.manifest import is_legacy_values
from localtrack.store.config_values import clean_tags, clean_text
from localtrack.store.writer import RunWriter
from localtrack.wandb_api import unsupported
from localtrack.wandb_api.alerts import AlertRecorder
from localtrack.wandb_api.history import StepHistory

if TYPE_CHECKING:
    from localtrack.store.artifacts import ArtifactRef


class Run:
    """A run being written by this process. Use ``localtrack.init()`` to get one."""

    def __init__(
        self, layout: StoreLayout, writer: RunWriter, manifest: Mapping[str, Any], config: Config | None = None
    ) -> None:
        """``config``: init()'s already validated view of exactly ``manifest["config"]`` (a new
        run's), adopted instead of validating the same values a second time."""
        self._layout = layout
        self._writer = writer
        self.id: str = manifest["id"]
        self._name: str = manifest.get("name") or self.id
        self.project: str = manifest.get("project") or ""
        self.group: str | None = manifest.get("group")
        self.parent: str | None = manifest.get("parent")
        legacy = is_legacy_values(dict(manifest))
        if config is not None and not legacy:
            config._attach(writer)
            self.config = config
        else:
            self.config = Config(writer, manifest.get("config") or {}, legacy=legacy)
        self.summary = Summary(writer, manifest.get("summary_values") or {}, legacy=legacy)
        self._tags = Tags(writer, manifest.get("tags") or {})
        self._notes: str = manifest.get("notes") or ""
        self.status = "running"
        self._on_finish: list[Any] = []
        self._history = StepHistory(writer)
        self._history.on_text = self.summary.update  # log({"stage": "warmup"}): the latest text, in the summary
        self._alerts = AlertRecorder(writer)
        self.entity: str = ""
        self.resumed: bool = writer.joined
        created = timefmt.parse_iso(manifest.get("created_at"))
        self.start_time: float = created if created is not None else 0.0

    disabled = False
    offline = True  # always local
    sweep_id = None

    # -- identity ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        name = validate_label(value, "run name")
        self._name = name
        self._writer.patch_manifest(lambda m: m.__setitem__("name", name))

    @property
    def store_dir(self) -> Path:
        """The store folder (``.localtrack``) this run lives in."""
        return self._layout.root

    @property
    def dir(self) -> Path:
        """This run's folder."""
        return self._layout.run_dir(self.id)

    @property
    def job_type(self) -> str | None:
        return self._tags._data.get("job_type")

    @property
    def path(self) -> str:
        """wandb's ``entity/project/run_id``."""
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def url(self) -> str:
        """The run folder as a file:// URI (wandb: the run's web page)."""
        return self.dir.resolve().as_uri()

    def get_url(self) -> str:
        return self.url

    def get_project_url(self) -> str:
        return self.store_dir.resolve().as_uri()

    def project_name(self) -> str:
        return self.project

    @property
    def tags(self) -> Tags:
        return self._tags

    @tags.setter
    def tags(self, value: Any) -> None:
        """A dict replaces every tag; a tuple/list (wandb's form) replaces the labels and keeps key/value tags."""
        clean = clean_tags(value)
        if not isinstance(value, Mapping):
            clean = {**{k: v for k, v in self._tags._data.items() if v != ""}, **clean}
        self._tags._data = dict(clean)
        self._writer.patch_manifest(lambda m: m.__setitem__("tags", dict(clean)))

    @property
    def notes(self) -> str:
        return self._notes

    @notes.setter
    def notes(self, value: str) -> None:
        if not isinstance(value, str) or len(value) > 1_000_000:
            raise InvalidValueTypeError("notes must be a string of at most 1,000,000 characters")
        clean_text(value, "notes")
        self._notes = value
        self._writer.patch_manifest(lambda m: m.__setitem__("notes", value))

    # -- logging ----------------------------------------------------------------------
    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None, sync: bool | None = None
    ) -> None:
        """Record scalar metrics at the current step, with wandb's step rules.

        ``log(d)`` writes ``d`` at the current step and moves on one; ``commit=False`` adds to the
        current step without moving; ``step=N`` above the current step moves to it (a lower one
        is dropped with a warning). Nested dicts are flattened with dots; None values skipped.
        ``sync`` (deprecated in wandb) is accepted and means nothing locally.
        """
        if step is None and commit is None and self._history.plain:
            try:
                self._writer.log(data)
                return
            except (InvalidValueError, InvalidValueTypeError):
                pass  # the history path keeps the call's storable values, then raises naming the key
        self._history.log(data, step, commit)

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` will use."""
        return self._writer.next_step

    def define_metric(
        self,
        name: str,
        step_metric: Any = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Any:
        """wandb's ``define_metric``: a custom x-axis and/or summaries (``loss.min``) for ``name``
        or a glob (``"val/*"``); recorded in the manifest's ``metric_definitions``."""
        from localtrack.wandb_api.metric_defs import MetricTracker, make_definition

        definition = make_definition(name, step_metric, step_sync, hidden, summary, goal)
        tracker = self._history.tracker
        if tracker is None:
            tracker = MetricTracker()
            self.summary.computed = tracker.summary_view
            self._history.track(tracker)
        definition = tracker.define(definition, overwrite)
        record = definition.record()
        self._writer.patch_manifest(lambda m: m.setdefault("metric_definitions", {}).__setitem__(name, record))
        return definition

    def alert(self, title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
        """Record an alert in the manifest (``alerts``) and print it on stderr (wandb sends it to Slack/e-mail)."""
        self._alerts.alert(title, text, level, wait_duration)

    def watch(self, models: Any = None, *args: Any, **kwargs: Any) -> None:
        """Summarise a torch module's gradients/parameters every ``log_freq`` batches (wandb's
        histograms, as mean/std/min/max/norm scalars until media land; torch is never imported)."""
        from localtrack.wandb_api.watch import watch

        watch(self, models, *args, **kwargs)

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks :meth:`watch` added."""
        from localtrack.wandb_api.watch import unwatch

        unwatch(models)

    def use_artifact(self, *args: Any, **kwargs: Any) -> Any:
        unsupported.refuse("use_artifact")

    def save(self, *args: Any, **kwargs: Any) -> Any:
        unsupported.refuse("save")

    def log_code(self, *args: Any, **kwargs: Any) -> Any:
        unsupported.refuse("log_code")

    def mark_preempting(self) -> None:
        """wandb marks the run resumable on its server; a local run is always resumable."""

    def log_artifact(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        follow_symlinks: bool = False,
    ) -> ArtifactRef:
        """Keep a file or folder with this run; identical bytes are stored once across all runs.

        Logging ``name`` again makes its next version. The record is in the manifest when
        this returns. ``type`` is free text (``model``, ``data``, ``plot``, ``checkpoint``...).
        """
        if self.status != "running":
            raise RunStateError(f"run {self.id!r} is finished; log artifacts before finish()", self.id)
        from localtrack.store.artifacts import log_artifact

        return log_artifact(
            self._layout, self.id, path, name, type, description, metadata, follow_symlinks=follow_symlinks
        )

    def flush(self) -> None:
        """Seal what is buffered now (normally done every couple of seconds), the pending
        ``commit=False``/``step=`` row included."""
        if self._history.pending is not None:
            self._history.write_pending_now()
        self._writer.seal()

    def finish(
        self,
        status: str = "finished",
        exit_code: int | None = None,
        error: BaseException | None = None,
        quiet: bool | None = None,
    ) -> None:
        """End this process's part of the run. ``exit_code`` != 0 (wandb style) means failed;
        ``quiet`` is accepted (localtrack prints nothing at finish)."""
        if self.status != "running":
            return
        if isinstance(status, int) and not isinstance(status, bool) and exit_code is None:
            status, exit_code = "finished", status  # run.finish(1), wandb's positional exit_code
        if exit_code not in (None, 0):
            status = "failed"
        if status not in ("finished", "failed", "killed"):
            raise InvalidArgumentError(f"finish(status={status!r}): use 'finished', 'failed' or 'killed'")
        self._finish_history()
        record = None
        if error is not None:
            record = {
                "type": type(error).__name__,
                "message": str(error)[:10_000],
                "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__))[-20_000:],
            }
            self._writer.patch_manifest(lambda m: m.__setitem__("error", record))
        self.status = status
        try:
            for callback in self._on_finish:
                callback(self)
            self._writer.finish(status, record)
        except BaseException:
            # Not finished: the points are still buffered (the writer retries them), and the
            # run stays the current one, so a later finish() or the exit hook completes it.
            from localtrack.api import lifecycle

            self.status = "running"
            lifecycle.register(self)
            raise

    def _finish_history(self) -> None:
        """Write what wandb writes at exit: the pending row, and define_metric summaries."""
        try:
            self._history.finish()
        except Exception as exc:  # a bad pending row must not stop the run from ending
            sys.stderr.write(f"localtrack: the last, uncommitted log() row of run {self.id} was not kept: {exc}\n")
        tracker = self._history.tracker
        if tracker is None:
            return
        explicit = self.summary.explicit_keys()
        values = {k: v for k, v in tracker.summary_values().items() if k.rsplit(".", 1)[0] not in explicit}
        if values:
            self.summary.update(values)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from localtrack.api import lifecycle

        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt) or lifecycle.terminated:
            self.finish("killed", error=exc)
        elif isinstance(exc, SystemExit) and exc.code in (None, 0):
            self.finish()
        else:
            self.finish("failed", error=exc)

    def __repr__(self) -> str:
        return f"<localtrack.Run id={self.id!r} name={self.name!r} status={self.status!r}>"
