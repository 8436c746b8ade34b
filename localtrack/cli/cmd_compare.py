"""``localtrack compare RUN...``: runs side by side, differences first, a winner per metric."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from localtrack.cli.common import FormatOption, StoreOption
from localtrack.cli.output import OutputFormat

if TYPE_CHECKING:
    from rich.console import RenderableType

    from localtrack.query.compare import Comparison

MIN_RUN_COLUMN = 9
BEST_MARK = "★"
MAX_PARAM_ROWS = 200  # differing params shown side by side; the rest are counted (all in --format json)
MAX_PARAM_COLUMNS = 20  # the same, when runs are rows and params columns


def split_list(values: list[str] | None) -> list[str]:
    """Options given repeated and/or comma-separated, in order, without duplicates."""
    return list(dict.fromkeys(p.strip() for v in values or [] for p in v.split(",") if p.strip()))


def compare_command(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Runs: ids, prefixes, names, @latest or globs like 'bert-*'.")] = None,
    metrics: Annotated[
        Optional[list[str]], typer.Option("--metrics", "-m", help="Metrics to compare, comma-separated (default: all).")
    ] = None,
    maximize: Annotated[Optional[list[str]], typer.Option("--maximize", help="Metric(s) where higher is better.")] = None,
    minimize: Annotated[Optional[list[str]], typer.Option("--minimize", help="Metric(s) where lower is better.")] = None,
    filter: Annotated[Optional[str], typer.Option("--filter", help="Compare the runs matching this filter.")] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Compare runs side by side: differing params highlighted, the best run marked per metric.

    Direction comes from the metric name (loss, error, time, latency, perplexity: lower is
    better; acc, accuracy, f1, auc, precision, recall, score, reward: higher), unless set with
    --maximize / --minimize. Values are each run's last logged value.

    Example:

        localtrack compare roberta distil --metrics val_accuracy,inference_time
    """
    from localtrack.cli.common import open_reader, require_logged_metrics
    from localtrack.cli.output import console, emit_csv, emit_json
    from localtrack.cli.selection import select_runs

    reader = open_reader(store)
    rows = select_runs(reader, runs, filter, what="runs to compare")
    if len(rows) < 2:
        raise typer.BadParameter(f"compare needs at least two runs, got {len(rows)}", param_hint="RUNS")
    wanted = split_list(metrics)
    require_logged_metrics(rows, wanted, who="compared", option="--metrics")
    comparison = reader.compare(rows, wanted or None, maximize=split_list(maximize), minimize=split_list(minimize))
    out_rows = comparison_rows(comparison)
    if fmt == OutputFormat.json:
        emit_json(out_rows)
        return
    if fmt == OutputFormat.csv:
        emit_csv([flat_comparison_row(r) for r in out_rows])
        return
    for block in render_comparison(comparison, console().width):
        console().print(block)


def comparison_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One object per run: params, each metric's value/direction/best, the metrics it wins."""
    rows = []
    for run in comparison.runs:
        run_id = str(run["id"])
        rows.append(
            {
                "id": run_id,
                "name": run.get("name"),
                "status": run.get("status"),
                "params": dict(run.get("params") or {}),
                "metrics": {
                    v.key: {"value": v.values.get(run_id), "direction": v.direction, "best": run_id in v.best}
                    for v in comparison.metrics
                },
                "best_for": comparison.best_for(run_id),
            }
        )
    return rows


def flat_comparison_row(row: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {"id": row["id"], "name": row["name"], "status": row["status"]}
    flat.update({f"params.{k}": v for k, v in row["params"].items()})
    flat.update({f"metrics.{k}": m["value"] for k, m in row["metrics"].items()})
    flat["best_for"] = ";".join(row["best_for"])
    return flat


def winner_line(comparison: Comparison, labels: dict[str, str]) -> str:
    """``Winner: roberta (best val_accuracy), distil (best inference_time)``."""
    parts = [f"{labels[run_id]} (best {', '.join(keys)})" for run_id, keys in comparison.winners()]
    return "Winner: " + ", ".join(parts) if parts else ""


def render_comparison(comparison: Comparison, width: int) -> list[RenderableType]:
    """The comparison table (runs as columns, or as rows when too many to fit), then verdicts."""
    from localtrack.cli.humanize import param_text
    from localtrack.cli.output import PROSE_LIMIT, safe, safe_text
    from localtrack.viz.plotdata import run_labels

    labels = {k: safe(v) for k, v in run_labels(comparison.runs).items()}
    keys = [p.key for p in comparison.differing_params()[:MAX_PARAM_ROWS]] + [v.key + "  " for v in comparison.metrics] + ["status"]
    label_w = min(max(len(safe(k)) for k in keys), 30)
    n = max(1, len(comparison.runs))
    natural = max(len(v) for v in labels.values())
    per_run = (width - label_w) // n - 2
    value_w = max([len(_metric_text(x)) + 2 for v in comparison.metrics for x in v.values.values()] + [8])
    blocks: list[RenderableType] = []
    if per_run >= max(MIN_RUN_COLUMN, value_w):  # runs as columns; long names wrap in the header
        run_w = min(max(natural, value_w), per_run)
        blocks.append(_side_by_side(comparison, labels, label_w, run_w))
    else:
        blocks.append(_one_row_per_run(comparison, labels))
    equal = comparison.equal_params()
    if equal:
        shown = ", ".join(f"{safe(p.key)}={param_text(next(iter(p.values.values())))}" for p in equal)
        blocks.append(safe_text(f"Same in all runs ({len(equal)}): {shown}", "dim", limit=PROSE_LIMIT))
    undirected = [v.key for v in comparison.metrics if v.direction is None]
    if undirected:
        blocks.append(safe_text(
            f"No direction for {', '.join(safe(k) for k in undirected)}: not judged (use --maximize/--minimize)",
            "dim", limit=PROSE_LIMIT,
        ))
    line = winner_line(comparison, labels)
    if line:
        blocks.append(safe_text(line, "bold", limit=PROSE_LIMIT))
    return blocks


def _metric_text(value: Any) -> str:
    from localtrack.cli.humanize import number

    return "-" if value is None else number(value)


def _metric_cell(value: Any, best: bool) -> Any:
    from rich.text import Text

    from localtrack.cli.humanize import number
    from localtrack.cli.output import safe_text

    if value is None:
        return Text("-", style="dim")
    return safe_text(f"{number(value)} {BEST_MARK}", "bold green") if best else safe_text(f"{number(value)}  ")


def _side_by_side(comparison: Comparison, labels: dict[str, str], label_w: int, run_w: int) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from localtrack.cli.humanize import param_text, status_text
    from localtrack.cli.output import safe, safe_text
    from localtrack.ids import short_id

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    table.add_column("", no_wrap=True, overflow="ellipsis", width=label_w)
    for run in comparison.runs:
        header = safe_text(labels[str(run["id"])], "bold")
        header.append(f"\n{short_id(str(run['id']))}", style="dim")
        table.add_column(header, justify="right", overflow="fold", width=run_w)
    ids = [str(r["id"]) for r in comparison.runs]
    table.add_row(Text("status", style="dim"), *(status_text(r.get("status")) for r in comparison.runs))
    differing = comparison.differing_params()
    if differing:
        table.add_section()
        for p in differing[:MAX_PARAM_ROWS]:
            cells = [
                safe_text(param_text(p.values[i]), "bold yellow") if p.values[i] is not None else Text("-", "dim")
                for i in ids
            ]
            table.add_row(safe_text(p.key, "yellow"), *cells)
        if len(differing) > MAX_PARAM_ROWS:
            table.add_row(safe_text(f"… {len(differing) - MAX_PARAM_ROWS} more differing params; see --format json", "dim"))
    if comparison.metrics:
        table.add_section()
        for v in comparison.metrics:
            arrow = {"max": " ↑", "min": " ↓"}.get(v.direction or "", "  ")
            table.add_row(safe_text(safe(v.key) + arrow), *(_metric_cell(v.values[i], i in v.best) for i in ids))
    return table


def _one_row_per_run(comparison: Comparison, labels: dict[str, str]) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from localtrack.cli.humanize import param_text, status_text
    from localtrack.cli.output import safe, safe_text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    table.add_column("run", no_wrap=True, overflow="ellipsis", max_width=30)
    table.add_column("status", no_wrap=True)
    differing = comparison.differing_params()[:MAX_PARAM_COLUMNS]
    for p in differing:
        table.add_column(safe_text(p.key, "bold yellow"), no_wrap=True, overflow="ellipsis", max_width=14)
    for v in comparison.metrics:
        arrow = {"max": " ↑", "min": " ↓"}.get(v.direction or "", "")
        table.add_column(safe(v.key) + arrow, justify="right", no_wrap=True, overflow="ellipsis")
    for run in comparison.runs:
        run_id = str(run["id"])
        cells: list[Any] = [safe_text(labels[run_id], "bold"), status_text(run.get("status"))]
        cells += [
            safe_text(param_text(p.values[run_id])) if p.values[run_id] is not None else Text("-", "dim")
            for p in differing
        ]
        cells += [_metric_cell(v.values[run_id], run_id in v.best) for v in comparison.metrics]
        table.add_row(*cells)
    return table


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
