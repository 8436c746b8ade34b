"""The error contract (issue 11): what leaves the public API is a ``LocaltrackError``, and it is
still the built-in a caller may already catch; in the CLI, a user error is one ``error:``
line that never mentions ``--debug``, and only a bug is ``internal error`` with the hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import localtrack
import localtrack.mlflow
from localtrack.cli import output
from localtrack.cli.entry import main
from localtrack.errors import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidValueError,
    InvalidValueTypeError,
    LocaltrackError,
    UnsupportedFeatureError,
)


def _with_run(store_dir: Path, act: Callable[[Any], Any]) -> Callable[[], Any]:
    def call() -> Any:
        run = localtrack.init(project="errors", dir=store_dir)
        try:
            return act(run)
        finally:
            run.finish()
    return call


API_CASES: dict[str, tuple[Callable[[Path], Callable[[], Any]], type[LocaltrackError], type[Exception]]] = {
    "init-unknown-keyword": (lambda d: lambda: localtrack.init(dir=d, no_such_option=1), InvalidArgumentTypeError, TypeError),
    "init-bad-resume": (lambda d: lambda: localtrack.init(dir=d, resume="sometimes"), InvalidArgumentError, ValueError),
    "init-bad-mode": (lambda d: lambda: localtrack.init(dir=d, mode="cloud"), InvalidArgumentError, ValueError),
    "finish-bad-status": (lambda d: _with_run(d, lambda r: r.finish(status="exploded")), InvalidArgumentError, ValueError),
    "log-not-a-dict": (lambda d: _with_run(d, lambda r: r.log([1, 2])), InvalidValueTypeError, TypeError),
    "log-step-past-int64": (lambda d: _with_run(d, lambda r: r.log({"a": 1.0}, step=2**63)), InvalidValueError, ValueError),
    "runs-negative-limit": (lambda d: lambda: localtrack.Store(d).runs(limit=-1), InvalidArgumentError, ValueError),
    "metrics-of-an-object": (lambda d: lambda: localtrack.Store(d).metrics(runs=[object()]), InvalidArgumentTypeError, TypeError),
    "wandb-media": (lambda d: lambda: localtrack.Image("x.png"), UnsupportedFeatureError, NotImplementedError),
    "mlflow-log-image": (lambda d: lambda: localtrack.mlflow.log_image(None, "x.png"), UnsupportedFeatureError, NotImplementedError),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_public_api_raises_localtrack_errors_that_are_still_the_builtin(store_dir: Path, case: str) -> None:
    make, error, builtin = API_CASES[case]
    with pytest.raises(error) as caught:
        make(store_dir)()
    assert isinstance(caught.value, LocaltrackError) and isinstance(caught.value, builtin)
    assert str(caught.value)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    return code, capsys.readouterr().err


USER_ERRORS = {
    "unknown-run": ["show", "nosuchrun"],
    "bad-filter": ["ls", "--filter", "params.lr >"],
    "bad-finish-status": ["finish", "@latest", "--status", "exploded"],
    "bad-metric-value": ["log-metrics", "@latest", "--metrics", '{"loss": "low"}'],
    "negative-step": ["log-metrics", "@latest", "--metrics", '{"loss": 1}', "--step", "-1"],
    "float-step": ["log-metrics", "@latest", "--metrics", '{"loss": 1}', "--step", "1.5"],
    "huge-step": ["log-metrics", "@latest", "--metrics", '{"loss": 1}', "--step", str(2**64)],
}


@pytest.mark.parametrize("case", sorted(USER_ERRORS))
def test_cli_user_error_is_one_line_that_never_mentions_debug(store_dir: Path, case: str, capsys, monkeypatch) -> None:
    assert _cli(["create", "--project", "p", "--store", str(store_dir)], capsys, monkeypatch)[0] == 0
    code, err = _cli([*USER_ERRORS[case], "--store", str(store_dir)], capsys, monkeypatch)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code in (1, 2), err
    assert lines and lines[0].startswith("error"), err
    assert "--debug" not in err and "internal error" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("bug", [RuntimeError, KeyError, TypeError, ValueError, AttributeError])
def test_cli_unexpected_exception_is_one_internal_error_line_with_the_hint(store_dir: Path, bug: type[Exception],
                                                                           capsys, monkeypatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise bug("a bug")

    monkeypatch.setattr("localtrack.query.store.Store.runs", broken)
    code, err = _cli(["ls", "--filter", "status = 'finished'", "--store", str(store_dir)], capsys, monkeypatch)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith(f"internal error: {bug.__name__}") and "--debug" in lines[0], err
