"""Markdown views: the experiment report as Markdown, short enough for a pull-request description.

The data comes from ``Store.report`` (``localtrack.query.report``); this module only renders it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localtrack.query.report import CHECK_TITLES, REQUIRED_CHECKS
from localtrack.viz.text import printable


def _md(text: Any) -> str:
    """A table cell: pipes and newlines escaped, control characters made visible."""
    return printable("" if text is None else text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")


def _md_num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return _md(value)


def report_markdown(report: Any) -> str:
    """A Markdown version of a report (a ``Store.report`` result or its ``to_dict()`` document)."""
    if not isinstance(report, Mapping):
        report = report.to_dict()
    runs = report["runs"]
    summary = report["summary"]
    lines = [
        "## Experiment report",
        "",
        f"{summary['runs']} run(s), {summary['complete']} complete, {summary['reproduced']} reproduced and verified"
        + (f" · selection: `{_md(report['selection'])}`" if report.get("selection") else ""),
        "",
    ]
    winners = [w for w in report["winners"] if w.get("winner")]
    if winners:
        lines += ["### Winners", ""]
        for w in winners:
            arrow = "higher" if w["direction"] == "max" else "lower"
            lines.append(
                f"- **{_md(w['metric'])}** ({arrow} is better): {_md(w['winner']['name'])} "
                f"(`{_md(w['winner']['id'])}`) = {_md_num(w['winner']['value'])}"
            )
        lines.append("")
    metric_keys = [w["metric"] for w in report["winners"]][:6]
    if runs:
        lines += ["### Runs", ""]
        header = ["run", "status", *report["differing_params"][:6], *(f"{k} (final)" for k in metric_keys)]
        lines.append("| " + " | ".join(_md(h) for h in header) + " |")
        lines.append("|" + "---|" * len(header))
        for run in runs:
            cells = [f"{_md(run['name'])} `{_md(str(run['id'])[-6:])}`", _md(run["status"])]
            cells += [_md_num(run["params"].get(p)) for p in report["differing_params"][:6]]
            for key in metric_keys:
                value = run["metrics"].get(key, {}).get("final")
                cell = _md_num(value) if value is not None else "–"
                cells.append(f"**{cell}**" if key in run["best_for"] else cell)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if report["equal_params"]:
            shown = ", ".join(f"{_md(k)}={_md_num(v)}" for k, v in list(report["equal_params"].items())[:12])
            lines += [f"Same in every run: {shown}", ""]
        lines += ["### Completeness", ""]
        names = list(CHECK_TITLES)
        lines.append("| run | " + " | ".join(CHECK_TITLES[n] for n in names) + " |")
        lines.append("|" + "---|" * (len(names) + 1))
        marks = {True: "✅", False: "❌", None: "–"}
        for run in runs:
            cells = [marks[run["checks"][n]["ok"]] for n in names]
            lines.append(f"| {_md(run['name'])} | " + " | ".join(cells) + " |")
        lines.append("")
        problems = [
            f"- {_md(run['name'])}: {CHECK_TITLES[n]}: {_md(run['checks'][n]['detail'])}"
            for run in runs
            for n in REQUIRED_CHECKS
            if run["checks"][n]["ok"] is False
        ]
        if problems:
            lines += ["<details><summary>What is missing</summary>", "", *problems, "", "</details>", ""]
    return "\n".join(lines)
