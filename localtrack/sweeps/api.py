"""wandb's sweep calls, local: ``sweep(config) -> id`` and ``agent(sweep_id, function=, count=)``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from localtrack.store.project import open_store
from localtrack.sweeps.agent import Agent
from localtrack.sweeps.store import create_sweep, resolve_sweep


def sweep(sweep: Mapping[str, Any], entity: str | None = None, project: str | None = None,
          dir: str | os.PathLike[str] | None = None, **_wandb_kwargs: Any) -> str:
    """Store a W&B-shaped sweep config in the store; returns the sweep id (``entity`` is ignored)."""
    layout = open_store(dir, create=True)
    return create_sweep(layout, dict(sweep), project=project)


def agent(sweep_id: str, function: Callable[[], Any] | None = None, entity: str | None = None,
          project: str | None = None, count: int | None = None, dir: str | os.PathLike[str] | None = None) -> int:
    """Run trials of ``sweep_id`` in this process, calling ``function()`` once per trial.

    Inside ``function``, ``localtrack.init()`` joins the trial's run and its config holds the
    sampled params; without a function the config's ``program`` is run. Returns the trials run.
    """
    layout = open_store(dir)
    runner = Agent(layout, resolve_sweep(layout, sweep_id), out=lambda line: sys.stderr.write(f"localtrack: {line}\n"))
    return runner.run(count, function=function)
