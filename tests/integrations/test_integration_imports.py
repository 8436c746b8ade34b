"""Each integration imports its own framework and no other; the package itself imports none."""

from __future__ import annotations

import ast
from pathlib import Path

import localtrack

FRAMEWORKS = {
    "keras": {"keras"}, "lightning": {"lightning", "pytorch_lightning"}, "transformers": {"transformers"},
    "xgboost": {"xgboost"}, "lightgbm": {"lightgbm"}, "sklearn": {"sklearn"}, "optuna": {"optuna"},
}
ALL = set().union(*FRAMEWORKS.values()) | {"torch", "tensorflow", "jax"}
PACKAGE = Path(localtrack.__file__).parent / "integrations"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_each_module_imports_only_its_framework() -> None:
    for name, own in FRAMEWORKS.items():
        frameworks = _imported_roots(PACKAGE / f"{name}.py") & ALL
        assert frameworks <= own, (name, frameworks)  # lightgbm needs no import: its callback is a plain callable


def test_shared_modules_import_no_framework() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.stem not in FRAMEWORKS:
            assert not _imported_roots(path) & ALL, path.name
