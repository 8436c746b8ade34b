"""Record what real wandb 0.31 records for each script in wandb_scripts/ (writes wandb_expected/).

Run once in a venv with wandb 0.31; not part of the suite (pytest never imports it: the
tests only read the JSON files it writes)::

    python3 -m venv /work/venv-wandb && /work/venv-wandb/bin/pip install 'wandb==0.31.*' numpy
    /work/venv-wandb/bin/python tests/compat/record_wandb.py            # every script
    /work/venv-wandb/bin/python tests/compat/record_wandb.py nanogpt_train

Each script runs in its own subprocess with WANDB_MODE=offline, WANDB_SILENT=true and
WANDB_DIR in a fresh temporary directory (no network, no account). The expectations come
from the run's ``.wandb`` transaction log, read record by record with wandb's own protobuf
classes (``wandb.proto.wandb_internal_pb2.Record``). wandb 0.31 no longer ships a Python
reader for the file's framing (the old ``wandb.sdk.internal.datastore`` is gone), so
``_wandb_records`` below reads the framing itself: a 7-byte header (":W&B", magic, version),
then 32 KiB blocks of chunks (crc32 4 bytes, length 2 bytes little-endian, type 1 byte:
1 full, 2 first, 3 middle, 4 last).

Why the scripts run through a driver: wandb 0.31.0 ends an unfinished run from an atexit
hook that tears the service down; on this machine that path dropped records at random
(one run of a six-log script left a 0-byte ``.wandb`` file, others lacked the exit record).
So the driver runs the script with runpy as ``__main__`` and, when it returns, raises
SystemExit or any exception, calls ``wandb.finish(exit_code=...)`` on a run still open,
which is the finish wandb documents for interpreter exit, then exits with the script's
code. Explicit finish() calls in scripts are untouched.

What is kept per run: history rows (every key, ``_step``, values as JSON decoded them;
``_runtime``, ``_timestamp`` and ``_wandb*`` keys dropped), config (``_wandb`` dropped),
summary flattened the way wandb names nested keys ("acc.max" for define_metric's
summary="max", "valid.loss" for a nested log), in record order so a later write wins, as it
does in wandb (``_wandb``, ``_runtime``, ``_timestamp`` dropped; ``_step`` kept), the run's name/project/group/job_type/notes when set, its exit code, define_metric
records and alerts (kept for reference; the test compares history, config and summary).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "wandb_scripts"
EXPECTED = HERE / "wandb_expected"
DROPPED_KEYS = {"_runtime", "_timestamp"}
BLOCK_SIZE = 32768
CHUNK_HEADER = 7

DRIVER = r"""
import runpy, sys, traceback
import wandb
path = sys.argv[1]
sys.argv = sys.argv[1:]
code = 0
try:
    runpy.run_path(path, run_name="__main__")
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
except BaseException:
    traceback.print_exc()
    code = 1
finally:
    if wandb.run is not None:
        wandb.finish(exit_code=code)
sys.exit(code)
"""


def script_argv(script: Path) -> list[str]:
    """Arguments from a ``# corpus-argv: ...`` header line (shared with the test)."""
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith("# corpus-argv:"):
            return line.split(":", 1)[1].split()
    return []


def _wandb_records(path: Path) -> Iterator[Any]:
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a .wandb transaction log")
    pos, pending = 7, b""
    while pos + CHUNK_HEADER <= len(data):
        room = BLOCK_SIZE - pos % BLOCK_SIZE
        if room < CHUNK_HEADER:
            pos += room
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + CHUNK_HEADER])
        if kind == 0 and length == 0:  # zero padding up to the block's end
            pos += room
            continue
        body = data[pos + CHUNK_HEADER:pos + CHUNK_HEADER + length]
        pos += CHUNK_HEADER + length
        pending = body if kind in (1, 2) else pending + body
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def _item_key(item: Any) -> list[str]:
    return list(item.nested_key) if item.nested_key else [item.key]


def _set_nested(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[path[-1]] = value


def _drop_nested(target: dict[str, Any], path: list[str]) -> None:
    for part in path[:-1]:
        target = target.get(part)
        if not isinstance(target, dict):
            return
    target.pop(path[-1], None)


def _set_flat(summary: dict[str, Any], key: str, value: Any) -> None:
    """Flatten a summary write the way wandb names nested keys ("a.b"); later writes win."""
    for stale in [k for k in summary if k.startswith(key + ".")]:
        del summary[stale]
    if isinstance(value, dict) and value:
        for sub, subvalue in value.items():
            _set_flat(summary, f"{key}.{sub}", subvalue)
    else:
        summary[key] = value


def _internal(path: list[str]) -> bool:
    return path[0].startswith("_wandb") or (len(path) == 1 and path[0] in DROPPED_KEYS)


def read_run(wandb_file: Path) -> dict[str, Any]:
    """Everything the comparison needs from one offline run's ``.wandb`` file."""
    run: dict[str, Any] = {"config": {}, "history": [], "summary": {}, "metrics": [], "alerts": []}
    start = 0.0
    for record in _wandb_records(wandb_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            start = r.start_time.seconds + r.start_time.nanos / 1e9
            for name, field in (("name", "display_name"), ("project", "project"),
                                ("group", "run_group"), ("job_type", "job_type"), ("notes", "notes")):
                if getattr(r, field):
                    run[name] = getattr(r, field)
            if r.tags:
                run["tags"] = list(r.tags)
            for item in r.config.update:
                if item.key != "_wandb":
                    run["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                path = _item_key(item)
                if path[0] != "_wandb":
                    _set_nested(run["config"], path, json.loads(item.value_json))
            for item in record.config.remove:
                _drop_nested(run["config"], _item_key(item))
        elif kind == "history":
            row = {}
            for item in record.history.item:
                path = _item_key(item)
                if not _internal(path):
                    row[".".join(path)] = json.loads(item.value_json)
            run["history"].append(row)
        elif kind == "summary":
            for item in record.summary.update:
                path = _item_key(item)
                if not _internal(path):
                    _set_flat(run["summary"], ".".join(path), json.loads(item.value_json))
            for item in record.summary.remove:
                flat = ".".join(_item_key(item))
                for key in [k for k in run["summary"] if k == flat or k.startswith(flat + ".")]:
                    del run["summary"][key]
        elif kind == "metric":
            m = record.metric
            entry: dict[str, Any] = {"name": m.name or m.glob_name}
            if m.goal:
                entry["goal"] = m.goal
            if m.step_metric:
                entry["step_metric"] = m.step_metric
            flags = [f for f in ("min", "max", "mean", "best", "last", "none") if getattr(m.summary, f)]
            if flags:
                entry["summary"] = flags
            run["metrics"].append(entry)
        elif kind == "alert":
            run["alerts"].append({"title": record.alert.title, "text": record.alert.text,
                                  "level": record.alert.level})
        elif kind == "exit":
            run["exit_code"] = record.exit.exit_code
    for key in ("metrics", "alerts"):
        if not run[key]:
            del run[key]
    run["_start"] = start
    return run


def record(script: Path, python: str = sys.executable) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run one script under wandb offline and return what it recorded."""
    workdir = Path(tempfile.mkdtemp(prefix="wandb-corpus-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(workdir),
                   WANDB_CONSOLE="off", PYTHONHASHSEED="0")
        done = subprocess.run([python, "-c", DRIVER, str(script), *script_argv(script)],
                              cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
        files = sorted((workdir / "wandb").glob("offline-run-*/run-*.wandb"))
        runs = sorted((read_run(f) for f in files), key=lambda r: r["_start"])
        for run in runs:
            del run["_start"]
        return {
            "script": script.name,
            "recorded_with": "wandb " + _wandb_version(python),
            "process_exit_code": done.returncode,
            "runs": runs,
        }, done
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _wandb_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import wandb; print(wandb.__version__)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main(names: list[str]) -> int:
    EXPECTED.mkdir(exist_ok=True)
    scripts = [SCRIPTS / f"{n.removesuffix('.py')}.py" for n in names] or sorted(SCRIPTS.glob("*.py"))
    for script in scripts:
        expected, done = record(script)
        out = EXPECTED / f"{script.stem}.json"
        out.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        rows = sum(len(r["history"]) for r in expected["runs"])
        print(f"{script.stem}: exit {done.returncode}, {len(expected['runs'])} run(s), {rows} row(s)")
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
