"""NVIDIA GPUs through NVML (the ``pynvml`` module of ``nvidia-ml-py``), used only if importable.

Keys are ``system/gpu/<i>/...`` with ``<i>`` the physical index NVML and ``nvidia-smi`` use:
when ``CUDA_VISIBLE_DEVICES`` narrows the process to some GPUs (by index or ``GPU-`` UUID),
only those are sampled, under their physical indices.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from localtrack.system_metrics.probes import MIB, ProbeSet

log = logging.getLogger("localtrack")


def visible_physical_indices(nvml: Any, count: int) -> list[int]:
    """Physical indices of the GPUs ``CUDA_VISIBLE_DEVICES`` lets this process use."""
    raw = os.environ.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return list(range(count))
    chosen: list[int] = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            break
        if entry.lstrip("-").isdigit():
            index = int(entry)
            if not 0 <= index < count:
                break  # CUDA stops at the first invalid entry too
            chosen.append(index)
        elif entry.startswith("GPU-"):
            uuid_index = _index_of_uuid(nvml, entry, count)
            if uuid_index is None:
                break
            chosen.append(uuid_index)
        else:
            break  # MIG-… and anything else: not a whole physical GPU we can sample
    return list(dict.fromkeys(chosen))


def _index_of_uuid(nvml: Any, prefix: str, count: int) -> int | None:
    for index in range(count):
        uuid = nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(index))
        if isinstance(uuid, bytes):
            uuid = uuid.decode("ascii", "replace")
        if uuid.startswith(prefix):  # CUDA accepts a unique UUID prefix
            return index
    return None


def add_gpu_probes(probes: ProbeSet) -> int:
    """Add utilization, memory, power and temperature per visible GPU; returns how many GPUs."""
    try:
        nvml = importlib.import_module("pynvml")
        nvml.nvmlInit()
        count = int(nvml.nvmlDeviceGetCount())
        indices = visible_physical_indices(nvml, count)
    except Exception as exc:
        log.debug("localtrack: GPU metrics disabled: %s", exc)
        return 0
    temperature_sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
    for index in indices:
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
        except Exception as exc:
            log.debug("localtrack: GPU %d metrics disabled: %s", index, exc)
            continue
        _add_device_probes(probes, nvml, f"system/gpu/{index}", handle, temperature_sensor)
    return len(indices)


def _add_device_probes(probes: ProbeSet, nvml: Any, prefix: str, h: Any, sensor: Any) -> None:
    """One GPU's probes; a function of its own so each closure keeps its own handle."""
    probes.add(f"{prefix}/utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(h).gpu)
    probes.add(f"{prefix}/memory_used_mb", lambda: nvml.nvmlDeviceGetMemoryInfo(h).used / MIB)
    probes.add(f"{prefix}/memory_total_mb", lambda: nvml.nvmlDeviceGetMemoryInfo(h).total / MIB)
    probes.add(f"{prefix}/power_w", lambda: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0)
    probes.add(f"{prefix}/temperature_c", lambda: nvml.nvmlDeviceGetTemperature(h, sensor))
