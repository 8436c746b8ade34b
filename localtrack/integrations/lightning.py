"""PyTorch Lightning: a ``Logger`` for ``Trainer(logger=LocaltrackLogger(project="p"))``.

``log_hyperparams`` fills the config (``save_hyperparameters()`` and datamodule params),
``log_metrics`` logs at Lightning's step, ``finalize(status)`` ends a run the logger
started: ``success``/``finished`` -> finished, ``failed`` -> failed, ``interrupted`` -> killed.
Checkpoints: ``log_model=True`` keeps the best (else last) checkpoint as a ``model`` artifact
at the end; ``"all"`` also keeps each one as a ``checkpoint`` artifact as it is saved. Only
global rank 0 logs (Lightning's ``rank_zero_only.rank``), unless ``all_ranks=True``.
Works with both ``lightning`` and the older ``pytorch_lightning`` package.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localtrack.errors import InvalidArgumentError

try:
    from lightning.pytorch.loggers import Logger
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the pre-2.0 package name
    from pytorch_lightning.loggers import Logger
    from pytorch_lightning.utilities import rank_zero_only

from localtrack.integrations.binding import RunBinding, global_rank

if TYPE_CHECKING:
    from localtrack.api.run import Run

_STATUS = {"success": "finished", "finished": "finished", "failed": "failed", "interrupted": "killed"}
_SCALARS = (int, float, str, bool, type(None))


def _config_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Namespace):
        value = vars(value)
    if isinstance(value, Mapping) and depth < 8:
        return {str(k): _config_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and depth < 8:
        return [_config_value(v, depth + 1) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _config_value(item(), depth + 1)
        except Exception:
            pass
    return repr(value)[:1000]


class LocaltrackLogger(Logger):
    """Lightning logger writing to a localtrack run."""

    def __init__(self, run: Run | None = None, *, log_model: bool | str = False, all_ranks: bool = False,
                 **init_kwargs: Any) -> None:
        super().__init__()
        if log_model not in (False, True, "all"):
            raise InvalidArgumentError(f"log_model={log_model!r}: use False, True or 'all'")
        self._binding = RunBinding(run, init_kwargs, all_ranks=True)
        self._all_ranks = all_ranks
        self.log_model = log_model
        self._checkpoint_callback: Any = None
        self._logged_checkpoints: set[tuple[str, str]] = set()

    def _rank_zero(self) -> bool:
        return self._all_ranks or getattr(rank_zero_only, "rank", global_rank()) == 0

    @property
    def name(self) -> str:
        """The ``project`` given (else ``localtrack``): fixed, as Lightning builds paths from it."""
        return str(self._binding._init_kwargs.get("project") or "localtrack")

    @property
    def version(self) -> str:
        """The run id (starting the run): Lightning puts checkpoints in ``<root>/<name>/<version>``."""
        return self._binding.get().id if self._rank_zero() else ""

    @property
    def experiment(self) -> Run | None:
        """The run (``logger.experiment.log({...})`` works as with other loggers); None off rank 0."""
        return self._binding.get() if self._rank_zero() else None

    @property
    def save_dir(self) -> str | None:
        """None: checkpoints go under the Trainer's ``default_root_dir``, never inside the store."""
        return None

    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        if not self._rank_zero():
            return
        clean = _config_value(params)
        if isinstance(clean, dict) and clean:
            self._binding.get().config.update(clean)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if not self._rank_zero():
            return
        values: dict[str, float] = {}
        for key, value in metrics.items():
            try:
                values[str(key)] = float(value.item() if hasattr(value, "item") else value)
            except (TypeError, ValueError):
                continue
        if values:
            self._binding.get().log(values, step=step)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if not self._rank_zero() or not self.log_model:
            return
        self._checkpoint_callback = checkpoint_callback
        if self.log_model == "all":
            path = getattr(checkpoint_callback, "last_model_path", "") or getattr(checkpoint_callback, "best_model_path", "")
            self._log_checkpoint(path, "checkpoint", "checkpoint", checkpoint_callback)

    def _log_checkpoint(self, path: str, name: str, type: str, callback: Any) -> None:
        if not path or not Path(path).is_file() or (name, path) in self._logged_checkpoints:
            return
        score = getattr(callback, "best_model_score", None)
        metadata: dict[str, Any] = {"path": Path(path).name}
        if score is not None:
            try:
                metadata["best_model_score"] = float(score)
            except (TypeError, ValueError):
                pass
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str):
            metadata["monitor"] = monitor
        self._binding.get().log_artifact(path, name=name, type=type, metadata=metadata)
        self._logged_checkpoints.add((name, path))

    def save(self) -> None:
        if self._rank_zero() and self._binding.started:
            self._binding.get().flush()

    def finalize(self, status: str) -> None:
        if not self._rank_zero() or not self._binding.started:
            return
        outcome = _STATUS.get(status, "finished")
        callback = self._checkpoint_callback
        if self.log_model and callback is not None and outcome == "finished":
            path = getattr(callback, "best_model_path", "") or getattr(callback, "last_model_path", "")
            self._log_checkpoint(path, "model", "model", callback)
        self._binding.finish(outcome)
