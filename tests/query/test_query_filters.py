"""The filter language against an independent Python model of the same runs.

Each case is a filter string and a predicate over the run specs written by query_samples;
the expected runs are computed in Python, never by the index.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_samples import RunSpec, sample_specs

from localtrack.query.store import Store

SPECS = sample_specs()
ACC3 = SPECS[3].last("acc")
ACC7 = SPECS[7].last("acc")
ID5, ID8 = SPECS[5].id, SPECS[8].id
MISSING = object()
MS_20 = int(datetime(2025, 3, 1, 0, 20, tzinfo=timezone.utc).timestamp() * 1000)


def p(s: RunSpec, key: str) -> Any:
    return s.flat_params().get(key, MISSING)


def num(value: Any) -> float | None:
    """What a number literal compares with: numbers, and strings that read as a finite number."""
    if value is MISSING or value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            x = float(value)
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


def pstr(value: Any) -> str | None:
    """What a quoted literal compares with: MLflow's str() of the value."""
    return None if value is MISSING else str(value)


def cmp(a: Any, op: str, b: Any) -> bool:
    if a is None:
        return False
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def like(text: str | None, pattern: str, insensitive: bool = False) -> bool:
    import re

    if text is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.S | (re.I if insensitive else 0)) is not None


def tag(s: RunSpec, key: str) -> str | None:
    return s.tags.get(key)


def ms(s: RunSpec) -> int:
    return int(s.created.timestamp() * 1000)


def ended(s: RunSpec) -> datetime | None:
    from datetime import timedelta

    return None if s.status in ("running", "crashed") else s.created + timedelta(seconds=s.duration or 0)


Pred = Callable[[RunSpec], bool]
CASES: list[tuple[str, Pred]] = [
    # metrics: the latest value, every comparison, NaN never compares true
    ("metrics.acc > 0.8", lambda s: cmp(s.last("acc"), ">", 0.8)),
    ("metrics.acc >= 0.8", lambda s: cmp(s.last("acc"), ">=", 0.8)),
    ("metrics.acc < 0.7", lambda s: cmp(s.last("acc"), "<", 0.7)),
    ("metrics.acc <= 0.7", lambda s: cmp(s.last("acc"), "<=", 0.7)),
    (f"metrics.acc = {ACC3}", lambda s: cmp(s.last("acc"), "=", ACC3)),
    (f"metrics.acc == {ACC3}", lambda s: cmp(s.last("acc"), "=", ACC3)),
    (f"metrics.acc != {ACC3}", lambda s: cmp(s.last("acc"), "!=", ACC3)),
    (f"metrics.acc <> {ACC3}", lambda s: cmp(s.last("acc"), "!=", ACC3)),
    ("metrics.`val/loss` < 1", lambda s: cmp(s.last("val/loss"), "<", 1.0)),
    ('metrics."val/loss" >= 1', lambda s: cmp(s.last("val/loss"), ">=", 1.0)),
    ("metrics.'val/loss' > 1.5", lambda s: cmp(s.last("val/loss"), ">", 1.5)),
    ("metrics.val/loss != 0.5", lambda s: cmp(s.last("val/loss"), "!=", 0.5)),
    ("metric.acc > -1", lambda s: s.last("acc") is not None),
    ("metrics.`grad norm` = 2.5", lambda s: cmp(s.last("grad norm"), "=", 2.5)),
    (f"metrics.acc IN ({ACC3}, {ACC7}, 5)", lambda s: s.last("acc") in (ACC3, ACC7)),
    (f"metrics.acc NOT IN ({ACC3})", lambda s: s.last("acc") is not None and s.last("acc") != ACC3),
    ("metrics.acc IS NULL", lambda s: s.last("acc") is None),
    ("metrics.acc IS NOT NULL", lambda s: s.last("acc") is not None),
    ("metrics.`val/loss` IS NULL", lambda s: s.last("val/loss") is None),
    ("metrics.nope > 0", lambda s: False),
    ("metrics.nope IS NULL", lambda s: True),
    # aggregates over the history
    ("min(metrics.`val/loss`) < 0.5", lambda s: cmp(s.agg("min", "val/loss"), "<", 0.5)),
    ("max(metrics.acc) > 0.95", lambda s: cmp(s.agg("max", "acc"), ">", 0.95)),
    ("MAX(metrics.`val/loss`) >= 1.9", lambda s: cmp(s.agg("max", "val/loss"), ">=", 1.9)),
    ("mean(metrics.acc) > 0.75", lambda s: cmp(s.agg("mean", "acc"), ">", 0.75)),
    ("count(metrics.acc) >= 6", lambda s: cmp(s.agg("count", "acc"), ">=", 6.0)),
    ("count(metrics.`val/loss`) = 3", lambda s: cmp(s.agg("count", "val/loss"), "=", 3.0)),
    ("min(metrics.acc) IS NULL", lambda s: s.agg("min", "acc") is None),
    # params: numbers numerically, quoted literals against MLflow's str()
    ("params.lr < 0.001", lambda s: cmp(num(p(s, "lr")), "<", 0.001)),
    ("params.lr = '1e-05'", lambda s: pstr(p(s, "lr")) == "1e-05"),
    ("params.lr = 1e-5", lambda s: cmp(num(p(s, "lr")), "=", 1e-5)),
    ("params.lr = 0.0003", lambda s: cmp(num(p(s, "lr")), "=", 3e-4)),
    ("params.lr = '0.0003'", lambda s: pstr(p(s, "lr")) == "0.0003"),
    ("params.lr != '0.01'", lambda s: p(s, "lr") is not MISSING and pstr(p(s, "lr")) != "0.01"),
    ("params.lr IS NULL", lambda s: p(s, "lr") is MISSING),
    ("params.bs = '32'", lambda s: pstr(p(s, "bs")) == "32"),
    ("params.bs = 32", lambda s: cmp(num(p(s, "bs")), "=", 32.0)),
    ("params.bs >= 64", lambda s: cmp(num(p(s, "bs")), ">=", 64.0)),
    ("params.bs IN (16, '32')", lambda s: p(s, "bs") in (16, 32)),
    ("params.bs NOT IN (16, 32)", lambda s: p(s, "bs") not in (16, 32, MISSING)),
    ("param.bs > 100", lambda s: cmp(num(p(s, "bs")), ">", 100.0)),
    ("parameters.bs < 20", lambda s: cmp(num(p(s, "bs")), "<", 20.0)),
    ("params.model = 'bert'", lambda s: p(s, "model") == "bert"),
    ('params.model = "bert"', lambda s: p(s, "model") == "bert"),
    ("params.model LIKE 'b%'", lambda s: like(pstr(p(s, "model")), "b%")),
    ("params.model ILIKE 'b%'", lambda s: like(pstr(p(s, "model")), "b%", True)),
    ("params.model NOT LIKE '%e%'", lambda s: p(s, "model") is not MISSING and not like(pstr(p(s, "model")), "%e%")),
    ("params.model NOT ILIKE 'bert%'", lambda s: p(s, "model") is not MISSING and not like(pstr(p(s, "model")), "bert%", True)),
    ("params.model LIKE '_ert'", lambda s: like(pstr(p(s, "model")), "_ert")),
    ("params.model = 'o''brien'", lambda s: p(s, "model") == "o'brien"),
    ("params.model = 'o\\''brien'", lambda s: p(s, "model") == "o\\'brien"),
    ('params.model = "o\'brien"', lambda s: p(s, "model") == "o'brien"),
    ("params.model = 'a b'", lambda s: p(s, "model") == "a b"),
    ("params.model > 'a'", lambda s: cmp(pstr(p(s, "model")), ">", "a")),  # byte order: 'B' < 'a'
    ("params.model < 'Z'", lambda s: cmp(pstr(p(s, "model")), "<", "Z")),
    ("params.optim.name = 'adam'", lambda s: p(s, "optim.name") == "adam"),
    ("params.`optim.beta` = 0.9", lambda s: p(s, "optim.beta") == 0.9),
    ("params.optim.beta = '0.99'", lambda s: pstr(p(s, "optim.beta")) == "0.99"),
    ("params.use_bn = true", lambda s: p(s, "use_bn") is True),
    ("params.use_bn = FALSE", lambda s: p(s, "use_bn") is False),
    ("params.use_bn = 'True'", lambda s: pstr(p(s, "use_bn")) == "True"),
    ("params.use_bn != false", lambda s: p(s, "use_bn") is True),
    ("params.seed IS NULL", lambda s: p(s, "seed") in (MISSING, None)),
    ("params.seed IS NOT NULL", lambda s: p(s, "seed") not in (MISSING, None)),
    ("params.seed = 'None'", lambda s: p(s, "seed") is None),
    ("params.layers = '[1, 2, 0]'", lambda s: pstr(p(s, "layers")) == "[1, 2, 0]"),
    ("params.dropout < 0.15", lambda s: cmp(num(p(s, "dropout")), "<", 0.15)),
    ("params.dropout = '0.2'", lambda s: pstr(p(s, "dropout")) == "0.2"),
    ("params.nope = 'x'", lambda s: False),
    ("params.nope != 'x'", lambda s: False),
    # tags (labels are '')
    ("tags.baseline = ''", lambda s: tag(s, "baseline") == ""),
    ("tags.baseline IS NOT NULL", lambda s: tag(s, "baseline") is not None),
    ("tags.baseline IS NULL", lambda s: tag(s, "baseline") is None),
    ("tags.sweep IN ('s0', 's2')", lambda s: tag(s, "sweep") in ("s0", "s2")),
    ("tags.sweep NOT IN ('s0')", lambda s: tag(s, "sweep") not in (None, "s0")),
    ("tags.sweep != 's1'", lambda s: tag(s, "sweep") not in (None, "s1")),
    ("tags.`mlflow.user` = 'ann'", lambda s: tag(s, "mlflow.user") == "ann"),
    ("tag.sweep LIKE 's%'", lambda s: like(tag(s, "sweep"), "s%")),
    ("tags.sweep ILIKE 'S1'", lambda s: tag(s, "sweep") == "s1"),
    # attributes, with MLflow's names and upper-case statuses
    ("attributes.status = 'FINISHED'", lambda s: s.status == "finished"),
    ("status = 'finished'", lambda s: s.status == "finished"),
    ("attributes.status != 'RUNNING'", lambda s: s.status != "running"),
    ("attributes.status = 'RUNNING'", lambda s: s.status == "running"),
    ("status = 'crashed'", lambda s: s.status == "crashed"),
    ("status IN ('CRASHED', 'failed')", lambda s: s.status in ("crashed", "failed")),
    ("status NOT IN ('finished', 'KILLED')", lambda s: s.status not in ("finished", "killed")),
    ("status LIKE 'FIN%'", lambda s: s.status == "finished"),
    ("status LIKE 'fin%'", lambda s: s.status == "finished"),
    ("status ILIKE 'F%'", lambda s: s.status in ("finished", "failed")),
    ("attr.status = \"KILLED\"", lambda s: s.status == "killed"),
    ("run.status = 'failed'", lambda s: s.status == "failed"),
    ("attributes.run_name = 'dup-name'", lambda s: s.name == "dup-name"),
    ("run_name LIKE 'run-1%'", lambda s: like(s.name, "run-1%")),
    ("attributes.`run name` = 'run-3'", lambda s: s.name == "run-3"),
    ("attributes.\"Run Name\" = 'run-3'", lambda s: s.name == "run-3"),
    ("tags.mlflow.runName = 'run-3'", lambda s: s.name == "run-3"),
    ("tags.\"mlflow.runName\" IN ('run-3', 'run-4')", lambda s: s.name in ("run-3", "run-4")),
    ("name ILIKE 'RUN-2%'", lambda s: like(s.name, "run-2%", True)),
    (f"attributes.run_id = '{ID5}'", lambda s: s.id == ID5),
    (f"run_id IN ('{ID5}', '{ID8}')", lambda s: s.id in (ID5, ID8)),
    (f"id NOT IN ('{ID5}')", lambda s: s.id != ID5),
    (f"attributes.start_time > {MS_20}", lambda s: ms(s) > MS_20),
    (f"created <= {MS_20}", lambda s: ms(s) <= MS_20),
    ("created_at >= '2025-03-01T00:20:00'", lambda s: ms(s) >= MS_20),
    ("attributes.start_time < '2025-03-01 00:20:00Z'", lambda s: ms(s) < MS_20),
    ("attributes.end_time IS NULL", lambda s: ended(s) is None),
    (f"end_time > {MS_20}", lambda s: ended(s) is not None and ended(s).timestamp() * 1000 > MS_20),
    ("project = 'vision'", lambda s: s.project == "vision"),
    ("attributes.experiment != 'vision'", lambda s: s.project != "vision"),
    ("group IS NOT NULL", lambda s: s.group is not None),
    ("group = 'g1'", lambda s: s.group == "g1"),
    ("parent IS NULL", lambda s: True),
    ("duration > 20", lambda s: ended(s) is not None and (s.duration or 0) > 20),
    ("git_commit IS NULL", lambda s: s.git_commit is None),
    ("git_dirty = false", lambda s: s.git_commit is not None),
    ("notes = 'tuned'", lambda s: s.notes == "tuned"),
    # boolean structure: AND, OR, NOT, parentheses, any case
    ("metrics.acc > 0.8 AND params.bs = 32", lambda s: cmp(s.last("acc"), ">", 0.8) and p(s, "bs") == 32),
    ("metrics.acc > 0.8 and params.bs = '32' and tags.baseline = ''",
     lambda s: cmp(s.last("acc"), ">", 0.8) and p(s, "bs") == 32 and tag(s, "baseline") == ""),
    ("metrics.acc > 0.9 OR params.model = 'resnet'", lambda s: cmp(s.last("acc"), ">", 0.9) or p(s, "model") == "resnet"),
    ("NOT metrics.acc > 0.8", lambda s: not cmp(s.last("acc"), ">", 0.8)),
    ("not (params.model = 'bert' or params.model = 'gpt-2')", lambda s: p(s, "model") not in ("bert", "gpt-2")),
    ("(status = 'failed' OR status = 'killed') AND tags.baseline IS NOT NULL",
     lambda s: s.status in ("failed", "killed") and tag(s, "baseline") is not None),
    ("params.optim.name = 'sgd' and (min(metrics.val/loss) < 0.5 or count(metrics.acc) > 6)",
     lambda s: p(s, "optim.name") == "sgd" and (cmp(s.agg("min", "val/loss"), "<", 0.5) or cmp(s.agg("count", "acc"), ">", 6.0))),
    ("a_or_b = 1 or true".replace("a_or_b = 1 or true", "params.bs = 16 OR NOT NOT params.bs = 128"),
     lambda s: p(s, "bs") in (16, 128)),
    ("((((metrics.acc > 0.5))))", lambda s: cmp(s.last("acc"), ">", 0.5)),
    ("", lambda s: True),
    ("   ", lambda s: True),
]


@pytest.mark.parametrize(("filter", "pred"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_query_filter_matches_python_model(sample_store: Store, specs: list[RunSpec], filter: str, pred: Pred) -> None:
    expected = {s.id for s in specs if pred(s)}
    got = {row["id"] for row in sample_store.runs(filter=filter)}
    assert got == expected


def test_query_cases_are_not_trivial(specs: list[RunSpec]) -> None:
    """Guard the table itself: most cases select some runs but not all of them."""
    interesting = [f for f, pred in CASES if 0 < sum(pred(s) for s in specs) < len(specs)]
    assert len(interesting) > len(CASES) * 0.8


# ---------------------------------------------------------------- differential, random combinations
LEAVES = [c for c in CASES if c[0].strip() and " and " not in c[0].lower() and " or " not in c[0].lower()
          and not c[0].lower().startswith("not")]


def _combos() -> st.SearchStrategy[tuple[str, Pred]]:
    leaf = st.sampled_from(LEAVES)

    def extend(children: st.SearchStrategy[tuple[str, Pred]]) -> st.SearchStrategy[tuple[str, Pred]]:
        def both(op: str, a: tuple[str, Pred], b: tuple[str, Pred]) -> tuple[str, Pred]:
            if op == "AND":
                return f"({a[0]}) AND ({b[0]})", lambda s: a[1](s) and b[1](s)
            return f"({a[0]}) or ({b[0]})", lambda s: a[1](s) or b[1](s)

        def neg(a: tuple[str, Pred]) -> tuple[str, Pred]:
            return f"NOT ({a[0]})", lambda s: not a[1](s)

        return st.one_of(
            st.builds(both, st.sampled_from(["AND", "OR"]), children, children),
            st.builds(neg, children),
        )

    return st.recursive(leaf, extend, max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_combos())
def test_query_random_combinations_match_python_model(sample_store: Store, specs: list[RunSpec],
                                                      case: tuple[str, Pred]) -> None:
    filter, pred = case
    assert {r["id"] for r in sample_store.runs(filter=filter)} == {s.id for s in specs if pred(s)}
