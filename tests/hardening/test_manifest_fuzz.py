"""A hostile manifest, mutated by hypothesis, driven through the API and the CLI.

RELIABILITY.md bad inputs 1, 2, 6 and 10. A real run's manifest (a shell-driven run, so
``log-metrics`` reaches the writer-id path that issue 10 escaped through) is mutated the way a
malicious commit could: names with ``..``, absolute and Windows paths, huge and negative
counts, wrong types, deep nesting, big strings, duplicate keys, renamed writer and segment
keys. Then ``show``, ``ls``, ``verify``, ``log-metrics`` and ``tag`` run, and each example
asserts: nothing is written outside the store (the folder around it is snapshotted), no
traceback (exit codes 0, 1 or 2, errors on one line), nothing runs for more than a few seconds
(a per-example deadline, and an alarm against a real hang), and when the reader refuses the
manifest, ``verify`` names it as damaged.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hardening_support import cli_streams
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localtrack.store import shell_writer
from localtrack.store.project import create_store, open_store
from localtrack.store.reader import load_run
from localtrack.store.verify import verify_store

HOSTILE_STRINGS = [
    "..", "../x", "../../../../../X", "/abs/X", "a/../../b", "./../x", "//host/share", "..\\x", "C:\\x",
    "\\\\server\\share", "%2e%2e%2f", "..%c0%af", "%00", "file:///etc/passwd", "..;/x", "x\x00y", "x\ny",
    "\x1b[31mred", "[link=https://evil.example]x[/link]", "[/oops]", "\u202egnp.exe", "", " ", "a" * 300,
    "w-000001-000001.parquet", "../w-000001-000001.parquet",
]
hostile_scalar = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([-1, 0, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.integers(min_value=1000, max_value=200_000).map(lambda n: "x" * n),  # big, under every cap
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(HOSTILE_STRINGS), inner, max_size=4)),
    max_leaves=8,
)
FIELDS = ["id", "name", "project", "status", "created_at", "ended_at", "duration", "format_version", "config",
          "tags", "notes", "summary", "artifacts", "writers", "parent", "error", "command", "git"]
WRITER_FIELDS = ["segments", "status", "external", "heartbeat_at", "pid", "pid_start", "host", "summary", "elapsed"]


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, Any]:
    """One way to damage a manifest: ``(kind, argument)``."""
    kind = draw(st.sampled_from(["field", "writer_field", "writer_key", "segment_key", "segment_record",
                                 "duplicate_key", "deep_nesting", "artifact"]))
    if kind == "field":
        return kind, (draw(st.sampled_from(FIELDS)), draw(hostile_value))
    if kind == "writer_field":
        return kind, (draw(st.sampled_from(WRITER_FIELDS)), draw(hostile_value))
    if kind in ("writer_key", "segment_key"):
        return kind, draw(st.sampled_from(HOSTILE_STRINGS))
    if kind == "segment_record":
        return kind, (draw(st.sampled_from(["rows", "bytes", "digest", "min_step", "max_step"])), draw(hostile_value))
    if kind == "duplicate_key":
        return kind, draw(st.sampled_from(["id", "writers", "format_version", "status"]))
    if kind == "deep_nesting":
        return kind, draw(st.sampled_from([70, 500, 5000, 100_000]))
    return kind, (draw(st.sampled_from(["name", "hash", "filename", "kind", "version", "size"])), draw(hostile_value))


def apply(text: str, change: tuple[str, Any]) -> str:
    """The manifest text after ``change`` (raw text edits for what JSON objects cannot hold)."""
    kind, arg = change
    manifest = json.loads(text)
    writer_id = next(iter(manifest["writers"]))
    writer = manifest["writers"][writer_id]
    if kind == "field":
        manifest[arg[0]] = arg[1]
    elif kind == "writer_field":
        writer[arg[0]] = arg[1]
    elif kind == "writer_key":
        manifest["writers"] = {arg: writer}
    elif kind == "segment_key":
        writer["segments"] = {arg: next(iter(writer["segments"].values()))}
    elif kind == "segment_record":
        next(iter(writer["segments"].values()))[arg[0]] = arg[1]
    elif kind == "artifact":
        manifest["artifacts"] = [{"name": "model", "version": 1, "kind": "file", "hash": "0" * 32, "size": 1,
                                  "files": 1, "filename": "m.bin", "mode": 0o644, arg[0]: arg[1]}]
    elif kind == "duplicate_key":
        body = json.dumps(manifest)
        return f'{{"{arg}": {json.dumps(HOSTILE_STRINGS[2])}, {body[1:]}'
    elif kind == "deep_nesting":
        body = json.dumps(manifest)
        return body[:-1] + ', "deep": ' + "[" * arg + "]" * arg + "}"
    return json.dumps(manifest)


def cli(args: list[str]) -> tuple[int, str, str]:
    """stdout and stderr apart; a mutated manifest may hold bytes that are not UTF-8."""
    return cli_streams(args, errors="replace")


def snapshot(folder: Path, skip: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in dirnames + filenames:
            path = here / name
            found[str(path.relative_to(folder))] = path.lstat().st_size if path.is_file() else -1
    return found


@contextlib.contextmanager
def hang_alarm(seconds: int) -> Iterator[None]:
    """Turn a real hang into a failure (hypothesis' deadline only judges examples that return)."""
    def stop(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"an operation ran for over {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


TEMPLATE: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def warm_imports() -> None:
    """Import what the commands import (duckdb, rich) before the first timed example."""
    root, _run_id = template()
    scratch = Path(tempfile.mkdtemp(prefix="lt-fuzz-warm-")) / ".localtrack"
    shutil.copytree(root, scratch)
    assert cli(["ls", "--store", str(scratch)])[0] == 0
    shutil.rmtree(scratch.parent)


def template() -> tuple[Path, str]:
    """One real store with one shell run holding a segment, made once per session and copied."""
    if not TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="lt-fuzz-template-")) / ".localtrack"
        layout = create_store(root)
        run_id = shell_writer.create_run(layout, project="fuzz", name="victim", tags=["a"], config={"lr": 0.1})
        shell_writer.log_metrics(layout, run_id, {"loss": 0.5, "acc": 0.9}, None)
        TEMPLATE.update(root=root, run_id=run_id)
    return TEMPLATE["root"], TEMPLATE["run_id"]


@settings(max_examples=20, derandomize=True, deadline=timedelta(seconds=8), database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(change=mutation())
def test_a_hostile_manifest_never_escapes_hangs_or_crashes(change: tuple[str, Any]) -> None:
    source, run_id = template()
    with tempfile.TemporaryDirectory(prefix="lt-fuzz-") as scratch:
        base = Path(scratch)
        store = base / "proj" / ".localtrack"
        shutil.copytree(source, store, symlinks=True)
        manifest_path = store / "runs" / run_id / "manifest.json"
        manifest_path.write_text(apply(manifest_path.read_text(), change), encoding="utf-8", errors="surrogatepass")
        before = snapshot(base, store)
        with hang_alarm(60):
            record = load_run(open_store(store), run_id)
            report = verify_store(open_store(store))
            if record.error is not None:
                damaged_paths = [f.path for f in report.damaged]
                assert any(p.startswith(str(store / "runs" / run_id)) for p in damaged_paths), (change, report.findings)
            for args in (["show", run_id], ["ls"], ["verify"], ["log-metrics", run_id, "--metrics", '{"loss": 1}'],
                         ["tag", run_id, "add", "fuzzed"]):
                code, out, err = cli([*args, "--store", str(store)])
                assert code in (0, 1, 2), (args, change, code, err)
                assert "Traceback" not in out + err, (args, change, err)
                if code != 0 and args[0] != "verify":  # verify prints its table, then one summary line
                    lines = [line for line in err.strip().splitlines() if line.strip()]
                    assert len(lines) == 1, (args, change, err)
        assert snapshot(base, store) == before, f"{change} made a command write outside the store"
        assert not list(Path("/").glob("X-*.parquet"))
