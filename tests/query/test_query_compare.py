"""Direction inference, param diffing and winners (query/compare.py), on plain rows."""

from __future__ import annotations

import math
from typing import Any

import pytest

from localtrack.errors import LocaltrackError
from localtrack.query.compare import compare, key_metrics, metric_direction, name_words, winners_of


def row(run_id: str, name: str, params: dict[str, Any], **metrics: float) -> dict[str, Any]:
    return {
        "id": run_id,
        "name": name,
        "status": "finished",
        "params": params,
        "metrics": {k.replace("__", "/"): {"last": v, "min": v - 0.1, "max": v + 0.1} for k, v in metrics.items()},
    }


@pytest.mark.parametrize(
    ("key", "direction"),
    [
        ("loss", "min"), ("val/loss", "min"), ("train_loss", "min"), ("val-error", "min"), ("top1.err", "min"),
        ("inference_time", "min"), ("latency_ms", "min"), ("val/perplexity", "min"), ("valLoss", "min"),
        ("acc", "max"), ("val_accuracy", "max"), ("eval/f1", "max"), ("roc.auc", "max"), ("precision", "max"),
        ("recall@10", None), ("test/recall", "max"), ("bleu_score", "max"), ("episode/reward", "max"),
        ("epoch", None), ("lr", None), ("grad_norm", None),
        ("accuracy_loss", "min"),  # the last telling word decides
        ("time_to_accuracy", "max"),
    ],
)
def test_direction_from_name_words(key: str, direction: str | None) -> None:
    assert metric_direction(key) == direction


def test_explicit_direction_wins() -> None:
    assert metric_direction("val/loss", maximize=["val/loss"]) == "max"
    assert metric_direction("epoch", minimize=["epoch"]) == "min"
    assert name_words("val/top1_Accuracy-x.y") == ["val", "top1", "accuracy", "x", "y"]


def test_compare_marks_differences_and_winners() -> None:
    rows = [
        row("r1", "roberta", {"lr": 1e-5, "model": "roberta", "epochs": 3}, val_accuracy=0.91, inference_time=30.0),
        row("r2", "distil", {"lr": 1e-5, "model": "distil", "epochs": 3}, val_accuracy=0.88, inference_time=12.0),
        row("r3", "bert", {"lr": 3e-5, "model": "bert", "epochs": 3, "extra": 1}, val_accuracy=0.90, inference_time=20.0),
    ]
    result = compare(rows)
    assert [p.key for p in result.differing_params()] == ["extra", "lr", "model"]
    assert [p.key for p in result.equal_params()] == ["epochs"]
    by_key = {v.key: v for v in result.metrics}
    assert by_key["val_accuracy"].direction == "max" and by_key["val_accuracy"].best == ["r1"]
    assert by_key["inference_time"].direction == "min" and by_key["inference_time"].best == ["r2"]
    assert result.winners() == [("r2", ["inference_time"]), ("r1", ["val_accuracy"])]
    assert result.best_for("r3") == []


def test_overrides_ties_missing_and_nonfinite() -> None:
    rows = [
        row("a", "a", {}, score=0.5, loss=math.nan),
        row("b", "b", {}, score=0.5, loss=0.2),
        row("c", "c", {}, loss=0.1),
    ]
    result = compare(rows, ["score", "loss"], minimize=["score"])
    score, loss = result.metrics
    assert score.direction == "min" and score.best == ["a", "b"]  # a tie: both best
    assert score.values["c"] is None
    assert loss.best == ["c"]  # NaN never wins
    with pytest.raises(LocaltrackError, match="both"):
        compare(rows, maximize=["loss"], minimize=["loss"])


def test_winners_without_direction_or_values() -> None:
    assert winners_of({"a": 1.0, "b": 2.0}, None) == []
    assert winners_of({"a": None, "b": math.inf}, "max") == []


def test_param_values_compare_by_type() -> None:
    rows = [row("a", "a", {"flag": True, "n": 1, "xs": [1, 2]}), row("b", "b", {"flag": 1, "n": 1, "xs": [1, 2]})]
    differs = {p.key: p.differs for p in compare(rows).params}
    assert differs == {"flag": True, "n": False, "xs": False}


def test_key_metrics_prefers_common_directed_eval_metrics() -> None:
    rows = [
        row("a", "a", {}, epoch=3, train__loss=0.3, val__loss=0.2, val__accuracy=0.9, system__gpu=0.5),
        row("b", "b", {}, epoch=3, train__loss=0.3, val__loss=0.2, val__accuracy=0.9, system__gpu=0.5, rare_acc=1),
    ]
    assert key_metrics(rows, 4) == ["val/accuracy", "val/loss", "train/loss", "epoch"]
