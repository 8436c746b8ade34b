"""Every command is documented (README, docs/CLI.md, an Example in --help) and --help stays light."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import invoke

from localtrack.cli.app import build_app

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("duckdb", "pyarrow", "pydantic", "pygments", "markdown_it", "numpy", "pandas")


def commands() -> list[tuple[str, ...]]:
    """Every command path of the app, groups expanded: ('ls',), ('artifact', 'ls'), ..."""
    root = typer.main.get_command(build_app())
    found: list[tuple[str, ...]] = []

    def walk(group: Any, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            if command.hidden:
                continue
            if hasattr(command, "list_commands"):
                walk(command, (*prefix, name))
            else:
                found.append((*prefix, name))

    walk(root, ())
    return found


def top_level() -> list[str]:
    return sorted({path[0] for path in commands()})


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_help_ends_with_an_example(path: tuple[str, ...], capsys, monkeypatch) -> None:
    r = invoke([*path, "--help"], capsys, monkeypatch, width=100)
    assert r.code == 0, r.err
    assert "Example" in r.out, f"`localtrack {' '.join(path)} --help` has no Example"
    assert "localtrack" in r.out.split("Example", 1)[1]


def test_top_level_help_lists_every_command(capsys, monkeypatch) -> None:
    r = invoke(["--help"], capsys, monkeypatch, width=100)
    assert r.code == 0
    listed = set(re.findall(r"^│ ([a-z][a-z-]*) ", r.out, flags=re.MULTILINE))
    assert set(top_level()) <= listed
    assert "Example" in r.out


def _documented(text: str) -> set[str]:
    return set(re.findall(r"localtrack ([a-z][a-z-]*)", text))


def test_every_command_is_in_docs_cli() -> None:
    text = (REPO / "docs" / "CLI.md").read_text(encoding="utf-8")
    missing = sorted(set(top_level()) - _documented(text))
    assert not missing, f"docs/CLI.md does not mention: {', '.join(missing)}"


def test_every_command_is_in_the_readme() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    missing = sorted(set(top_level()) - _documented(text))
    assert not missing, f"README.md does not mention: {', '.join('localtrack ' + m for m in missing)}"


def test_help_does_not_import_heavy_modules(tmp_path) -> None:
    """``localtrack --help`` must stay fast: nothing that only a query or a plot needs."""
    code = (
        "import sys, json\nfrom localtrack.cli.entry import main\nmain(['--help'])\n"
        "sys.stderr.write(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stderr))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
