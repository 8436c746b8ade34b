"""Hostile names (RELIABILITY.md "Bad inputs" 1-3): refused, or stored as data and never as a path.

Every test checks the filesystem afterwards: nothing may appear outside the store, and inside
it only ``runs/<valid id>/`` folders.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.errors import InvalidNameError
from localtrack.names import validate_id
from localtrack.store.project import open_store
from localtrack.store.reader import list_runs, load_run, read_metrics

TRAVERSAL = [
    "..", "../x", "../../etc/passwd", "a/../../b", "./../x", "/abs", "//host/share", "a//b", "a/", "a/./b",
    "..\\x", "C:\\x", "C:x", "\\\\server\\share",
]
ENCODED = ["%2e%2e%2f", "%252e%252e%252f", "..%c0%af", "%00", "file:///etc/passwd", "http:///#/../../etc/", "..;/x"]
NFD_E = unicodedata.normalize("NFD", "é")
CONTROL = {
    "nul": "a\x00b",
    "newline": "a\nb",
    "carriage-return": "a\rb",
    "ansi": "\x1b[31mred\x1b[0m",
    "rtl-override": "abc\u202etxt.exe",
    "zero-width-joiner": "a\u200db",
    "zero-width-space": "a\u200bb",
    "bom": "\ufeffa",
    "lone-surrogate": "a\ud800b",
    "line-separator": "a\u2028b",
    "empty": "",
    "space": " ",
    "whitespace": " \t ",
}
LONG = {"256-ascii": "x" * 256, "300-bytes-utf8": "é" * 150, "huge": "y" * 100_000}


def _ids(values: list[str]) -> list[Any]:
    return [pytest.param(v, id=repr(v)) for v in values]


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _assert_only_store_changed(tmp_path: Path, before: set[Path], store_dir: Path) -> None:
    new = _snapshot(tmp_path) - before
    outside = sorted(str(p) for p in new if store_dir not in p.parents and p != store_dir)
    assert not outside, f"written outside the store: {outside}"
    for entry in (store_dir / "runs").iterdir():
        validate_id(entry.name)  # raises if a hostile name became a folder
        assert not entry.is_symlink()
    for name in ("abs", "etc", "x", "b", "server", "host"):
        assert not (tmp_path / name).exists()


# ----------------------------------------------------------------------------- run ids
ID_REFUSED = [*TRAVERSAL, *ENCODED, *CONTROL.values(), *LONG.values(), ".", ".hidden", "-dash", "a b", "é", NFD_E,
              "x" * 129, "a/b", "a\\b", "~", "$HOME", "a:b", "a*b", "a?b"]


@pytest.mark.parametrize("bad", _ids(ID_REFUSED))
def test_hostile_run_id_is_refused_and_names_the_value(tmp_path: Path, store_dir: Path, bad: str) -> None:
    before = _snapshot(tmp_path)
    with pytest.raises(InvalidNameError) as info:
        localtrack.init(project="h", dir=store_dir, id=bad)
    assert isinstance(info.value, ValueError)
    assert info.value.value == bad
    if bad and "\x00" not in bad and len(bad) < 60 and bad.isprintable():
        assert repr(bad)[1:-1] in str(info.value)
    with pytest.raises(InvalidNameError):
        localtrack.init(project="h", dir=store_dir, id=bad, resume="allow")
    _assert_only_store_changed(tmp_path, before, store_dir)
    assert list_runs(open_store(store_dir)) == []


@pytest.mark.parametrize("good", ["rank-0", "job_12.3", "A", "0" * 128, "20240101-000000000-abcdef"])
def test_safe_user_run_ids_are_accepted(store_dir: Path, good: str) -> None:
    with localtrack.init(project="h", dir=store_dir, id=good) as run:
        run.log({"x": 1.0})
    assert (store_dir / "runs" / good / "manifest.json").is_file()
    assert load_run(open_store(store_dir), good).status == "finished"


def test_hostile_parent_id_is_refused(store_dir: Path) -> None:
    with pytest.raises(InvalidNameError):
        localtrack.init(project="h", dir=store_dir, parent="../../etc")


# ----------------------------------------------------------------------------- display names
LABEL_REFUSED = {k: v for k, v in CONTROL.items()} | {"256+chars": "n" * 257, "huge": LONG["huge"]}
LABEL_STORED = [*TRAVERSAL, *ENCODED, "é" * 150, "名前", "emoji 🚀", "a  b", "<script>alert(1)</script>"]


@pytest.mark.parametrize("field", ["name", "project", "group"])
@pytest.mark.parametrize("bad", [pytest.param(v, id=k) for k, v in LABEL_REFUSED.items()])
def test_hostile_display_name_is_refused(tmp_path: Path, store_dir: Path, field: str, bad: str) -> None:
    before = _snapshot(tmp_path)
    with pytest.raises(InvalidNameError) as info:
        localtrack.init(dir=store_dir, **{field: bad})
    assert info.value.value == bad
    _assert_only_store_changed(tmp_path, before, store_dir)
    assert list_runs(open_store(store_dir)) == []


@pytest.mark.parametrize("field", ["name", "project", "group"])
@pytest.mark.parametrize("text", _ids(LABEL_STORED))
def test_path_like_display_names_are_stored_as_data(tmp_path: Path, store_dir: Path, field: str, text: str) -> None:
    before = _snapshot(tmp_path)
    with localtrack.init(dir=store_dir, **{field: text}) as run:
        run.log({"x": 1.0})
    _assert_only_store_changed(tmp_path, before, store_dir)
    (record,) = list_runs(open_store(store_dir))
    assert record.manifest[field] == unicodedata.normalize("NFC", text)


def test_run_name_twins_are_one_name(store_dir: Path) -> None:
    with localtrack.init(project="h", dir=store_dir, name="caf" + NFD_E) as run:
        assert run.name == "café"
    assert load_run(open_store(store_dir), run.id).manifest["name"] == "café"


def test_renaming_a_run_validates_too(store_dir: Path) -> None:
    run = localtrack.init(project="h", dir=store_dir)
    with pytest.raises(InvalidNameError):
        run.name = "\x1b[2Jgone"
    run.name = "../renamed"
    run.finish()
    assert load_run(open_store(store_dir), run.id).manifest["name"] == "../renamed"


# ----------------------------------------------------------------------------- keys
KEY_REFUSED = {k: v for k, v in CONTROL.items()} | {"251-chars": "k" * 251, "huge": LONG["huge"], " edge": " lead",
                                                    "edge ": "trail "}
KEY_STORED = [*TRAVERSAL, *ENCODED, "train/loss", "a/b/c/d", "名前/損失", "ünïcödé", "k" * 250, "x.y", "1"]


@pytest.mark.parametrize("bad", [pytest.param(v, id=k) for k, v in KEY_REFUSED.items()])
def test_hostile_metric_key_is_refused_whole(tmp_path: Path, store_dir: Path, bad: str) -> None:
    run = localtrack.init(project="h", dir=store_dir)
    before = _snapshot(tmp_path)
    with pytest.raises(InvalidNameError) as info:
        run.log({"ok": 1.0, bad: 2.0})
    assert info.value.value == bad
    run.log({"ok": 3.0})
    run.finish()
    _assert_only_store_changed(tmp_path, before, store_dir)
    rows = read_metrics(open_store(store_dir), run.id).to_pylist()
    assert [(r["key"], r["value"]) for r in rows] == [("ok", 3.0)]


@pytest.mark.parametrize("key", _ids(KEY_STORED))
def test_path_like_metric_keys_are_stored_as_data(tmp_path: Path, store_dir: Path, key: str) -> None:
    before = _snapshot(tmp_path)
    with localtrack.init(project="h", dir=store_dir, config={key: 1}, tags={key: "v"}) as run:
        run.log({key: 1.5})
        run.summary[key] = 2
    _assert_only_store_changed(tmp_path, before, store_dir)
    rows = read_metrics(open_store(store_dir), run.id).to_pylist()
    assert [(r["key"], r["value"]) for r in rows] == [(key, 1.5)]
    manifest = load_run(open_store(store_dir), run.id).manifest
    assert manifest["config"] == {key: 1}
    assert manifest["tags"] == {key: "v"}
    assert manifest["summary_values"] == {key: 2}
    assert list(manifest["summary"]) == [key]
    files = sorted(p.name for p in (run.dir / "metrics").iterdir())
    assert len(files) == 1 and files[0].endswith(".parquet")


@pytest.mark.parametrize("where", ["config", "tags-dict", "tags-list", "config-update", "tags-update", "summary"])
@pytest.mark.parametrize("bad", [pytest.param(v, id=k) for k, v in KEY_REFUSED.items() if k != "huge"])
def test_hostile_config_and_tag_keys_are_refused(store_dir: Path, where: str, bad: str) -> None:
    if where in ("config", "tags-dict", "tags-list"):
        kwargs: dict[str, Any] = {
            "config": {"outer": {bad: 1}} if where == "config" else None,
            "tags": {bad: "v"} if where == "tags-dict" else [bad] if where == "tags-list" else None,
        }
        with pytest.raises(InvalidNameError):
            localtrack.init(project="h", dir=store_dir, **kwargs)
        assert list_runs(open_store(store_dir)) == []
        return
    run = localtrack.init(project="h", dir=store_dir)
    with pytest.raises(InvalidNameError):
        if where == "config-update":
            run.config.update({bad: 1})
        elif where == "tags-update":
            run.tags[bad] = "v"
        else:
            run.summary[bad] = 1
    run.finish()
    manifest = load_run(open_store(store_dir), run.id).manifest
    assert manifest["config"] == {} and manifest["tags"] == {} and manifest["summary_values"] == {}


def test_hostile_tag_value_is_refused(store_dir: Path) -> None:
    with pytest.raises(InvalidNameError):
        localtrack.init(project="h", dir=store_dir, tags={"team": "\x1b[31mred"})
    with pytest.raises(InvalidNameError):
        localtrack.init(project="h", dir=store_dir, tags={"team": "a\u202eb"})


NFC_KEY = "caf\u00e9"
NFD_KEY = "cafe\u0301"


def test_nfc_nfd_twins_across_calls_are_one_key(store_dir: Path) -> None:
    with localtrack.init(project="h", dir=store_dir) as run:
        run.log({NFC_KEY: 1.0})
        run.log({NFD_KEY: 2.0})
    rows = read_metrics(open_store(store_dir), run.id).to_pylist()
    assert [(r["key"], r["step"], r["value"]) for r in rows] == [(NFC_KEY, 0, 1.0), (NFC_KEY, 1, 2.0)]


@pytest.mark.parametrize("where", ["log", "config", "config-update", "tags", "summary"])
def test_nfc_nfd_twins_in_one_mapping_are_refused_not_silently_merged(store_dir: Path, where: str) -> None:
    twins = {NFC_KEY: 1.0, NFD_KEY: 2.0}
    if where in ("config", "tags"):
        with pytest.raises(InvalidNameError) as info:
            localtrack.init(project="h", dir=store_dir, **{where: twins if where == "config" else {k: "v" for k in twins}})
        assert "caf" in str(info.value)
        return
    run = localtrack.init(project="h", dir=store_dir)
    with pytest.raises(InvalidNameError):
        if where == "log":
            run.log(twins)
        elif where == "config-update":
            run.config.update(twins)
        else:
            run.summary.update(twins)
    run.finish()
    assert read_metrics(open_store(store_dir), run.id).num_rows == 0


def test_store_given_as_hostile_dir_string_stays_where_named(tmp_path: Path) -> None:
    """``dir=`` is the user's own path (not untrusted); traversal in it is resolved, not smuggled."""
    target = tmp_path / "a" / ".." / "b"
    with localtrack.init(project="h", dir=target) as run:
        run.log({"x": 1.0})
    assert (tmp_path / "b" / "FORMAT").is_file()
    assert os.path.realpath(run.store_dir) == str(tmp_path / "b")
