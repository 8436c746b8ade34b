"""``wandb.watch(model)``: gradients and parameters of a torch module, every ``log_freq`` batches.

wandb logs *histograms*; histograms are media, which localtrack records once the "media and
artifacts" feature lands. Until then each watched tensor is summarised as scalars a plot can
follow (``parameters/<name>/mean|std|min|max|norm`` and the same under ``gradients/``), which
is what people read off those histograms: the scale, and whether it explodes or vanishes.

torch is never imported here: the model is driven through its own methods
(``register_forward_hook``, ``named_parameters``) and tensors through theirs (``detach``,
``float``, ``mean`` ...). Anything that is not such a module gets one warning and is ignored.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from localtrack.errors import InvalidArgumentError

_STATS = ("mean", "std", "min", "max", "norm")
_warned: set[str] = set()
_handles: dict[int, list[Any]] = {}  # id(model) -> hook handles, for unwatch


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        sys.stderr.write(f"localtrack: WARNING: {message}\n")


def tensor_stats(tensor: Any) -> dict[str, float]:
    """mean/std/min/max/norm of a tensor, through its own methods (no torch import)."""
    values = tensor.detach().float()
    count = int(values.numel())
    if count == 0:
        return {}
    stats = {
        "mean": float(values.mean().item()),
        "min": float(values.min().item()),
        "max": float(values.max().item()),
        "norm": float(values.norm().item()),
    }
    stats["std"] = float(values.std().item()) if count > 1 else 0.0
    return {k: v for k, v in stats.items() if not math.isnan(v) or k == "mean"}


def _snapshot(model: Any, prefix: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, parameter in model.named_parameters():
        label = f"{prefix}{name}"
        if what in ("parameters", "all"):
            for stat, value in tensor_stats(parameter).items():
                out[f"parameters/{label}/{stat}"] = value
        grad = getattr(parameter, "grad", None)
        if what in ("gradients", "all") and grad is not None:
            for stat, value in tensor_stats(grad).items():
                out[f"gradients/{label}/{stat}"] = value
    return out


def watch(
    run: Any,
    models: Any = None,
    criterion: Any = None,
    log: Any = "gradients",
    log_freq: int = 1000,
    idx: Any = None,
    log_graph: bool = False,
) -> None:
    """Summarise ``models``' gradients/parameters into ``run`` every ``log_freq`` forward passes.

    The values join the step being logged (``commit=False``), so they line up with the
    training metrics of that batch. ``log_graph`` is accepted; no graph is recorded.
    """
    if log not in (None, "gradients", "parameters", "all"):
        raise InvalidArgumentError(f"watch(log={log!r}): use 'gradients', 'parameters', 'all' or None")
    if not isinstance(log_freq, int) or isinstance(log_freq, bool) or log_freq < 1:
        raise InvalidArgumentError(f"watch(log_freq={log_freq!r}): use a positive number of batches")
    if log is None or models is None:
        return
    many = isinstance(models, (list, tuple))
    for index, model in enumerate(models if many else [models]):
        if not (callable(getattr(model, "register_forward_hook", None)) and callable(getattr(model, "named_parameters", None))):
            _warn_once(type(model).__name__, f"watch() takes torch modules; a {type(model).__name__} is not watched")
            continue
        prefix = f"{index if idx is None else idx}." if many else ""
        calls = [0]

        def after_forward(module: Any, inputs: Any, output: Any, *, _model: Any = model, _prefix: str = prefix,
                          _calls: list[int] = calls) -> None:
            _calls[0] += 1
            if _calls[0] % log_freq == 0 and run.status == "running":
                stats = _snapshot(_model, _prefix, log)
                if stats:
                    run.log(stats, commit=False)

        _handles.setdefault(id(model), []).append(model.register_forward_hook(after_forward))


def unwatch(models: Any = None) -> None:
    """Remove the hooks ``watch`` put on ``models`` (all watched models when None)."""
    targets = list(_handles) if models is None else [id(m) for m in (models if isinstance(models, (list, tuple)) else [models])]
    for key in targets:
        for handle in _handles.pop(key, []):
            remove = getattr(handle, "remove", None)
            if callable(remove):
                remove()
