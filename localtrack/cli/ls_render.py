"""Drawing the run list: which columns fit, grouping, sparklines, CSV flattening.

The default columns are the ones a researcher reads after a night of runs: short id, name,
status, started, duration, then the params that vary across the listed runs and the latest
value of the key metrics with a sparkline. Columns are added by priority while they fit the
terminal; what did not fit is named in a footnote so nothing is silently hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localtrack.cli.humanize import (
    duration_text,
    number,
    param_text,
    relative_time,
    run_duration,
    status_text,
)
from localtrack.cli.output import VALUE_LIMIT, console, safe, safe_text, unlimited

if TYPE_CHECKING:
    from rich.text import Text

    from localtrack.query.store import Store

ATTRIBUTES = ("id", "name", "status", "started", "duration", "project", "group", "tags", "git", "notes",
              "created", "ended", "parent")
BASE = ("id", "name", "status", "started", "duration")
SPARK_WIDTH = 8
MAX_PARAM_COLUMNS = 6
MAX_METRIC_COLUMNS = 3
PARAM_WIDTH = 14
NAME_WIDTH = 40
MIN_NAME_WIDTH = 20
GAP = 2  # columns are separated by two spaces


@dataclass(frozen=True)
class Column:
    kind: str  # attr, param, metric, tag, summary
    key: str

    @property
    def header(self) -> str:
        return self.key

    @property
    def spec(self) -> str:
        if self.kind == "summary":
            return f"summary.{self.key}"
        return self.key if self.kind == "attr" else f"{self.kind}s.{self.key}"


# ---------------------------------------------------------------- choosing columns


def varying_params(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Params whose value differs across the listed runs, most distinct values first.

    (For a single run: all of its params.) The most varied params are usually the swept ones.
    """
    from localtrack.query.compare import compare

    if len(rows) == 1:
        return sorted(rows[0].get("params") or {})
    differing = compare(rows, metrics=[]).differing_params()

    def distinct(p: Any) -> int:
        return len({param_text(v) for v in p.values.values()})

    return [p.key for p in sorted(differing, key=lambda p: (-distinct(p), p.key))]


def parse_columns(values: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[Column]:
    """``--columns`` items (comma-separated or repeated) as columns; unknown names are an error."""
    params = {k for r in rows for k in r.get("params") or {}}
    metrics = {k for r in rows for k in r.get("metrics") or {}}
    tags = {k for r in rows for k in r.get("tags") or {}}
    out: list[Column] = []
    for item in (part.strip() for value in values for part in value.split(",")):
        if not item:
            continue
        kind, _, key = item.partition(".")
        if item in ATTRIBUTES:
            out.append(Column("attr", item))
        elif kind in ("params", "param") and key:
            out.append(Column("param", key))
        elif kind in ("metrics", "metric") and key:
            out.append(Column("metric", key))
        elif kind in ("tags", "tag") and key:
            out.append(Column("tag", key))
        elif kind == "summary" and key:
            out.append(Column("summary", key))
        elif item in metrics:
            out.append(Column("metric", item))
        elif item in params:
            out.append(Column("param", item))
        elif item in tags:
            out.append(Column("tag", item))
        else:
            known = ", ".join([*ATTRIBUTES[:10], *(f"params.{p}" for p in sorted(params)[:5]),
                               *(f"metrics.{m}" for m in sorted(metrics)[:5])])
            import typer

            raise typer.BadParameter(f"unknown column {item!r}; try one of: {known}", param_hint="--columns")
    return list(dict.fromkeys(out))


def _natural_width(rows: Sequence[dict[str, Any]], column: Column, now: float) -> int:
    """Cells of the widest value (or the header) of a column, capped per kind."""
    if column.kind == "metric":
        values = [number(metric_value_of(r, column.key)) for r in rows]
        return max(min(len(column.header), 22), max((len(v) for v in values), default=1) + 1 + SPARK_WIDTH)
    if column.kind == "param":
        texts = [param_text((r.get("params") or {}).get(column.key, "-")) for r in rows]
        cap = PARAM_WIDTH
    elif column.kind == "tag":
        texts = [safe((r.get("tags") or {}).get(column.key, "-")) for r in rows]
        cap = PARAM_WIDTH
    elif column.kind == "summary":
        texts = [param_text((r.get("summary") or {}).get(column.key, "-")) for r in rows]
        cap = PARAM_WIDTH
    else:
        texts = [_attr_plain(r, column.key, now) for r in rows]
        cap = {"name": NAME_WIDTH, "tags": NAME_WIDTH, "notes": NAME_WIDTH, "id": 25}.get(column.key, 24)
    if unlimited():  # piped: nothing is cut (values are still bounded by safe())
        cap = VALUE_LIMIT + 60
    return min(max(max((len(t) for t in texts), default=1), len(column.header)), cap)


def metric_value_of(row: dict[str, Any], key: str) -> float | None:
    from localtrack.query.compare import metric_value

    return metric_value(row, key)


def fit_columns(
    rows: Sequence[dict[str, Any]], columns: Sequence[Column], width: int, now: float, *, drop: bool
) -> tuple[list[Column], dict[Column, int], list[Column]]:
    """Widths for ``columns`` within ``width``: by priority, the name shrinking first.

    With ``drop`` (default columns) a column that does not fit is left out and returned in
    the third item; columns the user chose are kept, squeezed by rich if need be.
    """
    natural = {c: _natural_width(rows, c, now) for c in columns}
    name = Column("attr", "name")
    name_min = min(natural.get(name, 0), MIN_NAME_WIDTH)
    essential = [c for c in columns if c.kind == "attr" and c.key in ("id", "name", "status")]
    metrics = [c for c in columns if c.kind == "metric"]
    rest = [c for c in columns if c not in essential and c not in metrics]
    attrs_rest = [c for c in rest if c.kind == "attr"]
    others = [c for c in rest if c.kind != "attr"]
    priority = [*essential, *metrics[:1], *attrs_rest, *metrics[1:2], *others, *metrics[2:]]
    used = 0
    kept: list[Column] = []
    dropped: list[Column] = []
    for column in priority:
        need = (name_min if column == name else natural[column]) + (GAP if kept else 0)
        if not drop or used + need <= width or column in essential:
            kept.append(column)
            used += need
        else:
            dropped.append(column)
    widths = {c: natural[c] for c in kept}
    if name in widths:
        widths[name] = max(name_min, min(natural[name], name_min + max(0, width - used)))
    order = [c for c in columns if c in widths]
    return order, widths, dropped


def default_columns(rows: Sequence[dict[str, Any]]) -> tuple[list[Column], int, int]:
    """Every candidate column in display order, and how many params/metrics there are in all."""
    from localtrack.query.compare import key_metrics

    base = [Column("attr", k) for k in BASE]
    if len({r.get("project") for r in rows}) > 1:
        base.append(Column("attr", "project"))
    metrics = key_metrics(rows, limit=10_000)
    params = varying_params(rows)
    candidates = [
        *base,
        *(Column("param", p) for p in params[:MAX_PARAM_COLUMNS]),
        *(Column("metric", m) for m in metrics[:MAX_METRIC_COLUMNS]),
    ]
    return candidates, len(params), len(metrics)


def hidden_note(columns: Sequence[Column], n_params: int, n_metrics: int) -> list[str]:
    shown_p = sum(1 for c in columns if c.kind == "param")
    shown_m = sum(1 for c in columns if c.kind == "metric")
    notes = []
    if n_params > shown_p:
        k = n_params - shown_p
        notes.append(f"{k} more varying param{'s' if k != 1 else ''}")
    if n_metrics > shown_m:
        k = n_metrics - shown_m
        notes.append(f"{k} more metric{'s' if k != 1 else ''}")
    return [f"{' and '.join(notes)} not shown; pick columns with --columns"] if notes else []


# ---------------------------------------------------------------- grouping and flattening


def group_value(row: dict[str, Any], key: str) -> str:
    kind, _, sub = key.partition(".")
    if kind in ("params", "param") and sub:
        value = (row.get("params") or {}).get(sub)
        return "(none)" if value is None else param_text(value)
    if kind in ("tags", "tag") and sub:
        value = (row.get("tags") or {}).get(sub)
        return "(none)" if value is None else safe(value) or "(label)"
    if kind in ("metrics", "metric") and sub:
        stats = (row.get("metrics") or {}).get(sub) or {}
        return number(stats.get("last")) if stats else "(none)"
    if key in row and not isinstance(row[key], (dict, list)):
        value = row[key]
        return "(none)" if value is None else safe(value)
    import typer

    raise typer.BadParameter(
        f"cannot group by {key!r}; use project, status, group, params.KEY, tags.KEY", param_hint="--group-by"
    )


def group_rows(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows reordered so each group is contiguous (groups in order of first appearance)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(group_value(row, key), []).append(row)
    return [row for members in groups.values() for row in members]


def flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV line: attributes, then params.*, metrics.* (latest value), tags.*, summary.*."""
    flat = {k: v for k, v in row.items() if k not in ("params", "metrics", "tags", "summary")}
    for key, value in (row.get("params") or {}).items():
        flat[f"params.{key}"] = value
    for key, stats in (row.get("metrics") or {}).items():
        flat[f"metrics.{key}"] = (stats or {}).get("last")
    for key, value in (row.get("tags") or {}).items():
        flat[f"tags.{key}"] = value
    for key, value in (row.get("summary") or {}).items():
        flat[f"summary.{key}"] = value
    return flat


def csv_columns(rows: Sequence[dict[str, Any]], wanted: list[Column] | None) -> list[str]:
    if wanted:
        names = {"started": "created_at", "created": "created_at", "ended": "ended_at", "git": "git_commit"}
        return ["id", *dict.fromkeys(
            names.get(c.key, c.key) if c.kind == "attr" else c.spec for c in wanted if c.key != "id"
        )]
    attrs = ["id", "name", "project", "group", "parent", "status", "created_at", "ended_at", "duration",
             "git_commit", "git_branch", "git_dirty", "notes"]
    params = sorted({k for r in rows for k in r.get("params") or {}})
    metrics = sorted({k for r in rows for k in r.get("metrics") or {}})
    tags = sorted({k for r in rows for k in r.get("tags") or {}})
    return [*attrs, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics), *(f"tags.{k}" for k in tags)]


# ---------------------------------------------------------------- drawing


def spark_points(
    reader: Store, rows: Sequence[dict[str, Any]], keys: Sequence[str], *, everything: bool = False
) -> dict[tuple[str, str], list[float]]:
    """(run id, key) -> the metric's history averaged into SPARK_WIDTH buckets.

    ``everything``: the rows are every run of the store, so no need to name them.
    """
    from localtrack.query.series import trend_series

    if not rows or not keys:
        return {}
    ids = None if everything else [str(r["id"]) for r in rows]
    own = getattr(reader, "trend_series", None)  # the listing (fastlist) carries its sparklines
    if own is not None:
        series: dict[tuple[str, str], list[float]] = own(ids, keys, SPARK_WIDTH)
        return series
    return trend_series(reader, ids, keys, SPARK_WIDTH)


def _best(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    from localtrack.query.compare import metric_direction, metric_value, winners_of

    direction = metric_direction(key)
    if direction is None or len(rows) < 2:
        return None
    values = {str(r["id"]): metric_value(r, key) for r in rows}
    best = winners_of(values, direction)
    return values[best[0]] if best else None


def _git(row: dict[str, Any]) -> str:
    commit = row.get("git_commit")
    if not commit:
        return "-"
    return f"{safe(commit)[:7]}{'*' if row.get('git_dirty') else ''}"


def _tags(tags: dict[str, Any]) -> str:
    return ", ".join(safe(k) if v in ("", None) else f"{safe(k)}={safe(v)}" for k, v in sorted(tags.items()))


def _attr_plain(row: dict[str, Any], key: str, now: float) -> str:
    """An attribute cell's text (escaped), before styling."""
    from localtrack.ids import short_id

    if key == "id":
        return safe(short_id(str(row["id"])))
    if key == "started":
        return relative_time(row.get("created_at"), now)
    if key == "duration":
        return duration_text(run_duration(row, now))
    if key in ("created", "ended"):
        value = row.get("created_at" if key == "created" else "ended_at")
        return safe(value.isoformat(timespec="seconds") if value is not None and hasattr(value, "isoformat") else (value or "-"))
    if key == "tags":
        return _tags(row.get("tags") or {})
    if key == "git":
        return _git(row)
    value = row.get(key)
    return safe("-" if value is None else value)


def _attr_cell(row: dict[str, Any], key: str, now: float) -> Text:

    if key == "status":
        return status_text(row.get("status"))
    return safe_text(_attr_plain(row, key, now), "dim" if key == "id" else "")


def _cell(row: dict[str, Any], column: Column, sparks: dict[tuple[str, str], list[float]],
          best: dict[str, float | None], now: float, width: int | None = None) -> Text:
    from rich.text import Text

    from localtrack.viz.figure import sparkline

    if column.kind == "attr":
        if column.key == "name" and width:
            from localtrack.cli.humanize import middle_truncate

            return safe_text(middle_truncate(safe(row.get("name")), width))
        return _attr_cell(row, column.key, now)
    if column.kind == "param":
        params = row.get("params") or {}
        return safe_text(param_text(params[column.key])) if column.key in params else Text("-", "dim")
    if column.kind == "tag":
        tags = row.get("tags") or {}
        return safe_text(tags[column.key]) if column.key in tags else Text("-", "dim")
    if column.kind == "summary":
        summary = row.get("summary") or {}
        return safe_text(param_text(summary[column.key])) if column.key in summary else Text("-", "dim")
    if not (row.get("metrics") or {}).get(column.key):
        return Text("-", "dim")
    value = metric_value_of(row, column.key)
    is_best = value is not None and value == best.get(column.key)
    cell = safe_text(number(value), "bold green" if is_best else "")
    spark = sparkline(sparks.get((str(row["id"]), column.key), []), SPARK_WIDTH)
    cell.append(" " + (spark or " " * SPARK_WIDTH), style="cyan")
    return cell


SHRINKABLE = ("name", "tags", "notes", "project", "group", "parent", "git")


def shrink_to(columns: Sequence[Column], widths: dict[Column, int], width: int) -> dict[Column, int]:
    """Narrow the widest names, params and tags until the row fits ``width`` (down to 6 cells)."""
    widths = dict(widths)
    total = sum(widths[c] for c in columns) + GAP * max(0, len(columns) - 1)
    flexible = [c for c in columns if c.kind in ("param", "tag") or c.key in SHRINKABLE]
    while total > width:
        candidates = [c for c in flexible if widths[c] > 6]
        if not candidates:
            break
        widest = max(candidates, key=lambda c: widths[c])
        widths[widest] -= 1
        total -= 1
    return widths


def _fit(text: Text, width: int, right: bool) -> Text:
    if text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    text.align("right" if right else "left", width)
    return text


def grid(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    widths: dict[Column, int],
    sparks: dict[tuple[str, str], list[float]],
    *,
    now: float,
) -> Text:
    """The table as one Text: a bold header, a rule, one line per run; columns two spaces apart.

    Drawn by hand rather than with rich's Table: the widths are already decided, and a
    thousand-row listing renders many times faster this way.
    """
    from rich.text import Text

    best = {c.key: _best(rows, c.key) for c in columns if c.kind == "metric"}
    right = {c: c.kind == "metric" or c.key == "duration" for c in columns}
    out = Text(no_wrap=True, overflow="crop")
    for i, column in enumerate(columns):
        if i:
            out.append(" " * GAP)
        out.append_text(_fit(safe_text(column.header, "bold"), widths[column], right[column]))
    total = sum(widths[c] for c in columns) + GAP * max(0, len(columns) - 1)
    out.append("\n" + "─" * total, style="dim")
    for row in rows:
        out.append("\n")
        for i, column in enumerate(columns):
            if i:
                out.append(" " * GAP)
            cell = _cell(row, column, sparks, best, now, widths[column])
            out.append_text(_fit(cell, widths[column], right[column]))
    return out


def print_runs(
    reader: Store,
    rows: Sequence[dict[str, Any]],
    *,
    total: int,
    columns: list[Column] | None,
    group_by: str | None,
    filtered: bool,
) -> None:
    """The run table(s) and footnotes."""
    import time

    out = console()
    if not rows:
        if filtered:
            out.print("No runs match.")
        else:
            out.print("No runs yet. Start one with localtrack.init() in Python or `localtrack create` in a shell.")
        return
    now = time.time()
    notes: list[str] = []
    if columns is None:
        candidates, n_params, n_metrics = default_columns(rows)
        columns, widths, _ = fit_columns(rows, candidates, out.width, now, drop=True)
        notes += hidden_note(columns, n_params, n_metrics)
    else:
        columns, widths, _ = fit_columns(rows, columns, out.width, now, drop=False)
    widths = shrink_to(columns, widths, out.width)
    sparks = spark_points(reader, rows, [c.key for c in columns if c.kind == "metric"], everything=total == len(rows))
    if group_by:
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(group_value(row, group_by), []).append(row)
        for i, (value, members) in enumerate(groups.items()):
            title = f"{safe(group_by)} = {value} · {len(members)} run{'s' if len(members) != 1 else ''}"
            out.print(safe_text(("\n" if i else "") + title, "bold", lines=True))
            out.print(grid(members, columns, widths, sparks, now=now), soft_wrap=True)
    else:
        out.print(grid(rows, columns, widths, sparks, now=now), soft_wrap=True)  # lines already fit
    if total > len(rows):
        notes.append(f"showing {len(rows)} of {total} runs; --top N or --all for more")
    for note in notes:
        out.print(safe_text(note, "dim"))
