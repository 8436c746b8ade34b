"""System metrics: a sampler thread logging CPU, memory, disk, network and GPU use under ``system/``.

``init()`` starts it (``system_metrics=True`` by default; ``LOCALTRACK_SYSTEM_METRICS=0`` turns
it off, ``LOCALTRACK_SYSTEM_METRICS_INTERVAL`` sets the seconds between samples, default 10).
psutil comes with the ``system`` extra; without it only the GPU fields (NVML) are sampled.
"""
