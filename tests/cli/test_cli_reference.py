"""docs/CLI.md's generated section is every command's current ``--help`` (subcommands included)."""

from __future__ import annotations

from pathlib import Path

from localtrack.cli import reference

REPO = Path(__file__).resolve().parents[2]


def test_generated_reference_covers_every_command_path() -> None:
    text = (REPO / "docs" / "CLI.md").read_text(encoding="utf-8")
    for path in reference.command_paths():
        assert f"### `localtrack {' '.join(path)}`" in text, f"docs/CLI.md lacks `localtrack {' '.join(path)}`"
    assert any(len(path) == 2 for path in reference.command_paths()), "subcommands (artifact upload...) are covered"


def test_docs_cli_is_not_stale() -> None:
    text = (REPO / "docs" / "CLI.md").read_text(encoding="utf-8")
    assert text == reference.with_generated_section(text), (
        "docs/CLI.md is stale: run `python -m localtrack.cli.reference --write`"
    )
