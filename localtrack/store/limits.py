"""Size limits every reader can honour, checked where a value is set, never at finish.

One place for the numbers so docs/FORMAT.md and the checks cannot drift. They are chosen so
that a run at every limit still writes a manifest well under ``MAX_MANIFEST_BYTES`` (64 MiB,
the reader's cap): config 4 MiB + summary values 4 MiB + notes 1 MB + per writer about
300 bytes x ``MAX_METRIC_KEYS`` (3 MB) of per-metric summary and segment records.
"""

from __future__ import annotations

MAX_CONFIG_VALUE_BYTES = 1024 * 1024  # one top-level config (or summary) key, as UTF-8 JSON
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # the whole config, as UTF-8 JSON
MAX_SUMMARY_VALUES_BYTES = 4 * 1024 * 1024  # every value set with run.summary[...] together
MAX_METRIC_KEYS = 10_000  # distinct metric keys one writer may log into a run
MAX_JSON_INT = 2**63 - 1  # config/summary integers: int64, what DuckDB and most JSON readers hold
MAX_ALERTS = 1_000  # alerts kept per run; later ones are printed but not recorded
MAX_ALERT_TITLE = 1_000  # characters
MAX_ALERT_TEXT = 10_000  # characters
