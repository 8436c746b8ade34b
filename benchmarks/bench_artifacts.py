"""Artifact logging speed and memory against a plain copy, measured in the same run.

    python benchmarks/bench_artifacts.py            # 1 GiB file, 3 repetitions, ~1 minute
    python benchmarks/bench_artifacts.py --size-mib 256 --reps 5

Figures (targets from the issue):
  * new file:   log_artifact of a 1 GiB file vs shutil.copyfile + fsync of the same file
                into the same folder tree (target >= 1x the copy's speed (issue 12); medians of
                interleaved repetitions, the object deleted between them)
  * duplicate:  re-logging the same file, from the page cache (target: only the hash cost,
                >= 2 GB/s), and store growth (target: 0 bytes under objects/)
  * memory:     tracemalloc peak and RSS growth of a fresh process logging the file,
                for a 64 MiB and the full-size file (target: bounded, independent of size)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20


def make_file(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        left = size
        while left:
            n = min(left, 8 * MIB)
            handle.write(os.urandom(n))
            left -= n


def store_object_bytes(objects_dir: Path) -> int:
    return sum(p.stat().st_size for p in objects_dir.rglob("*") if p.is_file())


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def child_memory(src: str, store: str) -> None:
    """Log ``src`` in this fresh process; print peak Python allocations and RSS growth."""
    import tracemalloc

    from localtrack.storage.layout import StoreLayout
    from localtrack.storage.objects import ObjectStore
    from localtrack.store import shell_writer
    from localtrack.store.artifacts import log_artifact

    layout = StoreLayout(Path(store))
    run_id = shell_writer.create_run(layout, project="bench", name="memory")
    objects = ObjectStore(layout.objects_dir)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    put = objects.put_file(Path(src))  # the object store alone: hash, copy, fsync
    put_new = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    objects.put_file(Path(src))
    put_dup = tracemalloc.get_traced_memory()[1]
    os.unlink(objects.path(put.digest))
    tracemalloc.reset_peak()
    ref = log_artifact(layout, run_id, src, name="memory")  # plus the manifest read-modify-write
    new_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    log_artifact(layout, run_id, src, name="memory")
    dup_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "new_bytes": ref.new_bytes, "put_new": put_new, "put_dup": put_dup, "log_new": new_peak, "log_dup": dup_peak,
        "rss_growth_kib": rss_after - rss_before, "rss_max_kib": rss_after,
    }))


def measure_memory(src: Path, work: Path) -> dict[str, int]:
    from localtrack.store.project import create_store

    store = work / f"mem-{src.stat().st_size}" / ".localtrack"
    create_store(store)
    done = subprocess.run(
        [sys.executable, __file__, "--child-memory", str(src), str(store)], capture_output=True, text=True, check=True
    )
    shutil.rmtree(store.parent)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--child-memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(*args.child_memory)
        return

    from localtrack.storage.objects import ObjectStore, hash_file
    from localtrack.store import shell_writer
    from localtrack.store.artifacts import log_artifact
    from localtrack.store.project import create_store

    work = Path(tempfile.mkdtemp(prefix="lt-bench-artifacts-", dir=args.dir))
    try:
        size = args.size_mib * MIB
        src = work / "big.bin"
        started = time.perf_counter()
        make_file(src, size)
        print(f"made a {args.size_mib} MiB file of random bytes in {time.perf_counter() - started:.1f}s ({work})")
        layout = create_store(work / "proj" / ".localtrack")
        run_id = shell_writer.create_run(layout, project="bench", name="bench")
        objects = ObjectStore(layout.objects_dir)
        copy_dir = work / "proj" / "copies"
        copy_dir.mkdir()
        gb = size / 1e9

        copy_times: list[float] = []
        log_times: list[float] = []
        digest: str | None = None
        def copy_once() -> None:
            os.sync()
            t = time.perf_counter()
            dst = copy_dir / "copy.bin"
            shutil.copyfile(src, dst)
            fsync_path(dst)
            copy_times.append(time.perf_counter() - t)
            dst.unlink()

        def log_once() -> str:
            os.sync()
            t = time.perf_counter()
            ref = log_artifact(layout, run_id, src, name="big")
            log_times.append(time.perf_counter() - t)
            assert ref.new_bytes == size, ref
            os.unlink(objects.path(ref.hash))  # so the next log stores a new object again
            return ref.hash

        for rep in range(args.reps):  # interleaved, alternating which goes first
            if rep % 2:
                digest = log_once()
                copy_once()
            else:
                copy_once()
                digest = log_once()
        objects.put_file(src)  # keep the object for the duplicate figures below
        assert digest is not None
        copy_s, log_s = statistics.median(copy_times), statistics.median(log_times)
        print(f"copyfile+fsync      median {copy_s:6.3f}s  {gb / copy_s:5.2f} GB/s  (runs: {', '.join(f'{x:.2f}' for x in copy_times)})")
        print(f"log new file        median {log_s:6.3f}s  {gb / log_s:5.2f} GB/s  (runs: {', '.join(f'{x:.2f}' for x in log_times)})")
        print(f"  -> new-file speed ratio vs copy: {copy_s / log_s:.2f}x  (target >= 1.00x, issue 12)")

        hash_times, relog_times = [], []
        before = store_object_bytes(layout.objects_dir)
        manifest_before = layout.manifest_path(run_id).stat().st_size
        for _ in range(args.reps):
            t = time.perf_counter()
            hash_file(src)
            hash_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            ref = log_artifact(layout, run_id, src, name="big")
            relog_times.append(time.perf_counter() - t)
            assert ref.new_bytes == 0
        grown = store_object_bytes(layout.objects_dir) - before
        manifest_grown = layout.manifest_path(run_id).stat().st_size - manifest_before
        hash_s, relog_s = statistics.median(hash_times), statistics.median(relog_times)
        print(f"hash only (xxh3-128) median {hash_s:6.3f}s  {gb / hash_s:5.2f} GB/s")
        print(f"re-log duplicate    median {relog_s:6.3f}s  {gb / relog_s:5.2f} GB/s  (target >= 2 GB/s; {relog_s / hash_s:.2f}x the hash time)")
        print(f"  -> store growth on {args.reps} duplicates: {grown} bytes under objects/ (target 0); manifest +{manifest_grown} bytes for {args.reps} records")

        small = work / "small.bin"
        make_file(small, 64 * MIB)
        for label, path in (("64 MiB", small), (f"{args.size_mib} MiB", src)):
            mem = measure_memory(path, work)
            print(
                f"memory, {label:>9} file: tracemalloc peak put_file new {mem['put_new'] / MIB:5.2f} MiB / "
                f"duplicate {mem['put_dup'] / MIB:5.2f} MiB; log_artifact new {mem['log_new'] / MIB:5.2f} MiB / "
                f"duplicate {mem['log_dup'] / MIB:5.2f} MiB; max-RSS growth {mem['rss_growth_kib'] / 1024:5.1f} MiB "
                f"(max RSS {mem['rss_max_kib'] / 1024:.0f} MiB)"
            )
        print("  (the object store holds one reusable 1 MiB buffer whatever the file size)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
