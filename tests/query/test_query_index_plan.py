"""The cold-build shortcuts give what the plain path gives: the planning helper process, the
flat-config param rows, and an index built with the helper answers exactly like one built without."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from query_samples import build_store, sample_specs

import localtrack
from localtrack.query import index_plan
from localtrack.query.index_documents import encode_rows
from localtrack.query.index_plan import ROW_TABLES, plan_runs, plan_serial, table_rows
from localtrack.query.index_rows import general_param_rows, param_rows
from localtrack.query.store import Store
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import create_store


@pytest.fixture
def damaged(tmp_path: Path) -> StoreLayout:
    """Sample runs, plus a manifest with a duplicate key, a torn one, a linked run folder."""
    layout = create_store(tmp_path / "s" / ".localtrack")
    specs = sample_specs(24)
    build_store(layout, specs)
    runs = layout.runs_dir
    dup = runs / specs[3].id / "manifest.json"
    dup.write_bytes(dup.read_bytes().replace(b'"format_version": 1,', b'"format_version": 1, "format_version": 1,', 1))
    torn = runs / specs[5].id / "manifest.json"
    torn.write_bytes(torn.read_bytes()[:100])
    outside = tmp_path / "outside"
    shutil.copytree(runs / specs[7].id, outside)
    os.symlink(outside, runs / "20250301-000000999-q00999")
    return layout


def test_the_helper_process_plans_exactly_what_this_process_would(damaged: StoreLayout,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(4):  # finished runs as the writer leaves them (summaries from the manifest)
        run = localtrack.init(dir=damaged.root, project="w", name=f"w{n}", config={"n": n}, system_metrics=False)
        run.log({"loss": n / 3, "acc": float("nan") if n == 2 else 1.0})
        run.finish()
    run_ids = sorted(os.listdir(damaged.runs_dir))  # the written runs sort last: the helper's share
    monkeypatch.setattr(index_plan, "PARALLEL_MIN_RUNS", 2)
    started: list[int] = []
    real_start = index_plan._start_helper

    def start(*args: Any) -> Any:
        helper = real_start(*args)
        started.append(len(helper[1]) if helper else 0)
        return helper

    monkeypatch.setattr(index_plan, "_start_helper", start)
    scan_start = time.time()
    split = plan_runs(damaged, run_ids)
    assert started and started[0] > 0  # a helper really planned part of the runs
    alone = plan_serial(damaged, run_ids, scan_start)
    assert list(split) == run_ids == list(alone)
    encoded = [run_id for run_id in run_ids if split[run_id].encoded]
    assert encoded and all(not alone[r].from_points for r in encoded)  # the helper's finished runs
    for run_id in run_ids:
        a, b = split[run_id], alone[run_id]
        if not a.encoded:
            assert (a.rows, a.files, a.live, a.from_points) == (b.rows, b.files, b.live, b.from_points), run_id
        assert a.stored is not None and b.stored is not None
        assert a.stored.manifest == b.stored.manifest and a.stored.segs == b.stored.segs
    # their rows arrive encoded, numbered from 0: what this process would encode for them
    mine, batch = split.encoded  # this process's own finished runs (none here), the helper's
    assert mine.runs == 0 and not mine.documents
    rows, runs, _ = table_rows([alone[r] for r in encoded], 0)
    assert runs == batch.runs == len(encoded)
    assert batch.documents == {table: encode_rows(table, rows[table]) for table in ROW_TABLES if rows[table]}
    assert batch.table_rows == {table: len(rows[table]) for table in ROW_TABLES if rows[table]}
    problems = {r[0]: r[1] for p in split.values() for r in p.rows["problems_t"]}
    assert "duplicate key" in problems[sample_specs(24)[3].id] and "symbolic link" in problems["20250301-000000999-q00999"]


def test_a_helper_that_fails_only_means_this_process_plans_its_runs(damaged: StoreLayout,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run_ids = sorted(os.listdir(damaged.runs_dir))
    monkeypatch.setattr(index_plan, "PARALLEL_MIN_RUNS", 2)
    monkeypatch.setattr(sys, "executable", shutil.which("false") or "/bin/false")  # exits 1 at once
    plans = plan_runs(damaged, run_ids)
    assert list(plans) == run_ids
    assert all(p.stored is not None for p in plans.values())
    assert sum(1 for p in plans.values() if p.rows["runs_t"]) == len(run_ids) - 3  # the 3 damaged ones


def test_an_index_built_with_the_helper_answers_like_one_built_without(damaged: StoreLayout, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):  # finished runs: the helper answers their rows encoded
        run = localtrack.init(dir=damaged.root, project="w", name=f"w{n}", config={"n": n}, system_metrics=False)
        run.log({"loss": n / 3, "acc": float("nan") if n == 2 else 1.0})
        run.log({"loss": n / 7})
        run.finish()
    copy = tmp_path / "copy" / ".localtrack"
    shutil.copytree(damaged.root, copy, symlinks=True)
    with Store(damaged.root) as alone:
        expected = (list(alone.runs()), alone.index.problems())
    monkeypatch.setattr(index_plan, "PARALLEL_MIN_RUNS", 2)
    monkeypatch.setattr(index_plan, "HELPER_SHARE", 0.05)  # the helper gets 1 run: 2 finished ones are ours
    with Store(copy) as split:
        got = (list(split.runs()), split.index.problems())
    assert len(got[0]) == len(expected[0]) == 25
    assert {r["name"]: r["metrics"]["loss"]["mean"] for r in got[0] if r["project"] == "w"} == {
        "w0": 0.0, "w1": (1 / 3 + 1 / 7) / 2, "w2": (2 / 3 + 2 / 7) / 2}

    def same(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:  # the copy lives elsewhere
        return [{k: v for k, v in row.items() if k != "path"} for row in rows]

    assert repr(same(got[0])) == repr(same(expected[0]))  # repr: NaN means compare unequal to themselves
    assert [(r, m.replace(str(copy), str(damaged.root))) for r, m in got[1]] == expected[1]


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                    st.sampled_from(["NaN", "Infinity", "-Infinity", " 1e3 ", "inf", "0x10", "1_0"]))


@settings(max_examples=300, deadline=None)
@given(config=st.dictionaries(st.text(max_size=5), SCALARS, max_size=8), legacy=st.booleans())
def test_flat_config_params_are_the_rows_the_general_path_gives(config: dict[str, Any], legacy: bool) -> None:
    manifest: dict[str, Any] = {"config": config}
    if not legacy:
        manifest["value_encoding"] = 2
    fast, general = param_rows("r", manifest), general_param_rows("r", manifest)
    assert repr(fast) == repr(general)  # repr: NaN compares unequal to itself


def test_the_datetimes_sent_by_the_helper_are_the_tables_timestamp_columns() -> None:
    from localtrack.query.index_documents import COLUMN_TYPES

    # a plan row is its table row with the run id where the run number (rk) goes; runs_t's
    # plan row has the run id in front of every column
    expected = {table: tuple(n - (table == "runs_t") for n, (_, kind) in enumerate(columns) if kind == "TIMESTAMPTZ")
                for table, columns in COLUMN_TYPES.items() if any(kind == "TIMESTAMPTZ" for _, kind in columns)}
    assert expected == index_plan.TIME_FIELDS
