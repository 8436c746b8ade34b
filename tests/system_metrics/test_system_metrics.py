"""System metrics: real psutil readings in a real run, a fake NVML, the switches and the rank rule."""

from __future__ import annotations

import logging
import sys
import threading
import time
import types
from pathlib import Path

import pytest

import localtrack
from localtrack.errors import InvalidValueError
from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics
from localtrack.system_metrics import sampler as system_sampler
from localtrack.system_metrics.nvml import add_gpu_probes
from localtrack.system_metrics.probes import ProbeSet

pytest.importorskip("psutil")


def _wait_for(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def _points(store_dir: Path, run_id: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in read_metrics(open_store(store_dir), run_id).to_pylist():
        out.setdefault(row["key"], []).append(row)
    return out


def test_real_psutil_samples_land_under_system_on_their_own_writer(store_dir: Path) -> None:
    base = system_sampler.SAMPLER.samples
    run = localtrack.init(project="sys", dir=store_dir, system_metrics_interval=0.05)
    for _ in range(3):
        run.log({"loss": 1.0})
    _wait_for(lambda: system_sampler.SAMPLER.samples >= base + 3)
    run.log({"loss": 0.5})
    run.finish()
    assert not system_sampler.SAMPLER.running
    record = load_run(open_store(store_dir), run.id)
    assert record.status == "finished"
    roles = sorted(w.get("role", "training") for w in record.manifest["writers"].values())
    assert roles == ["system", "training"]
    assert all(w["status"] == "finished" for w in record.manifest["writers"].values())
    points = _points(store_dir, run.id)
    assert [p["step"] for p in points["loss"]] == [0, 1, 2, 3]  # sampling never moves the training step
    cpu = points["system/cpu/utilization"]
    assert len(cpu) >= 3 and [p["step"] for p in cpu] == list(range(len(cpu)))
    times = [p["timestamp"] for p in cpu]
    assert times == sorted(times) and times[0] < times[-1]
    assert all(0 <= p["value"] <= 100 * 64 for p in cpu)
    rss = points["system/process/memory_rss_mb"][-1]["value"]
    assert 5 < rss < 1_000_000
    assert 0 < points["system/memory/used_percent"][-1]["value"] <= 100
    assert {"system/process/cpu", "system/process/threads", "system/memory/available_mb"} <= set(points)


def test_switched_off_by_argument_env_or_rank(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = localtrack.init(dir=store_dir, system_metrics=False)
    assert not system_sampler.SAMPLER.running
    run.finish()
    monkeypatch.setenv("LOCALTRACK_SYSTEM_METRICS", "0")
    run = localtrack.init(dir=store_dir)
    assert not system_sampler.SAMPLER.running
    run.finish()
    monkeypatch.delenv("LOCALTRACK_SYSTEM_METRICS")
    monkeypatch.setenv("LOCAL_RANK", "1")
    run = localtrack.init(dir=store_dir, system_metrics=True)
    assert not system_sampler.SAMPLER.running
    run.finish()
    monkeypatch.setenv("LOCAL_RANK", "0")
    run = localtrack.init(dir=store_dir)
    assert system_sampler.SAMPLER.running
    run.finish()
    assert not system_sampler.SAMPLER.running


def test_interval_from_env_and_bad_values(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALTRACK_SYSTEM_METRICS_INTERVAL", "2.5")
    assert system_sampler.resolve_settings(None, None) == (True, 2.5)
    assert system_sampler.resolve_settings(None, 7) == (True, 7.0)
    monkeypatch.setenv("LOCALTRACK_SYSTEM_METRICS_INTERVAL", "soon")
    with pytest.raises(InvalidValueError, match="LOCALTRACK_SYSTEM_METRICS_INTERVAL"):
        localtrack.init(dir=store_dir)
    assert not (store_dir / "runs").exists() or not any((store_dir / "runs").iterdir())  # refused before creating a run
    with pytest.raises(InvalidValueError, match="positive"):
        system_sampler.resolve_settings(True, 0)


def test_a_stuck_probe_never_blocks_log_or_finish(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    calls = []

    def stuck() -> float:
        calls.append(threading.current_thread().name)
        if len(calls) > 1:  # the first call is init()'s priming sample; then the sampler thread hangs
            entered.set()
            release.wait(30)
        return 1.0

    def build() -> ProbeSet:
        probes = ProbeSet()
        probes.add("system/stuck", stuck)
        return probes

    monkeypatch.setattr(system_sampler, "STOP_TIMEOUT", 0.2)
    sampler = system_sampler.SystemSampler(build)
    run = localtrack.init(dir=store_dir, system_metrics=False)
    assert system_sampler.start_for_run(run, True, 0.01, sampler=sampler)
    assert entered.wait(10)
    for i in range(200):
        run.log({"x": float(i)})  # the sampler holds no lock log() needs
    run.finish()
    release.set()
    record = load_run(open_store(store_dir), run.id)
    assert record.status == "finished"
    assert len(_points(store_dir, run.id)["x"]) == 200
    assert calls[0] == threading.main_thread().name and calls[1] == "localtrack-system-metrics"


class _NVMLError(Exception):
    pass


def _fake_nvml(gpus: int, unsupported: set[tuple[int, str]]) -> types.ModuleType:
    """A stand-in for ``pynvml``: the functions the sampler calls, answering per physical GPU."""
    nvml = types.ModuleType("pynvml")
    nvml.NVML_TEMPERATURE_GPU = 0
    nvml.initialized = False

    def check(index: int, field: str) -> None:
        if (index, field) in unsupported:
            raise _NVMLError("Not Supported")

    def init() -> None:
        nvml.initialized = True

    nvml.nvmlInit = init
    nvml.nvmlDeviceGetCount = lambda: gpus
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i
    nvml.nvmlDeviceGetUUID = lambda h: f"GPU-{h:04d}aaaa-{h}"
    nvml.nvmlDeviceGetUtilizationRates = lambda h: (check(h, "util"), types.SimpleNamespace(gpu=10 * h, memory=5))[1]
    nvml.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=(h + 1) * 2**30, total=16 * 2**30, free=0)
    nvml.nvmlDeviceGetPowerUsage = lambda h: (check(h, "power"), 150_000 + h)[1]
    nvml.nvmlDeviceGetTemperature = lambda h, sensor: (check(h, "temp"), 60 + h)[1]
    return nvml


def test_fake_nvml_maps_visible_devices_to_physical_and_drops_unsupported_fields(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(4, {(3, "power")}))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-0003")
    probes = ProbeSet()
    with caplog.at_level(logging.DEBUG, logger="localtrack"):
        assert add_gpu_probes(probes) == 2
        first = probes.sample()
        second = probes.sample()
    assert first["system/gpu/2/utilization"] == 20
    assert first["system/gpu/3/utilization"] == 30
    assert first["system/gpu/2/memory_used_mb"] == 3 * 1024
    assert first["system/gpu/3/memory_total_mb"] == 16 * 1024
    assert first["system/gpu/2/power_w"] == pytest.approx(150.002)
    assert first["system/gpu/3/temperature_c"] == 63
    assert "system/gpu/3/power_w" not in first and "system/gpu/3/power_w" not in second
    assert not any(k.startswith(("system/gpu/0/", "system/gpu/1/")) for k in first)
    disabled = [r for r in caplog.records if "system/gpu/3/power_w" in r.getMessage()]
    assert len(disabled) == 1 and disabled[0].levelno == logging.DEBUG


def test_fake_nvml_gpus_reach_the_run(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(2, set()))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    sampler = system_sampler.SystemSampler()
    run = localtrack.init(dir=store_dir, system_metrics=False)
    system_sampler.start_for_run(run, True, 0.05, sampler=sampler)
    _wait_for(lambda: sampler.samples >= 2)
    run.finish()
    points = _points(store_dir, run.id)
    assert points["system/gpu/1/utilization"][0]["value"] == 10
    assert "system/gpu/0/temperature_c" in points and "system/cpu/utilization" in points


def test_missing_or_failing_nvml_leaves_gpu_fields_out(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = types.ModuleType("pynvml")

    def fail() -> None:
        raise _NVMLError("NVML Shared Library Not Found")

    broken.nvmlInit = fail
    monkeypatch.setitem(sys.modules, "pynvml", broken)
    probes = ProbeSet()
    assert add_gpu_probes(probes) == 0 and len(probes) == 0
    monkeypatch.setitem(sys.modules, "pynvml", None)  # not installed: import fails
    assert add_gpu_probes(probes) == 0
