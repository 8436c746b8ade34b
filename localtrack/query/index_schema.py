"""Tables of the index: a derived cache of the run folders, safe to delete at any time.

One row per run in ``runs_t`` (status as derived at the last check), its flattened params,
tags, summary values, artifacts and per-metric summaries, each run's live segment files
(``segments_t``: metric points are read from them, never copied here; see index_load), the runs
whose metric means are still to be computed (``lazy_t``), what each run folder looked like
when indexed (``files_t``) and the damage seen (``problems_t``).
"""

from __future__ import annotations

SCHEMA_VERSION = 5  # 2: files_t.m_digest (racy runs are checked by manifest digest); 3: summary_t (run.summary
# values); 4: no points_t (points are read from the segments listed in segments_t), msum_t from manifests, lazy_t;
# 5: segments_t.place (the writer/seal/row order of points, the summary rule's tie-break)
INDEX_FILENAME = f"index-v{SCHEMA_VERSION}.duckdb"
LOCK_FILENAME = ".index.lock"

TABLES = {
    "meta": "key VARCHAR, value VARCHAR",
    "files_t": (
        "run_id VARCHAR, m_mtime BIGINT, m_size BIGINT, m_ino BIGINT, segs VARCHAR, "
        "deep BOOLEAN, racy BOOLEAN, m_digest VARCHAR"
    ),
    "runs_t": (
        'rk BIGINT, id VARCHAR, name VARCHAR, project VARCHAR, "group" VARCHAR, parent VARCHAR, '
        "status_raw VARCHAR, status VARCHAR, created_at TIMESTAMPTZ, ended_at TIMESTAMPTZ, "
        "duration DOUBLE, git_commit VARCHAR, git_branch VARCHAR, git_dirty BOOLEAN, notes VARCHAR, "
        "writers VARCHAR"
    ),
    "params_t": "rk BIGINT, key VARCHAR, value VARCHAR, num DOUBLE, kind VARCHAR, json VARCHAR",
    "tags_t": "rk BIGINT, key VARCHAR, value VARCHAR",
    "summary_t": "rk BIGINT, key VARCHAR, value VARCHAR, num DOUBLE, kind VARCHAR, json VARCHAR",
    "artifacts_t": (
        "rk BIGINT, name VARCHAR, version BIGINT, type VARCHAR, kind VARCHAR, hash VARCHAR, size BIGINT, "
        "files BIGINT, created_at TIMESTAMPTZ, info VARCHAR"
    ),
    "msum_t": (
        'rk BIGINT, key VARCHAR, "last" DOUBLE, "min" DOUBLE, "max" DOUBLE, "mean" DOUBLE, '
        '"count" BIGINT, "step" BIGINT'
    ),
    # place: the file's position in its run's live_segments order (writer id, seal); with the row
    # number it gives each point its ord, the last tie-break of store.summary's rule
    "segments_t": "rk BIGINT, file VARCHAR, place BIGINT",
    "lazy_t": "rk BIGINT",
    "problems_t": "run_id VARCHAR, message VARCHAR",
}

# Per-run tables: a run's rows are replaced whole when its folder changes. Rows are keyed by
# ``rk``, a number given afresh each time a run is (re)indexed, so every table stays sorted by
# it as rows are appended and lookups by run touch few blocks.
RK_TABLES = ("params_t", "tags_t", "summary_t", "artifacts_t", "msum_t", "segments_t", "lazy_t")
ID_TABLES = ("files_t", "problems_t")

# The views raw SQL sees (``localtrack sql``): stable names and columns, documented in docs/FILTERS.md.
VIEWS = {
    "runs": (
        'SELECT id, name, project, "group", parent, status, created_at, ended_at, duration, '
        "git_commit, git_branch, git_dirty, notes FROM {db}.runs_t"
    ),
    "params": (
        "SELECT r.id AS run_id, x.key, x.value, x.num AS value_num, x.kind "
        "FROM {db}.params_t x JOIN {db}.runs_t r USING (rk)"
    ),
    "tags": "SELECT r.id AS run_id, x.key, x.value FROM {db}.tags_t x JOIN {db}.runs_t r USING (rk)",
    "summary": (
        "SELECT r.id AS run_id, x.key, x.value, x.num AS value_num, x.kind "
        "FROM {db}.summary_t x JOIN {db}.runs_t r USING (rk)"
    ),
    "metrics": (  # {files}: every live segment file (the index holds no points)
        'SELECT r.id AS run_id, x.key, x.step, x."timestamp", x.value '
        "FROM (SELECT f.rk, p.key, p.step, p.\"timestamp\", p.value FROM read_parquet({files}, filename = true) p "
        "JOIN {db}.segments_t f ON f.file = p.filename) x JOIN {db}.runs_t r USING (rk)"
    ),
    "metric_summary": (
        'SELECT r.id AS run_id, x.key, x."last", x."min", x."max", x."mean", x."count", x."step" '
        "FROM {db}.msum_t x JOIN {db}.runs_t r USING (rk)"
    ),
    "artifacts": (
        "SELECT r.id AS run_id, x.name, x.version, x.type, x.kind, x.hash, x.size, x.files, x.created_at, "
        "x.info "
        "FROM {db}.artifacts_t x JOIN {db}.runs_t r USING (rk)"
    ),
    "problems": "SELECT run_id, message FROM {db}.problems_t",
}


def create_statements() -> list[str]:
    return [f"CREATE TABLE IF NOT EXISTS {name} ({columns})" for name, columns in TABLES.items()]


def view_definitions(db: str, files: list[str]) -> dict[str, str]:
    """The views' SELECTs over database ``db``; ``metrics`` reads the given segment files."""
    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    out = {}
    for name, select in VIEWS.items():
        if name == "metrics" and not files:
            select = ('SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS key, NULL::BIGINT AS step, '
                      'NULL::TIMESTAMPTZ AS "timestamp", NULL::DOUBLE AS value WHERE false')
        out[name] = select.format(db=db, files="[" + ", ".join(literal(f) for f in files) + "]")
    return out
