"""wandb's step rules for ``log(data, step=, commit=)``, on top of the writer's plain rows.

As wandb (its core's partial-history handler): values accumulate in a pending row for the
current step; ``log(d)`` commits it and moves to the next step; ``commit=False`` keeps
accumulating (a later value of a key in the same step overwrites); ``step=N`` above the
current step commits what is pending and moves to N without committing; ``step=N`` equal
to it accumulates; below it, the call is dropped with one warning line. An empty commit
still advances the step. A string value goes to the run's summary (wandb's summary shows a
logged string too; metric columns are numbers), with one warning per key. A value localtrack
cannot store (an object) is refused with an error naming its key, after the call's other
values are logged (wandb keeps them).
``Run.log`` only comes here when it cannot take the plain path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from localtrack.errors import InvalidValueError, InvalidValueTypeError
from localtrack.store.values import check_step, split_metrics

if TYPE_CHECKING:
    from localtrack.store.writer import RunWriter
    from localtrack.wandb_api.metric_defs import MetricTracker



class StepHistory:
    """The pending row and, once ``define_metric`` was called, the metric tracker."""

    def __init__(self, writer: RunWriter) -> None:
        self.writer = writer
        self.pending: dict[str, Any] | None = None
        self.tracker: MetricTracker | None = None
        self.plain = True  # nothing pending, nothing tracked: Run.log may call the writer directly
        self.on_text: Callable[[dict[str, str]], None] | None = None  # where logged strings go
        self._warned_text: set[str] = set()

    def _update_plain(self) -> None:
        self.plain = self.pending is None and self.tracker is None

    def log(self, data: Any, step: Any = None, commit: bool | None = None) -> None:
        if not isinstance(data, Mapping):
            raise InvalidValueTypeError(f"log() takes a dict of metric name -> number, got {type(data).__name__}")
        writer = self.writer
        if step is None and commit is None and self.pending is None:  # a plain step
            try:
                self._write(data)
                return
            except (InvalidValueError, InvalidValueTypeError):
                texts: dict[str, str] = {}
                row, refused = split_metrics(data, texts=texts)
                if not refused and not texts:
                    raise  # not a value's fault (a limit): nothing of the call is kept
                error = refused[0] if refused else None
            self._write(row)  # the values that can be kept, at this step, as wandb keeps them
            self._keep_texts(texts)
            if error is not None:
                raise error
            return
        texts = {}
        row, refused = split_metrics(data, texts=texts) if data else ({}, [])
        self._keep_texts(texts)
        current = writer.next_step
        if step is not None:
            step = check_step(step)
            if step < current:
                sys.stderr.write(
                    f"localtrack: WARNING: log(step={step}) is below the current step {current}; steps only "
                    "increase, so this data is dropped (as wandb does). To log out of order, use "
                    "define_metric(name, step_metric=...)\n"
                )
                return
            if step > current:
                self._write_pending()
                writer.next_step = step
        if self.pending is None:
            self.pending = row
        else:
            self.pending.update(row)
        self._update_plain()
        if commit if commit is not None else step is None:
            self.commit()
        if refused:
            raise refused[0]

    def _keep_texts(self, texts: dict[str, str]) -> None:
        if not texts or self.on_text is None:
            return
        new = sorted(set(texts) - self._warned_text)
        if new:
            self._warned_text.update(new)
            sys.stderr.write(
                f"localtrack: WARNING: log() got text for {', '.join(repr(k) for k in new)}; metrics are numbers, "
                "so the latest text is kept in run.summary instead\n"
            )
        self.on_text(texts)

    def commit(self) -> None:
        """Write the pending row at the current step (if it holds anything) and move on one step."""
        current = self.writer.next_step
        self._write_pending()
        self.writer.next_step = current + 1

    def write_pending_now(self) -> None:
        """``run.flush()``: make the pending row durable now, staying at its step (later values of
        the step are written as later points of it, which readers take as the step's value)."""
        current = self.writer.next_step
        self._write_pending()
        self.writer.next_step = current

    def finish(self) -> None:
        """At the run's end a pending row is kept, at its step, as wandb does."""
        self._write_pending()

    def _write_pending(self) -> None:
        row, self.pending = self.pending, None
        self._update_plain()
        if row:
            self._write(row)

    def _write(self, row: Mapping[str, Any]) -> None:
        """One committed row at the current step (an empty one just uses the step)."""
        tracker = self.tracker
        if tracker is None:
            self.writer.log(row)
            return
        row = tracker.before_log(row)
        self.writer.log(row)
        tracker.observe(row)

    def track(self, tracker: MetricTracker) -> None:
        self.tracker = tracker
        self._update_plain()
