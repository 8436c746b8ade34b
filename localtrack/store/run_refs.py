"""The one rule for what a typed run reference means: id, unique prefix, short id, unique name, ``@latest``.

The folder reader (``reader.resolve_run``), the index (``query.search.resolve``) and the
trash (``manage.resolve_trashed``) each gather candidates their own way, then ask
:func:`pick_run`, so a reference means the same run wherever it is typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from localtrack.errors import AmbiguousRunError, RunNotFoundError
from localtrack.ids import short_id

LATEST = "@latest"
MAX_SHOWN = 20
NOT_FOUND_HINT = "; `localtrack ls` lists the runs"


@dataclass(frozen=True)
class RunCandidate:
    """A run a reference may name; ``name`` None when its manifest cannot be read (found by id only)."""

    id: str
    name: str | None = None
    created_at: Any = None  # orders @latest; values of one lookup are of one type (ISO text or datetime)


def check_ref(ref: Any) -> str:
    """A reference is non-empty UTF-8 text; anything else names no run (and the error says why).

    A shell argument that is not UTF-8 arrives as lone surrogates (``os.fsdecode``); no run id
    or name can hold one, so it matches nothing, and the message shows it escaped.
    """
    if not isinstance(ref, str):
        raise RunNotFoundError(f"a run reference is a string (id, prefix, name or @latest), got {type(ref).__name__}", ref)
    if not ref.strip():
        raise RunNotFoundError("empty run reference: give a run id, id prefix or name", ref)
    try:
        ref.encode("utf-8")
    except UnicodeEncodeError:
        shown = ref.encode("utf-8", "surrogateescape" if _fs_bytes(ref) else "backslashreplace")
        raise RunNotFoundError(
            f"no run matches {shown!r}: it is not valid UTF-8 text, and run ids and names always are", ref
        ) from None
    return ref


def _fs_bytes(ref: str) -> bool:
    try:
        ref.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def pick_run(
    ref: str,
    candidates: Iterable[RunCandidate],
    *,
    what: str = "runs",
    not_found_hint: str = NOT_FOUND_HINT,
    allow_latest: bool = True,
) -> RunCandidate:
    """The one candidate ``ref`` names: exact id, then ``@latest``, then id/short-id prefix, then name.

    ``@latest`` is the readable run created last (then the largest id), as docs/FORMAT.md says.
    """
    ref = check_ref(ref)
    runs = list(candidates)
    for run in runs:
        if run.id == ref:
            return run
    if allow_latest and ref == LATEST:
        dated = [r for r in runs if r.name is not None]
        if not dated:
            raise RunNotFoundError("the store has no runs yet", ref)
        return max(dated, key=lambda r: (r.created_at is not None, r.created_at if r.created_at is not None else "", r.id))
    for matches in (
        [r for r in runs if r.id.startswith(ref) or short_id(r.id).startswith(ref)],
        [r for r in runs if r.name is not None and r.name == ref],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(f"{m.id} ({m.name if m.name is not None else '?'})" for m in matches[:MAX_SHOWN])
            raise AmbiguousRunError(
                f"{ref!r} matches {len(matches)} {what}: {shown}; use a longer id", ref, [m.id for m in matches]
            )
    raise RunNotFoundError(f"no run matches {ref!r}{not_found_hint}", ref)
