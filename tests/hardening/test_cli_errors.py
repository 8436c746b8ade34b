"""Tracebacks become one clear line (issue 10 "Accepted values", "Faults and loads"; issue 11 error contract).

* a user error or a fault of the store/disk (``LocaltrackError``, a full disk, memory) is one
  ``error:`` line without the ``--debug`` hint; only a bug is ``internal error: ...`` + hint;
* values DuckDB hands back that JSON/CSV cannot hold (BLOBs), non-UTF-8 run references, a
  summary whose ``step`` is a string;
* ``ls`` with no index on a full disk, and the spill folder ``tmp/duckdb`` under a memory limit;
* CLI conventions: ``--version``, piped tables are not cut, ``--width``, one size unit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.cli import output
from localtrack.cli.entry import main
from localtrack.errors import LocaltrackError, RunNotFoundError
from localtrack.storage.layout import StoreLayout
from localtrack.store.manage import edit_manifest

REPO = Path(__file__).resolve().parents[2]


def _cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *,
         columns: int | None = 120) -> tuple[int, str, str]:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / ".localtrack"
    run = localtrack.init(dir=root, project="p", name="alpha", config={"lr": 0.1})
    run.log({"loss": 9999.9, "acc": 0.5}, step=0)
    run.finish()
    return root, run.id


# ------------------------------------------------------------------ the error contract


def test_user_error_is_one_line_without_the_debug_hint(store, capsys, monkeypatch) -> None:
    root, _ = store
    code, out, err = _cli(["show", "nosuchrun", "--store", str(root)], capsys, monkeypatch)
    line = _one_line(err)
    assert code == 1 and out == ""
    assert line.startswith("error: no run matches 'nosuchrun'") and "--debug" not in line


def test_unexpected_exception_is_one_internal_error_line_with_the_hint(store, capsys, monkeypatch) -> None:
    root, _ = store

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("localtrack.query.store.Store.runs", broken)
    # a filter takes the index path (a plain `ls` may answer from the listing without Store.runs)
    code, _, err = _cli(["ls", "--store", str(root), "--filter", "status = 'finished'"], capsys, monkeypatch)
    line = _one_line(err)
    assert code == 1 and line.startswith("internal error: RuntimeError: a bug") and "--debug" in line
    with pytest.raises(RuntimeError):
        main(["--debug", "ls", "--store", str(root), "--filter", "status = 'finished'"])


def test_version(capsys, monkeypatch) -> None:
    code, out, _ = _cli(["--version"], capsys, monkeypatch)
    assert code == 0 and out == f"localtrack {localtrack.__version__}\n"


# ------------------------------------------------------------------ values that used to raise


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_sql_blob_values_print(store, capsys, monkeypatch, fmt) -> None:
    root, _ = store
    query = "select ['a'::blob] as blobs, '\\x00\\xFF'::blob as raw, 'ok' as s"
    code, out, err = _cli(["sql", query, "--format", fmt, "--store", str(root)], capsys, monkeypatch)
    assert code == 0 and err == "", err
    if fmt == "json":
        assert json.loads(out) == [{"blobs": ["a"], "raw": "\\x00\\xFF", "s": "ok"}]
    else:
        assert "\\x00\\xFF" in out and "ok" in out


def test_store_run_with_a_lone_surrogate_is_a_localtrack_error(store) -> None:
    root, _ = store
    with pytest.raises(RunNotFoundError, match="not valid UTF-8"):
        localtrack.Store(root).run("a\ud800b")


def test_show_non_utf8_argument_in_process(store, capsys, monkeypatch) -> None:
    root, _ = store
    ref = os.fsdecode(b"run\xff\xfe")  # how Python hands a non-UTF-8 argv to the program
    code, out, err = _cli(["show", ref, "--store", str(root)], capsys, monkeypatch)
    assert code == 1 and out == ""
    assert "not valid UTF-8" in _one_line(err)


def test_show_non_utf8_argument_real_process(store, tmp_path) -> None:
    """The process is the point: argv bytes decoded by the interpreter (surrogateescape)."""
    root, _ = store
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = str(REPO)
    argv = [os.fsencode(sys.executable), b"-c", b"import sys; from localtrack.cli.entry import main; sys.exit(main())",
            b"show", b"run\xff", b"--store", os.fsencode(root)]
    done = subprocess.run(argv, capture_output=True, env=env, cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == b""
    assert b"Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_summary_step_that_is_a_string(store, capsys, monkeypatch) -> None:
    root, run_id = store

    def tamper(m: dict[str, Any]) -> None:
        m["summary"]["loss"]["step"] = "seven"
        for writer in m["writers"].values():
            writer["summary"]["loss"]["step"] = "seven"

    edit_manifest(StoreLayout(root), run_id, tamper)
    for args in (["show", run_id], ["ls"], ["show", run_id, "-f", "json"], ["search"], ["report", run_id]):
        code, _, err = _cli([*args, "--store", str(root)], capsys, monkeypatch)
        assert "Traceback" not in err and "internal error" not in err, (args, err)
        assert code == 0 or err.startswith("error: "), (args, err)


# ------------------------------------------------------------------ disk and memory


class _FullDiskConnection:
    """A DuckDB connection whose ATTACH of the index fails the way a full disk does."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def execute(self, sql: str, *args: Any) -> Any:
        import duckdb

        if sql.lstrip().upper().startswith("ATTACH") and ":memory:" not in sql:
            raise duckdb.IOException('IO Error: Could not write file "index-v1.duckdb": No space left on device')
        return self._real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_ls_on_a_full_disk_with_no_index_is_one_line(store, capsys, monkeypatch) -> None:
    import duckdb

    from localtrack.query import duck

    root, _ = store
    real_connect = duckdb.connect
    monkeypatch.setattr(duck.duckdb, "connect", lambda *a, **k: _FullDiskConnection(real_connect(*a, **k)))
    code, out, err = _cli(["ls", "--store", str(root)], capsys, monkeypatch)
    line = _one_line(err)
    assert code == 1 and out == ""
    assert line.startswith("error: ") and "disk is full" in line and "--debug" not in line


def test_query_engine_that_cannot_start_is_one_line(store, capsys, monkeypatch) -> None:
    import duckdb

    from localtrack.query import duck

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise duckdb.IOException("IO Error: No space left on device")

    root, _ = store
    monkeypatch.setattr(duck.duckdb, "connect", refuse)
    code, _, err = _cli(["ls", "--store", str(root)], capsys, monkeypatch)
    line = _one_line(err)
    assert code == 1 and "disk is full" in line and "memory size" not in line


def test_memory_limit_creates_the_spill_folder(store, capsys, monkeypatch) -> None:
    root, _ = store
    monkeypatch.setenv("LOCALTRACK_QUERY_MEMORY_LIMIT", "100MB")
    import shutil

    shutil.rmtree(root / "tmp", ignore_errors=True)
    code, out, err = _cli(["ls", "--store", str(root)], capsys, monkeypatch)
    assert code == 0 and "alpha" in out, err
    assert (root / "tmp" / "duckdb").is_dir() and not (root / "tmp").is_symlink()


def test_spill_folder_that_is_a_link_is_never_followed(store, tmp_path, capsys, monkeypatch) -> None:
    root, _ = store
    import shutil

    shutil.rmtree(root / "tmp", ignore_errors=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "tmp").symlink_to(outside)
    monkeypatch.setenv("LOCALTRACK_QUERY_MEMORY_LIMIT", "100MB")
    code, out, err = _cli(["ls", "--store", str(root)], capsys, monkeypatch)
    assert code == 0 and "alpha" in out, err
    assert list(outside.iterdir()) == []  # nothing created through the link


def test_query_over_the_memory_limit_is_one_line(store, capsys, monkeypatch) -> None:
    root, _ = store
    monkeypatch.setenv("LOCALTRACK_QUERY_MEMORY_LIMIT", "20MB")
    # list() cannot spill to disk, so the limit is hit at once (a spilling sort of 20M rows took ~15 s)
    query = "select length(list(i)) from range(20000000) t(i)"
    code, out, err = _cli(["sql", query, "--store", str(root)], capsys, monkeypatch)
    if code == 0:  # it spilled to tmp/duckdb: a right answer is fine too
        assert "20000000" in out
        return
    line = _one_line(err)
    assert line.startswith("error: the query needs more memory than the limit (20MB)")
    assert "LOCALTRACK_QUERY_MEMORY_LIMIT" in line and "--debug" not in line


def test_bad_memory_limit_names_the_variable(store, capsys, monkeypatch) -> None:
    root, _ = store
    monkeypatch.setenv("LOCALTRACK_QUERY_MEMORY_LIMIT", "lots")
    code, _, err = _cli(["ls", "--store", str(root)], capsys, monkeypatch)
    assert code == 1 and "LOCALTRACK_QUERY_MEMORY_LIMIT='lots'" in _one_line(err)


# ------------------------------------------------------------------ CLI conventions


def test_piped_verify_names_the_whole_digest(store, capsys, monkeypatch) -> None:
    root, _ = store
    damaged = next(p for p in (root / "objects").rglob("*") if p.is_file())
    damaged.write_bytes(b"bit rot")
    code, out, _ = _cli(["verify", "--store", str(root)], capsys, monkeypatch, columns=None)
    assert code == 1
    assert str(damaged) in out  # the full path and digest, not cut at 80 columns
    assert re.search(r"hashes to [0-9a-f]{32}", out)


def test_width_is_honoured_when_piped(store, capsys, monkeypatch) -> None:
    root, _ = store
    code, out, _ = _cli(["--width", "60", "ls", "--store", str(root)], capsys, monkeypatch, columns=None)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 60
    code, out, _ = _cli(["--width=300", "ls", "--store", str(root)], capsys, monkeypatch, columns=None)
    assert code == 0 and "alpha" in out
    code, _, err = _cli(["--width", "wide", "ls"], capsys, monkeypatch)
    assert code == 2 and "--width" in _one_line(err)


def test_visualize_width_is_honoured_when_piped(store, capsys, monkeypatch) -> None:
    root, run_id = store
    code, out, _ = _cli(["visualize", run_id, "--width", "130", "--store", str(root)], capsys, monkeypatch, columns=None)
    widest = max(len(line) for line in out.splitlines())
    assert code == 0 and 100 < widest <= 130


def test_one_size_unit_everywhere(store, tmp_path, capsys, monkeypatch) -> None:
    root, run_id = store
    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"w" * 3000)
    code, _, err = _cli(["log-artifacts", run_id, str(blob), "--store", str(root)], capsys, monkeypatch)
    assert code == 0, err
    _, shown, _ = _cli(["show", run_id, "--store", str(root)], capsys, monkeypatch)
    _, listed, _ = _cli(["artifact", "ls", run_id, "--store", str(root)], capsys, monkeypatch)
    assert "2.9 KiB" in shown and "2.9 KiB" in listed
    assert " KB" not in shown and " MB" not in shown


def test_four_digit_values_are_not_in_exponent_form(store, capsys, monkeypatch) -> None:
    root, run_id = store
    for args in (["ls"], ["show", run_id], ["search", "-c", "name,metrics.loss"]):
        _, out, _ = _cli([*args, "--store", str(root)], capsys, monkeypatch)
        assert "9999.9" in out and "1e+04" not in out, (args, out)


def test_localtrack_error_is_the_root_of_what_leaves_the_api(store) -> None:
    root, _ = store
    with pytest.raises(LocaltrackError):
        localtrack.Store(root).sql("select ['a'::blob] from nope")


def test_a_segment_forged_to_match_its_record_costs_only_its_own_points(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit can replace a finished run's segment by garbage with ``PAR1`` at both ends and
    record that file's size and digest, so every integrity check the readers make passes and
    only DuckDB's read finds it out. ``ls``, ``show`` and ``search`` still answer (was: the whole
    command failed, first as ``internal error``, then as one line), every run listed, the
    forged file named in one warning line; the other runs' points are all there; ``verify``
    names the run."""
    import shutil

    import xxhash

    import localtrack
    from localtrack.storage.manifest import dump_manifest

    store = tmp_path / ".localtrack"
    shutil.copytree(REPO / ".localtrack.example", store)
    shutil.rmtree(store / "index", ignore_errors=True)
    run_dirs = sorted((store / "runs").iterdir())
    forged = [run_dirs[0], run_dirs[3]]  # two: each query sets aside every file it meets
    named = []
    for run_dir in forged:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        name, record = next(iter(next(iter(manifest["writers"].values()))["segments"].items()))
        garbage = b"PAR1" + bytes(range(256)) * (record["bytes"] // 256 + 1)
        garbage = garbage[: record["bytes"] - 4] + b"PAR1"
        (run_dir / "metrics" / name).write_bytes(garbage)
        record["digest"] = xxhash.xxh3_128_hexdigest(garbage)
        (run_dir / "manifest.json").write_bytes(dump_manifest(manifest))
        named.append(f"{run_dir / 'metrics' / name}: this metric segment is not readable Parquet")

    for args in (["ls"], ["ls"], ["ls", "--format", "json"], ["show", forged[1].name],
                 ["search", "--filter", "metrics.val/loss < 1"], ["compare", run_dirs[0].name, run_dirs[1].name]):
        code, out, err = _cli([*args, "--store", str(store)], capsys, monkeypatch)
        assert code == 0, (args, err)
        assert "internal error" not in err and "Traceback" not in err, (args, err)
        if args[0] in ("search", "compare") and not err:
            continue  # answered from the summaries (search: the manifests, by pysearch): no point read
        lines = err.strip().splitlines()
        if args[0] == "show":  # the run shown: its own file
            assert len(lines) == 1 and named[1] in lines[0], (args, err)
            continue
        assert len(lines) == 2 and all(n in err for n in named), (args, err)
        if args[0] == "ls":
            assert all(d.name[-6:] in out for d in run_dirs), (args, out)
    with localtrack.Store(store) as reader:
        runs = set(reader.metrics().column("run").to_pylist())
        assert runs == {d.name for d in run_dirs} - {d.name for d in forged}
        problems = reader.runs(filter="run_id != ''").problems  # through the index, which met the files
        assert [run_id for run_id, _ in problems] == [d.name for d in forged]
        assert all(n in m for n, (_, m) in zip(named, problems, strict=True))
    code, out, err = _cli(["verify", "--store", str(store)], capsys, monkeypatch)
    assert code != 0 and "2 damaged" in out
