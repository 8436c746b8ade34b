"""``Run``: the object a training script holds. Thin: the writer does the work."""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from localtrack.errors import RunStateError
from localtrack.names import validate_label
from localtrack.run_fields import Config, Summary, Tags, clean_tags, clean_text
from localtrack.storage.layout import StoreLayout
from localtrack.store.writer import RunWriter

if TYPE_CHECKING:
    from localtrack.store.artifacts import ArtifactRef


class Run:
    """A run being written by this process. Use ``localtrack.init()`` to get one."""

    def __init__(self, layout: StoreLayout, writer: RunWriter, manifest: Mapping[str, Any]) -> None:
        self._layout = layout
        self._writer = writer
        self.id: str = manifest["id"]
        self._name: str = manifest.get("name") or self.id
        self.project: str = manifest.get("project") or ""
        self.group: str | None = manifest.get("group")
        self.parent: str | None = manifest.get("parent")
        self.config = Config(writer, manifest.get("config") or {})
        self.summary = Summary(writer, manifest.get("summary_values") or {})
        self._tags = Tags(writer, manifest.get("tags") or {})
        self._notes: str = manifest.get("notes") or ""
        self.status = "running"
        self._on_finish: list[Any] = []

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
    def tags(self) -> Tags:
        return self._tags

    @tags.setter
    def tags(self, value: Any) -> None:
        clean = clean_tags(value)
        self._tags._data = dict(clean)
        self._writer.patch_manifest(lambda m: m.__setitem__("tags", dict(clean)))

    @property
    def notes(self) -> str:
        return self._notes

    @notes.setter
    def notes(self, value: str) -> None:
        if not isinstance(value, str) or len(value) > 1_000_000:
            raise TypeError("notes must be a string of at most 1,000,000 characters")
        clean_text(value, "notes")
        self._notes = value
        self._writer.patch_manifest(lambda m: m.__setitem__("notes", value))

    # -- logging ----------------------------------------------------------------------
    def log(self, metrics: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Record one step of scalar metrics (``step`` defaults to the previous step + 1).

        ``commit`` is accepted for scripts written for wandb and has no effect.
        """
        self._writer.log(metrics, step)

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` will use."""
        return self._writer.next_step

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
        """Seal what is buffered now (normally done every couple of seconds)."""
        self._writer.seal()

    def finish(self, status: str = "finished", exit_code: int | None = None, error: BaseException | None = None) -> None:
        """End this process's part of the run. ``exit_code`` != 0 (wandb style) means failed."""
        if self.status != "running":
            return
        if exit_code not in (None, 0):
            status = "failed"
        if status not in ("finished", "failed", "killed"):
            raise ValueError(f"finish(status={status!r}): use 'finished', 'failed' or 'killed'")
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
            from localtrack import lifecycle

            self.status = "running"
            lifecycle.register(self)
            raise

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from localtrack import lifecycle

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
