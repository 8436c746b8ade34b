"""Render a `Figure` as one self-contained, offline HTML page.

Why this shape: the page must open from a file:// URL on an air-gapped machine and must not let
a hostile run name run script. So CSS and JS are inlined from `assets/`, the data sits in a
`<script type="application/json">` block with `<`, `>` and `&` escaped, the JS touches user
strings only through `textContent`, and a CSP meta tag forbids every network fetch.
"""

from __future__ import annotations

import html
import json
import math
from functools import cache
from importlib import resources
from typing import Any

from localtrack.viz.figure import Figure, downsample
from localtrack.viz.text import printable

DEFAULT_MAX_POINTS = 2000
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="localtrack">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>
{css}
</style>
</head>
<body>
<main id="lt-root"></main>
<noscript>This plot needs JavaScript.</noscript>
<script type="application/json" id="lt-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""


def render_html(fig: Figure, *, max_points: int = DEFAULT_MAX_POINTS) -> str:
    """The whole page as a string; each series is LTTB-downsampled to `max_points`."""
    return _PAGE.format(
        csp=CSP,
        title=html.escape(printable(fig.title or "localtrack"), quote=True)
        .encode("ascii", "xmlcharrefreplace")
        .decode("ascii"),
        css=_asset("plot.css"),
        js=_asset("plot.js"),
        data=script_json(figure_payload(fig, max_points=max_points)),
    )


def figure_payload(fig: Figure, *, max_points: int = DEFAULT_MAX_POINTS) -> dict[str, Any]:
    """The JSON-able data the page script reads: non-finite numbers become null."""
    series = []
    for s in fig.series:
        xs, ys = downsample(s.x, s.y, max_points)
        series.append({"label": s.label, "run": s.run_id, "metric": s.metric, "x": xs, "y": ys})
    bars = [{"label": lab, "metric": m, "value": _num(v)} for lab, m, v in fig.bars or []]
    parallel = None
    if fig.parallel is not None:
        par = fig.parallel
        cdim = par.color_dimension()
        parallel = {
            "runs": list(par.runs),
            "dimensions": [
                {"name": d.name, "kind": d.kind, "values": [_dim_value(v) for v in d.values]}
                for d in par.dimensions
            ],
            "color": None if cdim is None else par.dimensions.index(cdim),
        }
    return {
        "version": 1,
        "title": fig.title,
        "type": fig.plot_type,
        "xLabel": fig.x_label,
        "yLabel": fig.y_label,
        "series": series,
        "bars": bars,
        "parallel": parallel,
    }


def script_json(payload: Any) -> str:
    """JSON that is safe inside a <script> element: no `</script>`, `<!--` or raw U+2028."""
    text = json.dumps(payload, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _dim_value(v: Any) -> float | str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v).lower()
    return _num(v)


@cache
def _asset(name: str) -> str:
    return resources.files("localtrack.viz").joinpath("assets").joinpath(name).read_text(encoding="utf-8")
