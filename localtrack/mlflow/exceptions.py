"""``MlflowException``: what MLflow scripts catch, as a localtrack error (one clear line, no traceback)."""

from __future__ import annotations

from localtrack.errors import LocaltrackError


class MlflowException(LocaltrackError):
    """An MLflow-API call that cannot be honoured (bad argument, run not active, unsupported feature)."""

    def __init__(self, message: str, error_code: str = "INVALID_PARAMETER_VALUE") -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
