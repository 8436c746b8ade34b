"""MLflow's artifact calls (``log_artifact(s)``, ``log_dict``, ``log_text``, ``log_figure``) as localtrack artifacts.

An MLflow artifact path ``<artifact_path>/<file name>`` becomes the localtrack artifact name,
so ``log_artifact("out/model.pkl", "models")`` is the artifact ``models/model.pkl``. Logging
the same path again makes its next version (MLflow would overwrite it).
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from pathlib import Path
from typing import Any

from localtrack.errors import UnsupportedFeatureError
from localtrack.mlflow.exceptions import MlflowException
from localtrack.mlflow.fluent import active_local_run


def _name(artifact_path: str | None, file_name: str) -> str:
    prefix = (artifact_path or "").strip("/")
    return posixpath.join(prefix, file_name) if prefix else file_name


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None,
                 run_id: str | None = None) -> None:
    """Keep a file (or folder) with the active run under ``<artifact_path>/<its name>``."""
    path = Path(local_path)
    active_local_run(run_id).log_artifact(path, name=_name(artifact_path, path.name))


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None,
                  run_id: str | None = None) -> None:
    """Keep every entry of a folder, each under ``<artifact_path>/<entry name>``."""
    folder = Path(local_dir)
    if not folder.is_dir():
        raise MlflowException(f"log_artifacts: {folder} is not a folder")
    run = active_local_run(run_id)
    for entry in sorted(folder.iterdir()):
        run.log_artifact(entry, name=_name(artifact_path, entry.name))


def _log_bytes(data: bytes, artifact_file: str, run_id: str | None = None) -> None:
    directory, file_name = posixpath.split(artifact_file.strip("/"))
    if not file_name:
        raise MlflowException(f"artifact_file {artifact_file!r} must name a file")
    with tempfile.TemporaryDirectory(prefix="localtrack-mlflow-") as tmp:
        path = Path(tmp) / file_name
        path.write_bytes(data)
        log_artifact(path, directory or None, run_id)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Keep a string as a text file artifact."""
    _log_bytes(text.encode("utf-8"), artifact_file, run_id)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Keep a dict as JSON (``.json``) or YAML (``.yaml``/``.yml``, needs PyYAML), as MLflow does."""
    if artifact_file.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise MlflowException(f"log_dict to {artifact_file!r} needs PyYAML: pip install pyyaml "
                                  "(or use a .json file name)") from None
        text = yaml.safe_dump(dictionary, default_flow_style=False)
    else:
        text = json.dumps(dictionary, indent=2)
    log_text(text, artifact_file, run_id)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None,
               run_id: str | None = None) -> None:
    """Keep a matplotlib figure (saved with ``savefig``) or a plotly figure (HTML or image)."""
    module = type(figure).__module__ or ""
    with tempfile.TemporaryDirectory(prefix="localtrack-mlflow-") as tmp:
        path = Path(tmp) / posixpath.basename(artifact_file)
        if module.startswith("matplotlib"):
            figure.savefig(path, **(save_kwargs or {}))
        elif module.startswith("plotly"):
            if path.suffix == ".html":
                figure.write_html(path, **(save_kwargs or {}))
            else:
                figure.write_image(path, **(save_kwargs or {}))
        else:
            raise MlflowException(
                f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}"
            )
        log_artifact(path, posixpath.dirname(artifact_file.strip("/")) or None, run_id)


def log_image(*_args: Any, **_kwargs: Any) -> None:
    raise UnsupportedFeatureError("localtrack.mlflow.log_image is not supported; save the image and use log_artifact")


def log_input(*_args: Any, **_kwargs: Any) -> None:
    raise UnsupportedFeatureError(
        "localtrack.mlflow.log_input (MLflow datasets) is not supported; record the dataset's name and "
        "digest with log_param or set_tag"
    )
