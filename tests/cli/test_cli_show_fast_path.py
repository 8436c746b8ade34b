"""``show`` without DuckDB (``query.fastshow``): when the listing is current it prints exactly
what the index's answer prints, and any change sends it back to the index."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import invoke, one_clock, tamper

from localtrack.ids import short_id
from localtrack.query import fastshow
from localtrack.query.store import Store
from localtrack.store.project import open_store

WRITE_STORE = """
import sys
import localtrack
store = sys.argv[1]
ids = {}
for name, accs in (("bert", [0.5, 0.7, 0.8]), ("roberta", [0.6, 0.8, 0.9]), ("resnet", [0.1])):
    run = localtrack.init(dir=store, project="nlp", name=name, config={"lr": 0.001, "optim": {"name": "adam"}},
                          tags={"sweep": "s1"})
    for step, acc in enumerate(accs):
        run.log({"val_accuracy": acc, "train/loss": 1.0 - acc}, step=step)
    run.finish(exit_code=1 if name == "resnet" else 0)
    ids[name] = run.id
child = localtrack.init(dir=store, project="nlp", name="child", parent=ids["bert"])
child.log({"val_accuracy": 0.2}, step=0)
child.finish()
assert "pyarrow" not in sys.modules  # short runs of a process without pyarrow: pure-Python segments
print(" ".join(f"{k}={v}" for k, v in ids.items()))
"""


@pytest.fixture
def lite_store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Runs written as a training script without pyarrow writes them (the fast path reads
    only pure-Python segments; a process that loaded pyarrow seals with it)."""
    import os
    import subprocess

    store = tmp_path / ".localtrack"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("LOCALTRACK_DIR", None)
    done = subprocess.run([sys.executable, "-c", WRITE_STORE, str(store)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    ids = dict(item.split("=") for item in done.stdout.split())
    when = time.time() - 3600  # written an hour ago: past the index's racy window (no flags to settle later)
    for path in [*store.glob("runs/*/manifest.json"), store / "runs"]:
        os.utime(path, (when, when))
    return store, ids


def _through_index(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(fastshow, "run_with_points", lambda layout, ref, **kw: None)
        return invoke(args, capsys, monkeypatch)


def _warm(store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user's earlier commands leave: the listing (ls) and the index's scan state."""
    assert invoke(["ls", "--store", str(store)], capsys, monkeypatch).code == 0
    with Store(store) as reader:
        reader.runs()


def test_show_fast_path_prints_what_the_index_prints(lite_store, capsys, monkeypatch) -> None:
    store, ids = lite_store
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    for ref in ("roberta", "resnet", ids["bert"], short_id(ids["resnet"]), "@latest", "child"):
        assert fastshow.run_with_points(layout, ref) is not None, ref  # answered without the index
        with one_clock(monkeypatch):
            fast = invoke(["show", ref, "--store", str(store)], capsys, monkeypatch)
            slow = _through_index(["show", ref, "--store", str(store)], capsys, monkeypatch)
        assert fast.code == slow.code == 0
        assert fast.out == slow.out and fast.err == slow.err, ref
    assert "children" in invoke(["show", "bert", "--store", str(store)], capsys, monkeypatch).out


def test_show_fast_path_sees_a_changed_run(lite_store, capsys, monkeypatch) -> None:
    store, ids = lite_store
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    assert fastshow.run_with_points(layout, "roberta") is not None
    tamper(store, ids["roberta"], notes="changed after the listing")
    assert fastshow.run_with_points(layout, "roberta") is None  # the listing is behind: the index answers
    r = invoke(["show", "roberta", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0 and "changed after the listing" in r.out


def test_show_fast_path_refuses_unknown_and_ambiguous_refs_like_the_index(lite_store, capsys, monkeypatch) -> None:
    store, _ids = lite_store
    _warm(store, capsys, monkeypatch)
    for ref in ("no-such-run", "2"):  # nothing; every id starts with the year
        with one_clock(monkeypatch):
            fast = invoke(["show", ref, "--store", str(store)], capsys, monkeypatch)
            slow = _through_index(["show", ref, "--store", str(store)], capsys, monkeypatch)
        assert fast.code == slow.code != 0
        assert fast.err == slow.err and fast.err.strip(), ref


def test_show_without_duckdb_in_a_fresh_process(lite_store, capsys, monkeypatch, tmp_path: Path) -> None:
    """The point of the fast path: a warm ``show`` process never imports DuckDB."""
    import os
    import subprocess

    store, _ids = lite_store
    _warm(store, capsys, monkeypatch)
    code = ("import sys; from localtrack.cli.entry import main; code = main(['show', 'roberta', '--store', sys.argv[1]]);"
            "print('duckdb' in sys.modules, file=sys.stderr); sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code, str(store)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"
    assert "roberta" in done.stdout
