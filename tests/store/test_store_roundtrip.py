"""Format round-trip: what ``run.log`` takes is what the store gives back, bit for bit.

Read back twice: through ``store.reader.read_metrics`` and with plain pyarrow + json from the
files the manifest names (docs/FORMAT.md promises a store is readable with those alone).
"""

from __future__ import annotations

import json
import math
import struct
import unicodedata
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import plain_manifest, plain_points

import localtrack
from localtrack.storage.manifest import decode_float, dump_manifest
from localtrack.storage.segments import digest_bytes
from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics

_FORBIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
_segment = st.text(st.characters(blacklist_categories=_FORBIDDEN), min_size=1, max_size=10).filter(
    lambda s: s.strip() == s
)
KEYS = st.lists(_segment, min_size=1, max_size=3).map("/".join)
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**53), 2**53),
    st.booleans(),
    st.sampled_from([-0.0, 0.0, 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan]),
)
STEPS = st.one_of(st.none(), st.integers(0, 40), st.integers(0, 2**62))


def _bits(value: float) -> Any:
    """Exact identity of a float: NaN is NaN (any payload), -0.0 is not 0.0."""
    return "nan" if math.isnan(value) else struct.pack("<d", value)


@st.composite
def log_calls(draw: st.DrawFn) -> list[tuple[int | None, dict[str, Any], bool]]:
    """(step or None, metrics, flush afterwards) per call: steps repeat, go back, jump far."""
    pool = draw(st.lists(KEYS, min_size=1, max_size=5, unique_by=lambda k: unicodedata.normalize("NFC", k)))
    calls = []
    for _ in range(draw(st.integers(1, 12))):
        keys = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
        calls.append((draw(STEPS), {k: draw(VALUES) for k in keys}, draw(st.booleans()) and draw(st.booleans())))
    return calls


def _expected(calls: list[tuple[int | None, dict[str, Any], bool]]) -> dict[str, list[tuple[int, float]]]:
    """Per NFC key, (step, value) in logged order, steps assigned the wandb way."""
    per_key: dict[str, list[tuple[int, float]]] = {}
    next_step = 0
    for step, metrics, _ in calls:
        step = next_step if step is None else step
        next_step = step + 1
        for key, value in metrics.items():
            per_key.setdefault(unicodedata.normalize("NFC", key), []).append((step, float(value)))
    return per_key


def _check_points(rows: list[dict[str, Any]], expected: dict[str, list[tuple[int, float]]]) -> None:
    keys_steps = [(r["key"], r["step"]) for r in rows]
    assert keys_steps == sorted(keys_steps), "points are not sorted by (key, step)"
    got: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        got.setdefault(row["key"], []).append((row["step"], row["value"]))
    assert set(got) == set(expected)
    for key, points in expected.items():
        ordered = sorted(points, key=lambda p: p[0])  # stable: logging order within a step
        assert [s for s, _ in got[key]] == [s for s, _ in ordered], key
        assert [_bits(v) for _, v in got[key]] == [_bits(v) for _, v in ordered], key


def _check_summary(summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    per_key: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        per_key.setdefault(row["key"], []).append((row["step"], row["value"]))
    assert set(summary) == set(per_key)
    for key, points in per_key.items():
        stats = summary[key]
        values = [v for _, v in points]
        comparable = [v for v in values if not math.isnan(v)]
        assert stats["count"] == len(points), key
        assert stats["step"] == max(s for s, _ in points), key
        assert _bits(decode_float(stats["last"])) == _bits(points[-1][1]), key
        if comparable:
            assert decode_float(stats["min"]) == min(comparable), key
            assert decode_float(stats["max"]) == max(comparable), key
        else:
            assert stats["min"] is None and stats["max"] is None, key


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=log_calls())
def test_logged_points_read_back_exactly(store_dir: Path, calls: list[tuple[int | None, dict[str, Any], bool]]) -> None:
    run = localtrack.init(project="rt", dir=store_dir)
    for step, metrics, flush in calls:
        run._writer.log(metrics, step)  # the writer's rows as given (wandb's log() merges repeated steps)
        if flush:
            run.flush()
    run.finish()
    expected = _expected(calls)
    layout = open_store(store_dir)

    rows = read_metrics(layout, run.id).to_pylist()
    _check_points(rows, expected)
    plain = plain_points(run.dir)  # one writer: manifest file order is logging order
    _check_points(sorted(plain, key=lambda r: (r["key"], r["step"])), expected)
    assert len(plain) == len(rows)

    manifest = plain_manifest(run.dir)
    _check_summary(manifest["summary"], rows)
    for key, points in expected.items():  # 'last': at the largest step, the one logged last
        top = max(s for s, _ in points)
        assert _bits(decode_float(manifest["summary"][key]["last"])) == _bits([v for s, v in points if s == top][-1])
    assert load_run(layout, run.id).status == "finished"


def test_segment_files_match_their_manifest_records(store_dir: Path) -> None:
    """Rows, byte size, digest and step range recorded per segment are the file's truth."""
    run = localtrack.init(project="rt", dir=store_dir)
    for step in range(300):
        run.log({"loss": 1 / (step + 1), "acc": step / 300}, step=step * 2)
        if step % 100 == 99:
            run.flush()
    run.finish()
    manifest = plain_manifest(run.dir)
    (writer,) = manifest["writers"].values()
    assert writer["segments"], "no segment recorded"
    for filename, record in writer["segments"].items():
        data = (run.dir / "metrics" / filename).read_bytes()
        table = pq.read_table(run.dir / "metrics" / filename)
        assert record["rows"] == table.num_rows
        assert record["bytes"] == len(data)
        assert record["digest"] == digest_bytes(data)
        assert record["min_step"] == min(table.column("step").to_pylist())
        assert record["max_step"] == max(table.column("step").to_pylist())
        assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
        assert table.schema.names == ["step", "timestamp", "key", "value"]


def test_timestamps_are_utc_and_near_now(store_dir: Path) -> None:
    import time
    from datetime import timezone

    before = time.time()
    with localtrack.init(project="rt", dir=store_dir) as run:
        run.log({"x": 1.0})
    after = time.time()
    (row,) = plain_points(run.dir)
    assert row["timestamp"].utcoffset().total_seconds() == 0
    assert before - 1 <= row["timestamp"].astimezone(timezone.utc).timestamp() <= after + 1


def test_step_defaults_count_up_like_wandb(store_dir: Path) -> None:
    run = localtrack.init(project="rt", dir=store_dir)
    run.log({"a": 1.0})
    run.log({"a": 2.0})
    run.log({"a": 3.0}, step=10)
    run.log({"a": 4.0})  # as wandb: joins step 10 (a later value of a key in one step wins), then commits
    assert run.step == 11
    run.finish()
    rows = read_metrics(open_store(store_dir), run.id).to_pylist()
    assert [(r["step"], r["value"]) for r in rows] == [(0, 1.0), (1, 2.0), (10, 4.0)]


# ----------------------------------------------------------------------------- config, tags
# Config keys without dots or edge dashes: wandb strips edge dashes, and a dotted key that spells a
# nested path is refused (both tested in tests/api/test_wandb_config.py).
_config_key = _segment.map(lambda k: unicodedata.normalize("NFC", k)).filter(lambda k: "." not in k and k.strip("-") == k)
_CONFIG_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),  # wider ints are refused (test_values_limits.py)
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
CONFIGS = st.recursive(
    _CONFIG_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_config_key, children, max_size=4)
    ),
    max_leaves=20,
)


def _spelled(value: Any) -> Any:
    """What docs/FORMAT.md says a config value looks like in the manifest's JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, dict):
        return {k: _spelled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_spelled(v) for v in value]
    return value


def _same_json(a: Any, b: Any) -> bool:
    """Equality that tells -0.0 from 0.0 and 1 from 1.0 (JSON keeps both apart)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=st.dictionaries(_config_key, CONFIGS, max_size=5))
def test_config_round_trips_through_json(store_dir: Path, config: dict[str, Any]) -> None:
    run = localtrack.init(project="rt", dir=store_dir, config=config)
    run.finish()
    manifest = plain_manifest(run.dir)
    assert _same_json(manifest["config"], _spelled(config))


def test_config_nested_and_non_finite_spelling(store_dir: Path) -> None:
    config = {"lr": 2e-5, "optim": {"betas": [0.9, 0.99], "eps": math.nan}, "clip": math.inf, "floor": -math.inf}
    run = localtrack.init(project="rt", dir=store_dir, config=config)
    assert run.config.lr == 2e-5
    run.config.update({"later": {"deep": [1, {"x": math.nan}]}})
    run.finish()
    text = (run.dir / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert manifest["config"] == {  # docs/FORMAT.md: tagged, so a string "NaN" stays a string
        "clip": {"$float": "Infinity"},
        "floor": {"$float": "-Infinity"},
        "later": {"deep": [1, {"x": {"$float": "NaN"}}]},
        "lr": 2e-5,
        "optim": {"betas": [0.9, 0.99], "eps": {"$float": "NaN"}},
    }
    assert "NaN," not in text and ": NaN" not in text  # strict JSON: no bare NaN tokens
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in manifest"))


@pytest.mark.parametrize(
    ("tags", "stored"),
    [
        (["baseline", "v2"], {"baseline": "", "v2": ""}),
        ("solo", {"solo": ""}),
        ({"team": "vision", "baseline": ""}, {"team": "vision", "baseline": ""}),
        ({"n": 3, "flag": True}, {"n": "3", "flag": "True"}),
        (None, {}),
    ],
)
def test_tags_list_and_dict_forms(store_dir: Path, tags: Any, stored: dict[str, str]) -> None:
    run = localtrack.init(project="rt", dir=store_dir, tags=tags)
    assert dict(run.tags) == stored
    run.tags["added"] = "yes"
    run.tags.add("label")
    run.finish()
    assert plain_manifest(run.dir)["tags"] == {**stored, "added": "yes", "label": ""}


def test_manifest_bytes_are_deterministic(store_dir: Path) -> None:
    run = localtrack.init(
        project="rt", name="det", dir=store_dir, config={"b": 1, "a": {"z": math.nan, "y": [3, 2]}}, tags=["t"]
    )
    run.log({"m": 1.5, "k": math.inf})
    run.summary["best"] = math.nan
    run.finish()
    data = (run.dir / "manifest.json").read_bytes()
    assert data.endswith(b"}\n") and not data.endswith(b"\n\n")
    parsed = json.loads(data)
    assert dump_manifest(parsed) == data  # re-encoding gives the same bytes
    assert json.dumps(parsed, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n" == data
    assert list(parsed) == sorted(parsed)
    assert parsed["summary_values"] == {"best": {"$float": "NaN"}}
    assert parsed["summary"]["k"]["last"] == "Infinity"
    for field in ("id", "name", "project", "status", "created_at", "ended_at", "config", "tags", "notes",
                  "git", "command", "environment", "summary", "format_version"):
        assert field in parsed, field
    assert parsed["created_at"].endswith("Z") and parsed["ended_at"].endswith("Z")


def test_summary_reads_latest_metric_values(store_dir: Path) -> None:
    run = localtrack.init(project="rt", dir=store_dir)
    run.log({"loss": 3.0})
    run.log({"loss": 1.0})
    assert run.summary["loss"] == 1.0
    run.summary["loss_override"] = 7
    assert run.summary["loss_override"] == 7
    run.finish()


def test_summary_of_all_nan_metric_does_not_depend_on_seal_timing(store_dir: Path) -> None:
    """min/max of a metric that only ever was NaN must not change with how seals fell."""
    one = localtrack.init(project="rt", dir=store_dir)
    one.log({"x": math.nan})
    one.log({"x": math.nan})
    one.finish()
    two = localtrack.init(project="rt", dir=store_dir)
    two.log({"x": math.nan})
    two.flush()
    two.log({"x": math.nan})
    two.finish()
    a, b = plain_manifest(one.dir)["summary"]["x"], plain_manifest(two.dir)["summary"]["x"]
    assert a.pop("timestamp") and b.pop("timestamp")  # when each run logged its last point
    assert a == b
    assert a["count"] == 2 and a["last"] == "NaN"


def test_repeated_step_keeps_logging_order_across_key_sets(store_dir: Path) -> None:
    """docs/FORMAT.md: within one step rows are in logging order, and 'last' is the one logged last,
    even when the calls logged different sets of keys (so they were buffered apart)."""
    run = localtrack.init(project="rt", dir=store_dir)
    write = run._writer.log  # the writer's own rows (wandb's log() would merge one step's calls)
    write({"a": 1.0, "b": 1.0}, 5)
    write({"a": 2.0}, 5)
    write({"a": 3.0, "b": 3.0}, 5)
    write({"a": 4.0}, 5)
    run.finish()
    rows = read_metrics(open_store(store_dir), run.id).to_pylist()
    assert [(r["key"], r["value"]) for r in rows] == [("a", 1.0), ("a", 2.0), ("a", 3.0), ("a", 4.0), ("b", 1.0), ("b", 3.0)]
    assert [r["key"] for r in plain_points(run.dir)] == ["a"] * 4 + ["b"] * 2
    assert plain_manifest(run.dir)["summary"]["a"]["last"] == 4.0
