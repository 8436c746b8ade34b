"""User mistakes are one red line with a hint and a non-zero exit, never a traceback (--debug shows it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import invoke

CLI = [sys.executable, "-c", "import sys; from localtrack.cli.entry import main; sys.exit(main())"]
REPO = Path(__file__).resolve().parents[2]


MISTAKES = [
    (["show", "nosuchrun"], 1, "no run matches 'nosuchrun'"),
    (["show", "2"], 1, "matches 5 runs"),  # an ambiguous id prefix lists the candidates
    (["ls", "--filter", "metrics.acc >"], 1, "expected a value"),
    (["ls", "--filter", "params.lr = '1' OR 1=1 --"], 1, ""),
    (["ls", "--sort-by", "bogus DESC"], 1, ""),
    (["ls", "--top", "0"], 2, "--top"),
    (["ls", "--format", "xml"], 2, "xml"),
    (["ls", "--nope"], 2, "No such option: --nope"),
    (["compare", "bert"], 2, "at least two runs"),
    (["visualize", "bert", "--plot-type", "pie"], 2, "pie"),
    (["report"], 1, "give RUN arguments"),
    (["tag", "bert", "add", ""], 1, "empty"),
    (["rename", "bert", "a\nb"], 1, "control or invisible character"),
    (["export", "bert", "--to", "x.txt"], 2, ".csv, .parquet, .json or .jsonl"),
    (["restore", "bert"], 1, "no run matches 'bert'"),
]


@pytest.mark.parametrize(("args", "code", "message"), MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
def test_mistake_is_one_line(sweep, capsys, monkeypatch, args, code, message) -> None:
    store, _ = sweep
    r = invoke([*args, "--store", str(store)], capsys, monkeypatch)
    assert r.code == code, r.err
    assert r.err.startswith("error: "), r.err
    assert message in r.err
    assert "Traceback" not in r.err and r.out == ""
    if args[1:2] not in (["--filter"], ["--sort-by"]):  # a filter error points at the column with a caret line
        assert len(r.err.strip().splitlines()) == 1, r.err


def test_ambiguous_reference_lists_candidates(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["show", "2", "--store", str(store)], capsys, monkeypatch)
    for run_id in ids.values():
        assert run_id in r.err


def test_no_store_here(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["ls"], ["show", "@latest"], ["compare", "a", "b"], ["rm", "x"], ["restore"]):
        r = invoke(args, capsys, monkeypatch)
        assert r.code == 1 and r.err.startswith("error: ") and "Traceback" not in r.err, (args, r.err)


def test_real_process_and_debug_traceback(sweep, tmp_path) -> None:
    store, _ = sweep
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([*CLI, "show", "nosuchrun", "--store", str(store)], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: no run matches 'nosuchrun'") and len(done.stderr.splitlines()) == 1
    done = subprocess.run([*CLI, "--debug", "show", "nosuchrun", "--store", str(store)], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" in done.stderr and "RunNotFoundError" in done.stderr
