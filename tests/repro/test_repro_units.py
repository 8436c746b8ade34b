"""Pure pieces of exec/reproduce: argv params, --set rewriting, tolerance and the verdict."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localtrack.errors import InvalidNameError, InvalidValueError
from localtrack.repro.argv_params import (
    params_from_argv,
    parse_assignment,
    parse_value,
    rewrite_argv,
)
from localtrack.repro.drift import environment_warnings
from localtrack.repro.session import argv_of
from localtrack.repro.verdict import (
    compare,
    final_values,
    overall,
    parse_tolerance,
    relative_difference,
)


@pytest.mark.parametrize(
    ("argv", "params"),
    [
        (["python", "t.py", "--lr", "0.1", "--epochs=5"], {"lr": 0.1, "epochs": 5}),
        (["t", "--flag", "--x", "1"], {"flag": True, "x": 1}),
        (["t", "--bias", "-0.5", "--n", "-3", "--v", "-inf"], {"bias": -0.5, "n": -3, "v": "-inf"}),
        (["t", "--opt", "adam", "--on", "true", "--off", "False", "--nil", "null"],
         {"opt": "adam", "on": True, "off": False, "nil": None}),
        (["t", "--layers", "[1, 2]", "--learning-rate", "3e-4"], {"layers": [1, 2], "learning_rate": 3e-4}),
        (["t", "--a", "1", "--", "--b", "2"], {"a": 1}),  # `--` ends the options
        (["t", "-v", "--x", "--y"], {"x": True, "y": True}),  # short options ignored
        (["t", "--lr", "1", "--lr", "2"], {"lr": 2}),  # later wins, as in argparse
        (["t", "--nan", "NaN", "--e", "=", "--eq=a=b"], {"nan": "NaN", "e": "=", "eq": "a=b"}),
        (["--lr", "1"], {}),  # argv[0] is the program, never a param
    ],
)
def test_params_from_argv(argv, params):
    assert params_from_argv(argv) == params


def test_hostile_option_names_are_skipped():
    assert params_from_argv(["t", "--\x1b[31m", "1", "--ok", "2", "--" + "k" * 300, "3"]) == {"ok": 2}


def test_rewrite_argv_replaces_both_spellings_and_reports_the_rest():
    rewrite = rewrite_argv(
        ["python", "t.py", "--lr", "0.1", "--batch-size=32", "--verbose"],
        {"lr": "0.5", "batch_size": "64", "verbose": "false", "seed": "1"},
    )
    assert rewrite.argv == ["python", "t.py", "--lr", "0.5", "--batch-size=64", "--verbose"]
    assert rewrite.replaced == {"lr": "0.1", "batch_size": "32"}
    assert rewrite.absent == ["seed"]
    assert rewrite.flags == ["verbose"]


def test_parse_assignment():
    assert parse_assignment("lr=0.1") == ("lr", "0.1")
    assert parse_assignment("expr=a=b") == ("expr", "a=b")
    assert parse_assignment("batch-size=2") == ("batch_size", "2")
    for bad in ("lr", "=1", ""):
        with pytest.raises(InvalidValueError):
            parse_assignment(bad)
    with pytest.raises(InvalidNameError):
        parse_assignment("a\x00b=1")


@given(st.text(max_size=30))
def test_parse_value_never_raises_and_keeps_non_json_text(text):
    value = parse_value(text)
    if isinstance(value, str):
        assert value == text or text.startswith('"')


@pytest.mark.parametrize(
    ("text", "value"), [("1%", 0.01), ("0.5 %", 0.005), ("0.01", 0.01), ("1e-6", 1e-6), ("0", 0.0), (0.1, 0.1)]
)
def test_parse_tolerance(text, value):
    assert parse_tolerance(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["-1", "-1%", "nan", "inf", "lots", "%", ""])
def test_parse_tolerance_refuses(text):
    with pytest.raises(InvalidValueError):
        parse_tolerance(text)


@pytest.mark.parametrize(
    ("a", "b", "rel"),
    [
        (0.0, 0.0, 0.0),
        (0.0, -0.0, 0.0),
        (1.0, 1.0, 0.0),
        (1.0, 2.0, 0.5),
        (-1.0, 1.0, 2.0),
        (0.0, 1e-300, 1.0),
        (math.nan, math.nan, 0.0),
        (math.inf, math.inf, 0.0),
        (math.inf, -math.inf, math.inf),
        (math.nan, 1.0, math.inf),
        (1.0, math.inf, math.inf),
        (None, 1.0, math.inf),
        (1e308, -1e308, 2.0),
    ],
)
def test_relative_difference(a, b, rel):
    assert relative_difference(a, b) == rel
    assert relative_difference(b, a) == rel


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False))
def test_relative_difference_is_symmetric_and_bounded(a, b):
    rel = relative_difference(a, b)
    assert rel == relative_difference(b, a)
    assert 0.0 <= rel <= 2.0


def _manifest(summary: dict, values: dict | None = None) -> dict:
    return {"summary": {k: {"last": v} for k, v in summary.items()}, "summary_values": values or {}}


def test_compare_missing_metric_differs_and_nonfinite_spellings_decode():
    rows = compare(
        _manifest({"loss": 1.0, "acc": "NaN", "gone": 2.0}),
        _manifest({"loss": 1.0000001, "acc": "NaN", "new": 3.0}),
        1e-6,
    )
    by = {r.metric: r for r in rows}
    assert [r.metric for r in rows] == ["acc", "gone", "loss", "new"]
    assert by["loss"].within and by["acc"].within
    assert not by["gone"].within and by["gone"].reproduced is None
    assert not by["new"].within and by["new"].original is None
    assert overall(rows) == "differ"
    assert overall([by["loss"], by["acc"]]) == "match"


def test_final_values_prefer_what_the_script_set():
    assert final_values(_manifest({"acc": 0.5}, {"acc": 0.9, "best": 1, "label": "x", "flag": True})) == {
        "acc": 0.9,
        "best": 1.0,
    }
    assert final_values({"summary": "junk", "summary_values": ["x"]}) == {}


def test_argv_of():
    assert argv_of({"argv": ["python", "t.py"], "via": "exec"}) == ["python", "t.py"]
    assert argv_of({"argv": ["t.py", "--lr", "1"], "executable": "/usr/bin/python3"}) == ["/usr/bin/python3", "t.py", "--lr", "1"]
    assert argv_of({"argv": ["-c"], "executable": "/usr/bin/python3"}) is None
    assert argv_of({"argv": []}) is None
    assert argv_of({"argv": [1, 2]}) is None


def test_environment_warnings():
    recorded = {"python": "3.10.1", "packages": {"numpy": "1.26.0", "torch": "2.1.0", "localtrack": "0.1.0"}}
    current = {"python": "3.11.7", "packages": {"numpy": "2.0.0", "torch": "2.1.0", "localtrack": "0.2.0"}}
    warnings = environment_warnings(recorded, current)
    assert any("python 3.10.1 was recorded, 3.11.7" in w for w in warnings)
    assert any("numpy 1.26.0 -> 2.0.0" in w for w in warnings)
    assert not any("torch" in w or "localtrack" in w for w in warnings)
    assert environment_warnings(recorded, recorded) == []
    full = environment_warnings(recorded, recorded, {"a": "1"}, {"a": "2", "b": "1"})
    assert any("a 1 -> 2" in w and "b (absent) -> 1" in w for w in full)
    assert environment_warnings(None, current)  # nothing recorded: say so


def test_map_token_points_into_the_worktree_or_back_to_untracked_data(tmp_path):
    from localtrack.repro.reproduce import _map_token

    repo, tree = tmp_path / "repo", tmp_path / "tree"
    for root in (repo, tree):
        (root / "src").mkdir(parents=True)
        (root / "src" / "train.py").write_text("")
    (repo / "data.csv").write_text("untracked data")
    args = (repo, tree, repo, tree)
    assert _map_token(str(repo / "src" / "train.py"), *args) == str(tree / "src" / "train.py")
    assert _map_token(f"--script={repo / 'src' / 'train.py'}", *args) == f"--script={tree / 'src' / 'train.py'}"
    assert _map_token("data.csv", *args) == str(repo / "data.csv")
    assert _map_token("--data=data.csv", *args) == f"--data={repo / 'data.csv'}"
    for unchanged in ("src/train.py", "0.1", "--lr", "-v", str(repo / "missing.py"), "/etc/passwd", ""):
        assert _map_token(unchanged, *args) == unchanged
