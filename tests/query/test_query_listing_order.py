"""The listing's compact run order (``index/listing-v2.order``): ``ls`` reads the same
entries from it as from the header's JSON, only for the very header it was derived from, and
ignores it when it is damaged."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from query_samples import age_store, build_store, sample_specs, write_run

from localtrack.query.fastlist import current_listing, open_listing, read_header
from localtrack.query.listing_order import ORDER_FILENAME, Entries
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import create_store

SPECS = [replace(s, status="finished") for s in sample_specs(16)]


@pytest.fixture
def layout(tmp_path: Path) -> StoreLayout:
    layout = create_store(tmp_path / ".localtrack")
    build_store(layout, SPECS[:12])
    age_store(layout)
    when = datetime.now(timezone.utc).timestamp() - 3600
    os.utime(layout.runs_dir, (when, when))
    open_listing(layout)
    assert current_listing(layout) is not None  # the first read of the header saves the order
    return layout


def test_listing_order_gives_the_headers_entries(layout: StoreLayout) -> None:
    assert (layout.index_dir / ORDER_FILENAME).is_file()
    listing = current_listing(layout)
    assert listing is not None and isinstance(listing.runs, Entries)
    header = read_header(layout.index_dir)
    assert header is not None
    assert list(listing.entries()) == header["runs"]
    assert listing.entries()[:3] == header["runs"][:3] and len(listing.entries()) == len(header["runs"])
    assert listing.entries("p") == [e for e in header["runs"] if e[2] == "p"]
    first = header["runs"][0]
    assert listing.entry_of(first[0]) == first and listing.entry_of("20990101-000000000-none00") is None
    assert [r["id"] for r in listing.rows(listing.entries())] == [e[0] for e in header["runs"]]


def test_listing_order_of_an_older_header_is_not_used(layout: StoreLayout) -> None:
    write_run(layout, SPECS[12])
    listing = open_listing(layout)  # the index rewrote the header: a new file, a new order
    assert listing is not None and SPECS[12].id in [e[0] for e in listing.entries()]
    listing = current_listing(layout)
    assert listing is not None and isinstance(listing.runs, Entries)
    assert SPECS[12].id in [e[0] for e in listing.entries()]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_listing_order_damaged_is_ignored(layout: StoreLayout, damage: str) -> None:
    path = layout.index_dir / ORDER_FILENAME
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        i = len(data) - 40
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x21]) + data[i + 1:])
    listing = current_listing(layout)
    assert listing is not None and not isinstance(listing.runs, Entries)  # from the header's JSON
    assert listing.runs == read_header(layout.index_dir)["runs"]  # type: ignore[index]
    assert isinstance(current_listing(layout).runs, Entries)  # type: ignore[union-attr]  # written afresh


def test_header_read_without_files_keeps_everything_else(tmp_path: Path) -> None:
    """The fingerprints are cut out before parsing; a header laid out otherwise is parsed whole."""
    import json

    from localtrack.query.fastlist import (
        HEADER_FILENAME,
        LISTING_VERSION,
        ROWS_PREFIX,
        read_keyed_header,
    )

    runs = [["20250101-000000001-aaaaaa", 1, 'p],"live":{"x', 0, 10]]  # a project spelling the cut's marker
    rows = f"{ROWS_PREFIX}ab.rows"
    for layout in ({"version": LISTING_VERSION, "rows_file": rows, "runs": runs,
                    "files": [["x", 1, 2, 3, "", False, False, ""]], "live": {}, "problems": []},
                   {"version": LISTING_VERSION, "rows_file": rows, "runs": runs, "files": [], "sums": [[1]],
                    "live": {}, "problems": [["r", "m"]]}):
        body = json.dumps(layout, separators=(",", ":")).encode()
        (tmp_path / HEADER_FILENAME).write_bytes(json.dumps(["k:1", len(body)]).encode() + b"\n" + body)
        key, header = read_keyed_header(tmp_path, files=False)
        assert key == "k:1" and header is not None
        assert header["runs"] == runs and header["problems"] == layout["problems"] and header["live"] == {}
