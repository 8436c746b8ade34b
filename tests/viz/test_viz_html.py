"""The HTML page: self-contained, no network, hostile strings stay data."""

from __future__ import annotations

import json
import re

import pytest
from viz_samples import HOSTILE, bar_figure, hostile_figure, line_figure, parallel_figure

from localtrack.viz.figure import Dimension, Figure, ParallelData, Series
from localtrack.viz.html import CSP, _asset, render_html, script_json

DATA_RE = re.compile(r'<script type="application/json" id="lt-data">(.*?)</script>', re.S)


def payload(page: str) -> dict:
    m = DATA_RE.search(page)
    assert m, "data block missing"
    return json.loads(m.group(1))


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_label_cannot_break_out(label: str) -> None:
    fig = Figure(label, "line", label, label, [Series(label, label, label, [0.0], [1.0])])
    page = render_html(fig)
    # Exactly our two script blocks; nothing user-supplied closed one early or opened another.
    assert page.count("</script") == 2
    assert page.lower().count("<script") == 2
    assert "<img" not in page and "<!--" not in page
    assert page.isascii()  # JSON \u-escaped, <title> uses character references
    data = payload(page)
    assert data["title"] == label
    assert data["series"][0]["label"] == label
    assert data["series"][0]["metric"] == label


def test_title_is_html_escaped() -> None:
    page = render_html(Figure('<b>"x"</b> & y'))
    assert "<title>&lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; y</title>" in page


def test_script_json_escapes() -> None:
    text = script_json({"a": "</script><!--&\u2028\u202e"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!--&\u2028\u202e"}


def test_page_is_offline_and_uses_no_dangerous_sinks() -> None:
    page = render_html(line_figure())
    assert '<meta charset="utf-8">' in page
    assert f'http-equiv="Content-Security-Policy" content="{CSP}"' in page
    # The only URL is the SVG namespace string, which is never fetched.
    urls = set(re.findall(r"https?://[^\s'\"<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"""(src|href)\s*=\s*["']?(?!data:)[a-z]+:""", page, re.I)
    js = _asset("plot.js")
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "fetch(",
        "XMLHttpRequest",
        "import(",
        "WebSocket",
    ):
        assert sink not in js, sink


def test_non_finite_values_become_null_or_are_dropped() -> None:
    fig = Figure("t", series=[Series("a", "r", "m", [0, 1, 2], [1.0, float("nan"), float("inf")])])
    data = payload(render_html(fig))
    assert data["series"][0]["x"] == [0.0] and data["series"][0]["y"] == [1.0]
    bars = payload(render_html(bar_figure()))["bars"]
    assert {"label": "run-nan", "metric": "val/acc", "value": None} in bars
    dims = [Dimension("lr", [float("nan"), 0.1]), Dimension("ok", [True, None], "category")]
    par = Figure("p", "parallel", parallel=ParallelData(dims, ["a", "b"]))
    pdata = payload(render_html(par))["parallel"]
    assert pdata["dimensions"][0]["values"] == [None, 0.1]
    assert pdata["dimensions"][1]["values"] == ["true", None]
    assert pdata["color"] == 1


def test_series_are_downsampled() -> None:
    n = 100_000
    fig = Figure(
        "big", series=[Series("a", "r", "m", list(range(n)), [float(i % 97) for i in range(n)])]
    )
    data = payload(render_html(fig, max_points=1000))
    assert len(data["series"][0]["x"]) == 1000
    assert len(render_html(fig, max_points=1000)) < 200_000


@pytest.mark.parametrize("make", [line_figure, bar_figure, parallel_figure, hostile_figure])
def test_payload_shape(make) -> None:  # type: ignore[no-untyped-def]
    fig = make()
    data = payload(render_html(fig))
    assert data["type"] == fig.plot_type
    assert data["version"] == 1


def test_title_shows_bidi_controls() -> None:
    page = render_html(Figure("a\u202eb"))
    assert "<title>a&lt;U+202E&gt;b</title>" in page
