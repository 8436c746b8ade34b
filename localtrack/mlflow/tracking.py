"""``mlflow.tracking``: scripts write ``mlflow.tracking.MlflowClient()``."""

from __future__ import annotations

from localtrack.mlflow.client import MlflowClient

__all__ = ["MlflowClient"]
