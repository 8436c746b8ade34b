"""``localtrack ls`` without typer's parser and without DuckDB gives what the typer/index path gives."""

from __future__ import annotations

import difflib
import functools
import io
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "query"))  # the query tests' sample runs

from query_samples import age_store, build_store, run_id, sample_specs, write_run

from localtrack.cli import cmd_ls, cmd_query, cmd_show, output
from localtrack.cli.entry import main
from localtrack.cli.fast_argv import direct_arguments
from localtrack.cli.progress_bar import RefreshProgress
from localtrack.store.project import create_store

ALWAYS = "run_id != 'no such run'"  # a filter every run matches: sends ls through Store.runs()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fastls") / ".localtrack"
    layout = create_store(root)
    specs = sample_specs(30)
    build_store(layout, specs)
    write_run(layout, replace(specs[1], id=run_id(99), name="evil\x1b[31mred\u202egnp.exe ü"))  # escaped alike
    segment = next((layout.run_dir(specs[4].id) / "metrics").glob("*.parquet"))
    segment.write_bytes(segment.read_bytes()[:64])  # a damaged segment: a warning, same on both paths
    age_store(layout)
    return root


def run(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "150")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("extra", [[], ["--all"], ["-n", "7"], ["--project", "vision"], ["--format", "json"],
                                   ["--format", "csv", "--top", "3"], ["--format", "jsonl"],
                                   ["--all", "--group-by", "status"], ["--columns", "id,name,acc"],
                                   ["--format", "jsonl", "--columns", "id,name"]])
def test_cli_ls_listing_and_index_paths_print_the_same(store: Path, extra: list[str],
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = time.time()  # one clock for both: a running run's age, the racy window of fresh files
    monkeypatch.setattr(time, "time", lambda: frozen)
    fast = run(["ls", "--store", str(store), *extra], capsys, monkeypatch)
    slow = run(["ls", "--store", str(store), "--filter", ALWAYS, *extra], capsys, monkeypatch)
    assert fast[0] == slow[0] == 0
    assert fast == slow, "\n".join(difflib.unified_diff([*fast[1].splitlines(), *fast[2].splitlines()],
                                                        [*slow[1].splitlines(), *slow[2].splitlines()],
                                                        "listing", "index", lineterm=""))
    assert "could not be read" in fast[2]


def test_cli_ls_after_a_jsonl_listing_draws_the_sparklines_the_index_draws(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The first ``ls --format jsonl`` writes most entries without sparklines (it prints none);
    a table ``ls`` after it draws each run's sparklines as the index does."""
    from localtrack.query import listing_write

    monkeypatch.setattr(listing_write, "EAGER_ENTRIES", 3)
    layout = create_store(tmp_path / ".localtrack")
    build_store(layout, sample_specs(14))
    age_store(layout)
    root = str(layout.root)
    frozen = time.time()  # one clock for both paths
    monkeypatch.setattr(time, "time", lambda: frozen)
    for extra in (["--format", "jsonl"], ["--format", "json"], ["--all"], ["--project", "vision"],
                  ["--format", "jsonl"], ["--all", "--group-by", "status"]):
        fast = run(["ls", "--store", root, *extra], capsys, monkeypatch)
        slow = run(["ls", "--store", root, "--filter", ALWAYS, *extra], capsys, monkeypatch)
        assert fast[0] == slow[0] == 0
        assert fast == slow, extra


def test_cli_ls_jsonl_is_one_json_run_per_line(store: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _, text, _ = run(["ls", "--store", str(store), "--format", "jsonl"], capsys, monkeypatch)
    _, array, _ = run(["ls", "--store", str(store), "--format", "json"], capsys, monkeypatch)
    lines = text.splitlines()
    assert len(lines) == 31 == len(json.loads(array))
    assert [json.loads(line) for line in lines] == json.loads(array)


def _typer_kwargs(module: Any, function: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The arguments typer's own parser hands the command function for ``args``."""
    import typer

    from localtrack.cli.app import build_app

    seen: dict[str, Any] = {}
    original = getattr(module, function)

    @functools.wraps(original)  # same signature and annotations (resolved in the command's module)
    def record(**kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(module, function, record)
    typer.main.get_command(build_app()).main(args=args, prog_name="localtrack", standalone_mode=False)
    monkeypatch.setattr(module, function, original)
    return seen


COMMANDS = {"ls": (cmd_ls, "ls_command"), "search": (cmd_query, "search_command"), "show": (cmd_show, "show_command")}


@pytest.mark.parametrize("args", [
    ["ls"], ["ls", "--filter", "x"], ["ls", "--store", "x/y"], ["ls", "--store=x/y"], ["ls", "-p", "nlp", "-n", "5"],
    ["ls", "--top", "12", "--all"], ["ls", "--format", "jsonl"], ["ls", "-f", "csv", "--project=vision"],
    ["ls", "-a", "--format=json", "--store", "s"],
    ["search", "--filter", "metrics.acc > 0.5", "--top", "10"], ["search", "-F", "x = 1", "-s", "name", "-n", "0"],
    ["search", "--columns", "id,name", "--format", "json", "--store", "s", "-p", "a b"],
    ["show", "@latest"], ["show", "abc", "--store", "s"], ["show", "--format", "json", "run-7"],
])
def test_cli_plain_command_lines_parse_as_typer_parses_them(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    module, function = COMMANDS[args[0]]
    direct = direct_arguments(getattr(module, function), args[1:])
    assert direct is not None
    assert direct == _typer_kwargs(module, function, args, monkeypatch)


@pytest.mark.parametrize("args", [
    ["ls", "--top", "0"], ["ls", "--top", "-3"], ["ls", "-n5"], ["ls", "--format", "yaml"],
    ["ls", "--help"], ["ls", "--store"], ["ls", "--store", "a", "--store", "b"], ["ls", "--project", "-a"],
    ["ls", "extra"], ["ls", "--columns", "id"], ["ls", "--all=1"], ["search", "--top", "x"], ["show"],
    ["show", "a", "b"], ["show", "--", "-x"], ["show", "a", "--format", "csv", "--format", "json"],
])
def test_cli_other_command_lines_are_left_to_typer(args: list[str]) -> None:
    module, function = COMMANDS[args[0]]
    assert direct_arguments(getattr(module, function), args[1:]) is None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_refresh_progress_bar_only_on_a_terminal_and_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")  # the test environment's TERM=dumb draws no bar
    screen = Terminal()
    bar = RefreshProgress(stream=screen, show_after=0.0)
    for done in range(0, 1001, 100):
        bar("reading run folders", done, 1000)
    bar("done", 1, 1)
    assert "indexing: reading run folders" in screen.getvalue()
    assert bar.bar is None
    pipe = io.StringIO()
    quiet = RefreshProgress(stream=pipe, show_after=0.0)
    quiet("reading run folders", 10, 1000)
    quiet("done", 1, 1)
    assert pipe.getvalue() == ""


def test_cli_plain_ls_imports_neither_duckdb_nor_pyarrow_nor_pydantic(store: Path, python: str) -> None:
    """Once the listing is written, `ls` is a small process: the imports are the point here."""
    import subprocess

    probe = ("import sys\nfrom localtrack.cli.entry import main\ncode = main(sys.argv[1:])\n"
             "print('LOADED', sorted(m for m in ('duckdb', 'pyarrow', 'pydantic') if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    first = subprocess.run([python, "-c", probe, "ls", "--store", str(store)], capture_output=True, text=True,
                           env=env, timeout=300)
    again = subprocess.run([python, "-c", probe, "ls", "--store", str(store), "--all"], capture_output=True,
                           text=True, env=env, timeout=300)
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert "LOADED []" in again.stdout
    assert again.stdout.replace("LOADED []", "").strip()  # and it listed the runs
