"""The package layers of docs/ARCHITECTURE.md hold: import-linter checks the contracts in
pyproject.toml's ``[tool.importlinter]`` against every import (function-level and
TYPE_CHECKING ones included), and every package of ``localtrack`` sits in a layer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter depends on tomli there
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _contracts() -> list[dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_import_contracts_are_kept() -> None:
    # This checkout's code, not whatever copy of localtrack is installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"import contracts broken (run `lint-imports` at the repo root):\n{report}"
    assert f"{len(_contracts())} kept, 0 broken" in report, report


def test_every_package_sits_in_a_layer() -> None:
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    named = {part.strip() for layer in layers["layers"] for part in layer.replace(":", "|").split("|")}
    package = REPO / "localtrack"
    present = {f"localtrack.{p.name}" for p in package.iterdir() if (p / "__init__.py").is_file()}
    present |= {f"localtrack.{p.stem}" for p in package.glob("*.py") if p.name != "__init__.py"}
    assert present - named == set(), "add these to the layers contract in pyproject.toml and docs/ARCHITECTURE.md"
    assert named - present == set(), "the layers contract names modules that no longer exist"


def test_each_contract_names_its_layer() -> None:
    layer_words = ("layer", "write path")
    for contract in _contracts():
        assert any(word in contract["name"].lower() for word in layer_words), contract["name"]
