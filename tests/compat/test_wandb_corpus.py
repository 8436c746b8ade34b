"""Real-shaped wandb scripts, run unchanged with ``import wandb`` resolving to localtrack,
must leave the store holding what wandb 0.31 recorded for the same script.

Each script in wandb_scripts/ runs as its own subprocess (how the process ends is part of
what is tested: most of these scripts never call finish()). A ``wandb.py`` shim on
PYTHONPATH replaces itself in ``sys.modules`` with localtrack, so ``import wandb`` and
``from wandb import ...`` both give localtrack. The expectations in wandb_expected/ were
recorded once under real wandb 0.31 offline (see record_wandb.py and README.md).

Compared as a user would compare two trackers' views of one run:
- runs: how many, in creation order (matched by name when the script names each run
  uniquely), the name when the script set one, and how each run ended (wandb's exit code
  0 -> ``finished``, non-zero -> ``failed``); the process exit code too.
- history: the same steps, and per step the same keys and values.
- config: the same keys (nested dicts flattened with ".") and values.
- summary: every key wandb's summary holds, with its value; ``_step`` is the last step.
Floats compare with a relative tolerance of 1e-9. Keys wandb adds for itself
(``_runtime``, ``_timestamp``, ``_wandb``) were dropped when recording.

Intended, documented differences (each applied in exactly one place below):
1. A history value of ``None``: wandb writes the key with a JSON null, which no chart or
   summary shows; localtrack skips None (issue 9). Null values are dropped before comparing.
2. A logged bool: wandb keeps JSON true/false; localtrack's metric columns are float64, so
   True is 1.0. A bool compares equal to the number Python equates it with.
3. localtrack's summary carries the last value of every metric key. wandb's summary drops
   that plain key when define_metric(summary="min"/"max"/...) replaces it with "key.max" and
   the like. An extra summary key in localtrack is accepted only if it is a history key and
   its value is that key's last logged value.
4. ``wandb.config = {...}`` at module level: wandb 0.31 rebinds the module attribute to a
   plain dict and records none of it (config stays {}); issue 9 requires localtrack to
   record it, "not silently dropped". INTENDED_EXTRA_CONFIG lists, per script, the keys
   localtrack must hold beyond wandb's config; they are asserted, not merely allowed.
5. A string in ``log()``: wandb keeps it in history and shows the latest in its summary;
   localtrack's metric columns are float64, so it keeps only the latest string, in the
   summary (with one warning). String history values are dropped before comparing (a row
   left with nothing is dropped too); the summary still compares them.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import localtrack

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "wandb_scripts"
EXPECTED = HERE / "wandb_expected"
SCRIPT_NAMES = sorted(p.stem for p in SCRIPTS.glob("*.py"))
REL_TOL = 1e-9
SHIM = "import sys\nimport localtrack\n\nsys.modules[__name__] = localtrack\n"
INTENDED_EXTRA_CONFIG = {  # difference 4
    "module_config_assignment": {"learning_rate": 0.001, "epochs": 100, "batch_size": 128},
}


def script_argv(script: Path) -> list[str]:
    """Arguments from a ``# corpus-argv: ...`` header line (same rule as record_wandb.py)."""
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith("# corpus-argv:"):
            return line.split(":", 1)[1].split()
    return []


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            flat.update(flatten(item, name + "."))
        else:
            flat[name] = item
    return flat


def same_value(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):  # difference 2
        return isinstance(actual, (bool, int, float)) and isinstance(expected, (bool, int, float)) \
            and float(expected) == float(actual)
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        return math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=0.0)
    if isinstance(expected, list) and isinstance(actual, (list, tuple)):
        return len(expected) == len(actual) and all(map(same_value, expected, actual))
    return type(expected) is type(actual) and expected == actual


def diff_mapping(what: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    problems = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        problems.append(f"{what}: missing {', '.join(f'{k}={expected[k]!r}' for k in missing)}")
    if extra:
        problems.append(f"{what}: unexpected {', '.join(f'{k}={actual[k]!r}' for k in extra)}")
    for key in sorted(set(expected) & set(actual)):
        if not same_value(expected[key], actual[key]):
            problems.append(f"{what}: {key} is {actual[key]!r}, wandb recorded {expected[key]!r}")
    return problems


def expected_history(run: dict[str, Any]) -> dict[int, dict[str, Any]]:
    rows = {}
    for row in run["history"]:
        values = {k: v for k, v in row.items() if k != "_step" and v is not None}  # difference 1
        numbers = {k: v for k, v in values.items() if not isinstance(v, str)}  # difference 5
        if numbers or not values:
            rows[row["_step"]] = numbers
    return rows


def localtrack_history(info: Any) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for point in info.metrics().to_pylist():
        rows.setdefault(int(point["step"]), {})[point["key"]] = point["value"]
    return rows


def diff_history(expected: dict[int, dict[str, Any]], actual: dict[int, dict[str, Any]]) -> list[str]:
    problems = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        problems.append(f"history: steps missing {_steps(missing)} (wandb has {_steps(sorted(expected))})")
    if extra:
        problems.append(f"history: steps wandb does not have {_steps(extra)}")
    shown = 0
    for step in sorted(set(expected) & set(actual)):
        row_problems = diff_mapping(f"history step {step}", expected[step], actual[step])
        problems.extend(row_problems[: max(0, 3 - shown)])
        shown += len(row_problems)
    if shown > 3:
        problems.append(f"history: ... {shown - 3} more differing values")
    return problems


def _steps(steps: list[int]) -> str:
    return ", ".join(map(str, steps[:8])) + (f" ... ({len(steps)} steps)" if len(steps) > 8 else "")


def diff_summary(expected: dict[str, Any], info: Any, history: dict[int, dict[str, Any]]) -> list[str]:
    actual = {key: stats.get("last") for key, stats in (info.summary or {}).items()}
    actual.update(flatten(info.summary_values or {}))
    expected = {k: v for k, v in expected.items() if v is not None}
    problems = []
    if "_step" in expected:
        expected = dict(expected)
        last_step = expected.pop("_step")
        if not history or max(history) != last_step:
            problems.append(f"summary: _step (last step) is {max(history) if history else None}, wandb {last_step}")
    last_logged: dict[str, Any] = {}
    for step in sorted(history):
        last_logged.update(history[step])
    for key in [k for k in actual if k not in expected]:  # difference 3
        if key in last_logged and same_value(last_logged[key], actual[key]):
            del actual[key]
    return problems + diff_mapping("summary", expected, actual)


def run_script(name: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    store = tmp_path / "proj" / ".localtrack"
    from localtrack.store.project import create_store

    create_store(store)
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "wandb.py").write_text(SHIM, encoding="utf-8")
    package_root = Path(localtrack.__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "LOCALTRACK_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(shim), str(package_root)]), LOCALTRACK_DIR=str(store),
               LOCALTRACK_FLUSH_SECONDS="0.2", PYTHONHASHSEED="0")
    script = SCRIPTS / f"{name}.py"
    done = subprocess.run([sys.executable, str(script), *script_argv(script)], cwd=store.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    return done, store


def match_runs(expected: list[dict[str, Any]], infos: list[Any]) -> list[tuple[dict[str, Any], Any]]:
    names = [run.get("name") for run in expected]
    if all(names) and len(set(names)) == len(names):
        by_name = {info.name: info for info in infos}
        return [(run, by_name.get(run["name"])) for run in expected]
    return list(zip(expected, infos, strict=False))  # a count mismatch is reported separately


@pytest.fixture(scope="module")
def script_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every selected script up front, two at a time (the machine has 2 cores; each
    script is still its own subprocess), so the module stays short; each test then reads its
    own script's store."""
    selected = [item.callspec.params["name"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_script_records_what_wandb_records"
                and hasattr(item, "callspec")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_script, name, tmp_path_factory.mktemp(name)) for name in selected}
    return {name: future.exception() or future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_records_what_wandb_records(name: str, script_runs: dict[str, Any]) -> None:
    expected = json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))
    outcome = script_runs[name]
    if isinstance(outcome, BaseException):
        raise outcome
    done, store_root = outcome
    problems = []
    if done.returncode != expected["process_exit_code"]:
        problems.append(f"process exit code {done.returncode}, under wandb {expected['process_exit_code']}")
    with localtrack.Store(store_root) as store:
        rows = sorted(store.runs().to_dicts(), key=lambda r: (str(r.get("created_at")), r["id"]))
        infos = [store.run(row["id"]) for row in rows]
        if len(infos) != len(expected["runs"]):
            problems.append(f"{len(infos)} run(s) in the store, wandb recorded {len(expected['runs'])}")
        named = [run["name"] for run in expected["runs"] if run.get("name")]
        if named:
            unexpected = sorted(info.name for info in infos if info.name not in named)
            if unexpected:
                problems.append(f"runs wandb does not have: {', '.join(unexpected)}")
        extra_config = INTENDED_EXTRA_CONFIG.get(name, {})
        for index, (want, info) in enumerate(match_runs(expected["runs"], infos)):
            label = f"run {index}" + (f" ({want['name']})" if want.get("name") else "")
            if info is None:
                problems.append(f"{label}: not in the store")
                continue
            found = [f"{label}: {p}" for p in compare_run(want, info, extra_config)]
            problems.extend(found)
    if problems:
        tail = done.stderr.strip().splitlines()[-6:]
        pytest.fail(f"{name}: localtrack records differently from wandb 0.31:\n  " + "\n  ".join(problems)
                    + ("\n  stderr: " + "\n          ".join(tail) if tail else ""), pytrace=False)


def compare_run(want: dict[str, Any], info: Any, extra_config: dict[str, Any]) -> list[str]:
    problems = []
    if want.get("name") and info.name != want["name"]:
        problems.append(f"name {info.name!r}, wandb {want['name']!r}")
    status = "finished" if want.get("exit_code", 0) == 0 else "failed"
    if info.status != status:
        problems.append(f"status {info.status!r}, expected {status!r} (wandb exit code {want.get('exit_code')})")
    history = localtrack_history(info)
    problems += diff_history(expected_history(want), history)
    want_config = {**flatten(want["config"]), **flatten(extra_config)}
    problems += diff_mapping("config", want_config, flatten(info.config or {}))
    problems += diff_summary(want["summary"], info, history)
    return problems


def test_the_shim_makes_wandb_localtrack(tmp_path: Path) -> None:
    """The harness itself: ``import wandb`` and ``from wandb import ...`` both give localtrack."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "wandb.py").write_text(SHIM, encoding="utf-8")
    package_root = Path(localtrack.__file__).resolve().parent.parent
    probe = ("import localtrack, wandb\nfrom wandb import init, log, finish\n"
             "assert wandb is localtrack and init is localtrack.init and log is localtrack.log\n"
             "print(wandb.__file__)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), str(package_root)]))
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == Path(localtrack.__file__).resolve()


def test_every_script_has_its_recorded_expectation() -> None:
    """A script added without recording it under wandb (record_wandb.py) is caught here."""
    recorded = sorted(p.stem for p in EXPECTED.glob("*.json"))
    assert recorded == SCRIPT_NAMES
    for name in SCRIPT_NAMES:
        assert json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))["recorded_with"].startswith(
            "wandb 0.31."
        )
