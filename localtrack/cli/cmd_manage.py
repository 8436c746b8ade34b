"""Editing and moving runs: tag, note, rename, rm (to the trash), restore."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from localtrack.cli.common import RUN_HELP, FormatOption, ReportFormatOption, StoreOption
from localtrack.cli.output import OutputFormat, ReportFormat


class TagAction(str, Enum):
    add = "add"
    rm = "rm"


def _tag_line(tags: dict[str, str]) -> str:
    from localtrack.cli.output import safe

    return ", ".join(safe(k) if v == "" else f"{safe(k)}={safe(v)}" for k, v in sorted(tags.items())) or "(no tags)"


def tag_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    action: Annotated[Optional[TagAction], typer.Argument(help="add or rm (omit to list the tags).")] = None,
    tags: Annotated[Optional[list[str]], typer.Argument(help="Labels, or key=value tags.", show_default=False)] = None,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Add or remove tags of a run (a label, or key=value); safe while the run is writing.

    Prints the run's tags afterwards; --format json prints {"run", "name", "tags": {key: value}} (a label's value is "").

    Example:

        localtrack tag @latest add best-so-far stage=prod
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_json, safe

    lt = open_reader(store)
    if action is None:
        record = lt.resolve(run)
        if tags:
            raise typer.BadParameter("say add or rm before the tags", param_hint="ACTION")
    elif not tags:
        lt.resolve(run)
        raise typer.BadParameter(f"give at least one tag to {action.value}", param_hint="TAGS")
    elif action == TagAction.add:
        record = lt.change_tags(run, add=tags)
    else:
        record = lt.change_tags(run, remove=tags)
    after = record.tags
    if fmt == ReportFormat.json:
        emit_json({"run": record.id, "name": record.name, "tags": after})
        return
    console().print(f"{safe(record.name)}: {_tag_line(after)}")


def note_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    text: Annotated[Optional[str], typer.Argument(help="The note (- reads stdin; omit to print the notes).")] = None,
    append: Annotated[bool, typer.Option("--append", "-a", help="Add to the notes instead of replacing them.")] = False,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Set (or append to) a run's notes; safe while the run is writing.

    Without TEXT prints the notes; --format json prints {"run", "name", "notes"} (the notes after any change).

    Example:

        localtrack note @latest "lr too high: loss diverges after epoch 3"
    """
    import sys

    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_json, safe_text

    lt = open_reader(store)
    if text is not None:
        record = lt.resolve(run)
        if text == "-":
            text = sys.stdin.read().rstrip("\n")
        record = lt.set_note(record, text, append=append)
        if fmt != ReportFormat.json:
            return
    else:
        record = lt.resolve(run)
    notes = record.notes
    if fmt == ReportFormat.json:
        emit_json({"run": record.id, "name": record.name, "notes": notes})
        return
    console().print(safe_text(notes or "(no notes)", lines=True))


def rename_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    name: Annotated[str, typer.Argument(help="The new name (the id does not change).")],
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Rename a run (its id and folder stay the same); safe while the run is writing.

    The "Renamed" line goes to stderr; --format json prints {"run", "old_name", "name"} on stdout.

    Example:

        localtrack rename brisk-river-42 bert-base-lr3e-4
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import report, safe

    lt = open_reader(store)
    record = lt.resolve(run)
    new_name = lt.rename(record, name).name
    report(fmt, {"run": record.id, "old_name": record.name, "name": new_name},
           f"Renamed {safe(record.id)}: {safe(record.name)} → {safe(new_name)}")


def rm_command(
    runs: Annotated[list[str], typer.Argument(help="Runs to remove (ids, prefixes, names).")],
    purge: Annotated[bool, typer.Option("--purge", help="Delete for good instead of moving to the trash.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Also remove runs that are still running.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --purge.")] = False,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Move runs to the trash (restore them with `localtrack restore`), or --purge them.

    A run in the trash keeps its files (and its artifacts stay referenced) until purged; after a purge, `localtrack gc --grace 0 --yes` reclaims their artifacts' space at once. One status line per run goes to stderr; --format json prints {"runs": [{"id", "name"}], "count", "purged": true|false} on stdout.

    Example:

        localtrack rm brisk-river-42 && localtrack restore brisk-river-42
    """
    import sys

    from localtrack.cli.common import open_reader
    from localtrack.cli.output import emit_json, safe, status

    lt = open_reader(store)
    found = [lt.resolve(ref, include_trash=purge) for ref in runs]  # purge also empties the trash
    targets = list(dict.fromkeys((r.id, r.name) for r in found))
    if purge and not yes:
        if not sys.stdin.isatty():
            raise typer.BadParameter("--purge deletes for good; add --yes to confirm", param_hint="--purge")
        names = ", ".join(safe(name) for _, name in targets)
        typer.confirm(f"Delete {len(targets)} run(s) for good: {names}?", abort=True)
    for run_id, name in targets:
        lt.remove(run_id, purge=purge, force=force)
        if purge:
            line = f"Deleted {safe(name)} ({safe(run_id)})"
        else:
            line = f"Moved {safe(name)} ({safe(run_id)}) to the trash; `localtrack restore {safe(run_id)}` brings it back"
        if fmt != ReportFormat.json:
            status(line)
    if fmt == ReportFormat.json:
        emit_json({"runs": [{"id": i, "name": n} for i, n in targets], "count": len(targets), "purged": purge})


def restore_command(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Trashed runs to restore (omit to list the trash).")] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Bring runs back from the trash; without RUN, list what is in the trash.

    Restoring prints one status line per run on stderr; --format json prints {"runs": [{"id", "name"}], "count"} on stdout (listing the trash, an array of the trashed runs).

    Example:

        localtrack restore brisk-river-42
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.humanize import relative_time
    from localtrack.cli.output import console, emit_json, emit_rows, safe, status

    lt = open_reader(store)
    if not runs:
        rows = [
            {"id": t.id, "name": t.name, "status": t.status, "project": t.project, "created_at": t.created_at,
             "trashed": relative_time(t.trashed_at) if fmt == OutputFormat.table else t.trashed_at}
            for t in lt.trash()
        ]
        if not rows and fmt == OutputFormat.table:
            console().print("The trash is empty.")
            return
        emit_rows(rows, fmt, columns=["id", "name", "status", "project", "trashed"] if fmt == OutputFormat.table else None)
        return
    targets = [lt.find_trashed(ref) for ref in runs]
    for trashed in targets:
        lt.restore(trashed.id)
        if fmt == OutputFormat.table:
            status(f"Restored {safe(trashed.name)} ({safe(trashed.id)})")
    restored = [{"id": t.id, "name": t.name} for t in targets]
    if fmt == OutputFormat.json:
        emit_json({"runs": restored, "count": len(restored)})
    elif fmt == OutputFormat.csv:
        emit_rows(restored, fmt)


def register(app: typer.Typer) -> None:
    app.command("tag")(tag_command)
    app.command("note")(note_command)
    app.command("rename")(rename_command)
    app.command("rm")(rm_command)
    app.command("restore")(restore_command)
