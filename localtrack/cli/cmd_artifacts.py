"""Artifacts from the shell: log-artifacts, artifact upload|ls|download, and the store's verify and gc."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import RUN_HELP, FormatOption, ListFormatOption, StoreOption
from localtrack.cli.output import ListFormat, OutputFormat, size_text

ARTIFACT_HELP = """Files and folders kept with runs: upload, ls, download.

Example:

        localtrack artifact ls @latest
"""
PROGRESS_MIN_BYTES = 64 << 20  # show a progress bar only for transfers at least this big

TypeOption = Annotated[
    Optional[str], typer.Option("--type", "-t", help="Artifact type: model, data, plot, checkpoint, code, log, ...")
]




@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar (stderr, terminals only) fed by a bytes-done callback."""
    from localtrack.cli.output import err_console

    console = err_console()
    if total < PROGRESS_MIN_BYTES or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(binary_units=True),
        TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _source_size(path: Path) -> int:
    try:
        if path.is_file():
            return path.stat().st_size
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    except OSError:
        pass
    return 0


def _ref_row(ref: Any) -> dict[str, Any]:
    return {
        "run": ref.run_id, "name": ref.name, "version": ref.version, "type": ref.type, "kind": ref.kind,
        "size": ref.size, "files": ref.files, "hash": ref.hash, "new_bytes": ref.new_bytes,
    }


def log_artifacts_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    files: Annotated[list[Path], typer.Argument(help="Files or folders to store with the run.", show_default=False)],
    type: TypeOption = None,
    name: Annotated[
        Optional[str], typer.Option("--name", "-n", help="Artifact name (one path only; default: the file name).")
    ] = None,
    description: Annotated[Optional[str], typer.Option("--description", "-d", help="Free text.")] = None,
    follow_symlinks: Annotated[
        bool, typer.Option("--follow-symlinks", help="Accept a FILES argument that is a symbolic link.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Store files or folders with a run (content-addressed: identical bytes are kept once).

    Logging a name again makes its next version. A folder keeps its layout and file modes.

    Example:

        localtrack log-artifacts $RUN model.pt plots/ --type model
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_rows, print_warning

    if name is not None and len(files) > 1:
        raise typer.BadParameter("--name applies to one path; log the files one by one", param_hint="--name")
    lt = open_reader(store)
    target = lt.resolve(run)
    rows = []
    for path in files:
        with _progress(_source_size(path), f"hashing {path.name}") as progress:
            ref = lt.log_artifact(target, path, name=name, type=type, description=description,
                                  follow_symlinks=follow_symlinks, progress=progress)
        for skipped in ref.skipped:
            print_warning(f"{path}: skipped {skipped}")
        rows.append(_ref_row(ref))
    if fmt == OutputFormat.table:
        for row in rows:
            from localtrack.cli.output import safe

            console().print(
                f"{safe(row['name'])} v{row['version']}  {size_text(row['size'])}  {row['hash'][:12]}  "
                f"({size_text(row['new_bytes'])} new)"
            )
        return
    emit_rows(rows, fmt)


def _artifact_row(handle: Any, run_name: str) -> dict[str, Any]:
    return {
        "run": handle.run_id, "run_name": run_name, "name": handle.name, "version": handle.version,
        "type": handle.type, "kind": handle.kind, "size": handle.size, "files": handle.record.files,
        "hash": handle.hash, "description": handle.description, "created_at": handle.record.created_at,
    }


def ls_command(
    run: Annotated[Optional[str], typer.Argument(help=RUN_HELP + " Default: every run.")] = None,
    type: TypeOption = None,
    latest: Annotated[bool, typer.Option("--latest", help="Only the latest version of each name.")] = False,
    fmt: ListFormatOption = ListFormat.table,
    store: StoreOption = None,
) -> None:
    """List artifacts: name, version, type, size, hash and run.

    Example:

        localtrack artifact ls @latest --format json
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import emit_rows, print_warning

    listing = open_reader(store).artifacts(run, type=type, latest=latest)
    for problem in listing.problems:
        print_warning(problem)
    rows = [_artifact_row(h, listing.run_names.get(h.run_id, h.run_id)) for h in listing.handles]
    if fmt != ListFormat.table:
        emit_rows(rows, fmt)
        return
    from localtrack.ids import short_id

    table_rows = [
        {"name": r["name"], "version": r["version"], "type": r["type"], "size": size_text(r["size"]),
         "hash": r["hash"][:12], "run": short_id(r["run"]), "run name": r["run_name"]}
        for r in rows
    ]
    if not table_rows:
        from localtrack.cli.output import console

        console().print("no artifacts")
        return
    emit_rows(table_rows, fmt)


def download_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    name: Annotated[Optional[str], typer.Argument(help="Artifact name (default: every artifact of the run).")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Folder to restore into.")] = Path("."),
    type: TypeOption = None,
    version: Annotated[Optional[int], typer.Option("--version", "-v", min=1, help="Version (default: latest).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files that already exist.")] = False,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Restore artifacts of a run: a file as DIR/<file name>, a folder as DIR/<name>/ with its file modes.

    Latest version unless --version; without NAME every (matching) artifact of the run.

    Example:

        localtrack artifact download @latest model --output-dir restored/
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_rows, print_warning, safe, status

    if version is not None and name is None:
        raise typer.BadParameter("--version needs an artifact NAME", param_hint="--version")
    lt = open_reader(store)
    target = lt.resolve(run)
    run_id = target.id
    listing = lt.artifacts(target, name=name, type=type, version=version, latest=True, skip_damaged=False)
    for problem in listing.problems:
        print_warning(f"run {run_id}: {problem} (not downloaded)")
    handles = listing.handles
    if not handles:
        console().print("no artifacts to download")
        return
    total = sum(h.size for h in handles)
    with _progress(total, "downloading") as progress:
        written = lt.download_artifacts(handles, output_dir, overwrite=overwrite, progress=progress)
    rows = [
        {"run": run_id, "name": h.name, "version": h.version, "type": h.type, "size": h.size,
         "path": str(h.target_path(output_dir))}
        for h in handles
    ]
    if fmt != OutputFormat.table:
        emit_rows(rows, fmt)
        return
    status(f"restored {len(written)} file(s), {size_text(total)} into {safe(output_dir)}")
    for row in rows:
        status(f"  {safe(row['name'])} v{row['version']} -> {safe(row['path'])}")


def verify_command(
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Re-hash every object and segment, check every manifest; name what is damaged (exit 1 if any).

    Example:

        localtrack verify || echo "the store needs attention"
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_rows, print_error

    lt = open_reader(store)
    report = lt.verify()
    rows = [{"status": f.severity, "path": f.path, "problem": f.message} for f in report]
    if fmt != OutputFormat.table:
        emit_rows(rows, fmt, columns=["status", "path", "problem"])
    else:
        if rows:
            emit_rows(rows, fmt, columns=["status", "path", "problem"])
        console().print(
            f"checked {report.objects} objects ({size_text(report.object_bytes)}), {report.runs} runs, "
            f"{report.segments} segments, {report.artifacts} artifact records: "
            f"{len(report.damaged)} damaged, {len(report.warnings)} warnings"
        )
    if not report.ok:
        print_error(f"{len(report.damaged)} damaged item(s) in {lt.root}")
        raise typer.Exit(1)


def parse_grace_option(text: str) -> float:
    """``--grace``, by the library's rule (``0``, ``90s``, ``30m``, ``2h``, ``7d``), as a usage error when bad."""
    from localtrack.errors import InvalidValueError
    from localtrack.query.store_manage import parse_grace

    try:
        return parse_grace(text)
    except InvalidValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--grace") from None


def gc_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete them (default: only list).")] = False,
    grace: Annotated[
        Optional[str],
        typer.Option("--grace", show_default=False,
                     help="Keep objects and temp files younger than this: 0 (now), 30m, 2h, 7d. Default: 1h."),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """List objects no run references (trashed runs still count) and their size; --yes deletes them.

    Objects and temp files younger than the grace period (default an hour) are kept: they may belong to a write in flight. `--grace 0` (like git's --prune=now) deletes them at once, to reclaim a purged run's space now: use it only while no run is writing to the store. The "deleted" line goes to stderr.

    Example:

        localtrack gc && localtrack gc --yes
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_rows, print_warning, status
    from localtrack.errors import GcBlockedError

    grace_seconds = None if grace is None else parse_grace_option(grace)
    try:
        plan = open_reader(store).gc(grace=grace_seconds, dry_run=not yes)
    except GcBlockedError as exc:
        for problem in exc.problems:
            print_warning(problem)
        raise
    for problem in plan.problems:
        print_warning(problem)
    rows: list[dict[str, Any]] = [
        {"path": e.path, "hash": e.digest, "size": e.size, "age_hours": round(e.age_seconds / 3600, 2),
         "status": "deleted" if e.deleted and fmt != OutputFormat.table else e.status}
        for e in plan.entries
    ]
    if fmt != OutputFormat.table:
        emit_rows(rows, fmt, columns=["path", "hash", "size", "age_hours", "status"])
        return
    if rows:
        emit_rows(
            [{**r, "hash": (r["hash"] or "")[:12], "size": size_text(r["size"])} for r in rows], fmt,
            columns=["hash", "size", "age_hours", "status", "path"],
        )
    count = len(plan.reclaimable)
    if not plan.dry_run:
        status(f"deleted {len(plan.deleted)} file(s), {size_text(plan.deleted_bytes)}")
    elif count:
        console().print(f"{count} file(s), {size_text(plan.reclaimable_bytes)} can be deleted: run `localtrack gc --yes`")
    else:
        console().print(f"nothing to delete ({plan.referenced} objects referenced)")


def register(app: typer.Typer) -> None:
    app.command("log-artifacts")(log_artifacts_command)
    artifact = typer.Typer(help=ARTIFACT_HELP, no_args_is_help=True)
    artifact.command("upload")(log_artifacts_command)
    artifact.command("ls")(ls_command)
    artifact.command("download")(download_command)
    app.add_typer(artifact, name="artifact")
    app.command("verify")(verify_command)
    app.command("gc")(gc_command)
