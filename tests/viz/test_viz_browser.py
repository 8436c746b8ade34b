"""The HTML page in real headless Chromium: it draws, stays offline, and reacts to the mouse.

Run: PYTHONPATH=. python -m pytest tests/viz -m browser  (LT_SCREENSHOT_DIR=/tmp/shots keeps PNGs)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cdp import Browser, Page
from viz_samples import (
    HOSTILE,
    bar_figure,
    hostile_figure,
    line_figure,
    parallel_figure,
    scatter_figure,
)

from localtrack.viz.figure import Figure, Series
from localtrack.viz.html import render_html

pytestmark = pytest.mark.browser

FIGURES: dict[str, Callable[[], Figure]] = {
    "line": line_figure,
    "scatter": scatter_figure,
    "bar": bar_figure,
    "parallel": parallel_figure,
    "hostile": hostile_figure,
}


def open_page(browser: Browser, fig: Figure, folder: Path, name: str) -> Page:
    path = folder / f"{name}.html"
    path.write_text(render_html(fig), encoding="utf-8")
    page = browser.new_page(width=1200, height=800)
    page.navigate(path.as_uri())
    page.settle(0.1)
    return page


def rect(page: Page, selector: str, index: int = 0) -> dict[str, float]:
    r = page.evaluate(
        f"(() => {{ const r = document.querySelectorAll({selector!r})[{index}]"
        ".getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })()"
    )
    assert r, f"{selector} not found"
    return r


def tooltip(page: Page) -> str | None:
    return page.evaluate(
        "(() => { const t = document.querySelector('.lt-tip');"
        " return t && t.style.display === 'block' ? t.textContent : null; })()"
    )


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_page_draws_offline_without_errors(browser: Browser, shots: Path, name: str) -> None:
    page = open_page(browser, FIGURES[name](), shots, name)
    state = page.evaluate("window.__localtrack")
    assert state["ready"] is True
    assert state["errors"] == []
    assert state["drawn"] > 0
    assert page.console_errors == []
    assert page.foreign_requests() == []
    assert len(page.requests) == 1 and page.requests[0].startswith("file://")
    assert not any(m == "Page.javascriptDialogOpening" for m, _ in page.events)
    assert page.evaluate("window.__xss === undefined")
    png = page.screenshot(shots / f"{name}.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hostile_labels_render_as_text(browser: Browser, shots: Path) -> None:
    page = open_page(browser, hostile_figure(), shots, "hostile-text")
    legend = page.evaluate(
        "Array.from(document.querySelectorAll('.lt-legend .lbl')).map(e => e.textContent)"
    )
    assert legend[:3] == HOSTILE[:3]
    assert "<U+202E>" in legend[3]  # the bidi override is shown, not obeyed
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2


def drawn_once(page: Page, settled: Callable[[int], bool], seconds: float = 15.0) -> int:
    """The figure's drawn-point count once ``settled(count)`` holds (or the last count after
    ``seconds``): a click or drag redraws on the page's next frame, not before evaluate runs."""
    end = time.monotonic() + seconds
    while True:
        count = int(page.evaluate("window.__localtrack.drawn"))
        if settled(count) or time.monotonic() > end:
            return count
        time.sleep(0.05)


def test_line_hover_legend_and_zoom(browser: Browser, shots: Path) -> None:
    page = open_page(browser, line_figure(), shots, "interact")
    full = page.evaluate("window.__localtrack.drawn")
    box = rect(page, ".lt-panel .overlay")
    # Hover: the tooltip names a series and shows x and y of the nearest point.
    page.mouse("mouseMoved", box["x"] + box["w"] * 0.3, box["y"] + box["h"] * 0.5)
    text = tooltip(page)
    assert text is not None and "run-" in text and "step" in text
    page.screenshot(shots / "interact-hover.png", full_page=False)
    # Legend: hiding a run removes its points from both panels; showing brings them back.
    button = rect(page, ".lt-legend button")
    page.click(button["x"] + 10, button["y"] + button["h"] / 2)
    hidden = drawn_once(page, lambda n: n < full)
    assert 0 < hidden < full
    page.click(button["x"] + 10, button["y"] + button["h"] / 2)
    assert drawn_once(page, lambda n: n == full) == full
    # Zoom: drag a box over the left half of the first panel, double-click resets.
    x0, y0 = box["x"] + 5, box["y"] + 5
    page.drag(x0, y0, box["x"] + box["w"] * 0.5, box["y"] + box["h"] - 5)
    zoomed = drawn_once(page, lambda n: n < full)
    assert zoomed < full
    page.screenshot(shots / "interact-zoom.png")
    box = rect(page, ".lt-panel .overlay")
    page.click(box["x"] + 50, box["y"] + 50, clicks=2)
    assert drawn_once(page, lambda n: n == full) == full
    assert page.console_errors == [] and page.evaluate("window.__localtrack.errors") == []


def test_parallel_hover_shows_run_values(browser: Browser, shots: Path) -> None:
    page = open_page(browser, parallel_figure(), shots, "parallel-hover")
    first = page.evaluate(
        "(() => { const p = document.querySelector('path.run').getPointAtLength(30);"
        " const r = document.querySelector('.lt-panel svg').getBoundingClientRect();"
        " return {x: r.x + p.x, y: r.y + p.y}; })()"
    )
    page.mouse("mouseMoved", first["x"], first["y"])
    text = tooltip(page)
    assert text is not None and "trial-" in text and "optimizer" in text
    assert page.evaluate("document.querySelectorAll('path.run[stroke-width=\"3.5\"]').length") == 1
    page.screenshot(shots / "parallel-hover.png", full_page=False)
    assert page.console_errors == []


def test_many_points_page(browser: Browser, shots: Path) -> None:
    n = 200_000
    series = [
        Series(
            f"run-{r}", f"r{r}", "loss", list(range(n)), [1 / (1 + i / 1000 + r) for i in range(n)]
        )
        for r in range(4)
    ]
    page = open_page(browser, Figure("big", "line", series=series), shots, "big")
    assert page.evaluate("window.__localtrack.drawn") == 4 * 2000
    assert page.console_errors == []


def test_parallel_brush_filters_runs(browser: Browser, shots: Path) -> None:
    page = open_page(browser, parallel_figure(), shots, "parallel-brush")
    axis = page.evaluate(
        "(() => { const ls = document.querySelectorAll('.pc-axes line');"
        " const r = document.querySelector('.lt-panel svg').getBoundingClientRect();"
        " let best = null; ls.forEach(l => { const x = +l.getAttribute('x1');"
        " if (l.getAttribute('x1') === l.getAttribute('x2') && (!best || x > best.x))"
        " best = {x: x, y1: +l.getAttribute('y1'), y2: +l.getAttribute('y2')}; });"
        " return {x: r.x + best.x, top: r.y + best.y1, bottom: r.y + best.y2}; })()"
    )
    mid = (axis["top"] + axis["bottom"]) / 2
    page.drag(axis["x"], axis["top"] + 2, axis["x"], mid)
    grey = "document.querySelectorAll('path.run[stroke=\"#d0d7de\"]').length"
    assert 0 < page.evaluate(grey) < 12
    page.screenshot(shots / "parallel-brush.png", full_page=False)
    page.click(axis["x"] - 100, mid, clicks=2)
    assert page.evaluate(grey) == 0
