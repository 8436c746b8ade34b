"""``init(mode="disabled")``: a run that records nothing and never fails, as wandb's.

config and summary work in memory (scripts read ``run.config.lr`` back); every method is a
no-op; any other attribute a script reaches for is a no-op callable rather than an error.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from localtrack.api import active
from localtrack.api.fields import Config, Summary, Tags
from localtrack.ids import new_run_id


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


class DisabledRun:
    """What ``init(mode="disabled")`` returns."""

    disabled = True
    resumed = False
    offline = True
    entity = ""
    sweep_id = None
    group = None
    job_type = None
    notes = ""
    status = "running"

    def __init__(self, project: str | None = None, name: str | None = None, config: Mapping[str, Any] | None = None) -> None:
        self.id = new_run_id()
        self.name = name or "disabled"
        self.project = project or "disabled"
        self.config = Config(None)
        try:
            self.config.update(config or {})
        except Exception:  # a disabled run never fails
            pass
        self.summary = Summary(None)
        self.tags = Tags(None)
        self.start_time = time.time()
        self.step = 0

    @property
    def dir(self) -> Path:
        return Path(tempfile.gettempdir())

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    url = property(lambda self: None)

    def log(self, data: Any = None, step: Any = None, commit: Any = None, **kwargs: Any) -> None:
        if isinstance(step, int) and step > self.step:
            self.step = step
        if commit is not False and step is None:
            self.step += 1

    def define_metric(self, *args: Any, **kwargs: Any) -> None:
        return None

    def finish(self, exit_code: Any = None, quiet: Any = None, **kwargs: Any) -> None:
        self.status = "finished"
        if self in active.disabled_runs:
            active.disabled_runs.remove(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _noop

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.finish()

    def __repr__(self) -> str:
        return f"<localtrack.DisabledRun id={self.id!r} (mode='disabled': nothing is recorded)>"
