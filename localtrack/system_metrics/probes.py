"""What one sample reads: host and process figures from psutil, GPUs from NVML.

A probe is a named reading; one that raises (a counter the container hides, a GPU field
the driver does not support) is dropped for the rest of the process after one debug line,
so a sample never fails as a whole and never retries a broken field every interval.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

log = logging.getLogger("localtrack")

MIB = 1024 * 1024
Reading = Callable[[], float]


class ProbeSet:
    """Named readings taken together; a failing one is disabled with one debug message."""

    def __init__(self) -> None:
        self._probes: dict[str, Reading] = {}

    def add(self, key: str, reading: Reading) -> None:
        self._probes[key] = reading

    def __len__(self) -> int:
        return len(self._probes)

    def keys(self) -> list[str]:
        return list(self._probes)

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for key, reading in list(self._probes.items()):
            try:
                value = reading()
            except Exception as exc:
                del self._probes[key]
                log.debug("localtrack: system metric %s disabled: %s", key, exc)
                continue
            if value is not None:
                values[key] = float(value)
        return values


def add_psutil_probes(probes: ProbeSet, psutil: Any) -> None:
    """CPU, memory, disk and network of the host, and CPU/RSS/threads of this process.

    Disk and network are megabytes moved since the sampler started (cumulative, so a plot
    of them is monotone and a rate is its slope).
    """
    process = psutil.Process(os.getpid())
    psutil.cpu_percent(None)  # the first call only sets the baseline
    process.cpu_percent(None)
    probes.add("system/cpu/utilization", lambda: psutil.cpu_percent(None))
    probes.add("system/process/cpu", lambda: process.cpu_percent(None))
    probes.add("system/process/memory_rss_mb", lambda: process.memory_info().rss / MIB)
    probes.add("system/process/threads", process.num_threads)
    probes.add("system/memory/used_percent", lambda: psutil.virtual_memory().percent)
    probes.add("system/memory/available_mb", lambda: psutil.virtual_memory().available / MIB)
    _add_counter_probes(probes, "system/disk", psutil.disk_io_counters, ("read_bytes", "read_mb"), ("write_bytes", "write_mb"))
    _add_counter_probes(probes, "system/network", psutil.net_io_counters, ("bytes_sent", "sent_mb"), ("bytes_recv", "recv_mb"))


def _add_counter_probes(probes: ProbeSet, prefix: str, read: Callable[[], Any], *fields: tuple[str, str]) -> None:
    try:
        start = read()
    except Exception as exc:
        log.debug("localtrack: %s metrics disabled: %s", prefix, exc)
        return
    if start is None:  # psutil returns None where the OS exposes no counters
        log.debug("localtrack: %s metrics disabled: no counters on this system", prefix)
        return
    for attribute, name in fields:
        base = getattr(start, attribute)
        probes.add(f"{prefix}/{name}", _counter_delta(read, attribute, base))


def _counter_delta(read: Callable[[], Any], attribute: str, base: Any) -> Reading:
    """MiB the counter ``attribute`` grew since ``base`` (its own closure per counter)."""
    return lambda: (getattr(read(), attribute) - base) / MIB
