"""``wandb.config = {...}`` at module level: recorded into the current run's config.

With real wandb that rebinds the module attribute and records nothing; scripts that do it
expect their hyperparameters kept, so the assignment is an update of the current run's
config (or, before ``init()``, of the next run's). ``localtrack.config`` keeps following the
current run: the assignment never replaces the lazy attribute.
"""

from __future__ import annotations

from typing import Any

from localtrack.api import active

pending_config: dict[str, Any] = {}  # assigned before init(): the next init() takes it in


def assign(name: str, value: Any) -> None:
    """Route ``localtrack.<name> = value`` for name in config / summary / run."""
    from localtrack.wandb_api.config_source import config_dict

    run = active.current()
    if name == "run":
        return  # wandb.run is read-only in spirit; rebinding it must not detach the run
    if run is not None and value is getattr(run, name, None):
        return
    items = config_dict(value)
    if name == "config":
        if run is None:
            pending_config.update(items)
        else:
            run.config.update(items)
    elif name == "summary" and run is not None:
        run.summary.update(items)


def take_pending_config() -> dict[str, Any]:
    items = dict(pending_config)
    pending_config.clear()
    return items
