"""benchmarks/bench_scale.py's store generator leaves what the writer leaves.

The generator writes runs without the writer (templates, no fsync) to reach 100,000 runs; a
store it makes must still be one the real CLI reads like a writer-made store. Each generated
run is checked against what the writer's own code makes of the same points (segment bytes,
record, summary, manifest encoding), against a real run for its fields and files, and by the
CLI itself (``verify``, ``ls``, ``search``, ``show``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_scale  # noqa: E402 - benchmarks/ is not a package

from localtrack.cli import output  # noqa: E402
from localtrack.cli.entry import main  # noqa: E402
from localtrack.storage.arrow_columns import read_parquet  # noqa: E402
from localtrack.storage.manifest import dump_manifest, read_manifest  # noqa: E402
from localtrack.storage.segments import encode_table, segment_record  # noqa: E402
from localtrack.store.buffer import Block, build_table_and_summary  # noqa: E402

RUNS, PARAMS, METRICS, STEPS = 6, 20, 10, 10


def run_dirs(root: Path) -> dict[str, Path]:
    """Run name -> folder."""
    return {json.loads((d / "manifest.json").read_bytes())["name"]: d for d in sorted((root / "runs").iterdir())}


def shape(value: Any, keyed_by_name: bool = False) -> Any:
    """The fields of a manifest, without their values (writer ids and segment names, which key
    the ``writers`` and ``segments`` objects, are values too)."""
    if isinstance(value, dict):
        return {("<name>" if keyed_by_name else key): shape(v, key in ("writers", "segments"))
                for key, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def files(folder: Path) -> list[str]:
    """A run folder's files and folders (segment names, which carry the writer id, as one)."""
    return sorted("metrics/<segment>.parquet" if p.suffix == ".parquet" else p.relative_to(folder).as_posix()
                  for p in folder.rglob("*"))


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    root = tmp_path / "proj" / ".localtrack"
    bench_scale.generate(root, RUNS, PARAMS, METRICS, STEPS)
    return root


def test_each_run_is_what_the_writer_makes_of_its_points(generated: Path) -> None:
    runs = run_dirs(generated)
    assert sorted(runs) == sorted(f"run-{i}" for i in range(RUNS))
    for name, folder in runs.items():
        if name == "run-0":
            continue  # the template, written by the writer itself
        manifest = read_manifest(folder / "manifest.json")
        (writer,) = manifest["writers"].values()
        (segment_name, record), = writer["segments"].items()
        segment = folder / "metrics" / segment_name
        table = read_parquet(segment)
        # The same points through the writer's seal: one block, one call per step.
        by_key = {key: [] for key in sorted({k for k in table.column("key").to_pylist()})}
        for key, value in zip(table.column("key").to_pylist(), table.column("value").to_pylist(), strict=True):
            by_key[key].append(value)
        steps = sorted(set(table.column("step").to_pylist()))
        assert steps == list(range(STEPS))
        times = [t.timestamp() for t in table.column("timestamp").to_pylist()[:STEPS]]
        keys = tuple(by_key)
        block = Block(keys, [by_key[k][s] for s in steps for k in keys], steps, times, [(0, 0)])
        expected_table, expected_summary = build_table_and_summary([block], True)
        assert table.equals(expected_table)
        expected_bytes = encode_table(expected_table)
        assert segment.read_bytes() == expected_bytes
        assert record == segment_record(expected_bytes, expected_table)
        assert writer["summary"] == expected_summary
        assert manifest["summary"] == expected_summary
        # The manifest's bytes are the writer's encoding of its content.
        assert (folder / "manifest.json").read_bytes() == dump_manifest(manifest)


def test_runs_have_the_fields_and_files_of_a_real_run_and_distinct_values(generated: Path) -> None:
    runs = run_dirs(generated)
    real = read_manifest(runs["run-0"] / "manifest.json")
    real_files = files(runs["run-0"])
    configs, lasts = set(), set()
    for name, folder in runs.items():
        manifest = read_manifest(folder / "manifest.json")
        assert shape(manifest) == shape(real), name
        assert files(folder) == real_files, name
        assert manifest["id"] == folder.name and manifest["name"] == name and manifest["status"] == "finished"
        configs.add(json.dumps(manifest["config"], sort_keys=True))
        lasts.add(manifest["summary"]["m3"]["last"])
    assert len(configs) == len(lasts) == RUNS


def cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_cli_reads_a_generated_store(
    generated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ["--store", str(generated)]
    code, text = cli(["verify", *store], capsys, monkeypatch)
    assert code == 0, text
    code, text = cli(["ls", *store, "--format", "jsonl"], capsys, monkeypatch)
    assert code == 0, text
    listed = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert sorted(r["name"] for r in listed) == sorted(run_dirs(generated))
    # search: the store's own values decide the answer, computed here from the manifests
    manifests = [read_manifest(d / "manifest.json") for d in run_dirs(generated).values()]
    best = max(manifests, key=lambda m: m["summary"]["m1"]["last"])
    code, text = cli(["search", *store, "--filter", "metrics.m1 > 0", "--sort-by", "metrics.m1 DESC", "--top", "1",
                      "--format", "jsonl"], capsys, monkeypatch)
    assert code == 0, text
    (top,) = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert top["name"] == best["name"]
    code, text = cli(["show", *store, "run-3"], capsys, monkeypatch)
    assert code == 0, text
    assert "run-3" in text and "m9" in text


def test_processes_and_chunks_do_not_change_the_runs(tmp_path: Path) -> None:
    one, two = tmp_path / "one" / ".localtrack", tmp_path / "two" / ".localtrack"
    bench_scale.generate(one, 5, PARAMS, METRICS, STEPS, jobs=1, chunk=2)
    bench_scale.generate(two, 5, PARAMS, METRICS, STEPS, jobs=2, chunk=2)  # two spawned processes
    for name, folder in run_dirs(one).items():
        if name == "run-0":
            continue
        other = run_dirs(two)[name]
        a, b = read_manifest(folder / "manifest.json"), read_manifest(other / "manifest.json")
        assert (a["config"], a["summary"], a["writers"].keys()) == (b["config"], b["summary"], b["writers"].keys())
        (segment,) = (folder / "metrics").iterdir()
        assert segment.read_bytes() == (other / "metrics" / segment.name).read_bytes()
