"""The bundled `.localtrack.example/` is what `localtrack demo` writes today.

Regenerated into a temp folder with the CLI and compared in content: names, status, config,
tags, notes, summaries, every point, each segment's codec, the artifact list. Ids, times (the
summary's last-point timestamps too), durations, host/pid/paths and the captured package list differ between machines and are not
compared.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

import independent_reader as outsider

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE = REPO / ".localtrack.example"
SMALL_SEGMENT_ROWS = 10_000  # FORMAT.md: LZ4 below this many rows, zstd above


def codecs(run_dir: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(rows, writer, codec per column) of each live segment, as pyarrow reports the footer."""
    out = []
    for path in outsider.live_segments(run_dir / "metrics"):
        meta = pq.ParquetFile(path).metadata
        names = tuple(meta.row_group(g).column(c).compression for g in range(meta.num_row_groups)
                      for c in range(meta.num_columns))
        writer = "parquet_lite" if meta.created_by.startswith("localtrack parquet_lite") else "pyarrow"
        out.append((meta.num_rows, writer, names))
    return out


def content(store: Path) -> dict[str, dict[str, Any]]:
    """What must not change between two `localtrack demo` runs, by run name."""
    runs = {}
    for run in outsider.read_store(store).values():
        m = run.manifest
        points = sorted(zip(run.points.column("key").to_pylist(), run.points.column("step").to_pylist(),
                            run.points.column("value").to_pylist(), strict=True))
        runs[m["name"]] = {
            "status": run.status, "project": m["project"], "group": m["group"], "parent": m["parent"],
            "notes": m["notes"], "tags": run.tags, "config": run.config,
            "summary": {key: {k: v for k, v in stats.items() if k != "timestamp"} for key, stats in run.summary.items()},
            "summary_values": run.summary_values, "points": points, "error": m["error"], "git": m["git"],
            "codecs": sorted({(writer, names) for _, writer, names in codecs(store / "runs" / run.id)}),
            "artifacts": [(a["name"], a["type"], a["kind"], a.get("filename")) for a in run.artifacts],
            "writers": sorted(w["status"] for w in m["writers"].values()),
            "damage": run.damage,
        }
    return runs


def test_demo_regenerates_the_committed_example_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also on a slow machine, in a process that has already sealed with pyarrow: a slowed loop,
    a timed flush every 50 ms and a warm pyarrow are what made CI's regeneration differ (several segments per
    run, merged by pyarrow, the summary's sum added in another grouping)."""
    import time

    from localtrack.cli import demo_runs
    from localtrack.cli.app import build_app
    from localtrack.storage import arrow_columns

    evaluate = demo_runs.evaluate

    def slow_evaluate(*args: Any) -> Any:
        time.sleep(0.003)
        return evaluate(*args)

    monkeypatch.setattr(demo_runs, "evaluate", slow_evaluate)
    monkeypatch.setenv("LOCALTRACK_FLUSH_SECONDS", "0.05")
    arrow_columns.warm_up()
    fresh = tmp_path / "example"
    result = CliRunner().invoke(build_app(), ["demo", "-o", str(fresh)])
    assert result.exit_code == 0, result.output
    committed, regenerated = content(EXAMPLE), content(fresh)
    assert sorted(committed) == sorted(regenerated)
    for name in committed:
        assert committed[name] == regenerated[name], name
    assert len(committed) == 5
    assert all(run["status"] == "finished" and run["damage"] == [] and run["git"] is None for run in committed.values())


def test_example_segments_use_the_codec_format_md_names() -> None:
    """pyarrow's segments: LZ4 (Parquet's LZ4_RAW; pyarrow reports it as "LZ4") when small,
    zstd when large. parquet_lite's: GZIP for step, timestamp and value, `key` UNCOMPRESSED."""
    seen = []
    for run_dir in sorted((EXAMPLE / "runs").iterdir()):
        for rows, writer, names in codecs(run_dir):
            seen.append(writer)
            if writer == "pyarrow":
                expected = ("LZ4" if rows < SMALL_SEGMENT_ROWS else "ZSTD",) * 4
            else:
                expected = ("GZIP", "GZIP", "UNCOMPRESSED", "GZIP")
            assert names == expected, (run_dir.name, rows, writer, names)
    assert seen


def test_example_store_is_a_real_training_curve() -> None:
    """The demo's numbers mean something: validation loss falls and accuracy beats chance."""
    for run in outsider.read_store(EXAMPLE).values():
        loss = [v for k, _, v in sorted(zip(run.points.column("key").to_pylist(), run.points.column("step").to_pylist(),
                                            run.points.column("value").to_pylist(), strict=True)) if k == "val/loss"]
        assert len(loss) == run.config["epochs"]
        assert loss[-1] < loss[0] and all(math.isfinite(v) for v in loss)
        assert run.summary["val/accuracy"]["max"] > 0.75
