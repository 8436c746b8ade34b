"""Sample figures shared by the viz tests (and handy for eyeballing the renderers)."""

from __future__ import annotations

import math

from localtrack.viz.figure import Dimension, Figure, ParallelData, Series

HOSTILE = [
    "</script><script>window.__xss=1</script>",
    "<img src=x onerror=window.__xss=2>",
    "\"quoted\" & 'single' <!-- comment",
    "rtl \u202eevil.exe\u202c end",
    "emoji 🚀 ünïcödé \u2028 line-sep",
]


def runs_curves(n_runs: int = 3, steps: int = 200) -> list[Series]:
    """Loss and accuracy curves for a few fake runs, with a NaN and an inf thrown in."""
    out = []
    for r in range(n_runs):
        lr = 0.1 / (r + 1)
        xs = [float(s) for s in range(steps)]
        loss = [
            2.5 * math.exp(-s * lr / 5) + 0.05 * math.sin(s / 3 + r) + 0.1 for s in range(steps)
        ]
        acc = [1 - 0.9 * math.exp(-s * lr / 7) for s in range(steps)]
        loss[steps // 2] = float("nan")
        acc[steps // 3] = float("inf")
        out.append(Series(f"run-{r} lr={lr:g}", f"r{r}", "train/loss", xs, loss))
        out.append(Series(f"run-{r} lr={lr:g}", f"r{r}", "val/acc", xs, acc))
    return out


def line_figure() -> Figure:
    return Figure("Loss and accuracy", "line", "step", "value", runs_curves())


def scatter_figure() -> Figure:
    series = [
        Series(
            f"sweep-{r}",
            f"s{r}",
            "val/acc",
            [0.001 * (i + 1) * (r + 1) for i in range(40)],
            [0.5 + 0.4 * math.sin(i / 6 + r) for i in range(40)],
        )
        for r in range(3)
    ]
    return Figure("Accuracy vs learning rate", "scatter", "lr", "val/acc", series)


def bar_figure() -> Figure:
    bars = [(f"run-{i}", "val/acc", 0.6 + 0.07 * i) for i in range(5)]
    bars.append(("run-nan", "val/acc", float("nan")))
    bars += [(f"run-{i}", "train/loss", 0.9 - 0.15 * i) for i in range(5)]
    return Figure("Final values", "bar", "run", "value", bars=bars)


def parallel_figure() -> Figure:
    runs = [f"trial-{i}" for i in range(12)]
    lrs: list[float | str | None] = [10 ** (-1 - i % 4) for i in range(12)]
    opt: list[float | str | None] = ["adam" if i % 3 else "sgd" for i in range(12)]
    layers: list[float | str | None] = [float(2 + i % 5) for i in range(12)]
    layers[5] = None
    acc: list[float | str | None] = [0.5 + 0.04 * i - 0.02 * (i % 3) for i in range(12)]
    dims = [
        Dimension("lr", lrs),
        Dimension("optimizer", opt, "category"),
        Dimension("layers", layers),
        Dimension("val/acc", acc),
    ]
    return Figure("Sweep", "parallel", "", "", parallel=ParallelData(dims, runs, "val/acc"))


def hostile_figure() -> Figure:
    series = [
        Series(lab, f"h{i}", lab, [0.0, 1.0, 2.0], [1.0, float(i), 2.0])
        for i, lab in enumerate(HOSTILE)
    ]
    return Figure(HOSTILE[0], "line", HOSTILE[1], HOSTILE[2], series)
