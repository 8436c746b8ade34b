"""``show`` without DuckDB and without store-wide work (``query.fastshow``) on a store whose
segments pyarrow wrote (the bench generator's): it prints what the index's answer prints, looks
at no other run for an id reference, and trusts none of its cache files blindly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_scale  # noqa: E402 - benchmarks/ is not a package
from cli_views_support import invoke, one_clock, tamper  # noqa: E402

import localtrack  # noqa: E402
from localtrack.query import fastshow, scan_state  # noqa: E402
from localtrack.query.store import Store  # noqa: E402
from localtrack.storage import parquet_lite  # noqa: E402
from localtrack.store.project import open_store  # noqa: E402

RUNS = 8


def _age(store: Path) -> None:
    """Everything written an hour ago: past the index's racy window."""
    when = time.time() - 3600
    for path in [*store.glob("runs/*/manifest.json"), *store.glob("runs/*/metrics/*"), *store.glob("runs/*"),
                 store / "runs"]:
        os.utime(path, (when, when), follow_symlinks=False)


@pytest.fixture
def arrow_store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Generated runs (segments by pyarrow), a child and a grandchild of one of them, two runs
    sharing a name; names -> ids."""
    store = tmp_path / "proj" / ".localtrack"
    bench_scale.generate(store, RUNS, 4, 3, 40)
    ids = {json.loads((d / "manifest.json").read_bytes())["name"]: d.name for d in (store / "runs").iterdir()}
    parent = ids["run-3"]
    for name, of in (("child", parent), ("grandchild", None)):
        run = localtrack.init(dir=str(store), project="proj0", name=name, parent=of or ids["child"],
                              system_metrics=False)
        for step in range(30):
            run.log({"m0": step / 10, "other": float(step % 7)}, step=step)
        run.finish()
        ids[name] = run.id
    tamper(store, ids["run-5"], name="twin")
    tamper(store, ids["run-6"], name="twin")
    _age(store)
    return store, ids


def _warm(store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user's earlier commands leave: the index's scan state (with its run directory)."""
    assert invoke(["ls", "--store", str(store)], capsys, monkeypatch).code == 0
    with Store(store) as reader:
        reader.runs()


def _slow(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(fastshow, "run_with_points", lambda layout, ref, **kw: None)
        return invoke(args, capsys, monkeypatch)


def _same(store: Path, ref: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    with one_clock(monkeypatch):
        fast = invoke(["show", ref, "--store", str(store)], capsys, monkeypatch)
        slow = _slow(["show", ref, "--store", str(store)], capsys, monkeypatch)
    assert (fast.code, fast.out, fast.err) == (slow.code, slow.out, slow.err), ref  # type: ignore[attr-defined]
    return fast.out


REFS = ("run-3", "b00003", "20250101-000000004", "@latest", "child", "grandchild")


def test_show_flat_path_reads_pyarrow_segments_as_the_index_does(arrow_store, capsys, monkeypatch) -> None:
    store, ids = arrow_store
    segment = next((store / "runs" / ids["run-3"] / "metrics").glob("*.parquet"))
    with pytest.raises(ValueError):
        parquet_lite.decode(segment.read_bytes())  # pyarrow's file: the trend comes through DuckDB
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    for ref in (*REFS, ids["run-3"]):
        assert fastshow.run_with_points(layout, ref, width=16) is not None, ref
        out = _same(store, ref, capsys, monkeypatch)
        assert "trend" in out
    assert "children  " + ids["child"] in _same(store, "run-3", capsys, monkeypatch)
    trends = sorted(p.name for p in (store / "index" / fastshow.TRENDS_DIRNAME).iterdir())
    assert f"{ids['run-3']}.trend" in trends and f"{ids['child']}.trend" in trends
    # once cached, the points are not read again
    monkeypatch.setattr(fastshow, "_series", lambda layout, files: pytest.fail("points read again"))
    for ref in REFS:
        _same(store, ref, capsys, monkeypatch)


def test_show_flat_path_checks_no_other_run_for_an_id(arrow_store, capsys, monkeypatch) -> None:
    """An id, a short id or a prefix: one stat of the run, its children and nothing else;
    a name: every manifest checked first (any run may have been renamed to it)."""
    store, ids = arrow_store
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    fastshow.run_with_points(layout, "run-1")  # the directory derived, trends cached
    checks: list[str] = []
    original = scan_state.ScanState.changes

    def counted(self, runs_dir):  # type: ignore[no-untyped-def]
        checks.append("all")
        return original(self, runs_dir)

    monkeypatch.setattr(scan_state.ScanState, "changes", counted)
    for ref in ("b00001", ids["run-1"], "20250101-000000001", "@latest"):
        assert fastshow.run_with_points(layout, ref) is not None
    assert checks == []
    assert fastshow.run_with_points(layout, "run-1") is not None
    assert checks == ["all"]


def test_show_flat_path_sees_every_change_that_matters(arrow_store, capsys, monkeypatch) -> None:
    store, ids = arrow_store
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    for ref in REFS:
        _same(store, ref, capsys, monkeypatch)
    # the run itself is read now: a changed note shows at once, by id (no refresh needed);
    # while the manifest is younger than the racy window the index answers
    tamper(store, ids["run-3"], notes="changed just now")
    assert fastshow.run_with_points(layout, ids["run-3"]) is None
    assert "changed just now" in _same(store, ids["run-3"], capsys, monkeypatch)
    tamper(store, ids["run-3"], notes="changed a while ago")
    manifest = store / "runs" / ids["run-3"] / "manifest.json"
    os.utime(manifest, (time.time() - 60, time.time() - 60))
    assert fastshow.run_with_points(layout, ids["run-3"]) is not None
    assert "changed a while ago" in _same(store, ids["run-3"], capsys, monkeypatch)
    # a child changed: the index answers (it reads it again)
    tamper(store, ids["child"], notes="child changed")
    assert fastshow.run_with_points(layout, ids["run-3"]) is None
    _same(store, ids["run-3"], capsys, monkeypatch)
    # a name given to a second run since the index looked: ambiguous, as the index says
    _warm(store, capsys, monkeypatch)
    tamper(store, ids["run-2"], name="run-1")
    assert fastshow.run_with_points(layout, "run-1") is None
    _same(store, "run-1", capsys, monkeypatch)
    _same(store, "twin", capsys, monkeypatch)  # ambiguous from the start
    # a run folder created (runs/ changed): nothing store-wide is trusted until the index looks
    _warm(store, capsys, monkeypatch)
    newest = localtrack.init(dir=str(store), project="proj0", name="newest", system_metrics=False)
    newest.log({"m0": 1.0}, step=0)
    newest.finish()
    for ref in ("@latest", ids["run-3"], "b00003"):
        assert fastshow.run_with_points(layout, ref) is None
        _same(store, ref, capsys, monkeypatch)
    assert "newest" in _same(store, "@latest", capsys, monkeypatch)


def test_show_flat_path_refuses_what_the_index_refuses(arrow_store, capsys, monkeypatch) -> None:
    store, _ids = arrow_store
    _warm(store, capsys, monkeypatch)
    for ref in ("no-such-run", "2", "twin", "../../etc/passwd", "run-3\n", "b0000"):
        with one_clock(monkeypatch):
            fast = invoke(["show", ref, "--store", str(store)], capsys, monkeypatch)
            slow = _slow(["show", ref, "--store", str(store)], capsys, monkeypatch)
        assert fast.code == slow.code != 0, ref  # type: ignore[attr-defined]
        assert fast.err == slow.err and fast.err.strip(), ref  # type: ignore[attr-defined]


def _trend_file(store: Path, run_id: str) -> Path:
    return store / "index" / fastshow.TRENDS_DIRNAME / f"{run_id}.trend"


def test_show_flat_path_ignores_stale_and_hostile_trend_entries(arrow_store, capsys, monkeypatch,
                                                                 tmp_path: Path) -> None:
    store, ids = arrow_store
    run_id = ids["run-3"]
    _warm(store, capsys, monkeypatch)
    expected = _same(store, run_id, capsys, monkeypatch)
    path = _trend_file(store, run_id)
    good = json.loads(path.read_bytes())
    fake = {k: [0.5] * len(v) for k, v in good["trends"].items()}  # a flat line: visibly not the real trend
    other = ids["run-4"]
    variants = {
        "another run": {**good, "run": other, "trends": fake},
        "other segments": {**good, "segments": [[n, "0" * 32] for n, _ in good["segments"]], "trends": fake},
        "another width": {**good, "width": 12, "trends": fake},
        "too many cells": {**good, "trends": {k: [*v, 0.5] for k, v in good["trends"].items()}},
        "a key too few": {**good, "trends": dict(list(good["trends"].items())[1:])},
        "text cells": {**good, "trends": {k: ["0.5"] * len(v) for k, v in good["trends"].items()}},
        "another version": {**good, "version": 99, "trends": fake},
    }
    for label, entry in variants.items():
        path.write_text(json.dumps(entry))
        assert _same(store, run_id, capsys, monkeypatch) == expected, label
    for label, data in {"not json": b"{\"run\": ", "huge": b" " * (fastshow.MAX_TREND_BYTES + 1) + b"{}"}.items():
        path.write_bytes(data)
        assert _same(store, run_id, capsys, monkeypatch) == expected, label
    # a link in its place is never followed (nor written through)
    outside = tmp_path / "outside.trend"
    outside.write_text(json.dumps({**good, "trends": fake}))
    path.unlink()
    path.symlink_to(outside)
    assert _same(store, run_id, capsys, monkeypatch) == expected
    assert json.loads(outside.read_text())["trends"] == fake
    # nor is a linked index/show/ folder
    folder = path.parent
    for entry in folder.iterdir():
        entry.unlink()
    folder.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder.symlink_to(elsewhere, target_is_directory=True)
    assert _same(store, run_id, capsys, monkeypatch) == expected
    assert list(elsewhere.iterdir()) == []


def test_show_flat_path_does_not_trust_a_damaged_or_forged_directory(arrow_store, capsys, monkeypatch) -> None:
    store, ids = arrow_store
    _warm(store, capsys, monkeypatch)
    layout = open_store(store)
    assert fastshow.run_with_points(layout, "b00003") is not None
    path = store / "index" / fastshow.DIRECTORY_FILENAME
    good = path.read_bytes()
    head_end = good.index(b"\n", len(fastshow.DIRECTORY_MAGIC))
    flipped = bytearray(good)
    flipped[-3] ^= 0x01
    path.write_bytes(bytes(flipped))  # damage: its checksum fails; it is derived again
    assert fastshow.RunDirectory.load(layout.index_dir, scan_state.state_head(layout.index_dir)) is None
    _same(store, "b00003", capsys, monkeypatch)
    assert path.read_bytes() == good
    # a forged one (checksum made to fit) naming a path as a run: refused, derived again
    import xxhash

    head = json.loads(good[len(fastshow.DIRECTORY_MAGIC) : head_end])
    body = good[head_end + 1 :]
    ids_blob = body[: head["ids_bytes"]] + b"../../../etc\n"
    forged_body = ids_blob + body[head["ids_bytes"] :]
    head.update(ids_bytes=len(ids_blob), xxh3=xxhash.xxh3_64_intdigest(forged_body))
    path.write_bytes(fastshow.DIRECTORY_MAGIC + json.dumps(head).encode() + b"\n" + forged_body)
    assert fastshow.RunDirectory.load(layout.index_dir, scan_state.state_head(layout.index_dir)) is None
    for ref in ("../../../etc", "b00003"):
        with one_clock(monkeypatch):
            fast = invoke(["show", ref, "--store", str(store)], capsys, monkeypatch)
            slow = _slow(["show", ref, "--store", str(store)], capsys, monkeypatch)
        assert (fast.code, fast.out, fast.err) == (slow.code, slow.out, slow.err)  # type: ignore[attr-defined]
    # one derived for another scan state is not used
    head = json.loads(good[len(fastshow.DIRECTORY_MAGIC) : head_end])
    head["stamp"][0] = "another:state"
    path.write_bytes(fastshow.DIRECTORY_MAGIC + json.dumps(head).encode() + b"\n" + body)
    assert fastshow.RunDirectory.load(layout.index_dir, scan_state.state_head(layout.index_dir)) is None
    assert fastshow.run_with_points(layout, ids["run-3"]) is not None  # derived afresh from the state


def test_show_by_id_in_a_fresh_process_imports_neither_duckdb_nor_pyarrow(arrow_store, capsys, monkeypatch) -> None:
    store, _ids = arrow_store
    _warm(store, capsys, monkeypatch)
    code = ("import sys; from localtrack.cli.entry import main; code = main(['show', sys.argv[2], '--store', sys.argv[1]]);"
            "print('duckdb' in sys.modules, 'pyarrow' in sys.modules, file=sys.stderr); sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seen = []
    for _ in range(2):  # the first reads the points (DuckDB: it imports faster than pyarrow), the second not
        done = subprocess.run([sys.executable, "-c", code, str(store), "b00003"], capture_output=True, text=True,
                              env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "run-3" in done.stdout
        seen.append(done.stderr.strip().splitlines()[-1])
    assert seen == ["True False", "False False"]


def test_show_flat_path_leaves_a_segment_duckdb_cannot_read_to_the_index(arrow_store, capsys, monkeypatch) -> None:
    """A file that is what its writer recorded (size, digest, PAR1 at both ends: a forged
    record) yet no Parquet: the flat path does not guess, the index answers (as it does today)."""
    from localtrack.storage.segments import digest_bytes

    store, ids = arrow_store
    run_id = ids["run-2"]
    segment = next((store / "runs" / run_id / "metrics").glob("*.parquet"))
    junk = b"PAR1" + b"\x00" * 200 + b"PAR1"
    segment.write_bytes(junk)
    manifest = json.loads((store / "runs" / run_id / "manifest.json").read_bytes())
    (writer,) = manifest["writers"].values()
    record = writer["segments"][segment.name]
    record.update(bytes=len(junk), digest=digest_bytes(junk))
    tamper(store, run_id, writers=manifest["writers"])
    _age(store)
    with Store(store) as reader:
        reader.runs()  # (a table ls would fail on it while drawing sparklines: left alone here)
    layout = open_store(store)
    assert fastshow.run_with_points(layout, run_id) is None
    _same(store, run_id, capsys, monkeypatch)
