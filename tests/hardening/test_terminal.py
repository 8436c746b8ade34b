"""Terminal injection (RELIABILITY.md bad inputs 3 and 11): every CLI command, hostile strings in every field.

A run folder can arrive through a git commit, so every field of a manifest is attacker text:
name, project, tags, notes, config keys and values, metric keys, artifact names, the recorded
command and the error message all carry rich markup (``[link=...]``, ``[/oops]``,
``[bold red]``) and raw escape sequences (OSC 8 hyperlink, SGR colour, BEL, a bidi override).

The commands are enumerated from the typer app, so a new command is attacked too (with a
generic invocation until it gets its own below). Output goes to a forced colour terminal, so
rich *would* emit escapes if it were handed the text as markup or raw. Each command must not
crash, must not pass any of the payload's raw control sequences through, and must show the
user's text as visible, escaped text.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.cli import output
from localtrack.cli.app import build_app
from localtrack.cli.entry import main
from localtrack.storage.layout import StoreLayout
from localtrack.store.manage import edit_manifest

OSC8 = "\x1b]8;;http://x\x1b\\"
SGR = "Q\x1b[31mQ"  # between two Qs of one span: never rich's own colour code
MARKUP = "[link=https://evil.example/x]harmless[/link][/oops][bold red]"
PAYLOAD = f"{MARKUP}{OSC8}{SGR}\x07\u202e"
RAW_FRAGMENTS = (OSC8, "\x1b]", SGR, "\x07", "\u202e", "\x1b\\")


def _every_command() -> list[tuple[str, ...]]:
    import typer

    def walk(command: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        if hasattr(command, "list_commands"):
            found = []
            for name in command.list_commands(None):
                found += walk(command.get_command(None, name), (*path, name))
            return found
        return [path]

    return walk(typer.main.get_command(build_app()), ())


COMMANDS = _every_command()


def _hostile_store(root: Path) -> tuple[Path, str, str]:
    """A store with a benign run and a hostile one (payload in every field); (store, hostile, benign)."""
    store = root / ".localtrack"
    benign = localtrack.init(dir=store, project="p", name="benign", config={"lr": 0.1})
    benign.log({"acc": 0.5, "loss": 1.0}, step=0)
    benign.finish()
    source = root / "weights.bin"
    source.write_bytes(b"w" * 64)
    run = localtrack.init(dir=store, project="p", name="placeholder", config={"lr": 0.2})
    run.log({"acc": 0.6, "loss": 0.9, "acc[/oops][bold red]": 1.0}, step=0)
    run.log_artifact(source, name="ckpt", type="checkpoint")
    run.finish(exit_code=1)

    def poison(m: dict[str, Any]) -> None:
        m["name"] = "n" + PAYLOAD
        m["project"] = "p" + PAYLOAD
        m["group"] = "g" + PAYLOAD
        m["tags"] = {"t" + PAYLOAD: "v" + PAYLOAD, "label" + PAYLOAD: ""}
        m["notes"] = f"first line {PAYLOAD}\nsecond\t{PAYLOAD}"
        m["config"] = {**m["config"], "k" + PAYLOAD: "v" + PAYLOAD, "nested": {"k" + PAYLOAD: ["v" + PAYLOAD]}}
        m["summary"] = {**m["summary"], "m" + PAYLOAD: {"last": 1.0, "min": 1.0, "max": 1.0, "count": 1, "step": 0}}
        m["summary_values"] = {"s" + PAYLOAD: "v" + PAYLOAD}
        m["command"] = {"argv": ["train.py", "--x", PAYLOAD], "cwd": "/c" + PAYLOAD, "executable": "/py" + PAYLOAD}
        m["error"] = {"type": "E" + PAYLOAD, "message": "boom " + PAYLOAD}
        m["git"] = {"commit": "c" + PAYLOAD, "branch": "b" + PAYLOAD, "dirty": True, "remote": None, "root": "/r"}
        m["environment"] = {**(m.get("environment") or {}), "host": "h" + PAYLOAD, "packages": {"p" + PAYLOAD: "1"}}
        m["artifacts"] = [*m["artifacts"], {**m["artifacts"][-1], "name": "a" + PAYLOAD, "type": "t" + PAYLOAD}]

    edit_manifest(StoreLayout(store), run.id, poison)
    return store, run.id, benign.id


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    return _hostile_store(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def hostile(template: tuple[Path, str, str], tmp_path: Path) -> tuple[Path, str, str]:
    """A private copy (commands like rm and rename change the store)."""
    store, hostile_id, benign_id = template
    copy = tmp_path / "copy" / ".localtrack"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns("index", "tmp"))
    return copy, hostile_id, benign_id


def _invocations(path: tuple[str, ...], store: Path, run: str, other: str, tmp: Path) -> list[list[str]]:
    """The argument lists each command is attacked with (a generic one for a command not listed)."""
    s = ["--store", str(store)]
    payload_file = tmp / "f.txt"
    payload_file.write_text("x")
    known: dict[tuple[str, ...], list[list[str]]] = {
        ("init",): [[str(tmp / "fresh")]],
        ("demo",): [["--output", str(tmp / "demo")]],
        ("create",): [["--project", "p" + PAYLOAD, "--name", "n", *s], ["--name", "plain", "--tags", "t=" + PAYLOAD, *s]],
        ("log-params",): [[run, "--params", json.dumps({"k" + PAYLOAD: "v" + PAYLOAD}), *s]],
        ("log-metrics",): [[run, "--metrics", json.dumps({"m" + PAYLOAD: 1.0}), *s]],
        ("finish",): [[run, *s]],
        ("ls",): [s, [*s, "-c", "id,name,project,group,tags,notes,git,params.k" + PAYLOAD], [*s, "-g", "project"]],
        ("show",): [[run, *s]],
        ("compare",): [[run, other, *s]],
        ("visualize",): [[run, other, "--metric", "acc", *s], [run, other, "-t", "bar", "--metric", "acc", *s]],
        ("report",): [[run, other, *s], [run, other, "--markdown", "-", *s]],
        ("tag",): [[run, *s], [run, "add", "extra", *s]],
        ("note",): [[run, *s]],
        ("rename",): [[run, "renamed", *s]],
        ("rm",): [[run, "--force", *s]],
        ("export",): [[run, "--to", str(tmp / "out.json"), *s]],
        ("exec",): [["--name", "plain", *s, "--", sys.executable, "-c", "pass"]],
        ("reproduce",): [[run, "--dry-run", *s]],
        ("log-artifacts",): [[run, str(payload_file), "--description", PAYLOAD, *s]],
        ("artifact", "upload"): [[run, str(payload_file), "--name", "x" + PAYLOAD, *s]],
        ("artifact", "ls"): [[run, *s], s],
        ("artifact", "download"): [[run, "--output-dir", str(tmp / "dl"), *s]],
        ("verify",): [s],
        ("gc",): [s],
        ("search",): [[*s, "-c", "id,name,project,notes"], [*s], [*s, "-c", "params.k" + PAYLOAD]],
        ("sql",): [["select * from runs", *s], ["select * from params", *s], ["select * from tags", *s]],
    }
    if path == ("restore",):  # something must be in the trash first
        return [["rm", run, "--force", *s], ["restore", *s], ["restore", run, *s]]
    return [[*path, *args] for args in known.get(path, [[run, *s]])]


def _run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int = 200
) -> tuple[int, str, str]:
    """Run the CLI in-process on a forced colour terminal (rich would emit escapes here)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


STRIP_SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_command_shows_hostile_text_escaped(path, hostile, tmp_path, capsys, monkeypatch) -> None:
    store, run, other = hostile
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    seen = ""
    for args in _invocations(path, store, run, other, work):
        code, out, err = _run(args, capsys, monkeypatch)
        both = out + err
        assert "Traceback" not in both and "MarkupError" not in both, (args, both[-2000:])
        assert "internal error" not in err, (args, err)
        for fragment in RAW_FRAGMENTS:
            assert fragment not in both, (args, fragment, both[:2000])
        assert "\x1b" not in STRIP_SGR.sub("", both), (args, both[:2000])  # only rich's own colours
        if code != 0:
            assert err.startswith(("error: ", "\x1b[1;31merror: ")), (args, err)
        seen += STRIP_SGR.sub("", both)
    if path in {("ls",), ("show",), ("compare",), ("report",), ("tag",), ("rename",), ("rm",), ("restore",),
                ("note",), ("search",), ("sql",), ("reproduce",)}:
        # the user's text is there, visibly: markup literally, controls as escapes
        assert "[/oops]" in seen, (path, seen[:3000])
        assert "\\x1b" in seen or "\\x07" in seen or "\\u202e" in seen, (path, seen[:3000])


def test_show_every_field_is_visible(hostile, capsys, monkeypatch) -> None:
    store, run, _ = hostile
    code, out, _ = _run(["show", run, "--store", str(store)], capsys, monkeypatch, columns=1000)
    plain = STRIP_SGR.sub("", out)
    assert code == 0
    assert "acc[/oops][bold red]" in plain  # a metric key (from the segments)
    visible = "[link=https://evil.example/x]harmless[/link][/oops][bold red]\\x1b]8;;http://x\\x1b\\"
    for prefix in ("n", "p", "g", "t", "k", "v", "s", "E", "boom ", "a", "/c", "/py", "h", "c", "b"):
        assert prefix + visible in plain, (prefix, plain[:4000])
    assert "first line " + visible in plain and "\nsecond" in plain  # notes keep their line breaks


def test_rm_then_restore_of_a_markup_name_moves_nothing_half_way(hostile, capsys, monkeypatch) -> None:
    """Issue 10: `[/oops]` crashed rm after the run had already moved; now both complete and say so."""
    store, run, _ = hostile
    code, _, err = _run(["rm", run, "--force", "--store", str(store)], capsys, monkeypatch)
    assert code == 0 and "to the trash" in STRIP_SGR.sub("", err)
    code, _, err = _run(["restore", run, "--store", str(store)], capsys, monkeypatch)
    assert code == 0 and "Restored" in STRIP_SGR.sub("", err)
    assert (store / "runs" / run).is_dir()
