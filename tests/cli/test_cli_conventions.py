"""CLI conventions for scripts: `--format json` everywhere there is data, JSON Lines, export to
stdout, status lines on stderr, shell completion and `gc --grace`.

Every command of the typer app is enumerated, so a new command fails here until it is given a
command line below (or a reason in NO_DATA_OUTPUT / NOT_YET).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import git_project, invoke

import localtrack
from localtrack.cli import output
from localtrack.cli.entry import main
from localtrack.cli.reference import command_paths, help_text

# Commands that intentionally print no data of their own, each with its reason.
NO_DATA_OUTPUT: dict[str, str] = {
    "sweep agent": "runs training commands one after another; their output is the trials' own, and each trial is a run "
    "(`localtrack ls --filter` or `sweep show --format json` report them)",
}
# Commands with data but no --format yet: owned by another branch (cmd_sweep.py), to follow.
NOT_YET: dict[str, str] = {
    "sweep create": "prints the sweep id on stdout (like `create`); --format json belongs to the sweeps branch",
}

Context = dict[str, Any]
# command path -> (command line after the path, given the context; keys its JSON object must have, or
# None when it prints an array). A "{store}" is added to every command line that takes --store.
ACTION_KEYS: dict[str, set[str]] = {
    "init": {"store", "created"},
    "demo": {"store", "runs", "count"},
    "create": {"id", "name", "project", "tags", "store"},
    "log-params": {"run", "name", "params", "count"},
    "log-metrics": {"run", "name", "steps", "last_step", "step", "metrics"},
    "finish": {"run", "name", "status", "ended_at"},
    "visualize": {"title", "plot_type", "x_label", "y_label", "series", "bars", "parallel"},
    "tag": {"run", "name", "tags"},
    "note": {"run", "name", "notes"},
    "rename": {"run", "old_name", "name"},
    "rm": {"runs", "count", "purged"},
    "restore": {"runs", "count"},
    "export": {"path", "format", "what", "runs", "rows", "bytes"},
    "exec": {"id", "name", "project", "status", "exit_code"},
}
COMMAND_LINES: dict[str, Callable[[Context], list[str]]] = {
    "init": lambda c: ["init", str(c["tmp"] / "fresh")],
    "demo": lambda c: ["demo", "-o", str(c["tmp"] / "demo-store")],
    "create": lambda c: ["create", "--name", "shell-run", "--tags", "a,b"],
    "log-params": lambda c: ["log-params", c["shell"], "--params", '{"lr": 0.1, "depth": 3}'],
    "log-metrics": lambda c: ["log-metrics", c["shell"], "--metrics", '{"loss": 0.5}', "--step", "4"],
    "finish": lambda c: ["finish", c["shell"], "--status", "failed"],
    "ls": lambda c: ["ls"],
    "show": lambda c: ["show", "bert"],
    "compare": lambda c: ["compare", "bert", "distil"],
    "visualize": lambda c: ["visualize", "bert", "distil", "-m", "val_accuracy"],
    "report": lambda c: ["report", "bert", "distil"],
    "tag": lambda c: ["tag", "bert", "add", "best"],
    "note": lambda c: ["note", "bert", "looks good"],
    "rename": lambda c: ["rename", "distil", "distil-v2"],
    "rm": lambda c: ["rm", "resnet"],
    "restore": lambda c: ["restore", "resnet"],
    "export": lambda c: ["export", "bert", "--to", str(c["tmp"] / "points.parquet")],
    "exec": lambda c: ["exec", "--format", "json", "--name", "wrapped", "--", sys.executable, "-c", "print('from the child')"],
    "reproduce": lambda c: ["reproduce", c["exec_run"], "--dry-run"],
    "log-artifacts": lambda c: ["log-artifacts", c["shell"], str(c["file"])],
    "verify": lambda c: ["verify"],
    "gc": lambda c: ["gc"],
    "search": lambda c: ["search"],
    "sql": lambda c: ["sql", "select id, name from runs order by name"],
    "artifact upload": lambda c: ["artifact", "upload", c["shell"], str(c["file"]), "--name", "again"],
    "artifact ls": lambda c: ["artifact", "ls"],
    "artifact download": lambda c: ["artifact", "download", "roberta", "-o", str(c["tmp"] / "restored")],
    "sweep show": lambda c: ["sweep", "show"],
}
SETUP: dict[str, list[str]] = {"restore": ["rm", "resnet"]}  # run first, so the command has something to do


def leaf_commands() -> list[str]:
    paths = command_paths()
    groups = {p for p in paths for q in paths if len(q) > len(p) and q[: len(p)] == p}
    return [" ".join(p) for p in paths if p not in groups]


def _context(store: Path, tmp: Path, capsys, monkeypatch) -> Context:
    s = ["--store", str(store)]
    shell = invoke(["create", "--name", "from-shell", *s], capsys, monkeypatch).out.strip()
    file = tmp / "weights.bin"
    file.write_bytes(b"w" * 100)
    monkeypatch.chdir(git_project(tmp / "project"))  # exec records the git state
    monkeypatch.setenv("LOCALTRACK_DIR", str(store))
    exec_run = invoke(["exec", "-q", "--", sys.executable, "-c", "pass"], capsys, monkeypatch)
    return {"tmp": tmp, "shell": shell, "file": file, "exec_run": "@latest" if exec_run.code == 0 else shell}


def _line(name: str, context: Context, store: Path) -> list[str]:
    args = COMMAND_LINES[name](context)
    if name not in ("init", "demo"):
        args = [*args, "--store", str(store)] if "--" not in args else _before_dashdash(args, store)
    return args


def _before_dashdash(args: list[str], store: Path) -> list[str]:
    i = args.index("--")
    return [*args[:i], "--store", str(store), *args[i:]]


def test_every_command_is_covered() -> None:
    """A new command must say how it reports data (a line here) or why it has none."""
    leaves = set(leaf_commands())
    assert leaves == set(COMMAND_LINES) | set(NO_DATA_OUTPUT) | set(NOT_YET)
    assert set(ACTION_KEYS) <= set(COMMAND_LINES)


@pytest.mark.parametrize("name", sorted(COMMAND_LINES))
def test_format_json_prints_only_json_on_stdout(name, private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    context = _context(store, tmp_path, capsys, monkeypatch)
    if name in SETUP:
        assert invoke([*SETUP[name], "--store", str(store)], capsys, monkeypatch).code == 0
    args = _line(name, context, store)
    if "--format" not in args:
        args = [*args[:1 + name.count(" ")], "--format", "json", *args[1 + name.count(" "):]]
    r = invoke(args, capsys, monkeypatch)
    assert r.code == 0, r.err
    value = json.loads(r.out)  # the whole of stdout is one JSON document
    if name in ACTION_KEYS:
        assert isinstance(value, dict) and set(value) == ACTION_KEYS[name], value
        help_page = help_text(tuple(name.split()))
        missing = [k for k in ACTION_KEYS[name] if f'"{k}"' not in help_page]
        assert not missing, f"`{name} --help` does not document the keys {missing}"
    else:
        assert isinstance(value, (dict, list))


def test_action_json_describes_what_was_done(private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, ids = private_sweep
    s = ["--store", str(store)]
    made = invoke(["create", "--name", "cli-run", "--project", "p1", "-f", "json", *s], capsys, monkeypatch).json()
    info = localtrack.Store(store).run(made["id"])
    assert (made["name"], made["project"]) == (info.name, "p1") == ("cli-run", "p1")
    logged = invoke(["log-params", made["id"], "--params", '{"b": 1, "a": 2}', "-f", "json", *s], capsys, monkeypatch)
    assert logged.json()["params"] == ["a", "b"] and logged.json()["count"] == 2
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"loss": 1.0}\n\n{"step": 7, "loss": 0.5}\n')))
    streamed = invoke(["log-metrics", made["id"], "--stdin", "-f", "json", *s], capsys, monkeypatch).json()
    assert streamed == {"run": made["id"], "name": "cli-run", "steps": 2, "last_step": 7, "lines": 3}
    assert localtrack.Store(store).run(made["id"]).summary["loss"]["last"] == 0.5
    removed = invoke(["rm", "bert", "distil", "-f", "json", *s], capsys, monkeypatch)
    assert removed.json() == {"runs": [{"id": ids["bert"], "name": "bert"}, {"id": ids["distil"], "name": "distil"}],
                              "count": 2, "purged": False}
    assert removed.err == ""  # json replaces the status lines
    fresh = invoke(["init", str(tmp_path / "p"), "-f", "json"], capsys, monkeypatch).json()
    assert fresh["created"] is True and Path(fresh["store"]).is_dir()
    again = invoke(["init", str(tmp_path / "p"), "-f", "json"], capsys, monkeypatch).json()
    assert again == {**fresh, "created": False}


def test_status_lines_go_to_stderr(private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    s = ["--store", str(store)]
    checks = [
        (["export", "bert", "--to", str(tmp_path / "p.csv"), *s], "Exported"),
        (["rename", "bert", "bert-2", *s], "Renamed"),
        (["rm", "bert-2", *s], "Moved bert-2"),
        (["restore", "bert-2", *s], "Restored bert-2"),
        (["rm", "distil", "--purge", "--yes", *s], "Deleted distil"),
        (["init", str(tmp_path / "other")], "Store ready"),
        (["visualize", "roberta", "--html", str(tmp_path / "v.html"), *s], "Wrote"),
        (["artifact", "download", "roberta", "-o", str(tmp_path / "dl"), *s], "restored 2 file(s)"),
    ]
    for args, status in checks:
        r = invoke(args, capsys, monkeypatch)
        assert r.code == 0 and r.out == "" and r.err.startswith(status), (args, r)


def test_jsonl_listings_parse_line_by_line(private_sweep, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    s = ["--store", str(store)]
    api = localtrack.Store(store).runs()
    for args in (["search"], ["ls"], ["sql", "select id, name from runs"], ["artifact", "ls"]):
        r = invoke([*args, "--format", "jsonl", *s], capsys, monkeypatch)
        assert r.code == 0, r.err
        rows = [json.loads(line) for line in r.out.splitlines()]
        as_json = invoke([*args, "--format", "json", *s], capsys, monkeypatch).json()
        assert rows == as_json, args
        assert rows and (args[0] == "artifact" or len(rows) == len(api))


def test_export_to_stdout_round_trips(private_sweep, capsys, monkeypatch) -> None:
    store, ids = private_sweep
    s = ["--store", str(store)]
    api = localtrack.Store(store).metrics(runs=[ids["bert"]], keys=["val_accuracy"]).to_pylist()
    expected = [(p["run"], p["key"], p["step"], p["value"]) for p in api]
    base = ["export", "bert", "-m", "val_accuracy", "--to", "-", *s]
    r = invoke([*base, "--format", "csv"], capsys, monkeypatch)
    assert r.code == 0 and r.err.startswith("Exported 3 points of 1 run to stdout")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [(x["run"], x["key"], int(x["step"]), float(x["value"])) for x in rows] == expected
    assert invoke(base, capsys, monkeypatch).out == r.out  # csv is the default for stdout
    r = invoke([*base, "--format", "jsonl"], capsys, monkeypatch)
    rows = [json.loads(line) for line in r.out.splitlines()]
    assert [(x["run"], x["key"], x["step"], x["value"]) for x in rows] == expected
    assert {x["name"] for x in rows} == {"bert"}


def test_export_parquet_to_a_binary_stdout(private_sweep, capsysbinary, monkeypatch) -> None:
    store, ids = private_sweep
    monkeypatch.setenv("NO_COLOR", "1")
    capsysbinary.readouterr()
    code = main(["export", "bert", "--what", "runs", "--to", "-", "--format", "parquet", "--store", str(store)])
    out, err = capsysbinary.readouterr()
    assert code == 0 and b"Exported 1 run to stdout" in err
    table = pq.read_table(io.BytesIO(out))
    assert table.column("id").to_pylist() == [ids["bert"]]


def test_export_mistakes_are_one_line(private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    s = ["--store", str(store)]
    monkeypatch.setattr("localtrack.cli.cmd_export._is_terminal", lambda stream: True)
    r = invoke(["export", "bert", "--to", "-", "--format", "parquet", *s], capsys, monkeypatch)
    assert r.code == 2 and r.out == "" and "parquet is binary" in r.err and len(r.err.strip().splitlines()) == 1
    r = invoke(["export", "bert", "--to", str(tmp_path / "x.csv"), "--format", "parquet", *s], capsys, monkeypatch)
    assert r.code == 2 and "is for --to -" in r.err and not (tmp_path / "x.csv").exists()
    r = invoke(["export", "bert", "--to", "-", "--format", "text", *s], capsys, monkeypatch)
    assert r.code == 2 and "--format csv" in r.err


def test_export_json_report_matches_the_file(private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    target = tmp_path / "points.jsonl"
    r = invoke(["export", "bert", "roberta", "--to", str(target), "--format", "json", "--store", str(store)],
               capsys, monkeypatch)
    report = r.json()
    lines = target.read_text().splitlines()
    assert report == {"path": str(target), "format": "jsonl", "what": "metrics", "runs": 2, "rows": len(lines),
                      "bytes": target.stat().st_size}
    assert all(json.loads(line)["name"] in ("bert", "roberta") for line in lines)


def test_show_completion_prints_a_bash_script(capsys, monkeypatch) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    capsys.readouterr()
    code = main(["--show-completion", "bash"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "_localtrack_completion()" in out and "complete " in out and "_LOCALTRACK_COMPLETE" in out


def test_show_completion_prints_the_named_shell_s_script(capsys) -> None:
    capsys.readouterr()
    assert main(["--show-completion", "zsh"]) == 0
    assert capsys.readouterr().out.startswith("#compdef localtrack")


def _no_shell_among_ancestors(monkeypatch) -> None:
    """As for a job whose parent shell exited: shellingham finds no shell in the process tree."""
    import shellingham

    def fail(*args: object, **kwargs: object) -> None:
        raise shellingham.ShellDetectionFailure()

    monkeypatch.setattr(shellingham, "detect_shell", fail)


def test_show_completion_falls_back_to_SHELL_when_no_shell_is_detected(capsys, monkeypatch) -> None:
    _no_shell_among_ancestors(monkeypatch)
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    capsys.readouterr()
    assert main(["--show-completion"]) == 0
    assert "complete --command localtrack" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["tcsh"], []], ids=["unsupported", "nothing-detected"])
def test_show_completion_without_a_shell_it_knows_says_so_in_one_line(args, capsys, monkeypatch) -> None:
    _no_shell_among_ancestors(monkeypatch)
    monkeypatch.delenv("SHELL", raising=False)
    capsys.readouterr()
    assert main(["--show-completion", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "--show-completion" in err and "bash" in err and "Traceback" not in err


def test_gc_grace_zero_deletes_what_the_default_keeps(private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    s = ["--store", str(store)]
    run = localtrack.init(dir=store, name="big")
    blob = tmp_path / "big.bin"
    blob.write_bytes(os.urandom(4096))
    run.log_artifact(blob, name="big")
    run.finish()
    assert invoke(["rm", "big", "--purge", "--yes", *s], capsys, monkeypatch).code == 0
    listed = invoke(["gc", "-f", "json", *s], capsys, monkeypatch).json()
    young = [row for row in listed if row["status"] == "young, kept"]
    assert len(young) == 1 and young[0]["size"] == 4096
    path = Path(young[0]["path"])
    r = invoke(["gc", "--yes", *s], capsys, monkeypatch)
    assert r.code == 0 and path.exists()  # the default grace (an hour) keeps it
    r = invoke(["gc", "--yes", "--grace", "0", *s], capsys, monkeypatch)
    assert r.code == 0 and not path.exists() and r.err.startswith("deleted 1 file(s)")
    assert invoke(["verify", *s], capsys, monkeypatch).code == 0  # nothing a run needs was touched


@pytest.mark.parametrize(("text", "ok"), [("0", True), ("30m", True), ("2h", True), ("7d", True), ("90s", True),
                                          ("30", False), ("-1h", False), ("2 weeks", False), ("", False)])
def test_gc_grace_accepts_durations_only(text, ok, private_sweep, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    r = invoke(["gc", f"--grace={text}", "--store", str(store)], capsys, monkeypatch)
    assert (r.code == 0) is ok, r.err
    if not ok:
        assert r.code == 2 and "--grace" in r.err and "30m" in r.err and "Traceback" not in r.err


def test_exec_json_sends_the_commands_output_to_stderr(store_dir, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(git_project(tmp_path / "project"))
    r = invoke(["exec", "-f", "json", "--store", str(store_dir), "--", sys.executable, "-c", "print('from the child')"],
               capsys, monkeypatch)
    assert r.code == 0 and "from the child" in r.err
    done = r.json()
    assert (done["status"], done["exit_code"]) == ("finished", 0)
    assert localtrack.Store(store_dir).run(done["id"]).status == "finished"


def test_root_help_lists_completion_and_fits_when_piped(capsys, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(output, "_console", None)
    capsys.readouterr()
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--install-completion" in out and "--show-completion" in out
    assert max(len(line) for line in out.splitlines()) <= 100  # piped: not the "unlimited" table width
