"""CPU cost of the system-metrics sampler, beside a baseline measured in the same run.

Two phases of equal wall time in one process, each with an open run and an idle main
thread: the baseline without the sampler, then with it sampling every ``--fast`` seconds so
the window holds many samples. The difference in process CPU time divided by the number of
samples is the cost of one sample (reading psutil/NVML, buffering the points, and the
system writer's seals, heartbeats and finish); at the default interval the sampler costs
that once per ``--interval`` seconds. Also printed: the sampler thread's own CPU time per
sample. Must hold: the projected cost is under 1% of one core.

    python benchmarks/bench_system_metrics.py [--seconds 10] [--fast 0.1] [--interval 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _phase(store: Path, seconds: float, interval: float | None) -> tuple[float, int, float]:
    import localtrack
    from localtrack.system_metrics import sampler

    before_samples, before_thread = sampler.SAMPLER.samples, sampler.SAMPLER.cpu_seconds
    run = localtrack.init(project="bench", dir=store, system_metrics=interval is not None,
                          system_metrics_interval=interval)
    run.log({"loss": 1.0})
    cpu0 = time.process_time()
    time.sleep(seconds)
    run.finish()
    cpu = time.process_time() - cpu0
    samples = sampler.SAMPLER.samples - before_samples
    thread_cpu = sampler.SAMPLER.cpu_seconds - before_thread if interval is not None else 0.0
    return cpu, samples, thread_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wall time of each phase")
    parser.add_argument("--fast", type=float, default=0.1, help="sampling interval while measuring")
    parser.add_argument("--interval", type=float, default=10.0, help="the interval to project the cost to")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lt-bench-system-") as tmp:
        from localtrack.store.project import create_store

        store = Path(tmp) / ".localtrack"
        create_store(store)
        _phase(store, 1.0, args.fast)  # warm-up: imports psutil, pyarrow, builds the probes once
        baseline_cpu, _, _ = _phase(store, args.seconds, None)
        sampled_cpu, samples, thread_cpu = _phase(store, args.seconds, args.fast)
    if samples == 0:
        raise SystemExit("no sample was taken: is the machine overloaded?")
    per_sample = max(sampled_cpu - baseline_cpu, 0.0) / samples
    per_sample_thread = thread_cpu / samples
    projected = per_sample / args.interval * 100
    baseline_share = baseline_cpu / args.seconds * 100
    print(f"baseline (run open, no sampler): {baseline_cpu * 1000:8.1f} ms CPU in {args.seconds:.0f} s = {baseline_share:.3f}% of a core")
    print(f"with sampler every {args.fast:g} s:     {sampled_cpu * 1000:8.1f} ms CPU, {samples} samples")
    print(f"one sample: {per_sample * 1000:.3f} ms of process CPU ({per_sample_thread * 1000:.3f} ms on the sampler thread)")
    print(f"at the default interval ({args.interval:g} s): {projected:.4f}% of one core "
          f"(budget 1%: {projected / 1.0:.4f}x of it; {projected / max(baseline_share, 1e-9):.2f}x the baseline)")
    if projected >= 1.0:
        raise SystemExit("FAIL: the sampler costs 1% of a core or more")


if __name__ == "__main__":
    main()
