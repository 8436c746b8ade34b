"""Names of the environment variables localtrack reads. Kept in one place so docs and code agree."""

LOCALTRACK_DIR = "LOCALTRACK_DIR"
"""The store folder (``.../.localtrack``) or a project folder that contains one."""

LOCALTRACK_RUN_ID = "LOCALTRACK_RUN_ID"
"""Set by ``localtrack exec``/``reproduce``: ``init()`` attaches to this run instead of creating one."""

LOCALTRACK_PROJECT = "LOCALTRACK_PROJECT"
"""Default project name for ``init()``."""

LOCALTRACK_FLUSH_SECONDS = "LOCALTRACK_FLUSH_SECONDS"
"""Upper bound on how long a logged point stays in memory before it is sealed (default 2)."""

LOCALTRACK_RUN_OVERRIDES = "LOCALTRACK_RUN_OVERRIDES"
"""JSON object of config overrides applied after ``init()`` (used by ``localtrack reproduce --set``)."""

LOCALTRACK_RUN_TAGS = "LOCALTRACK_RUN_TAGS"
"""JSON object of tags merged into the run at ``init()`` (used by ``exec``/``reproduce``)."""

LOCALTRACK_EXEC = "LOCALTRACK_EXEC"
"""Set by ``localtrack exec``/``reproduce`` for the command it runs: ``exec`` already recorded the
git state and diff, and this comma list names the run fields (``name``, ``project``) that exec
fixed, which the script's ``init()`` arguments must not change (``1`` when none)."""

LOCALTRACK_QUERY_MEMORY_LIMIT = "LOCALTRACK_QUERY_MEMORY_LIMIT"
"""DuckDB memory limit for queries and index builds (default 2GB; bigger work spills to the store's tmp/)."""

LOCALTRACK_INDEX_HELPER = "LOCALTRACK_INDEX_HELPER"
"""``0``: an index build of thousands of runs reads them all in this process instead of sharing
the reading with one helper interpreter on another core (query/index_plan.py)."""
