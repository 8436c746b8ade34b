"""``wandb.watch(model)``: wandb logs gradient and parameter *histograms*.

Histograms are media, which localtrack records only once the "media and artifacts" feature
lands, so until then watch is a documented no-op that warns once per process. It never
imports torch: the model's type is only looked at by name.
"""

from __future__ import annotations

import sys
from typing import Any

_warned = False


def watch(models: Any = None, criterion: Any = None, log: Any = "gradients", log_freq: int = 1000, idx: Any = None,
          log_graph: bool = False) -> None:
    """Accept wandb's arguments; record nothing (one warning line)."""
    global _warned
    if log not in (None, "gradients", "parameters", "all"):
        raise ValueError(f"watch(log={log!r}): use 'gradients', 'parameters', 'all' or None")
    if _warned:
        return
    _warned = True
    kind = type(models).__module__ if models is not None else ""
    what = "a torch model" if kind.startswith("torch") else f"a {type(models).__name__}"
    sys.stderr.write(
        f"localtrack: WARNING: watch() on {what} records nothing yet: gradient/parameter histograms "
        "come with the 'media and artifacts' feature\n"
    )


def unwatch(models: Any = None) -> None:
    """Nothing to undo: watch records nothing yet."""
