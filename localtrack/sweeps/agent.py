"""The sweep agent: claim a trial, run it as a run grouped under the sweep, repeat.

A trial's run is created by the agent with ``group`` = the sweep id, the sampled params as
config and tags ``sweep``/``sweep_trial``. The training code joins it the way it joins a
``localtrack exec`` run: ``LOCALTRACK_RUN_ID`` names the run and ``LOCALTRACK_RUN_OVERRIDES``
carries the params, which win over the script's own config defaults, as wandb's agent does.
A command also gets them as ``--name=value`` arguments.

With ``early_terminate: {type: hyperband}`` a watcher thread judges the running trial at
its brackets (see ``hyperband.py`` and ``watcher.py``) and stops it: SIGTERM for a command,
:class:`TrialEarlyTerminated` at the next ``log()`` for a function. The run ends ``killed``
with the tag ``sweep_early_terminated`` = the bracket.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from localtrack import envvars
from localtrack.api import lifecycle, overrides
from localtrack.errors import LocaltrackError
from localtrack.ids import new_run_id
from localtrack.storage.layout import StoreLayout
from localtrack.sweeps import sampling
from localtrack.sweeps.hyperband import Hyperband, StopDecision, hyperband_of
from localtrack.sweeps.results import finished_history
from localtrack.sweeps.store import StoredSweep, new_token
from localtrack.sweeps.watcher import (
    EARLY_TERMINATED_TAG,
    POLL_SECONDS,
    TrialEarlyTerminated,
    TrialWatcher,
    raise_at_log,
    trial_process_group,
)

MAX_CONSECUTIVE_FAILURES = 5


@dataclass(frozen=True)
class Trial:
    key: str
    params: dict[str, Any]
    run_id: str


def nested(params: dict[str, Any]) -> dict[str, Any]:
    """Dotted names (from nested ``parameters``) as nested config dicts: ``{"opt": {"lr": ...}}``."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        node = out
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def override_paths(params: dict[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    """The params as ``LOCALTRACK_RUN_OVERRIDES`` entries: (config path, value), one leaf each."""
    return [(tuple(name.split(".")), value) for name, value in params.items()]


def _arg_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def command_for(sweep: StoredSweep, user_command: Sequence[str] | None, params: dict[str, Any]) -> list[str]:
    """The argv of one trial: the user's command (or the config's ``command``/``program``) plus the params."""
    args = [f"--{name}={_arg_text(value)}" for name, value in params.items()]
    if user_command:
        return [*user_command, *args]
    config = sweep.config
    if config.command:
        argv: list[str] = []
        for part in config.command:
            if part == "${env}":
                continue
            if part == "${interpreter}":
                argv.append(sys.executable)
            elif part == "${program}":
                if not config.program:
                    raise LocaltrackError("the sweep's command uses ${program} but the config has no program", part)
                argv.append(config.program)
            elif part == "${args}":
                argv.extend(args)
            elif part == "${args_no_hyphens}":
                argv.extend(a[2:] for a in args)
            elif part == "${args_json}":
                argv.append(json.dumps(params, sort_keys=True))
            else:
                argv.append(part)
        return argv
    if config.program:
        return [sys.executable, config.program, *args]
    raise LocaltrackError("no command to run: give one after --, or set program: in the sweep config", None)


class Agent:
    """Claims and runs the trials of one sweep. ``shard=(k, n)`` takes grid points with index % n == k."""

    def __init__(self, layout: StoreLayout, sweep_id: str, *, shard: tuple[int, int] = (0, 1),
                 out: Callable[[str], object] | None = None, poll_seconds: float = POLL_SECONDS) -> None:
        self.layout = layout
        self.sweep = StoredSweep(layout, sweep_id)
        self.schedule: Hyperband | None = hyperband_of(self.sweep.config.raw.get("early_terminate"))
        if not self.sweep.config.metric_name:
            self.schedule = None  # nothing to judge trials on
        self.poll_seconds = poll_seconds
        self.agent_id = new_token(10)
        self.shard = shard
        self._counter = 0
        self.out = out or (lambda line: None)

    def next_trial(self) -> Trial | None:
        """Claim the next trial, or None when the sweep has none left for this agent."""
        sweep, config = self.sweep, self.sweep.config
        claimed = sweep.claimed_keys()
        if config.run_cap is not None and len(claimed) >= config.run_cap:
            return None
        if config.method == "grid":
            shard, shards = self.shard
            for index, params in sampling.grid_points(config):
                key = f"grid-{index:06d}"
                if index % shards != shard or key in claimed:
                    continue
                run_id = new_run_id()
                if sweep.claim(key, params, run_id, self.agent_id):
                    return Trial(key, params, run_id)
            return None
        while True:  # random and bayes: keys are this agent's own, so no other agent can hold them
            key = f"{self.agent_id}-{self._counter:04d}"
            self._counter += 1
            if key in claimed:
                continue
            if config.method == "random":
                params = sampling.random_params(config, sweep.seed, key)
            else:
                params = sampling.bayes_params(config, sweep.seed, key, finished_history(sweep))
            run_id = new_run_id()
            if sweep.claim(key, params, run_id, self.agent_id):
                return Trial(key, params, run_id)

    def _tags(self, trial: Trial) -> dict[str, str]:
        return {"sweep": self.sweep.id, "sweep_trial": trial.key}

    def run_command(self, trial: Trial, user_command: Sequence[str] | None,
                    stdout: BinaryIO | None = None, stderr: BinaryIO | None = None) -> str:
        """Run one trial as a command (``localtrack exec`` style); returns the run's status."""
        from localtrack.repro.runner import ChildResult
        from localtrack.repro.session import ExecPlan, ExecSession, overrides_env

        argv = command_for(self.sweep, user_command, trial.params)
        plan = ExecPlan(
            argv=argv, cwd=Path.cwd(), project=self.sweep.project, tags=self._tags(trial),
            env=overrides_env(override_paths(trial.params)),
            extra_manifest={"group": self.sweep.id, "config": nested(trial.params)},
        )
        session = ExecSession(self.layout, plan)
        session.run_id = trial.run_id  # the id the claim file recorded
        session.begin()
        watcher = self._watcher(trial, self._terminate_command(trial))
        try:
            try:
                result = session.run_command(stdout or sys.stdout.buffer, stderr or sys.stderr.buffer)
            finally:
                if watcher is not None:
                    watcher.close()
            decision = watcher.decision if watcher is not None else None
            if decision is not None and (result.returncode == 0 or watcher is None or watcher.signalled is None):
                decision = None  # it ended on its own before the stop reached it
            if decision is not None and not result.signals:
                result = ChildResult(result.returncode, [signal.SIGTERM])  # we sent it: the run was killed
            manifest = session.end(result, self._tag_stop(decision))
        except BaseException as exc:
            session.abort(f"localtrack sweep agent failed: {exc}")
            raise
        self._report_watcher(trial, watcher)
        return str(manifest.get("status"))

    def _watcher(self, trial: Trial, on_stop: Callable[[StopDecision], int | None]) -> TrialWatcher | None:
        if self.schedule is None:
            return None
        watcher = TrialWatcher(self.sweep, self.schedule, trial.key, trial.run_id, self.agent_id, on_stop,
                               poll_seconds=self.poll_seconds)
        watcher.start()
        return watcher

    def _terminate_command(self, trial: Trial) -> Callable[[StopDecision], int | None]:
        """SIGTERM to the trial command's process group; returns the group (None: not found)."""

        def on_stop(decision: StopDecision) -> int | None:
            group = trial_process_group(self.sweep, trial.run_id)
            if group is None:
                self.out(f"trial {trial.key}: stopped at iteration {decision.bracket} but its process was not found")
                return None
            self.out(f"trial {trial.key}: {self.sweep.config.metric_name}={decision.value:g} at iteration "
                     f"{decision.bracket} is worse than {decision.threshold:g}; sending SIGTERM")
            try:
                os.killpg(group, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                return None
            return group

        return on_stop

    @staticmethod
    def _tag_stop(decision: StopDecision | None) -> Callable[[dict[str, Any], Any], dict[str, Any] | None] | None:
        if decision is None:
            return None

        def fields(manifest: dict[str, Any], result: Any) -> dict[str, Any]:
            tags = manifest.get("tags")
            if not isinstance(tags, dict):
                tags = {}
            return {"tags": {**tags, EARLY_TERMINATED_TAG: str(decision.bracket)}}

        return fields

    def _report_watcher(self, trial: Trial, watcher: TrialWatcher | None) -> None:
        if watcher is not None and watcher.problem:
            self.out(f"trial {trial.key}: {watcher.problem}")

    def run_function(self, trial: Trial, function: Callable[[], Any]) -> str:
        """Run one trial in this process: ``function()`` joins the trial's run with ``init()``, as under wandb."""
        import localtrack

        run = localtrack.init(id=trial.run_id, project=self.sweep.project, group=self.sweep.id,
                              config=nested(trial.params), tags=self._tags(trial), dir=self.layout.root,
                              reinit="create_new")
        # Not the current run: the function's own init() joins this run as a second writer,
        # with its config= defaults under the params (as under wandb's agent), instead of
        # being handed this one back. This run is finished below, whatever happens.
        lifecycle.unregister(run)
        names = (envvars.LOCALTRACK_DIR, envvars.LOCALTRACK_RUN_ID, envvars.LOCALTRACK_RUN_OVERRIDES)
        saved = {name: os.environ.get(name) for name in names}
        os.environ[envvars.LOCALTRACK_DIR] = str(self.layout.root)
        os.environ[envvars.LOCALTRACK_RUN_ID] = trial.run_id
        os.environ[envvars.LOCALTRACK_RUN_OVERRIDES] = overrides.encode(override_paths(trial.params))
        status = "finished"
        stop = threading.Event()
        watcher = self._watcher(trial, lambda decision: stop.set())
        try:
            with raise_at_log(trial.run_id, stop):
                function()
        except TrialEarlyTerminated:
            status = "killed"
            decision = watcher.decision if watcher is not None else None
            bracket = decision.bracket if decision is not None else "?"
            run.tags[EARLY_TERMINATED_TAG] = str(bracket)
            self.out(f"trial {trial.key}: stopped by early_terminate at iteration {bracket}")
        except KeyboardInterrupt:
            status = "killed"
            raise
        except Exception as exc:
            status = "failed"
            self.out(f"trial {trial.key} failed: {type(exc).__name__}: {exc}")
            run.finish("failed", error=exc)
        finally:
            if watcher is not None:
                watcher.close()
                self._report_watcher(trial, watcher)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            for other in list(lifecycle._active):  # the function's own init() of this run, if left open
                if other.id == trial.run_id and other is not run:
                    other.finish(status)
            run.finish(status)
        return status

    def run(self, count: int | None = None, *, function: Callable[[], Any] | None = None,
            command: Sequence[str] | None = None) -> int:
        """Run up to ``count`` trials (all that are left when None); returns how many ran."""
        done = failures = 0
        while count is None or done < count:
            trial = self.next_trial()
            if trial is None:
                self.out(f"sweep {self.sweep.id}: no trials left")
                break
            self.out(f"trial {trial.key}: run {trial.run_id} {json.dumps(trial.params, sort_keys=True, default=str)}")
            status = self.run_function(trial, function) if function is not None else self.run_command(trial, command)
            done += 1
            failures = failures + 1 if status == "failed" else 0
            if failures >= MAX_CONSECUTIVE_FAILURES:
                self.out(f"sweep {self.sweep.id}: {failures} trials failed in a row; stopping this agent")
                break
        return done
