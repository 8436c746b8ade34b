"""A small real training loop for the bundled example store: logistic regression in pure Python.

Deterministic (seeded, and run from an empty folder outside any git work tree, so the caller's
checkout adds no git state or diff artifact) so ``localtrack demo`` regenerates the same
content: only ids, times, paths, the host and the package list differ. Small enough to run in
about a second; real enough that the curves and comparisons mean something.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localtrack import envvars

_SYSTEM_METRICS_ENV = "LOCALTRACK_SYSTEM_METRICS"  # "0" turns the system-metrics sampler off
# Each run seals once, at finish(): with the timed flush, a slow or loaded machine sealed a run in
# several segments, merged them (with pyarrow if this process had warmed it) and summed the
# summary's `sum` in another grouping, so the regenerated store differed from the committed one.
_PINNED_ENV = {_SYSTEM_METRICS_ENV: "0", envvars.LOCALTRACK_FLUSH_SECONDS: "3600"}

SWEEP: list[dict[str, Any]] = [
    {"lr": 0.05, "l2": 0.0, "epochs": 30, "batch_size": 32, "optimizer": "sgd"},
    {"lr": 0.2, "l2": 0.0, "epochs": 30, "batch_size": 32, "optimizer": "sgd"},
    {"lr": 0.2, "l2": 0.01, "epochs": 30, "batch_size": 32, "optimizer": "sgd"},
    {"lr": 0.8, "l2": 0.001, "epochs": 30, "batch_size": 64, "optimizer": "sgd"},
    {"lr": 0.2, "l2": 0.001, "epochs": 30, "batch_size": 32, "optimizer": "momentum"},
]


def make_dataset(n: int, dim: int, seed: int) -> tuple[list[list[float]], list[int]]:
    """Two noisy Gaussian blobs with a linear boundary, so accuracy tops out below 100%."""
    rng = random.Random(seed)
    truth = [rng.gauss(0, 1) for _ in range(dim)]
    xs, ys = [], []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(dim)]
        margin = sum(w * v for w, v in zip(truth, x, strict=True)) + rng.gauss(0, 0.8)
        xs.append(x)
        ys.append(1 if margin > 0 else 0)
    return xs, ys


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def evaluate(w: list[float], b: float, xs: list[list[float]], ys: list[int]) -> tuple[float, float]:
    """Mean log-loss and accuracy."""
    loss = correct = 0.0
    for x, y in zip(xs, ys, strict=True):
        p = min(max(_sigmoid(sum(wi * xi for wi, xi in zip(w, x, strict=True)) + b), 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += (p >= 0.5) == (y == 1)
    return loss / len(ys), correct / len(ys)


def train(run: Any, config: dict[str, Any], seed: int = 0) -> None:
    """Mini-batch gradient descent, logging train/val loss and accuracy every epoch."""
    xs, ys = make_dataset(600, 8, seed=7)
    train_x, train_y, val_x, val_y = xs[:450], ys[:450], xs[450:], ys[450:]
    rng = random.Random(seed)
    dim = len(xs[0])
    w, b = [0.0] * dim, 0.0
    vw, vb = [0.0] * dim, 0.0
    beta = 0.9 if config["optimizer"] == "momentum" else 0.0
    order = list(range(len(train_x)))
    step = 0
    best = 0.0
    for epoch in range(config["epochs"]):
        rng.shuffle(order)
        for start in range(0, len(order), config["batch_size"]):
            batch = order[start : start + config["batch_size"]]
            gw, gb = [config["l2"] * wi for wi in w], 0.0
            for i in batch:
                x = train_x[i]
                err = _sigmoid(sum(wi * xi for wi, xi in zip(w, x, strict=True)) + b) - train_y[i]
                for j in range(dim):
                    gw[j] += err * x[j] / len(batch)
                gb += err / len(batch)
            vw = [beta * v + g for v, g in zip(vw, gw, strict=True)]
            vb = beta * vb + gb
            w = [wi - config["lr"] * v for wi, v in zip(w, vw, strict=True)]
            b -= config["lr"] * vb
            step += 1
        train_loss, train_acc = evaluate(w, b, train_x, train_y)
        val_loss, val_acc = evaluate(w, b, val_x, val_y)
        best = max(best, val_acc)
        run.log(
            {"epoch": epoch, "train/loss": train_loss, "train/accuracy": train_acc,
             "val/loss": val_loss, "val/accuracy": val_acc},
            step=step,
        )
    run.summary["best_val_accuracy"] = best


@contextlib.contextmanager
def _outside_any_checkout() -> Iterator[None]:
    """Work from a fresh empty folder (the runs record no git state of wherever demo was
    called) without system metrics (their values differ on every machine) and with one seal
    per run (see ``_PINNED_ENV``)."""
    previous = Path.cwd()
    saved = {name: os.environ.get(name) for name in _PINNED_ENV}
    os.environ.update(_PINNED_ENV)
    with tempfile.TemporaryDirectory(prefix="localtrack-demo-") as neutral:
        os.chdir(neutral)
        try:
            yield
        finally:
            os.chdir(previous)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def generate(store_dir: Path) -> list[str]:
    """Run the sweep into ``store_dir``; returns the run ids."""
    import localtrack

    store_dir = Path(store_dir).absolute()
    ids = []
    with _outside_any_checkout():
        for index, config in enumerate(SWEEP):
            ids.append(_train_one(localtrack, store_dir, index, config))
    return ids


def _train_one(localtrack: Any, store_dir: Path, index: int, config: dict[str, Any]) -> str:
    """One run of the sweep; returns its id."""
    name = f"{config['optimizer']}-lr{config['lr']}" + (f"-l2-{config['l2']}" if config["l2"] else "")
    tags = {"model": "logreg", "sweep": "demo"}
    if index == 0:
        tags["baseline"] = ""
    with localtrack.init(project="demo", name=name, config=config, tags=tags, dir=store_dir,
                         notes="Pure-Python logistic regression on a synthetic 8-d dataset.") as run:
        train(run, config, seed=index)
    return str(run.id)
