"""An outsider's reader (independent_reader.py, from docs/FORMAT.md alone) agrees with localtrack.

A store covering every feature is written through the public API and the CLI: several
writers of one run (subprocesses, resume='allow'), compaction, NaN/inf metrics and config,
nested config, tags and labels, summary values, artifacts, a failed, a killed and a crashed
(SIGKILLed) run, shell-driven runs (one still open), and a run with no points. Then both
readers read it and must agree on every run's status, params, summary and points.
"""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import localtrack

sys.path.insert(0, str(Path(__file__).parent))

import independent_reader as outsider

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NESTED_CONFIG = {
    "model": {"layers": 4, "act": "gelu", "dropout": {"p": 0.1, "where": ["attn", "mlp"]}},
    "lr": 3e-4, "clip": float("inf"), "warmup": float("nan"), "seed": None, "fp16": True,
}


def training_rows(run: outsider.RunData) -> int:
    """Points logged by the scripts (a system-metrics writer may add ``system/...`` samples)."""
    return sum(1 for key in run.points.column("key").to_pylist() if not key.startswith("system/"))


def training_writers(run: outsider.RunData) -> int:
    return sum(1 for w in run.manifest["writers"].values() if w.get("role") != "system")


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (and only a float NaN, not the string "NaN")."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["LOCALTRACK_FLUSH_SECONDS"] = "60"  # seals only where the script asks
    return env


def spawn(store: Path, run_id: str, rank: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "child_writer.py"), str(store), run_id, str(rank), *extra],
        env=child_env(), cwd=store.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def cli(runner: CliRunner, *args: str) -> str:
    from localtrack.cli.app import build_app

    result = runner.invoke(build_app(), list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def write_store(store: Path) -> dict[str, Any]:
    """Every feature, through the public API and the CLI; returns what the test logged."""
    logged: dict[str, Any] = {}
    ranks = [spawn(store, "ddp-run", rank, "ddp") for rank in (0, 1)]
    doomed = spawn(store, "crashed-run", 0, "hang")

    with localtrack.init(dir=store, project="conformance", name="long", config=NESTED_CONFIG,
                         tags=["baseline", "v2"]) as run:
        run.tags["owner"] = "alice"
        for seal in range(20):  # 20 seals: size-tiered compaction merges 8 of a class
            for i in range(25):
                step = seal * 25 + i
                run.log({"train/loss": 1 / (step + 1), "acc": step / 500,
                         "odd": math.nan if step % 7 == 0 else -math.inf if step % 11 == 0 else step})
            run.flush()
        run.log({"train/loss": 0.5}, step=600)  # one key alone at the largest step: its last
        run.summary["best_acc"] = 0.99
        run.summary["worst"] = -math.inf
        run.summary["note"] = {"nested": [1, 2.5, math.nan]}
        (store.parent / "weights.bin").write_bytes(b"\x00\x01weights" * 100)
        run.log_artifact(store.parent / "weights.bin", name="model", type="model", metadata={"loss": math.nan})
        folder = store.parent / "data"
        (folder / "sub").mkdir(parents=True)
        (folder / "a.txt").write_text("alpha\n")
        (folder / "sub" / "b.csv").write_text("x,y\n1,2\n")
        run.log_artifact(folder, name="datasets/train", type="data")
        logged["long"] = run.id

    with pytest.raises(RuntimeError), localtrack.init(dir=store, name="boom", config={"lr": 1}) as run:
        run.log({"loss": 2.0})
        logged["failed"] = run.id
        raise RuntimeError("boom")

    run = localtrack.init(dir=store, name="stopped", config={})
    run.log({"loss": 1.0}, step=3)
    run.finish(status="killed")
    logged["killed"] = run.id

    run = localtrack.init(dir=store, name="empty", config={"only": "params"}, tags={"k": "v"})
    run.finish()
    logged["empty"] = run.id

    runner = CliRunner()
    shell = cli(runner, "create", "--project", "shell", "--name", "sh", "--tags", "bash,nightly",
                "--params", '{"batch": 8, "opt": {"name": "adam"}}', "--store", str(store))
    cli(runner, "log-metrics", shell, "--metrics", '{"loss": 0.7, "acc": 0.1}', "--store", str(store))
    cli(runner, "log-metrics", shell, "--metrics", '{"loss": 0.5}', "--step", "10", "--store", str(store))
    cli(runner, "finish", shell, "--status", "failed", "--store", str(store))
    logged["shell"] = shell
    open_shell = cli(runner, "create", "--name", "sh-open", "--store", str(store))
    cli(runner, "log-metrics", open_shell, "--metrics", '{"loss": 1.5}', "--store", str(store))
    logged["shell_open"] = open_shell

    for proc in ranks:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert doomed.stdout is not None and doomed.stdout.readline().strip() == "ready"
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=60)
    return logged


def add_leftovers(store: Path, run_id: str) -> None:
    """What a reader may find mid-compaction or after a crash: an input a merge covers (holding
    points that must NOT be read), a temp file, and a name outside the pattern."""
    metrics = store / "runs" / run_id / "metrics"
    merged = [p for p in metrics.iterdir() if (m := outsider.SEGMENT_NAME.match(p.name)) and m[2] != m[3]]
    assert merged, "the long run should have compacted segments"
    match = outsider.SEGMENT_NAME.match(merged[0].name)
    assert match is not None
    covered = metrics / f"{match[1]}-{match[2]}-{match[2]}.parquet"
    bogus = pq.read_table(merged[0]).slice(0, 3)
    bogus = bogus.set_column(3, "value", pa.array([12345.0] * 3))
    pq.write_table(bogus, covered)
    (metrics / f".{match[1]}-000099-000099.parquet.abc123.tmp").write_bytes(b"PAR1 torn")
    (metrics / "notes.parquet").write_bytes(b"junk")
    staging = store / "runs" / f".{run_id}-2.0123456789ab.tmp"  # a run folder being created
    shutil.copytree(store / "runs" / run_id, staging)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    base = tmp_path_factory.mktemp("conformance")
    store = base / ".localtrack"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("LOCALTRACK_"):
                mp.delenv(name)
        mp.setenv("LOCALTRACK_FLUSH_SECONDS", "60")
        mp.chdir(base)  # outside any git work tree
        logged = write_store(store)
    add_leftovers(store, logged["long"])
    return store, logged


def localtrack_points(info: Any) -> list[tuple[Any, ...]]:
    table = info.metrics()
    return sorted(zip(table.column("key").to_pylist(), table.column("step").to_pylist(),
                      table.column("value").to_pylist(), strict=True), key=lambda r: (r[0], r[1], str(r[2])))


def outsider_points(run: outsider.RunData) -> list[tuple[Any, ...]]:
    table = run.points
    return sorted(zip(table.column("key").to_pylist(), table.column("step").to_pylist(),
                      table.column("value").to_pylist(), strict=True), key=lambda r: (r[0], r[1], str(r[2])))


def assert_agree(store: Path) -> dict[str, outsider.RunData]:
    """Both readers see the same runs with the same status, params, tags, summary and points."""
    ours = outsider.read_store(store)
    with localtrack.Store(store) as theirs:
        rows = {row["id"]: row for row in theirs.runs()}
        assert sorted(rows) == sorted(ours)
        for run_id, run in ours.items():
            info = theirs.run(run_id)
            legacy = run.manifest.get("value_encoding") != outsider.TAGGED_ENCODING
            assert rows[run_id]["status"] == info.status == run.status, run_id
            assert info.name == run.manifest["name"]
            assert same(outsider.decode_value(info.params, legacy), run.params), run_id
            assert info.tags == run.tags
            assert same(outsider.decode_value(info.summary_values, legacy), run.summary_values), run_id
            assert localtrack_points(info) == outsider_points(run) or same(
                localtrack_points(info), outsider_points(run)), run_id
            computed = run.computed_summary()
            assert sorted(info.summary) == sorted(computed), run_id
            for key, stats in computed.items():
                theirs_stats = {f: info.summary[key][f] for f in ("last", "min", "max", "count", "step")}
                assert same(theirs_stats, {f: stats[f] for f in theirs_stats}), (run_id, key)
                if run.status != "crashed":  # a crashed writer's summary may lag its last seal
                    assert same({f: run.summary[key][f] for f in theirs_stats}, theirs_stats), (run_id, key)
            assert [(a["name"], a["version"], a["hash"]) for a in run.artifacts] == [
                (a["name"], a["version"], a["hash"]) for a in info.artifacts], run_id
            assert run.damage == [], (run_id, run.damage)
    return ours


def test_reader_imports_nothing_of_localtrack() -> None:
    tree = ast.parse((HERE / "independent_reader.py").read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    allowed = {"json", "pyarrow", "xxhash", "__future__"} | set(sys.stdlib_module_names)
    assert modules <= allowed, modules - allowed
    assert "localtrack" not in modules


def test_outsider_agrees_with_localtrack_on_every_feature(generated: tuple[Path, dict[str, Any]]) -> None:
    store, logged = generated
    ours = assert_agree(store)
    by_name = {run.manifest["name"]: run for run in ours.values()}
    assert {key: ours[run_id].manifest["name"] for key, run_id in logged.items()} == {
        "long": "long", "failed": "boom", "killed": "stopped", "empty": "empty", "shell": "sh", "shell_open": "sh-open"}
    assert {name: run.status for name, run in by_name.items()} == {
        "long": "finished", "boom": "failed", "stopped": "killed", "empty": "finished",
        "sh": "failed", "sh-open": "running", "ddp-run": "finished", "crashed-run": "crashed",
    }
    long = by_name["long"]
    assert same(long.config, NESTED_CONFIG)
    assert long.params["model.dropout.p"] == 0.1 and math.isinf(long.params["clip"])
    assert long.labels == ["baseline", "v2"] and long.tags["owner"] == "alice"
    assert training_rows(long) == 20 * 25 * 3 + 1  # the leftover's bogus points are not read
    assert 12345.0 not in long.points.column("value").to_pylist()
    assert long.computed_summary()["train/loss"]["last"] == 0.5
    assert long.computed_summary()["train/loss"]["step"] == 600 and long.computed_summary()["acc"]["step"] == 499
    assert same(long.summary_values, {"best_acc": 0.99, "worst": -math.inf, "note": {"nested": [1, 2.5, math.nan]}})
    assert {a["name"]: a["kind"] for a in long.artifacts} == {
        "requirements.txt": "file", "model": "file", "datasets/train": "dir"}
    assert by_name["empty"].points.num_rows == 0 and by_name["empty"].labels == []
    ddp = by_name["ddp-run"]
    assert training_writers(ddp) == 2
    assert training_rows(ddp) == 2 * 10 * 5 * 2
    assert same(ddp.config, {"world_size": 2, "optim": {"lr": 0.1, "eps": math.inf}})
    assert ddp.labels == ["ddp"]
    crashed = by_name["crashed-run"]
    assert crashed.manifest["status"] == "running"  # as written; derived crashed
    assert training_rows(crashed) == 10 * 5 * 2  # every sealed point survives SIGKILL
    assert by_name["sh"].labels == ["bash", "nightly"]
    assert by_name["sh"].params == {"batch": 8, "opt.name": "adam"}
    assert sorted(outsider_points(by_name["sh"])) == [("acc", 0, 0.1), ("loss", 0, 0.7), ("loss", 10, 0.5)]
    assert all(w.get("external") for w in by_name["sh-open"].manifest["writers"].values())


def test_a_writer_on_another_host_is_judged_by_heartbeat(generated: tuple[Path, dict[str, Any]]) -> None:
    """The crash rules apply to the host name recorded, not to this machine's pid table."""
    store, logged = generated
    manifest = json.loads((store / "runs" / logged["long"] / "manifest.json").read_text())
    writer = dict(next(iter(manifest["writers"].values())))
    writer.update(status="running", host="elsewhere.invalid", pid=os.getpid())
    beat = outsider.parse_time(writer["heartbeat_at"])
    assert beat is not None
    assert outsider.writer_alive(writer, beat + 10)
    assert not outsider.writer_alive(writer, beat + 80)
    here = dict(writer, host=__import__("socket").gethostname())
    assert outsider.writer_alive(here, beat + 80)  # this process is alive, on this host
    assert not outsider.writer_alive(dict(here, pid_start=(outsider.pid_start_ticks(os.getpid()) or 0) + 1), beat)


def test_outsider_reads_the_bundled_example_store(tmp_path: Path) -> None:
    store = tmp_path / ".localtrack"
    shutil.copytree(REPO / ".localtrack.example", store)  # Store() writes its index beside the runs
    ours = assert_agree(store)
    assert len(ours) == 5 and {run.status for run in ours.values()} == {"finished"}
    assert all(run.points.num_rows > 0 for run in ours.values())


def test_outsider_decodes_both_config_encodings(generated: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Old manifests spell non-finite config floats as bare strings; value_encoding 2 tags them."""
    store, logged = generated
    copy = tmp_path / ".localtrack"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns("index", "tmp"))
    path = copy / "runs" / logged["empty"] / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["config"] = {"tagged": {"$float": "-Infinity"}, "text": "NaN", "plain": {"$float": "x"}}
    manifest["summary_values"] = {"v": {"$float": "NaN"}}
    manifest.pop("value_encoding", None)  # as written before the tagged encoding
    path.write_text(json.dumps(manifest))
    old = outsider.read_store(copy)[logged["empty"]]
    assert same(old.config, {"tagged": -math.inf, "text": math.nan, "plain": {"$float": "x"}})
    path.write_text(json.dumps({**manifest, "value_encoding": 2}))
    new = outsider.read_store(copy)[logged["empty"]]
    assert same(new.config, {"tagged": -math.inf, "text": "NaN", "plain": {"$float": "x"}})
    assert same(new.summary_values, {"v": math.nan})
    assert new.params == {"tagged": -math.inf, "text": "NaN", "plain": {"$float": "x"}}


def test_formats_own_pyarrow_snippet_runs_on_every_run(generated: tuple[Path, dict[str, Any]]) -> None:
    """The "Reading a store with pyarrow and json only" snippet, as printed, on every run."""
    text = (REPO / "docs" / "FORMAT.md").read_text()
    section = text[text.index("### Reading a store with pyarrow and json only"):]
    start = section.index("```python\n") + len("```python\n")
    snippet = section[start : section.index("\n```", start)]
    store, _ = generated
    ours = outsider.read_store(store)
    assert any(run.points.num_rows == 0 for run in ours.values())
    for run_id, run in ours.items():
        code = snippet.replace('".localtrack/runs/20261127-023346442-9qxuqn"', repr(str(store / "runs" / run_id)))
        assert code != snippet
        namespace: dict[str, Any] = {}
        exec(compile(code, "FORMAT.md snippet", "exec"), namespace)
        assert namespace["manifest"]["id"] == run_id
        assert same(sorted(namespace["points"].to_pylist(), key=str), sorted(run.points.to_pylist(), key=str))
