"""``localtrack show RUN``, the command itself: everything about one run, rendered with rich.

Kept apart from its typer declarations (:mod:`localtrack.cli.cmd_show`) so that a plain
``show`` command line (:mod:`localtrack.cli.fast_argv`) runs without importing typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from localtrack.cli.output import OutputFormat

if TYPE_CHECKING:
    from rich.console import RenderableType

    from localtrack.query.results import RunInfo

SPARK_WIDTH = 16
MAX_PACKAGES = 12
MAX_PARAM_ROWS = 300  # rows of one section (params, metrics, artifacts) before "… N more"


def show(run: str, fmt: OutputFormat = OutputFormat.table, store: Path | None = None) -> None:
    """Print one run (``show_command``'s arguments)."""
    from localtrack.cli.output import console, emit_json
    from localtrack.query.store import Store

    if fmt == OutputFormat.csv:
        import typer

        raise typer.BadParameter("show prints one run; use --format json (or `ls --format csv`)", param_hint="--format")
    reader = Store(store)  # cli.common's open_reader, without importing typer
    if fmt == OutputFormat.json:
        info = reader.run(run)
        _warn(info)
        emit_json(info.to_dict())
        return
    from localtrack.query import fastshow

    found = fastshow.run_with_points(reader.layout, run, width=SPARK_WIDTH)  # no DuckDB, nothing store-wide
    if found is None:
        from localtrack.query.search import run_with_points

        found = run_with_points(reader, run)  # one check of the run folders; no pyarrow import
    info, points = found
    _warn(info)
    out = console()
    for block in render_run(info, points):
        out.print(block)



def _warn(info: RunInfo) -> None:
    from localtrack.cli.output import print_warning, safe

    for problem in info.problems:
        print_warning(safe(problem))


def _section(title: str) -> Any:
    from rich.text import Text

    return Text.assemble("\n", (title, "bold underline"))


def _grid() -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True, overflow="fold")
    grid.add_column(overflow="fold")
    return grid


def _nested(grid: Any, mapping: dict[str, Any], depth: int = 0) -> None:
    from localtrack.cli.humanize import param_text
    from localtrack.cli.output import safe, safe_text

    shown = sorted(mapping)[:MAX_PARAM_ROWS]
    for key in shown:
        value = mapping[key]
        label = safe_text("  " * depth + safe(key))
        if isinstance(value, dict) and value and depth < 8:
            grid.add_row(label, "")
            _nested(grid, value, depth + 1)
        else:
            grid.add_row(label, safe_text(param_text(value)))
    if len(mapping) > len(shown):
        grid.add_row(safe_text("  " * depth + "…", "dim"),
                     safe_text(f"{len(mapping) - len(shown)} more keys; see --format json", "dim"))


def _header(info: RunInfo) -> list[RenderableType]:
    from rich.text import Text

    from localtrack.cli.humanize import duration_text, relative_time, run_duration, status_text
    from localtrack.cli.output import safe

    title = Text.assemble((safe(info.name), "bold"), "  ", status_text(info.status), "  ", (safe(info.id), "dim"))
    grid = _grid()
    grid.add_row("project", safe(info.project or "-") + (f"  (group {safe(info.group)})" if info.group else ""))
    started = info.created_at.isoformat(timespec="seconds") if info.created_at else "-"
    grid.add_row("started", f"{started}  ({relative_time(info.created_at)})")
    if info.ended_at:
        grid.add_row("ended", info.ended_at.isoformat(timespec="seconds"))
    row = {"duration": info.duration, "status": info.status, "created_at": info.created_at}
    grid.add_row("duration", duration_text(run_duration(row)))
    if info.parent:
        grid.add_row("parent", safe(info.parent))
    if info.children:
        grid.add_row("children", ", ".join(safe(c) for c in info.children))
    if info.tags:
        tags = ", ".join(safe(k) if v == "" else f"{safe(k)}={safe(v)}" for k, v in sorted(info.tags.items()))
        grid.add_row("tags", tags)
    return [title, grid]


def _metrics_table(info: RunInfo, points: Any) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from localtrack.cli.humanize import number
    from localtrack.cli.output import safe
    from localtrack.query.compare import metric_direction
    from localtrack.viz.figure import sparkline

    series: dict[str, list[tuple[int, float]]] = {}
    data = points.select(["key", "step", "value"]).to_pydict()
    for key, step, value in zip(data["key"], data["step"], data["value"], strict=True):
        series.setdefault(key, []).append((step, float("nan") if value is None else value))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    for name, justify in (("metric", "left"), ("last", "right"), ("min", "right"), ("max", "right"),
                          ("points", "right"), ("step", "right"), ("trend", "left")):
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
    for key in sorted(info.summary)[:MAX_PARAM_ROWS]:
        stats = info.summary[key] if isinstance(info.summary[key], dict) else {}
        arrow = {"max": " ↑", "min": " ↓"}.get(metric_direction(key) or "", "")
        values = [v for _, v in sorted(series.get(key, []), key=lambda p: p[0])]
        table.add_row(
            safe(key) + arrow, number(stats.get("last")), number(stats.get("min")), number(stats.get("max")),
            number(stats.get("count")), number(stats.get("step")), Text(sparkline(values, SPARK_WIDTH), style="cyan"),
        )
    return table


def render_run(info: RunInfo, points: Any) -> list[RenderableType]:
    """The blocks ``show`` prints, top to bottom."""
    import shlex

    from rich.text import Text

    from localtrack.cli.humanize import param_text
    from localtrack.cli.output import safe, safe_text

    blocks: list[RenderableType] = _header(info)
    if info.error:
        error = info.error if isinstance(info.error, dict) else {"message": info.error}
        blocks += [_section("Error"), safe_text(f"{error.get('type', 'error')}: {error.get('message', '')}", "red", lines=True)]
    if info.alerts:
        blocks.append(_section("Alerts"))
        for alert in info.alerts[:50]:
            line = f"{alert.get('at', '')[:19]}  {alert.get('level', 'INFO')}  {alert['title']}: {alert.get('text', '')}"
            blocks.append(safe_text(line, "yellow" if alert.get("level") != "INFO" else ""))
        if len(info.alerts) > 50:
            blocks.append(safe_text(f"… {len(info.alerts) - 50} more; see --format json"))
    if info.notes:
        blocks += [_section("Notes"), safe_text(info.notes, lines=True)]
    blocks.append(_section("Params"))
    if info.config:
        grid = _grid()
        _nested(grid, info.config)
        blocks.append(grid)
    else:
        blocks.append(Text("(none logged)", style="dim"))
    blocks.append(_section("Metrics"))
    blocks.append(_metrics_table(info, points) if info.summary else Text("(none logged)", style="dim"))
    if info.summary_values:
        blocks.append(_section("Summary"))
        grid = _grid()
        for key in sorted(info.summary_values)[:MAX_PARAM_ROWS]:
            grid.add_row(safe_text(key), safe_text(param_text(info.summary_values[key])))
        blocks.append(grid)
    blocks.append(_section("Artifacts"))
    blocks.append(_artifacts(info.artifacts) if info.artifacts else Text("(none)", style="dim"))
    git = info.git if isinstance(info.git, dict) else {}
    blocks.append(_section("Git"))
    if git.get("commit"):
        grid = _grid()
        dirty = git.get("dirty")
        grid.add_row("commit", safe(git.get("commit")) + ("  (dirty: uncommitted changes)" if dirty else "  (clean)" if dirty is False else ""))
        for key in ("branch", "remote", "root"):
            if git.get(key):
                grid.add_row(key, safe(git.get(key)))
        blocks.append(grid)
    else:
        blocks.append(Text("(not recorded)", style="dim"))
    command = info.command if isinstance(info.command, dict) else {}
    env = info.environment if isinstance(info.environment, dict) else {}
    blocks.append(_section("Command & environment"))
    grid = _grid()
    argv = command.get("argv")
    if isinstance(argv, list):
        grid.add_row("command", safe(shlex.join(str(a) for a in argv)))
    for key, label in (("cwd", "cwd"), ("executable", "python exe")):
        if command.get(key):
            grid.add_row(label, safe(command.get(key)))
    for key in ("python", "platform", "host", "machine"):
        if env.get(key):
            grid.add_row(key, safe(env.get(key)))
    packages = env.get("packages")
    if isinstance(packages, dict) and packages:
        shown = ", ".join(f"{safe(k)}=={safe(v)}" for k, v in sorted(packages.items())[:MAX_PACKAGES])
        more = len(packages) - MAX_PACKAGES
        grid.add_row("packages", shown + (f" (+{more} more)" if more > 0 else ""))
    blocks.append(grid if grid.row_count else Text("(not recorded)", style="dim"))
    return blocks


def _artifacts(artifacts: list[Any]) -> Any:
    from rich import box
    from rich.table import Table

    from localtrack.cli.output import safe, size_text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    for name in ("name", "version", "type", "kind", "size", "files", "hash"):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for item in artifacts[:MAX_PARAM_ROWS]:
        if not isinstance(item, dict):
            table.add_row(safe(item), "", "", "", "", "", "")
            continue
        files = item.get("files")
        table.add_row(
            safe(item.get("name") or "?"), safe(item.get("version", "-")), safe(item.get("type") or "-"),
            safe(item.get("kind") or "-"), size_text(item.get("size")),
            safe(files) if isinstance(files, int) and not isinstance(files, bool) else "-",
            safe(str(item.get("hash") or "-")[:12]),
        )
    return table
