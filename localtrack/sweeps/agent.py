"""The sweep agent: claim a trial, run it as a run grouped under the sweep, repeat.

A trial's run is created by the agent with ``group`` = the sweep id, the sampled params as
config and tags ``sweep``/``sweep_trial``. The training code joins it the way it joins a
``localtrack exec`` run: ``LOCALTRACK_RUN_ID`` names the run and ``LOCALTRACK_RUN_OVERRIDES``
carries the params, which win over the script's own config defaults, as wandb's agent does.
A command also gets them as ``--name=value`` arguments.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from localtrack import envvars, lifecycle
from localtrack.errors import LocaltrackError
from localtrack.ids import new_run_id
from localtrack.storage.layout import StoreLayout
from localtrack.sweeps import sampling
from localtrack.sweeps.results import finished_history
from localtrack.sweeps.store import StoredSweep, new_token

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
                 out: Callable[[str], None] | None = None) -> None:
        self.layout = layout
        self.sweep = StoredSweep(layout, sweep_id)
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
        from localtrack.repro.session import ExecPlan, ExecSession, overrides_env

        argv = command_for(self.sweep, user_command, trial.params)
        plan = ExecPlan(
            argv=argv, cwd=Path.cwd(), project=self.sweep.project, tags=self._tags(trial),
            env=overrides_env([(tuple(name.split(".")), value) for name, value in trial.params.items()]),
            extra_manifest={"group": self.sweep.id, "config": nested(trial.params)},
        )
        session = ExecSession(self.layout, plan)
        session.run_id = trial.run_id  # the id the claim file recorded
        session.begin()
        try:
            result = session.run_command(stdout or sys.stdout.buffer, stderr or sys.stderr.buffer)
            manifest = session.end(result)
        except BaseException as exc:
            session.abort(f"localtrack sweep agent failed: {exc}")
            raise
        return str(manifest.get("status"))

    def run_function(self, trial: Trial, function: Callable[[], Any]) -> str:
        """Run one trial in this process: ``function()`` finds the trial's run current (or joins it with ``init()``)."""
        import localtrack

        run = localtrack.init(id=trial.run_id, project=self.sweep.project, group=self.sweep.id,
                              config=nested(trial.params), tags=self._tags(trial), dir=self.layout.root)
        names = (envvars.LOCALTRACK_DIR, envvars.LOCALTRACK_RUN_ID, envvars.LOCALTRACK_RUN_OVERRIDES)
        saved = {name: os.environ.get(name) for name in names}
        os.environ[envvars.LOCALTRACK_DIR] = str(self.layout.root)
        os.environ[envvars.LOCALTRACK_RUN_ID] = trial.run_id
        os.environ[envvars.LOCALTRACK_RUN_OVERRIDES] = json.dumps(nested(trial.params), sort_keys=True)
        status = "finished"
        try:
            function()
        except KeyboardInterrupt:
            status = "killed"
            raise
        except Exception as exc:
            status = "failed"
            self.out(f"trial {trial.key} failed: {type(exc).__name__}: {exc}")
            run.finish("failed", error=exc)
        finally:
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
