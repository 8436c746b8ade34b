"""Views never hang on huge values (RELIABILITY.md bad input 12; issue 10 "show hangs on big strings").

A tampered manifest (under the 64 MiB cap) holds 30 MB of notes and a 20 MB config value:
``show`` used to take minutes wrapping them. Views cut long values and say so ("… (N MiB
more; see --format json)"); ``--format json`` still has every byte. No timing assertion:
each command runs in a thread and the test fails only if it is still running after a
generous 20 s (a hang, not slowness), and the output must stay small.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.cli import output
from localtrack.cli.entry import main
from localtrack.storage.layout import StoreLayout
from localtrack.store.manage import edit_manifest

HANG = 20.0  # seconds: far beyond any honest run of these commands
MAX_OUTPUT = 200_000  # characters a view of one or two runs may print


@pytest.fixture(scope="module")
def bloated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("bloated")
    store = root / ".localtrack"
    runs = []
    for name in ("big", "small"):
        run = localtrack.init(dir=store, project="p", name=name, config={"lr": 0.1 if name == "big" else 0.2})
        run.log({"acc": 0.5}, step=0)
        run.finish()
        runs.append(run.id)

    def bloat(m: dict[str, Any]) -> None:
        m["notes"] = ("lorem ipsum dolor sit amet " * 40 + "\n") * 28_000  # ~30 MB
        m["config"]["huge"] = "x" * 20_000_000
        m["config"]["wide"] = {f"k{i}": i for i in range(5_000)}
        m["tags"] = {"long": "t" * 1_000_000}

    edit_manifest(StoreLayout(store), runs[0], bloat)
    return store, runs[0], runs[1]


def _run_bounded(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["code"] = main(args)
        except BaseException as exc:  # reported below, in the test's thread
            result["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(HANG)
    captured = capsys.readouterr()
    assert not worker.is_alive(), f"{args[0]} still running after {HANG} s: a hang"
    assert "error" not in result, result.get("error")
    return result["code"], captured.out, captured.err


VIEWS = [
    ["show", "{big}"],
    ["ls"],
    ["ls", "-c", "name,notes,tags,params.huge,params.wide,tags.long"],
    ["compare", "{big}", "{small}"],
    ["report", "{big}", "{small}"],
    ["search", "-c", "id,name,notes,params.huge"],
    ["sql", "select name, notes from runs"],
    ["tag", "{big}"],
    ["note", "{big}"],
]


@pytest.mark.parametrize("view", VIEWS, ids=[" ".join(v) for v in VIEWS])
def test_view_of_huge_values_is_bounded(bloated, capsys, monkeypatch, view) -> None:
    store, big, small = bloated
    args = [a.format(big=big, small=small) for a in view] + ["--store", str(store)]
    code, out, err = _run_bounded(args, capsys, monkeypatch)
    assert code == 0, err
    assert len(out) + len(err) < MAX_OUTPUT, (view, len(out))


def test_show_says_what_it_cut(bloated, capsys, monkeypatch) -> None:
    store, big, _ = bloated
    _, out, _ = _run_bounded(["show", big, "--store", str(store)], capsys, monkeypatch)
    assert "MiB more; see --format json" in out  # the 20 MB value and the 30 MB notes
    assert "more keys; see --format json" in out  # 5,000 nested keys


def test_piped_listing_is_bounded_too(bloated, capsys, monkeypatch) -> None:
    """Piped (no COLUMNS), tables are not cut to a width, but a value is still bounded."""
    store, _, _ = bloated
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(output, "_console", None)
    capsys.readouterr()
    assert main(["ls", "-c", "name,notes,params.huge", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert len(out) < MAX_OUTPUT and "more; see --format json" in out


def test_json_keeps_every_byte(bloated, capsys, monkeypatch) -> None:
    store, big, _ = bloated
    _, out, _ = _run_bounded(["show", big, "--format", "json", "--store", str(store)], capsys, monkeypatch)
    info = json.loads(out)
    assert len(info["config"]["huge"]) == 20_000_000 and len(info["notes"]) > 29_000_000
