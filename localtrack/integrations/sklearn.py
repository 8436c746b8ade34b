"""scikit-learn: record a fitted estimator as one run.

    log_estimator(model, X_test, y_test, scoring=["accuracy", "f1_macro"], project="p")

Config is ``estimator.get_params()`` (nested estimators as their ``repr``, since a config
holds JSON values); metrics are each scorer's value on the data given (``estimator.score``
when no ``scoring`` is named), logged once at step 0 and kept in the summary; the fitted
estimator is pickled into a ``model`` artifact unless ``log_model=False``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from localtrack.integrations.binding import RunBinding
from localtrack.integrations.model_files import log_saved_file

if TYPE_CHECKING:
    from localtrack.api.run import Run

_JSON_SCALARS = (str, int, float, bool, type(None))


def estimator_config(estimator: Any) -> dict[str, Any]:
    """``get_params(deep=True)`` with every value a config can hold; others become their repr."""
    params = estimator.get_params(deep=True)
    config: dict[str, Any] = {"estimator": type(estimator).__name__}
    for key, value in sorted(params.items()):
        if isinstance(value, _JSON_SCALARS):
            config[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, _JSON_SCALARS) for v in value):
            config[key] = list(value)
        else:
            config[key] = repr(value)[:1000]
    return config


def _score(estimator: Any, x: Any, y: Any, scoring: str | Callable[..., float] | Sequence[str] | Mapping[str, Any] | None) -> dict[str, float]:
    from sklearn.metrics import get_scorer

    if scoring is None:
        return {"score": float(estimator.score(x, y))}
    if isinstance(scoring, str):
        scoring = [scoring]
    if callable(scoring):
        scoring = {getattr(scoring, "__name__", "score"): scoring}
    if not isinstance(scoring, Mapping):
        scoring = {name: name for name in scoring}
    return {name: float(get_scorer(scorer)(estimator, x, y)) for name, scorer in scoring.items()}


def log_estimator(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    scoring: str | Callable[..., float] | Sequence[str] | Mapping[str, Any] | None = None,
    prefix: str = "test/",
    log_model: bool = True,
    run: Run | None = None,
    **init_kwargs: Any,
) -> dict[str, float]:
    """Log a fitted estimator's params, scores on ``X``/``y`` and the estimator itself.

    Returns the scores logged (keys ``<prefix><scorer>``). A run started here is finished here.
    """
    binding = RunBinding(run, init_kwargs)
    if not binding.active:
        return {}
    target = binding.get(config=estimator_config(estimator))
    if run is not None:
        target.config.update({"sklearn": estimator_config(estimator)})
    try:
        scores: dict[str, float] = {}
        if X is not None:
            scores = {f"{prefix}{name}": value for name, value in _score(estimator, X, y, scoring).items()}
            target.log(scores, step=0)
        if log_model:
            log_saved_file(target, "model.pkl", lambda path: path.write_bytes(pickle.dumps(estimator)),
                           metadata={"format": "pickle", "estimator": type(estimator).__name__})
    except BaseException:
        binding.finish("failed")
        raise
    binding.finish()
    return scores
