"""Every error localtrack raises, under one root so callers can catch them all.

    LocaltrackError
    ├── InvalidNameError (ValueError)       a run/metric/param/tag/artifact name that is unsafe
    ├── InvalidValueError (ValueError)      a logged value that cannot be stored losslessly
    ├── InvalidValueTypeError (TypeError)   a logged value of a type we do not store
    ├── InvalidArgumentError (ValueError)   an argument value a function does not accept (finish(status=...))
    ├── InvalidArgumentTypeError (TypeError)  an argument of the wrong type, or an unknown keyword
    ├── UnsupportedFeatureError (NotImplementedError)  a wandb/mlflow feature localtrack does not offer
    ├── StoreNotFoundError                  no .localtrack/ here or above
    ├── StoreFormatError                    a store written by a newer (or unknown) format version
    ├── StoreReadOnlyError                  the store cannot be written (permissions, read-only fs)
    ├── StoreLinkError                      a store-owned folder or file is a symbolic link (never followed)
    ├── RunNotFoundError (LookupError)      no run matches a reference
    ├── AmbiguousRunError (LookupError)     several runs match a reference; carries the candidates
    ├── RunExistsError                      init(id=...) of an existing run without resume
    ├── RunStateError                       an operation the run's state forbids (log after finish)
    ├── CorruptRunError                     a run folder whose files cannot be read
    ├── FilterSyntaxError (ValueError)      a malformed search filter, order_by or SQL statement
    ├── GcBlockedError                      gc asked to delete while a manifest cannot be read; carries .problems
    ├── LaunchError                         `localtrack exec`: the command cannot be started
    ├── ReproduceError                      `localtrack reproduce`: the run cannot be re-run (commit gone, diff fails)
    ├── ArtifactError                       artifact logging / lookup problems
    │   └── ArtifactNotFoundError (LookupError)
    ├── SweepConfigError (ValueError)       a sweep configuration that cannot be run (localtrack.sweeps.config)
    ├── HyperbandConfigError (ValueError)   bad early-termination settings (localtrack.sweeps.hyperband)
    ├── SweepNotFoundError (LookupError)    no sweep of that id (localtrack.sweeps.store)
    └── MlflowException                     what localtrack.mlflow raises where MLflow would (localtrack.mlflow.exceptions)

The last four live beside the code that raises them; every one is a ``LocaltrackError``.

Each error carries the offending value in ``.value`` so callers and the CLI can name it.
"""

from __future__ import annotations

from typing import Any


class LocaltrackError(Exception):
    """Root of every localtrack error."""

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class InvalidNameError(LocaltrackError, ValueError):
    """A name that would be unsafe as a path or ambiguous as a key."""


class InvalidValueError(LocaltrackError, ValueError):
    """A value of an accepted type that cannot be stored losslessly."""


class InvalidValueTypeError(LocaltrackError, TypeError):
    """A value of a type localtrack does not store."""


class InvalidArgumentError(LocaltrackError, ValueError):
    """An argument value a public function does not accept; the message lists the accepted ones."""


class InvalidArgumentTypeError(LocaltrackError, TypeError):
    """An argument of a type a public function does not take (or a keyword it does not know)."""


class UnsupportedFeatureError(LocaltrackError, NotImplementedError):
    """A wandb- or MLflow-shaped call that localtrack does not offer; the message says what to use."""


class StoreNotFoundError(LocaltrackError):
    """No store was found where one was expected."""


class StoreFormatError(LocaltrackError):
    """The store's format version is not one this localtrack can read."""


class StoreReadOnlyError(LocaltrackError):
    """The store exists but cannot be written."""


class StoreLinkError(LocaltrackError):
    """A folder or file the store owns (runs/, a run folder, a lock file...) is a symbolic link."""


class RunNotFoundError(LocaltrackError, LookupError):
    """No run matches the reference."""


class AmbiguousRunError(LocaltrackError, LookupError):
    """Several runs match the reference."""

    def __init__(self, message: str, value: Any = None, candidates: list[str] | None = None) -> None:
        super().__init__(message, value)
        self.candidates = candidates or []


class RunExistsError(LocaltrackError):
    """A run with this id exists and resume was not allowed."""


class RunStateError(LocaltrackError):
    """The run's state does not allow this operation."""


class CorruptRunError(LocaltrackError):
    """A run folder holds a file that cannot be read."""


class FilterSyntaxError(LocaltrackError, ValueError):
    """A search filter (or order_by, or raw SQL) that cannot be accepted; the message shows where."""

    def __init__(self, message: str, value: Any = None, position: int | None = None) -> None:
        super().__init__(message, value)
        self.position = position


class GcBlockedError(LocaltrackError):
    """gc was asked to delete while some manifest or listing cannot be read (``.problems`` names them):
    an object only that run references would look unreferenced, so nothing is deleted."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message, problems)
        self.problems = list(problems)


class LaunchError(LocaltrackError):
    """A command given to ``localtrack exec`` could not be started (not found, not executable)."""


class ReproduceError(LocaltrackError):
    """A run could not be re-run: its commit is gone, its diff does not apply, no command was recorded."""


class ArtifactError(LocaltrackError):
    """An artifact could not be logged or read."""


class ArtifactNotFoundError(ArtifactError, LookupError):
    """No artifact matches the name/version asked for."""
