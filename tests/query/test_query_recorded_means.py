"""A finished run's metric means come from its manifest's recorded ``sum``/``nans`` (no
segment read) and equal the means of its points; a manifest from before those fields (or
with a hostile value in them) still gets its means, from the points."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import localtrack
from localtrack.query.search import search as index_search
from localtrack.query.store import Store


def _write_runs(store: Path) -> dict[str, dict[str, list[float]]]:
    """Runs with NaN, infinities, several seals and two writers; name -> key -> points."""
    logged: dict[str, dict[str, list[float]]] = {}
    for n in range(4):
        run = localtrack.init(dir=store, project="m", name=f"r{n}", system_metrics=False)
        points: dict[str, list[float]] = {"loss": [], "acc": [], "odd": []}
        for step in range(40):
            values = {"loss": (step + 1) / (n + 3), "acc": math.nan if step % 7 == n else step / 40}
            if n == 3:
                values["odd"] = math.inf if step == 5 else math.nan  # inf, then NaN only
            run.log(values, step=step)
            for key, value in values.items():
                points[key].append(value)
            if step == 20:
                run.flush()  # a second seal
        run.finish()
        if n == 2:  # a second writer adds points
            again = localtrack.init(dir=store, project="m", id=run.id, resume="must", system_metrics=False)
            again.log({"loss": 100.0}, step=99)
            points["loss"].append(100.0)
            again.finish()
        logged[f"r{n}"] = {k: v for k, v in points.items() if v}
    return logged


def _mean(values: list[float]) -> float | None:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else None


def _index_means(store: Path) -> dict[str, dict[str, Any]]:
    """Each run's means as the index answers them, and how many runs waited for theirs
    (``lazy``: counted after the index is built, before a query fills them in)."""
    with Store(store) as handle:
        with handle.index.session() as con:
            lazy = con.execute("SELECT count(*) FROM lazy_t").fetchone()[0]
        rows = index_search(handle.index)
    return {"lazy": lazy, **{r["name"]: {k: s["mean"] for k, s in r["metrics"].items()} for r in rows}}


def _same(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if math.isnan(want) or math.isinf(want):
        return got == want or (math.isnan(got) and math.isnan(want))
    return math.isclose(got, want, rel_tol=1e-12)


def test_means_come_from_the_recorded_sums_and_equal_the_points(tmp_path: Path) -> None:
    store = tmp_path / ".localtrack"
    logged = _write_runs(store)
    means = _index_means(store)
    assert means.pop("lazy") == 0  # no run waits for its segments to be read
    for name, keys in logged.items():
        for key, values in keys.items():
            assert _same(means[name][key], _mean(values)), (name, key, means[name][key], _mean(values))
    assert means["r3"]["odd"] == math.inf


def _strip_sums(store: Path, change: Any) -> None:
    for path in (store / "runs").glob("*/manifest.json"):
        manifest = json.loads(path.read_text())
        for summary in [manifest["summary"], *(w["summary"] for w in manifest["writers"].values())]:
            for stats in summary.values():
                change(stats)
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True))


def test_a_manifest_without_sums_gets_the_same_means_from_its_points(tmp_path: Path) -> None:
    store = tmp_path / ".localtrack"
    _write_runs(store)
    recorded = _index_means(store)
    recorded.pop("lazy")
    _strip_sums(store, lambda stats: (stats.pop("sum"), stats.pop("nans")))  # an older writer's manifest
    old = _index_means(store)
    assert old.pop("lazy") == 4  # each run's means wait for its points
    assert old.keys() == recorded.keys()
    for name in old:
        assert all(_same(old[name][k], recorded[name][k]) for k in recorded[name]), name


def test_hostile_sums_are_not_trusted(tmp_path: Path) -> None:
    store = tmp_path / ".localtrack"
    logged = _write_runs(store)
    _strip_sums(store, lambda stats: stats.update(sum=True, nans=-1))  # not what a writer writes
    means = _index_means(store)
    assert means.pop("lazy") == 4
    for name, keys in logged.items():
        assert all(_same(means[name][k], _mean(v)) for k, v in keys.items()), name
