"""``show`` without DuckDB (``query.fastshow``): when the listing is current it prints exactly
what the index's answer prints, and any change sends it back to the index."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import invoke, tamper

from localtrack.ids import short_id
from localtrack.query import fastshow
from localtrack.query.store import Store
from localtrack.store.project import open_store


def _through_index(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(fastshow, "run_with_points", lambda layout, ref: None)
        return invoke(args, capsys, monkeypatch)


def _warm(store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user's earlier commands leave: the listing (ls) and the index's scan state."""
    assert invoke(["ls", "--store", str(store)], capsys, monkeypatch).code == 0
    with Store(store) as reader:
        reader.runs()


def test_show_fast_path_prints_what_the_index_prints(private_sweep, capsys, monkeypatch) -> None:
    store, ids = private_sweep
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    for ref in ("roberta", "resnet", ids["bert"], short_id(ids["hostile"]), "@latest"):
        assert fastshow.run_with_points(layout, ref) is not None, ref  # answered without the index
        fast = invoke(["show", ref, "--store", str(store)], capsys, monkeypatch)
        slow = _through_index(["show", ref, "--store", str(store)], capsys, monkeypatch)
        assert fast.code == slow.code == 0
        assert fast.out == slow.out and fast.err == slow.err, ref


def test_show_fast_path_sees_a_changed_run(private_sweep, capsys, monkeypatch) -> None:
    store, ids = private_sweep
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    assert fastshow.run_with_points(layout, "roberta") is not None
    tamper(store, ids["roberta"], notes="changed after the listing")
    assert fastshow.run_with_points(layout, "roberta") is None  # the listing is behind: the index answers
    r = invoke(["show", "roberta", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0 and "changed after the listing" in r.out


def test_show_fast_path_refuses_unknown_and_ambiguous_refs_like_the_index(private_sweep, capsys, monkeypatch) -> None:
    store, _ids = private_sweep
    _warm(store, capsys, monkeypatch)
    for ref in ("no-such-run", "2"):  # nothing; every id starts with the year
        fast = invoke(["show", ref, "--store", str(store)], capsys, monkeypatch)
        slow = _through_index(["show", ref, "--store", str(store)], capsys, monkeypatch)
        assert fast.code == slow.code != 0
        assert fast.err == slow.err and fast.err.strip(), ref


def test_show_without_duckdb_in_a_fresh_process(private_sweep, capsys, monkeypatch, tmp_path: Path) -> None:
    """The point of the fast path: a warm ``show`` process never imports DuckDB."""
    import os
    import subprocess

    store, _ids = private_sweep
    _warm(store, capsys, monkeypatch)
    code = ("import sys; from localtrack.cli.entry import main; code = main(['show', 'roberta', '--store', sys.argv[1]]);"
            "print('duckdb' in sys.modules, file=sys.stderr); sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code, str(store)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"
    assert "roberta" in done.stdout
