"""One wrapped command as one run: create it, record the world, run the command, end it.

The run is created here (not by the script), so even a command that never imports
localtrack gets its argv, working directory, git state, diff, output and exit status.
A script that does call ``localtrack.init()`` finds ``LOCALTRACK_RUN_ID`` in its
environment and joins this run as a second writer. This process holds its own writer for
the whole life of the command, so a reader sees the run as live while it runs and as
``crashed`` if we die; it ends that writer with the command's outcome, and the run's
status is the worst outcome of its writers.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from localtrack import capture, envvars, timefmt
from localtrack.api import overrides
from localtrack.api.run import Run
from localtrack.errors import LaunchError
from localtrack.ids import new_run_id, new_run_name, new_writer_id
from localtrack.names import validate_label
from localtrack.repro import artifact_io
from localtrack.repro.argv_params import params_from_argv
from localtrack.repro.runner import ChildResult, run_child
from localtrack.storage.layout import FORMAT_VERSION, StoreLayout
from localtrack.storage.manifest import read_manifest
from localtrack.store import world
from localtrack.store.config_values import clean_config_value, clean_tags
from localtrack.store.writer import RunWriter

EXIT_CANNOT_LAUNCH = 127  # what a shell returns for "command not found"

BeforeFinish = Callable[[dict[str, Any], ChildResult], "dict[str, Any] | None"]


@dataclass
class ExecPlan:
    """What to run and how the run describes itself."""

    argv: list[str]
    cwd: Path  # where the command runs
    name: str | None = None
    project: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    parent: str | None = None
    fixed: tuple[str, ...] = ()  # manifest fields the script's init() may not change ("name", "project")
    env: dict[str, str] = field(default_factory=dict)  # set in the child's environment
    unset_env: tuple[str, ...] = ()  # removed from the child's environment
    recorded_argv: list[str] | None = None  # what the manifest calls the command line (default: argv)
    recorded_cwd: str | None = None  # what the manifest calls the cwd (default: cwd)
    recorded_git_root: str | None = None  # what the manifest calls the repository root
    extra_manifest: dict[str, Any] = field(default_factory=dict)
    config_overrides: list[tuple[tuple[str, ...], Any]] = field(default_factory=list)  # (path, value) over argv params


def _default_project(layout: StoreLayout) -> str:
    env = os.environ.get(envvars.LOCALTRACK_PROJECT)
    if env:
        return validate_label(env, "project")
    cleaned = re.sub(r"[^\w.-]", "", layout.root.resolve().parent.name)
    return cleaned or "default"


def _flush_seconds() -> float:
    try:
        return float(os.environ.get(envvars.LOCALTRACK_FLUSH_SECONDS) or 2.0)
    except ValueError:
        return 2.0


def resolve_executable(argv0: str, cwd: Path) -> str | None:
    """The file ``argv0`` names, as the child will find it (PATH lookup, or relative to cwd)."""
    if os.sep in argv0 or (os.altsep and os.altsep in argv0):
        path = Path(argv0) if os.path.isabs(argv0) else cwd / argv0
        return str(path) if path.exists() else None
    return shutil.which(argv0)


class ExecSession:
    """Runs ``plan`` as the run it creates. Use :meth:`begin`, then :meth:`run`, then :meth:`end`."""

    def __init__(self, layout: StoreLayout, plan: ExecPlan) -> None:
        self.layout = layout
        self.plan = plan
        self.run_id = new_run_id()
        self.writer: RunWriter | None = None
        self.run: Run | None = None
        self.dirty: dict[str, Any] | None = None
        self.launch_error: str | None = None

    # ------------------------------------------------------------------ start
    def begin(self) -> str:
        """Create the run and record its command, git state and code (diff, untracked list)."""
        plan = self.plan
        facts = world.capture_sync(plan.cwd)
        git = facts.get("git")
        if git and git.get("root"):
            self.dirty = world.dirty_state(git["root"], self.layout.root)
            git["dirty"] = self.dirty.get("dirty")
            if plan.recorded_git_root:
                git["root"] = plan.recorded_git_root
        command = {
            "argv": list(plan.recorded_argv or plan.argv),
            "cwd": plan.recorded_cwd or str(plan.cwd),
            "executable": resolve_executable(plan.argv[0], plan.cwd),
            "via": "exec",
            "exit_code": None,
        }
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "id": self.run_id,
            "name": validate_label(plan.name, "run name") if plan.name else new_run_name(),
            "project": validate_label(plan.project, "project") if plan.project else _default_project(self.layout),
            "group": None,
            "parent": plan.parent,
            "status": "running",
            "created_at": timefmt.creation_iso(),
            "ended_at": None,
            "duration": None,
            "config": {},
            "tags": clean_tags(plan.tags),
            "notes": "",
            "summary": {},
            "summary_values": {},
            "artifacts": [],
            "error": None,
            "git": git,
            "command": command,
            # Left empty so a Python script's own init() records its interpreter and packages;
            # filled from this process at the end otherwise.
            "environment": None,
            **plan.extra_manifest,
        }
        self.writer = RunWriter(self.layout, self.run_id, new_writer_id(), flush_seconds=_flush_seconds())
        stored = self.writer.create(manifest, None)
        self.writer.start()
        self.run = Run(self.layout, self.writer, stored)
        if self.dirty is not None:
            artifact_io.log_code_state(self.layout, self.run_id, self.dirty)
        return self.run_id

    def child_env(self) -> dict[str, str]:
        """The command's environment: ours, plus the store and run it must join."""
        env = dict(os.environ)
        for name in self.plan.unset_env:
            env.pop(name, None)
        env[envvars.LOCALTRACK_DIR] = str(self.layout.root.resolve())
        env[envvars.LOCALTRACK_RUN_ID] = self.run_id
        env[envvars.LOCALTRACK_EXEC] = ",".join(self.plan.fixed) or "1"
        env.setdefault("PYTHONUNBUFFERED", "1")  # live output from Python children writing to a pipe
        env.update(self.plan.env)
        return env

    # ------------------------------------------------------------------ run
    def run_command(self, stdout: BinaryIO | None, stderr: BinaryIO | None) -> ChildResult:
        """Run the command, echoing its output to ``stdout``/``stderr`` and saving it as a log."""
        assert self.run is not None
        fd, log_name = tempfile.mkstemp(prefix="localtrack-exec-", suffix=".log")
        log_path = Path(log_name)
        try:
            with os.fdopen(fd, "wb") as log:
                try:
                    result = run_child(
                        self.plan.argv, cwd=self.plan.cwd, env=self.child_env(), log=log, stdout=stdout, stderr=stderr
                    )
                except LaunchError as exc:
                    self.launch_error = str(exc)
                    message = f"localtrack exec: {exc}\n".encode()
                    log.write(message)
                    if stderr is not None:
                        stderr.write(message)
                        stderr.flush()
                    result = ChildResult(EXIT_CANNOT_LAUNCH)
            artifact_io.log_output(self.run, log_path)
        finally:
            try:
                log_path.unlink()
            except OSError:
                pass
        return result

    # ------------------------------------------------------------------ end
    def current_manifest(self) -> dict[str, Any]:
        """The run's manifest as the command left it (its own writer has finished by now)."""
        assert self.writer is not None
        return read_manifest(self.writer.manifest_path)

    def end(self, result: ChildResult, before_finish: BeforeFinish | None = None) -> dict[str, Any]:
        """Record what the command left behind and end our writer with its outcome.

        ``before_finish(manifest, result)`` sees the manifest as the command left it and may
        return top-level fields to set, written together with our writer's end.
        """
        assert self.writer is not None and self.run is not None
        writer, run = self.writer, self.run
        manifest = self.current_manifest()
        if not manifest.get("config"):
            params = overrides.apply(params_from_argv(self.plan.recorded_argv or self.plan.argv), self.plan.config_overrides)
            if params:
                clean = clean_config_value("params", params)
                writer.patch_manifest(lambda m: m.__setitem__("config", {**clean, **(m.get("config") or {})}))
        exit_code = result.exit_code

        def record_exit(m: dict[str, Any]) -> None:
            if isinstance(m.get("command"), dict):
                m["command"]["exit_code"] = exit_code

        writer.patch_manifest(record_exit)
        if not manifest.get("environment"):
            environment = capture.capture_environment()

            def fill_environment(m: dict[str, Any]) -> None:
                if not m.get("environment"):
                    m["environment"] = environment

            writer.patch_manifest(fill_environment)
        if not artifact_io.has_packages(manifest):
            artifact_io.log_packages(self.layout, self.run_id)
        if result.interrupted:
            status = "killed"
        elif exit_code == 0:
            status = "finished"
        else:
            status = "failed"
        if status != "finished":
            message = self.launch_error or _outcome_message(result)
            error = {"type": "LaunchError" if self.launch_error else "ExitStatus", "message": message, "exit_code": exit_code}

            def fill_error(m: dict[str, Any]) -> None:
                if not m.get("error"):
                    m["error"] = error

            writer.patch_manifest(fill_error)
        if before_finish is not None:
            fields = before_finish(self.current_manifest(), result)
            if fields:
                writer.patch_manifest(lambda m: m.update(fields))
        run.status = status
        return writer.finish(status)

    def abort(self, message: str) -> None:
        """End the run as failed when something went wrong on our side before it could end normally."""
        if self.writer is None or self.run is None or self.run.status != "running":
            return
        error = {"type": "LocaltrackError", "message": message[:10_000], "exit_code": None}

        def fill_error(m: dict[str, Any]) -> None:
            if not m.get("error"):
                m["error"] = error

        self.writer.patch_manifest(fill_error)
        self.run.status = "failed"
        self.writer.finish("failed")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _outcome_message(result: ChildResult) -> str:
    if result.interrupted:
        return f"interrupted by {_signal_name(result.signals[0])}; the command exited with code {result.exit_code}"
    if result.returncode < 0:
        return f"the command was killed by {_signal_name(-result.returncode)}"
    return f"the command exited with code {result.exit_code}"


def exec_command(
    layout: StoreLayout,
    plan: ExecPlan,
    *,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    before_finish: BeforeFinish | None = None,
) -> tuple[ChildResult, dict[str, Any]]:
    """Run ``plan`` as a new run; returns how the command ended and the final manifest."""
    session = ExecSession(layout, plan)
    session.begin()
    try:
        result = session.run_command(
            sys.stdout.buffer if stdout is None else stdout, sys.stderr.buffer if stderr is None else stderr
        )
        manifest = session.end(result, before_finish)
    except BaseException as exc:
        session.abort(f"localtrack exec failed: {exc}")
        raise
    return result, manifest


def overrides_env(paths: list[tuple[tuple[str, ...], Any]]) -> dict[str, str]:
    """The environment that hands ``--set`` overrides (config path, value) to the script's ``init()``."""
    return {envvars.LOCALTRACK_RUN_OVERRIDES: overrides.encode(paths)} if paths else {}


def argv_of(command: Mapping[str, Any]) -> list[str] | None:
    """The full command line a recorded ``command`` ran, or None when it cannot be rebuilt.

    ``exec`` records the whole command line; a script that called ``init()`` itself records
    ``sys.argv`` (script first), so its interpreter is prepended.
    """
    argv = command.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return None
    if command.get("via") == "exec":
        return list(argv)
    executable = command.get("executable")
    if not isinstance(executable, str) or not executable:
        executable = "python"
    if argv[0] in ("-c", ""):
        return None  # `python -c ...`: the code itself was not recorded
    return [executable, *argv]
