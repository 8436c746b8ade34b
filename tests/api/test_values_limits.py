"""Values a reader could not take back are refused when set, naming the key and the limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from wandb_helpers import manifest_of

import localtrack
from localtrack.errors import InvalidValueError, LocaltrackError
from localtrack.storage.manifest import MAX_MANIFEST_BYTES
from localtrack.store import limits


def test_huge_config_integer_is_refused_at_set_time(store_dir: Path) -> None:
    run = localtrack.init(project="v", dir=store_dir, config={"lr": 0.1})
    with pytest.raises(InvalidValueError, match=r"'seed'.*64 bits"):
        run.config["seed"] = 10**5000
    with pytest.raises(InvalidValueError, match=r"'nested\.big'"):
        run.config.update({"nested": {"big": 2**63}})
    run.config["seed"] = 2**63 - 1  # the largest that is kept
    run.finish()
    assert run.status == "finished"
    assert manifest_of(run)["config"] == {"lr": 0.1, "seed": 2**63 - 1}


def test_oversized_config_is_refused_and_the_run_goes_on(store_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"'layers'.*bytes per key"):
        localtrack.init(project="v", dir=store_dir, config={"layers": ["x" * 999_999] * 70})
    run = localtrack.init(project="v", dir=store_dir)
    chunk = "y" * (limits.MAX_CONFIG_VALUE_BYTES // 2)
    keys = limits.MAX_CONFIG_BYTES // len(chunk)
    with pytest.raises(InvalidValueError, match=f"over the limit of {limits.MAX_CONFIG_BYTES:,} bytes per run"):
        for i in range(keys + 1):
            run.config[f"k{i}"] = chunk
    run.log({"loss": 1.0})
    run.finish()
    data = (Path(run.dir) / "manifest.json").read_bytes()
    assert len(data) < MAX_MANIFEST_BYTES
    assert manifest_of(run)["status"] == "finished"


def test_oversized_summary_value_is_refused(store_dir: Path) -> None:
    run = localtrack.init(project="v", dir=store_dir)
    with pytest.raises(InvalidValueError, match="'blob'"):
        run.summary["blob"] = "z" * 2_000_000
    run.finish()
    assert manifest_of(run)["summary_values"] == {}


def test_metric_key_limit_names_the_key(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from localtrack.store import writer

    monkeypatch.setattr(writer, "MAX_METRIC_KEYS", 50)  # the real limit is limits.MAX_METRIC_KEYS
    run = localtrack.init(project="v", dir=store_dir)
    run.log({f"m{i}": 1.0 for i in range(50)})
    with pytest.raises(LocaltrackError, match=r"'extra'.*limit is 50"):
        run.log({"m0": 2.0, "extra": 1.0})
    run.log({"m1": 3.0})  # known keys still log
    run.finish()
    assert len(manifest_of(run)["summary"]) == 50


def test_limits_are_documented_in_the_format_doc() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    for name in ("MAX_CONFIG_VALUE_BYTES", "MAX_CONFIG_BYTES", "MAX_SUMMARY_VALUES_BYTES", "MAX_METRIC_KEYS", "MAX_JSON_INT"):
        assert name in text, name


def test_a_manifest_readers_would_refuse_is_never_written(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line behind the per-field limits: the old manifest stays, the error names the limit."""
    from localtrack.storage import manifest as manifest_module
    from localtrack.store.project import open_store
    from localtrack.store.reader import load_run

    run = localtrack.init(project="cap", dir=store_dir, id="capped")
    run.log({"a": 1.0})
    run.flush()
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_BYTES", 20_000)
    run.config["big"] = "x" * 30_000
    with pytest.raises(LocaltrackError, match="MiB readers accept"):
        run.flush()
    monkeypatch.undo()
    record = load_run(open_store(store_dir), "capped")
    assert record.ok and "big" not in record.manifest["config"]
    run.log({"a": 2.0})
    run.finish()
    assert load_run(open_store(store_dir), "capped").manifest["status"] == "finished"
