"""Which runs a command is about: RUN references, globs over names and ids, and ``--filter``.

Every lookup goes through the read API (``localtrack.Store``); this module only decides
which of its answers the user meant.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from localtrack.errors import LocaltrackError, RunNotFoundError

if TYPE_CHECKING:
    from localtrack.query.store import Store

_GLOB_CHARS = frozenset("*?[")


def is_glob(ref: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in ref)


def _matches(pattern: str, row: dict[str, Any]) -> bool:
    from localtrack.ids import short_id

    run_id = str(row["id"])
    return any(
        fnmatch.fnmatchcase(candidate, pattern)
        for candidate in (str(row.get("name") or ""), run_id, short_id(run_id))
    )


def select_runs(
    store: Store,
    refs: Sequence[str] | None,
    filter: str | None = None,
    *,
    project: str | None = None,
    order_by: str | None = None,
    what: str = "runs",
) -> list[dict[str, Any]]:
    """Rows (read-API dicts) of the runs named by ``refs`` (globs allowed) and/or ``filter``.

    With refs the order is the order given (a glob's matches newest first); with only a
    filter it is the filter's order. With both, the named runs must also match the filter.
    """
    refs = [r for r in refs or []]
    if not refs and not filter:
        raise LocaltrackError(f"name the {what}: give RUN arguments (ids, names, globs) or --filter")
    table = store.runs(filter=filter, order_by=order_by, project=project)
    rows = table.to_dicts()
    if not refs:
        if not rows:
            raise RunNotFoundError(f"no run matches the filter {filter!r}", filter)
        return rows
    by_id = {str(r["id"]): r for r in rows}
    chosen: dict[str, dict[str, Any]] = {}
    for ref in refs:
        if is_glob(ref):
            matched = [r for r in rows if _matches(ref, r)]
            if not matched:
                raise RunNotFoundError(f"no run name or id matches the pattern {ref!r}", ref)
            for row in matched:
                chosen.setdefault(str(row["id"]), row)
            continue
        run_id = store.run(ref).id
        row = by_id.get(run_id)
        if row is None:
            raise RunNotFoundError(
                f"run {ref!r} ({run_id}) does not match "
                + (f"the filter {filter!r}" if filter else f"project {project!r}"),
                ref,
            )
        chosen.setdefault(run_id, row)
    return list(chosen.values())
