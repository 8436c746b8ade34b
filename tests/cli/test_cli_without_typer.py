"""Plain ``ls``/``search``/``show`` command lines run without typer and print what typer's path prints.

fast_argv parses them with specs written out from the typer declarations: these tests check
the specs equal the declarations, that the commands behind them take the same parameters,
that both paths print the same for the same command line (the Python search engine and the
index alike), and that such a process imports neither typer nor pydantic.
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import localtrack
from localtrack.cli import fast_argv, humanize, ls_render, output
from localtrack.cli.entry import main


@pytest.mark.parametrize("command", sorted(fast_argv.SPECS))
def test_written_out_specs_are_the_typer_declarations(command: str) -> None:
    module, function = fast_argv.TYPER_COMMANDS[command]
    declared = getattr(importlib.import_module(module), function)
    assert fast_argv.declarations(declared) == fast_argv.SPECS[command]
    module, function = fast_argv.DIRECT[command]
    view = getattr(importlib.import_module(module), function)
    # the typer skin hands its parameters on in order; the fast path by name
    assert list(inspect.signature(view).parameters) == list(inspect.signature(declared).parameters)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notyper") / ".localtrack"
    for i in range(6):
        run = localtrack.init(dir=root, project="vision" if i % 2 else "nlp", name=f"r{i}",
                              config={"opt": ["adam", "sgd"][i % 2], "lr": 0.1 / (i + 1), "evil": "x\x1b[31mred\u202e"},
                              tags={"k": f"v{i}"})
        for step in range(5):
            run.log({"acc": 0.1 * i + 0.01 * step, "loss": 1.0 / (step + 1)}, step=step)
        run.finish()
    return root


def _run(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         *, through_typer: bool) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "150")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    for module in (humanize, ls_render):  # "just now" / "3 s ago": the same on both paths however slow
        monkeypatch.setattr(module, "relative_time", lambda value, now=None: "then" if value else "-")
    if through_typer:
        monkeypatch.setattr(fast_argv, "direct_command", lambda args: None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    monkeypatch.undo()
    return code, captured.out, captured.err


@pytest.mark.parametrize("args", [
    ["search", "--filter", "params.opt = 'adam' and metrics.acc > 0.1", "--sort-by", "metrics.acc DESC", "--top", "3"],
    ["search", "-F", "metrics.loss < 2", "--format", "json"], ["search", "--columns", "id,name,params.lr,params.evil", "-p", "nlp"],
    ["search", "--filter", "metrics.acc >"], ["show", "@latest"], ["show", "r1", "--format", "json"],
    ["show", "no-such-run"], ["show", "@latest", "--format", "csv"], ["ls"], ["ls", "--format", "jsonl"], ["ls", "-p", "nlp", "--top", "2"],
])
def test_direct_and_typer_paths_print_the_same(store: Path, args: list[str], capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    line = [*args, "--store", str(store)]
    assert fast_argv.direct_command(line) is not None  # a plain command line: the fast path takes it
    direct = _run(line, capsys, monkeypatch, through_typer=False)
    typer_path = _run(line, capsys, monkeypatch, through_typer=True)
    assert direct == typer_path
    assert "\x1b" not in direct[1] + direct[2]  # the param's escape sequence is shown escaped


def test_search_by_the_python_engine_prints_what_the_index_gives(store: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow  # noqa: F401 - loaded, so the Python engine may read the means (see pysearch._means)

    from localtrack.query import pysearch

    line = ["search", "--filter", "params.opt = 'sgd' or tags.k = 'v2'", "--sort-by", "params.lr", "--format", "json",
            "--store", str(store)]
    python_engine = _run(line, capsys, monkeypatch, through_typer=False)
    monkeypatch.setattr(pysearch, "search", lambda *a, **k: None)  # the index answers instead
    index = _run(line, capsys, monkeypatch, through_typer=False)
    assert python_engine == index and python_engine[0] == 0


@pytest.mark.parametrize("args", [["ls"], ["search", "--filter", "metrics.acc > 0.2", "--top", "2"], ["show", "@latest"]])
def test_a_plain_read_command_imports_neither_typer_nor_pydantic(store: Path, args: list[str]) -> None:
    """The imports are the point here: a real process."""
    probe = ("import sys\nfrom localtrack.cli.entry import main\ncode = main(sys.argv[1:])\n"
             "print('LOADED', sorted(m for m in ('typer', 'pydantic', 'click') if m in sys.modules), code)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(localtrack.__file__).resolve().parents[1]), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", probe, *args, "--store", str(store)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LOADED [] 0" in done.stdout
    assert done.stdout.replace("LOADED [] 0", "").strip()  # and it printed the runs
