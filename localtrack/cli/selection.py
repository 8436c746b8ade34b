"""Which runs a command is about: RUN references, globs over names and ids, and ``--filter``.

The rule lives in the library (``localtrack.Store.select``); this module only adds the
command-line wording for "nothing was named".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from localtrack.errors import LocaltrackError

if TYPE_CHECKING:
    from localtrack.query.store import Store


def select_runs(
    store: Store,
    refs: Sequence[str] | None,
    filter: str | None = None,
    *,
    project: str | None = None,
    order_by: str | None = None,
    what: str = "runs",
) -> list[dict[str, Any]]:
    """Rows (read-API dicts) of the runs named by ``refs`` (globs allowed) and/or ``filter``."""
    refs = list(refs or [])
    if not refs and not filter:
        raise LocaltrackError(f"name the {what}: give RUN arguments (ids, names, globs) or --filter")
    return store.select(*refs, filter=filter, project=project, order_by=order_by).to_dicts()
