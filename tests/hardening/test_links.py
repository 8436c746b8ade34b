"""Symbolic links planted in the store are never followed (RELIABILITY.md bad input 5 and 10).

A git commit can replace any store-owned folder or file with a link: ``runs/``, ``trash/``,
``tmp/``, ``index/``, ``objects/``, ``FORMAT``, a run folder, its ``metrics/`` or its
``.lock``, and ``index/.index.lock``. For each, every store operation (``init()``,
``create``, ``rm``, ``restore``, ``artifact.path()``, ``ls`` and its index, a resumed writer,
``log-metrics``, ``tag``) either leaves the link alone or refuses with one line naming it;
none reads, writes or creates anything at the link's target; and ``verify`` names the link.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hardening_support import cli

import localtrack
from localtrack.errors import LocaltrackError, StoreLinkError
from localtrack.storage.layout import StoreLayout
from localtrack.store import manage, shell_writer
from localtrack.store.artifacts import artifact_handle
from localtrack.store.project import open_store
from localtrack.store.verify import verify_store


def snapshot(folder: Path) -> dict[str, object]:
    """Names, kinds and bytes of everything under ``folder`` (what a followed link would change)."""
    found: dict[str, object] = {}
    if not folder.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for name in dirnames:
            found[str((here / name).relative_to(folder))] = "dir"
        for name in filenames:
            found[str((here / name).relative_to(folder))] = (here / name).read_bytes()
    return found


class Scene:
    """A populated store: a finished Python run with artifacts, a running shell run, a trashed run."""

    def __init__(self, store: Path, tmp: Path) -> None:
        self.store = store
        self.outside = tmp / "outside"
        self.outside.mkdir()
        data = tmp / "data"
        data.mkdir()
        (data / "a.txt").write_text("alpha")
        (data / "b.txt").write_text("beta")
        with localtrack.init(project="p", name="python-run", dir=store) as run:
            run.log({"loss": 1.0})
            run.log_artifact(data, name="data")
        self.python_run = run.id
        layout = StoreLayout(store)
        self.shell_run = shell_writer.create_run(layout, project="p", name="shell-run")
        shell_writer.log_metrics(layout, self.shell_run, {"loss": 0.5}, None)
        with localtrack.init(project="p", name="trashed", dir=store) as gone:
            gone.log({"loss": 2.0})
        self.trashed_run = gone.id
        manage.trash_run(layout, gone.id)
        assert cli(["ls", "--store", str(store)])[0] == 0  # builds index/ and its lock file

    def move_out(self, relative: str) -> Path:
        """Replace ``store/relative`` with a link to the same thing moved outside the store."""
        inside = self.store / relative
        target = self.outside / relative.replace("/", "_")
        if inside.exists():
            shutil.move(str(inside), str(target))
        else:
            target.mkdir()
        inside.symlink_to(target)
        return inside

    def dangle(self, relative: str) -> Path:
        """Replace ``store/relative`` with a link to a path outside that does not exist yet."""
        inside = self.store / relative
        if inside.exists():
            inside.unlink()
        inside.symlink_to(self.outside / f"created-through-{relative.replace('/', '_')}")
        return inside


# link case -> (plant it, operations that must refuse it)
ALL_OPS = {"init", "create", "rm", "restore", "path", "ls", "resume", "log-metrics", "tag"}
ORDER = ["init", "create", "restore", "path", "ls", "resume", "log-metrics", "tag", "rm"]  # rm moves the run: last
CASES: dict[str, tuple[Callable[[Scene], list[Path]], set[str]]] = {
    "runs/": (lambda s: [s.move_out("runs")], ALL_OPS),
    "trash/": (lambda s: [s.move_out("trash")], {"rm", "restore"}),
    "tmp/": (lambda s: [s.move_out("tmp")], {"path"}),  # ls works: DuckDB just does not spill there
    "index/": (lambda s: [s.move_out("index")], {"ls"}),
    "objects/": (lambda s: [s.move_out("objects")], {"path"}),
    "FORMAT": (lambda s: [s.move_out("FORMAT")], ALL_OPS),
    "runs/<id>": (lambda s: [s.move_out(f"runs/{s.python_run}")], {"rm", "path", "resume", "tag"}),
    "runs/<id>/metrics": (
        lambda s: [s.move_out(f"runs/{s.python_run}/metrics"), s.move_out(f"runs/{s.shell_run}/metrics")],
        {"resume", "log-metrics"},
    ),
    "runs/<id>/.lock": (
        lambda s: [s.dangle(f"runs/{s.python_run}/.lock"), s.dangle(f"runs/{s.shell_run}/.lock")],
        {"rm", "resume", "log-metrics", "tag"},
    ),
    "index/.index.lock": (lambda s: [s.dangle("index/.index.lock")], {"ls"}),
}


def run_op(op: str, s: Scene) -> tuple[int, str]:
    """One store operation; (0, "") on success, (1, message) for a LocaltrackError, CLI exit code else."""
    store = str(s.store)
    try:
        if op == "init":
            with localtrack.init(project="p", dir=s.store) as run:
                run.log({"x": 1.0})
            return 0, ""
        if op == "resume":
            with localtrack.init(id=s.python_run, resume="allow", dir=s.store) as run:
                run.log({"x": 2.0})
            return 0, ""
        if op == "path":
            artifact_handle(open_store(s.store), s.python_run, "data").path()
            return 0, ""
    except LocaltrackError as exc:
        return 1, str(exc)
    args = {
        "create": ["create", "--project", "p"],
        "rm": ["rm", s.python_run, "--force"],
        "restore": ["restore", s.trashed_run],
        "ls": ["ls"],
        "log-metrics": ["log-metrics", s.shell_run, "--metrics", '{"loss": 3}'],
        "tag": ["tag", s.python_run, "add", "x"],
    }[op]
    return cli([*args, "--store", store])


@pytest.mark.parametrize("case", list(CASES))
def test_a_planted_link_is_refused_never_followed(store_dir: Path, tmp_path: Path, case: str) -> None:
    scene = Scene(store_dir, tmp_path)
    plant, must_refuse = CASES[case]
    links = plant(scene)
    before = snapshot(scene.outside)
    for op in ORDER:
        code, text = run_op(op, scene)
        assert "Traceback" not in text, (op, text)
        assert snapshot(scene.outside) == before, f"{op} changed the link's target outside the store"
        if op in must_refuse:
            assert code == 1, f"{op} did not refuse the link at {links[0]}: {text}"
            lines = [line for line in text.strip().splitlines() if line.strip()]
            assert len(lines) == 1 and "symbolic link" in lines[0], (op, text)
            assert any(str(link) in lines[0] for link in links), (op, text)
        for link in links:
            moved_with_its_run = op == "rm" and code == 0 and not link.parent.exists()
            assert link.is_symlink() or moved_with_its_run, f"{op} replaced the link instead of refusing it"
    report = verify_store(StoreLayout(store_dir))
    damaged = {f.path for f in report.damaged}
    for link in links:
        if not link.is_symlink():  # moved to trash/ with its run by rm: verify names it there
            link = store_dir / "trash" / link.parent.name / link.name
        assert str(link) in damaged, f"verify did not name {link}: {report.findings}"
    code, text = cli(["verify", "--store", str(store_dir)])
    assert code == 1 and "Traceback" not in text


def test_links_are_typed_errors_for_callers(store_dir: Path, tmp_path: Path) -> None:
    scene = Scene(store_dir, tmp_path)
    link = scene.move_out("trash")
    with pytest.raises(StoreLinkError) as info:
        manage.restore_run(StoreLayout(store_dir), scene.trashed_run)
    assert str(link) in str(info.value)


def test_dangling_links_never_get_a_target(store_dir: Path, tmp_path: Path) -> None:
    """``mkdir``/``O_CREAT`` through a dangling link would create the attacker's path."""
    scene = Scene(store_dir, tmp_path)
    shutil.rmtree(store_dir / "tmp", ignore_errors=True)
    for name in ("tmp", "trash"):
        if (store_dir / name).exists():
            shutil.rmtree(store_dir / name)
        scene.dangle(name)
    for op in ("path", "rm"):
        code, text = run_op(op, scene)
        assert code == 1 and "symbolic link" in text, (op, text)
    assert run_op("ls", scene)[0] == 0  # reads go on; DuckDB spills nowhere through the link
    assert list(scene.outside.iterdir()) == []


def test_fresh_store_creation_refuses_a_linked_runs_folder(tmp_path: Path) -> None:
    """``init`` on a folder whose runs/ (from a clone) points elsewhere creates nothing there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    store = tmp_path / "proj" / ".localtrack"
    store.mkdir(parents=True)
    (store / "runs").symlink_to(outside)
    with pytest.raises(StoreLinkError, match="runs"):
        localtrack.init(project="p", dir=store)
    assert list(outside.iterdir()) == []


def test_a_store_root_that_is_a_link_is_the_users_choice_and_works(tmp_path: Path) -> None:
    """Only what is *below* the root is store-owned: LOCALTRACK_DIR may name a link to another disk."""
    real = tmp_path / "disk" / "store"
    real.mkdir(parents=True)
    root = tmp_path / "proj" / ".localtrack"
    root.parent.mkdir()
    root.symlink_to(real)
    with localtrack.init(project="p", dir=root) as run:
        run.log({"x": 1.0})
    manage.trash_run(open_store(root), run.id)
    manage.restore_run(open_store(root), run.id)
    code, text = cli(["ls", "--store", str(root)])
    assert code == 0, text
    assert verify_store(open_store(root)).ok
    assert (real / "runs" / run.id / "manifest.json").is_file()
