"""The run an integration logs to: one it was handed, or one it starts (and then finishes).

Also the rank rule every integration shares: in a multi-process job (torchrun, DDP,
accelerate, Horovod) only global rank 0 logs, unless the user asks for every rank.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localtrack.api.run import Run

_RANK_VARIABLES = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID")


def global_rank() -> int:
    """This process's rank from the launcher's environment (0 when not launched as a group)."""
    for name in _RANK_VARIABLES:
        raw = os.environ.get(name)
        if raw and raw.strip().isdigit():
            return int(raw)
    return 0


class RunBinding:
    """Holds the run for one integration object; starts it on first use when none was given."""

    def __init__(self, run: Run | None, init_kwargs: Mapping[str, Any], *, all_ranks: bool = False) -> None:
        self._run = run
        self._init_kwargs = dict(init_kwargs)
        self.owns_run = run is None
        self.active = all_ranks or global_rank() == 0

    @property
    def started(self) -> bool:
        return self._run is not None

    def get(self, config: Mapping[str, Any] | None = None) -> Run:
        """The run, starting it (with ``config`` merged under the user's own) if needed."""
        if self._run is None:
            import localtrack

            kwargs = dict(self._init_kwargs)
            if config:
                kwargs["config"] = {**config, **(kwargs.get("config") or {})}
            before = localtrack.run
            self._run = localtrack.init(**kwargs)
            if before is not None and self._run is before:
                # init() returned the script's own active run (wandb's reinit rule): log to it,
                # but it stays the script's to finish.
                self.owns_run = False
        return self._run

    def finish(self, status: str = "finished") -> None:
        """Finish the run if this binding started it; a run handed in stays with its owner."""
        if self._run is not None and self.owns_run and self._run.status == "running":
            self._run.finish(status)

    def reset(self) -> None:
        """Forget a finished run this binding owned, so the next ``get`` starts a new one."""
        if self.owns_run:
            self._run = None
