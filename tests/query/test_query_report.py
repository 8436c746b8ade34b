"""Completeness checks and the report document (query/report.py), on plain data."""

from __future__ import annotations

from typing import Any

import pytest

from localtrack.query.report import (
    build_report,
    check_checkpoints,
    check_environment,
    check_git,
    check_metric_steps,
    reproductions,
    step_gaps,
)
from localtrack.viz.markdown import report_markdown


@pytest.mark.parametrize(
    ("steps", "cadence", "missing"),
    [
        ([0, 1, 2, 3], 1, []),
        ([10, 20, 30, 40], 10, []),
        ([10, 20, 40, 50], 10, [30]),
        ([0, 1, 2, 5, 6, 7], 1, [3, 4]),
        ([0, 10, 25, 35, 45], 10, [20]),  # off-cadence jump: the first missing step is named
        ([5], None, []),
        ([], None, []),
    ],
)
def test_step_gaps(steps: list[int], cadence: int | None, missing: list[int]) -> None:
    assert step_gaps(steps) == (cadence, missing)


def test_metric_steps_allow_mixed_cadences_but_not_gaps_or_early_stops() -> None:
    ok = check_metric_steps({"train/loss": list(range(100)), "val/loss": list(range(9, 100, 10)), "test/acc": [99]})
    assert ok["ok"] is True
    gap = check_metric_steps({"train/loss": [0, 1, 2, 4], "val/loss": [0, 2, 4]})
    assert gap["ok"] is False and "train/loss misses 1 step(s): 3" in gap["detail"]
    early = check_metric_steps({"loss": list(range(10)), "acc": list(range(5))})
    assert early["ok"] is False and "acc stops at step 4, others go on to 9" in early["detail"]
    assert check_metric_steps({})["ok"] is False


def test_checkpoint_environment_git_checks() -> None:
    assert check_checkpoints([{"name": "model", "type": "model"}])["ok"] is True
    assert check_checkpoints([{"name": "weights/last.ckpt", "type": "file"}])["ok"] is True
    assert check_checkpoints([{"name": "preds.csv", "type": "dataset"}, "junk", None])["ok"] is False
    assert check_checkpoints("not a list")["ok"] is False
    assert check_environment({"python": "3.11", "platform": "Linux", "packages": {"torch": "2"}})["ok"] is True
    assert check_environment({"python": "3.11"})["ok"] is False
    assert check_git({"commit": "abc", "dirty": True}) == {"ok": True, "detail": "commit abc (dirty tree)"}
    assert check_git({"commit": "abc", "dirty": None})["ok"] is False
    assert check_git(None)["ok"] is False


def test_reproductions_from_the_manifest_field_only() -> None:
    found = reproductions(
        [
            {"id": "r2", "reproduction": {"of": "r1", "verdict": "match", "tolerance": 1e-6}},
            {"id": "r3", "tags": {"reproduction_of": "r1", "reproduction_verdict": "differ"}},  # tags say nothing
            {"id": "r4", "reproduction": "garbage"},
            {"id": "r6", "reproduction": {"of": "r1", "verdict": "match", "overrides": {"lr": 0.2}}},
            {"id": "r7", "reproduction": {"of": "r8", "verdict": "error"}},
            {"id": "r5"},
        ]
    )
    assert found == {"r1": [("r2", "match"), ("r6", "variant")], "r8": [("r7", "error")]}
    from localtrack.query.report import check_reproduced

    assert check_reproduced("r1", found)["ok"] is True
    assert check_reproduced("r8", found) == {"ok": False, "detail": "no reproduction matched: r7 (error)", "by": ["r7"]}


def _row(run_id: str, name: str, lr: float, acc: float, loss: float) -> dict[str, Any]:
    return {
        "id": run_id, "name": name, "project": "p", "status": "finished", "created_at": None, "duration": 1.0,
        "tags": {}, "params": {"lr": lr, "epochs": 3},
        "metrics": {
            "val/acc": {"last": acc, "min": acc - 0.2, "max": acc + 0.01, "count": 3, "step": 2},
            "val/loss": {"last": loss, "min": loss - 0.05, "max": loss + 0.5, "count": 3, "step": 2},
        },
    }


def test_build_report_and_markdown() -> None:
    rows = [_row("r1", "good", 0.1, 0.9, 0.3), _row("r2", "bad|name", 0.2, 0.8, 0.2)]
    complete_info = {
        "config": {"lr": 0.1, "epochs": 3},
        "artifacts": [{"name": "ckpt", "type": "checkpoint"}],
        "environment": {"python": "3.11", "platform": "Linux"},
        "git": {"commit": "abcdef1234567", "dirty": False, "branch": "main"},
    }
    infos = {"r1": complete_info, "r2": {"config": {"lr": 0.2}}}
    steps = {"r1": {"val/acc": [0, 1, 2], "val/loss": [0, 1, 2]}, "r2": {"val/acc": [0, 2], "val/loss": [0, 1, 2]}}
    manifests = [{"id": "r9", "reproduction": {"of": "r1", "verdict": "match"}}]
    report = build_report(rows, infos, steps, manifests, generated_at="2025-01-01T00:00:00Z", selection="x")
    r1, r2 = report["runs"]
    assert r1["complete"] is True and r2["complete"] is False
    assert r1["checks"]["reproduced_verified"] == {"ok": True, "detail": "reproduced by r9 (match)", "by": ["r9"]}
    assert r2["checks"]["reproduced_verified"]["ok"] is None
    assert r2["checks"]["checkpoints_saved"]["ok"] is False
    assert r1["metrics"]["val/acc"] == {
        "final": 0.9, "best": 0.91, "min": 0.7, "max": 0.91, "count": 3, "step": 2, "direction": "max"
    }
    assert r2["metrics"]["val/loss"]["best"] == pytest.approx(0.15)
    winners = {w["metric"]: w["winner"]["id"] for w in report["winners"]}
    assert winners == {"val/acc": "r1", "val/loss": "r2"}
    assert report["differing_params"] == ["lr"] and report["equal_params"] == {"epochs": 3}
    assert report["summary"] == {"runs": 2, "complete": 1, "reproduced": 1}
    md = report_markdown(report)
    assert "## Experiment report" in md
    assert "bad\\|name" in md  # a pipe in a name cannot break the table
    assert "| good | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |" in md
    assert "**val/acc** (higher is better): good" in md
