"""The read path: DuckDB over a rebuildable index of the store (the only home of duckdb).

Public surface: :class:`localtrack.query.store.Store` (re-exported as ``localtrack.Store``).
"""
