"""Editing runs after the fact (store/manage.py): rename, tags, notes, trash, restore, purge."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from localtrack.errors import (
    InvalidNameError,
    LocaltrackError,
    RunNotFoundError,
    RunStateError,
    StoreLinkError,
)
from localtrack.storage.layout import StoreLayout
from localtrack.storage.manifest import read_manifest
from localtrack.store import manage, shell_writer
from localtrack.store.reader import iter_run_ids, list_runs

REPO = Path(__file__).resolve().parents[2]


def finished_run(layout: StoreLayout, name: str = "r1", **kw: object) -> str:
    run_id = shell_writer.create_run(layout, project="p", name=name, tags=["base"], config={"lr": 0.1}, **kw)
    shell_writer.log_metrics(layout, run_id, {"loss": 1.0}, 0)
    shell_writer.finish_run(layout, run_id, "finished")
    return run_id


@pytest.fixture
def layout(store_dir: Path) -> StoreLayout:
    return StoreLayout(store_dir)


def test_rename_tag_note_round_trip(layout: StoreLayout) -> None:
    run_id = finished_run(layout)
    manage.rename_run(layout, run_id, "bert-base")
    tags = manage.change_tags(layout, run_id, add=["best", "stage=prod", "empty="])
    assert tags == {"base": "", "best": "", "empty": "", "stage": "prod"}
    assert manage.change_tags(layout, run_id, remove=["base", "stage"]) == {"best": "", "empty": ""}
    assert manage.set_notes(layout, run_id, "first") == "first"
    assert manage.set_notes(layout, run_id, "second", append=True) == "first\nsecond"
    manifest = read_manifest(layout.manifest_path(run_id))
    assert manifest["name"] == "bert-base"
    assert manifest["tags"] == {"best": "", "empty": ""}
    assert manifest["notes"] == "first\nsecond"
    assert manifest["config"] == {"lr": 0.1}  # nothing else touched
    assert manifest["status"] == "finished"


@pytest.mark.parametrize(
    "bad", ["", "   ", "a\x1b[31mred", "x\ny", "rtl\u202eevil", "zero\u200bwidth", "n" * 300, "\x00"]
)
def test_hostile_names_and_tags_are_refused(layout: StoreLayout, bad: str) -> None:
    run_id = finished_run(layout)
    before = layout.manifest_path(run_id).read_bytes()
    with pytest.raises(InvalidNameError):
        manage.rename_run(layout, run_id, bad)
    with pytest.raises(InvalidNameError):
        manage.change_tags(layout, run_id, add=[bad])
    assert layout.manifest_path(run_id).read_bytes() == before


def test_removing_a_missing_tag_names_the_existing_ones(layout: StoreLayout) -> None:
    run_id = finished_run(layout)
    with pytest.raises(LocaltrackError, match=r"no tag 'nope'.*base"):
        manage.change_tags(layout, run_id, remove=["nope"])


def test_trash_restore_purge(layout: StoreLayout) -> None:
    keep = finished_run(layout, "keep")
    gone = finished_run(layout, "gone")
    target = manage.trash_run(layout, gone)
    assert target == layout.trash_dir / gone
    assert (target / "manifest.json").is_file()  # artifacts stay referenced from here
    assert list(iter_run_ids(layout)) == [keep]
    [trashed] = manage.list_trash(layout)
    assert (trashed.id, trashed.name, trashed.status) == (gone, "gone", "finished")
    assert manage.resolve_trashed(layout, "gone").id == gone
    assert manage.resolve_trashed(layout, gone[-6:]).id == gone
    manage.restore_run(layout, gone)
    assert sorted(iter_run_ids(layout)) == sorted([keep, gone])
    assert manage.list_trash(layout) == []
    manage.trash_run(layout, gone)
    manage.purge_run(layout, gone)  # from the trash
    manage.purge_run(layout, keep)  # straight from runs/
    assert list(iter_run_ids(layout)) == []
    assert list(layout.trash_dir.iterdir()) == []
    with pytest.raises(RunNotFoundError):
        manage.purge_run(layout, gone)


def test_trash_refuses_a_running_run_unless_forced(layout: StoreLayout) -> None:
    run_id = shell_writer.create_run(layout, project="p", name="live")
    with pytest.raises(RunStateError, match="still running"):
        manage.trash_run(layout, run_id)
    with pytest.raises(RunStateError):
        manage.purge_run(layout, run_id)
    manage.trash_run(layout, run_id, force=True)
    assert list(iter_run_ids(layout)) == []


def test_restore_does_not_overwrite_and_trash_does_not_collide(layout: StoreLayout) -> None:
    run_id = finished_run(layout)
    manage.trash_run(layout, run_id)
    (layout.runs_dir / run_id).mkdir()
    with pytest.raises(LocaltrackError, match="already exists"):
        manage.restore_run(layout, run_id)
    (layout.runs_dir / run_id).rmdir()
    manage.restore_run(layout, run_id)
    (layout.trash_dir / run_id).mkdir()
    with pytest.raises(LocaltrackError, match="trash already holds"):
        manage.trash_run(layout, run_id)


def test_trash_skips_links_and_junk(layout: StoreLayout, tmp_path: Path) -> None:
    layout.trash_dir.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (layout.trash_dir / "linked").symlink_to(outside)
    (layout.trash_dir / ".purge-x-1234").mkdir()
    (layout.trash_dir / "..bad").mkdir()
    assert manage.list_trash(layout) == []
    with pytest.raises(StoreLinkError, match="linked is a symbolic link"):
        manage.restore_run(layout, "linked")
    assert outside.is_dir()


def test_edits_survive_a_live_python_writer(layout: StoreLayout, tmp_path: Path) -> None:
    """The writer rewrites the manifest every 50 ms; tags and a rename made meanwhile stay."""
    stop = tmp_path / "stop"
    code = textwrap.dedent(
        f"""
        import os, time
        import localtrack
        run = localtrack.init(dir={str(layout.root)!r}, name="live", config={{"lr": 1}})
        print(run.id, flush=True)
        step = 0
        while not os.path.exists({str(stop)!r}) and step < 100_000:
            run.log({{"loss": 1.0 / (step + 1)}}, step=step)
            step += 1
            if step % 20 == 0:
                time.sleep(0.005)
        run.finish()
        """
    )
    env = {"PYTHONPATH": str(REPO), "LOCALTRACK_FLUSH_SECONDS": "0.05", "PATH": "/usr/bin:/bin"}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    ) as child:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        for i in range(25):
            manage.change_tags(layout, run_id, add=[f"t{i}"])
            if i == 10:
                manage.rename_run(layout, run_id, "renamed-live")
                manage.set_notes(layout, run_id, "edited while running")
            time.sleep(0.02)
        stop.touch()
        assert child.wait(timeout=30) == 0
    manifest = read_manifest(layout.manifest_path(run_id))
    assert manifest["status"] == "finished"
    assert manifest["name"] == "renamed-live"
    assert manifest["notes"] == "edited while running"
    assert {f"t{i}" for i in range(25)} <= set(manifest["tags"])
    assert manifest["summary"]["loss"]["count"] > 0
    assert [r.id for r in list_runs(layout)] == [run_id]
    json.dumps(manifest)  # still plain JSON
