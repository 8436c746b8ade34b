"""The DuckDB-free listing (``fastlist``) gives exactly the rows, problems and sparklines the
index gives, and is never used once a run folder changed."""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from query_samples import age_store, build_store, sample_specs, write_run

from localtrack.query import listing_write
from localtrack.query.fastlist import HEADER_FILENAME, ROWS_PREFIX, current_listing, open_listing
from localtrack.query.series import trend_series
from localtrack.query.store import Store
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import create_store


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (metric summaries and sparklines hold NaNs)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.fixture
def damaged_layout(tmp_path: Path) -> StoreLayout:
    """Varied runs (every status, typed and nested params, NaNs, missing metrics) plus damage:
    a truncated segment, a torn manifest, a run folder that is a symlink."""
    layout = create_store(tmp_path / ".localtrack")
    specs = sample_specs(40)
    build_store(layout, specs)
    segment = next((layout.run_dir(specs[3].id) / "metrics").glob("*.parquet"))
    segment.write_bytes(segment.read_bytes()[:100])
    (layout.run_dir(specs[7].id) / "manifest.json").write_bytes(b'{"format_version": 1, "id": ')
    outside = tmp_path / "elsewhere"
    shutil.copytree(layout.run_dir(specs[9].id), outside)
    os.symlink(outside, layout.runs_dir / "20250301-000000999-q00999")
    age_store(layout)
    return layout


@pytest.mark.parametrize("list_sparks", [True, False], ids=["sparks-from-lists", "sparks-from-a-window"])
def test_query_listing_rows_equal_the_index_rows(damaged_layout: StoreLayout, list_sparks: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not list_sparks:  # a batch of more points than the lists may hold: the windowed query
        monkeypatch.setattr(listing_write, "LIST_SPARK_POINTS", 0)
    store = Store(damaged_layout.root)
    expected = store.runs()
    assert current_listing(damaged_layout) is None  # queries do not write it: ls asks for it
    assert open_listing(damaged_layout) is not None
    listing = current_listing(damaged_layout)
    assert listing is not None
    rows = listing.rows(listing.entries())
    assert [r["id"] for r in rows] == expected.ids
    assert same(rows, expected.to_dicts())
    assert listing.problems == expected.problems and len(listing.problems) >= 3
    assert {r["status"] for r in rows} >= {"finished", "failed", "killed", "crashed", "running"}
    for project in ("nlp", "vision", "nope"):
        assert same(listing.rows(listing.entries(project)), store.runs(project=project).to_dicts())
    keys = ["acc", "val/loss", "grad norm"]
    assert same(sorted(listing.trend_series(None, keys, 8).items()), sorted(trend_series(store, None, keys, 8).items()))
    some = expected.ids[:5]
    assert same(sorted(listing.trend_series(some, keys, 8).items()), sorted(trend_series(store, some, keys, 8).items()))
    store.close()


def test_query_listing_is_not_used_after_any_change(damaged_layout: StoreLayout) -> None:
    layout = damaged_layout
    open_listing(layout)
    assert current_listing(layout) is not None
    specs = sample_specs(42)

    write_run(layout, specs[40])  # a new run
    assert current_listing(layout) is None
    listing = open_listing(layout)  # refreshes the index, which rewrites the listing
    assert listing is not None and specs[40].id in [e[0] for e in listing.entries()]

    write_run(layout, replace(specs[0], notes="changed"))  # a rewritten manifest
    assert current_listing(layout) is None
    listing = open_listing(layout)
    row = next(r for r in listing.rows(listing.entries()) if r["id"] == specs[0].id)
    assert row["notes"] == "changed"

    shutil.rmtree(layout.run_dir(specs[1].id))  # a removed run
    assert current_listing(layout) is None
    listing = open_listing(layout)
    assert specs[1].id not in [e[0] for e in listing.entries()]
    assert same(listing.rows(listing.entries()), Store(layout.root).runs().to_dicts())


def test_query_listing_damaged_or_missing_files_are_not_trusted(damaged_layout: StoreLayout) -> None:
    layout = damaged_layout
    open_listing(layout)
    header = layout.index_dir / HEADER_FILENAME
    header.write_bytes(header.read_bytes()[:200])
    assert current_listing(layout) is None
    listing = open_listing(layout)  # the index holds no change: it writes the listing again
    assert listing is not None
    key, length = json.loads(header.read_bytes().split(b"\n", 1)[0])
    assert key and length == len(header.read_bytes().split(b"\n", 1)[1])
    for rows_file in layout.index_dir.glob(f"{ROWS_PREFIX}*.rows"):
        rows_file.unlink()
    assert current_listing(layout) is None
    listing = open_listing(layout)
    assert listing is not None
    assert same(listing.rows(listing.entries()), Store(layout.root).runs().to_dicts())


def test_query_listing_entry_damaged_inside_is_discarded_and_rewritten(damaged_layout: StoreLayout,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """An entry that no longer parses (the header still matching): ls answers from the index
    and the listing is written afresh for the next ls."""
    from localtrack.cli.entry import main

    layout = damaged_layout
    listing = open_listing(layout)
    assert listing is not None
    listing.rows_path.write_bytes(b"x" * listing.rows_path.stat().st_size)
    assert main(["ls", "--store", str(layout.root), "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in shown] == Store(layout.root).runs().ids
    assert current_listing(layout) is None  # discarded
    listing = open_listing(layout)
    assert listing is not None
    assert same(listing.rows(listing.entries()), Store(layout.root).runs().to_dicts())


def test_query_listing_header_naming_a_path_outside_index_is_refused(damaged_layout: StoreLayout,
                                                                    tmp_path: Path) -> None:
    layout = damaged_layout
    assert open_listing(layout) is not None
    header = layout.index_dir / HEADER_FILENAME
    first, body = header.read_bytes().split(b"\n", 1)
    data = json.loads(body)
    (tmp_path / "stolen.rows").write_bytes(b"{}\n{}\n")
    data["rows_file"] = "../../stolen.rows"
    new = json.dumps(data).encode()
    header.write_bytes(json.dumps([json.loads(first)[0], len(new)]).encode() + b"\n" + new)
    assert current_listing(layout) is None


def test_query_listing_for_lines_reads_no_points_and_draws_them_when_first_drawn(
        damaged_layout: StoreLayout, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ls --format jsonl`` prints no sparklines: the entries it has written lack them (only
    the first runs, what ``ls`` shows, get them), and a reader that draws them has them written."""
    monkeypatch.setattr(listing_write, "EAGER_ENTRIES", 5)
    layout = damaged_layout
    store = Store(layout.root)
    expected = store.runs()
    listing = open_listing(layout)
    assert listing is not None
    assert sum(e[3] is not None for e in listing.entries()) == 5
    lines = list(listing.json_lines(listing.entries()))
    assert [json.loads(line)["id"] if isinstance(line, str) else line["id"] for line in lines] == expected.ids
    listing = current_listing(layout)
    assert listing is not None
    entries = listing.entries()
    text = listing.rows_path.read_bytes()
    without = [e[0] for e in entries if text[e[3]:e[3] + e[4]].split(b"\n")[1] == b"null"]
    assert len(without) == len(entries) - 5  # no points read for them
    assert same(listing.rows(entries, sparks=False), expected.to_dicts())
    rows = listing.rows(entries[10:14])  # drawn: those four are written again, with their sparklines
    assert same(rows, expected.to_dicts()[10:14])
    keys = ["acc", "val/loss", "grad norm"]
    some = [e[0] for e in entries[10:14]]
    assert same(sorted(listing.trend_series(some, keys, 8).items()), sorted(trend_series(store, some, keys, 8).items()))
    listing = current_listing(layout)
    assert listing is not None
    assert same(listing.rows(listing.entries()), expected.to_dicts())
    assert same(sorted(listing.trend_series(None, keys, 8).items()), sorted(trend_series(store, None, keys, 8).items()))
    store.close()


def test_query_listing_of_version_1_is_never_read_and_removed_when_written(damaged_layout: StoreLayout) -> None:
    """Version 1 readers fail on entries without sparklines, so version 2 lives under other
    names; what version 1 left (a store upgraded in place) goes when the listing is written."""
    layout = damaged_layout
    layout.index_dir.mkdir(exist_ok=True)
    old = ["listing-v1.json", "listing-v1.order", "listing-0123abcd.rows"]
    for name in old:
        (layout.index_dir / name).write_bytes(b'["x:1", 2]\n{}')
    listing = open_listing(layout)
    assert listing is not None and listing.rows_path.name.startswith(ROWS_PREFIX)
    assert not any((layout.index_dir / name).exists() for name in old)
    assert same(listing.rows(listing.entries()), Store(layout.root).runs().to_dicts())
