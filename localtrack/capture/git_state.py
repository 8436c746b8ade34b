"""The git state of the code a run executes: commit, branch, remote, and the dirty diff.

``read_git_info`` runs on every ``init()``, inside training scripts, so it reads the
repository files directly (HEAD, loose refs, packed-refs, config) instead of spawning
``git``: a subprocess costs milliseconds, a few small reads cost microseconds. Its result
is cached per repository and revalidated by ``stat`` so a commit made mid-process shows.

``dirty_state`` needs git's own index/worktree comparison, so it does run ``git``; it is
slow on big trees and callers run it in a background thread.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["dirty_state", "find_git_root", "read_git_info", "strip_credentials"]

_SHA = re.compile(r"[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?")
# Refs git keeps per worktree; every other ref lives in the common dir.
_PER_WORKTREE_PREFIXES = ("refs/worktree/", "refs/bisect/", "refs/rewritten/")
# What HEAD holds in a repository using the reftable backend (git >= 2.45).
_REFTABLE_STUB = "refs/heads/.invalid"
# SSH-style transports: the user name ("git@") is routing, not a secret.
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})

StatKey = tuple[int, int, int] | None


# --------------------------------------------------------------------------- locating


def _gitdir_of(dot_git: str) -> str | None:
    """The git directory a ``.git`` entry stands for: itself, or the target of ``gitdir:``."""
    if os.path.isdir(dot_git):
        return dot_git if os.path.exists(os.path.join(dot_git, "HEAD")) else None
    try:
        with open(dot_git, encoding="utf-8", errors="surrogateescape") as f:
            line = f.readline(4096).strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    target = line[len("gitdir:") :].strip()
    if not target:
        return None
    target = os.path.normpath(os.path.join(os.path.dirname(dot_git), target))
    return target if os.path.exists(os.path.join(target, "HEAD")) else None


def _locate(start: Path | str) -> tuple[str, str] | None:
    """``(worktree root, git dir)`` for the nearest enclosing repository, or None."""
    current = os.path.abspath(os.fspath(start))
    while True:
        dot_git = os.path.join(current, ".git")
        if os.path.lexists(dot_git):
            gitdir = _gitdir_of(dot_git)
            if gitdir is not None:
                return current, gitdir
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def find_git_root(start: Path) -> Path | None:
    """The working-tree root holding ``start`` (walking up to a ``.git`` dir or file), or None."""
    found = _locate(start)
    return Path(found[0]) if found else None


# --------------------------------------------------------------------------- reading


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError:
        return None


def _stat_key(path: str) -> StatKey:
    """Identity of a file's current content as cheaply as the OS can tell: git replaces
    refs by rename, so the inode changes even when mtime granularity would not."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _common_dir(gitdir: str) -> str:
    """Where shared refs/config live: ``commondir`` for linked worktrees, else the git dir."""
    text = _read_text(os.path.join(gitdir, "commondir"))
    if text and text.strip():
        return os.path.normpath(os.path.join(gitdir, text.strip()))
    return gitdir


def _packed_ref(common: str, ref: str) -> str | None:
    text = _read_text(os.path.join(common, "packed-refs"))
    if not text:
        return None
    for line in text.splitlines():
        if not line or line[0] in "#^":
            continue
        sha, _, name = line.partition(" ")
        if name.strip() == ref and _SHA.fullmatch(sha):
            return sha.lower()
    return None


def _resolve_head(gitdir: str, common: str) -> tuple[str | None, str | None, list[str]]:
    """``(commit, branch, files consulted)`` from HEAD, following symbolic refs a few levels."""
    watched = [os.path.join(gitdir, "HEAD"), os.path.join(common, "packed-refs")]
    content = (_read_text(watched[0]) or "").strip()
    first_ref: str | None = None
    for _ in range(5):
        if not content.startswith("ref:"):
            sha = content if _SHA.fullmatch(content) else None
            return (sha.lower() if sha else None), _branch_name(first_ref), watched
        ref = content[len("ref:") :].strip()
        if ref == _REFTABLE_STUB:
            return None, None, watched  # refs live in a reftable we do not parse
        if first_ref is None:
            first_ref = ref
        base = gitdir if ref.startswith(_PER_WORKTREE_PREFIXES) else common
        loose = os.path.join(base, *ref.split("/"))
        watched.append(loose)
        text = _read_text(loose)
        if text is None:  # not loose: packed, or an unborn branch
            return _packed_ref(common, ref), _branch_name(first_ref), watched
        content = text.strip()
    return None, _branch_name(first_ref), watched


def _branch_name(ref: str | None) -> str | None:
    if ref is None:
        return None
    return ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref


_SECTION = re.compile(r'^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')


def _config_value(raw: str) -> str:
    """A git-config value: strip inline comments, honour quotes and backslash escapes."""
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append({"n": "\n", "t": "\t", "b": "\b"}.get(nxt, nxt))
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


def _origin_url(config_text: str | None) -> str | None:
    """``remote.origin.url`` from a git config file (first value wins, as for fetch)."""
    if not config_text:
        return None
    in_origin = False
    lines = config_text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        while line.endswith("\\") and i < len(lines):  # continuation lines
            line = line[:-1] + lines[i].strip()
            i += 1
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            m = _SECTION.match(line)
            if m is None:
                in_origin = False
                continue
            section, sub = m.group(1).lower(), m.group(2)
            in_origin = (section == "remote" and sub == "origin") or section == "remote.origin"
            line = line[m.end() :].strip()  # `[remote "origin"] url = x` is legal
            if not line:
                continue
        if in_origin:
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() == "url":
                url = _config_value(value)
                return url or None
    return None


_cache: dict[str, tuple[tuple[StatKey, ...], list[str], dict[str, Any]]] = {}


def read_git_info(start: Path) -> dict[str, Any] | None:
    """Commit, branch, origin URL (credentials stripped) and root of the repo holding ``start``.

    Returns ``{"commit", "branch", "remote", "root"}`` or None outside a repository;
    ``commit`` is None on an unborn branch, ``branch`` None on a detached HEAD. Never
    spawns a process and never raises.
    """
    try:
        located = _locate(start)
        if located is None:
            return None
        root, gitdir = located
        cached = _cache.get(root)
        if cached is not None:
            signature, watched, cached_info = cached
            if tuple(_stat_key(p) for p in watched) == signature:
                return dict(cached_info)
        common = _common_dir(gitdir)
        extra = [os.path.join(common, "config"), os.path.join(root, ".git")]
        # Learn which files HEAD goes through, stat them, then read for real: a change
        # racing the read leaves a stale signature, so the next call simply rereads.
        watched = [*_resolve_head(gitdir, common)[2], *extra]
        for _ in range(3):
            signature = tuple(_stat_key(p) for p in watched)
            commit, branch, through = _resolve_head(gitdir, common)
            raw_url = _origin_url(_read_text(extra[0]))
            if [*through, *extra] == watched:
                break
            watched = [*through, *extra]  # HEAD moved meanwhile: watch the new ref
        info: dict[str, Any] = {
            "commit": commit,
            "branch": branch,
            "remote": strip_credentials(raw_url) if raw_url else None,
            "root": root,
        }
        _cache[root] = (signature, watched, info)
        return dict(info)
    except (OSError, ValueError, UnicodeError):
        return None


def _clear_cache() -> None:
    """Forget cached repository states (for tests)."""
    _cache.clear()


# --------------------------------------------------------------------------- credentials


def strip_credentials(url: str) -> str:
    """``url`` without secrets: userinfo from http(s) and other URLs (an ssh user name is
    kept, its password dropped), and any query string or fragment. scp-like
    ``git@host:org/repo.git`` and local paths come back unchanged."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return url  # scp-like or a local path: no place for a password or token
    # The authority ends at the first of / ? # ; a password may itself hold '@'.
    end = len(rest)
    for ch in "/?#":
        pos = rest.find(ch)
        if pos != -1:
            end = min(end, pos)
    authority, path = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    if at:
        user = userinfo.partition(":")[0]
        keep_user = scheme.lower() in _SSH_SCHEMES and user
        authority = f"{user}@{host}" if keep_user else host
    # Query strings and fragments can carry tokens (?access_token=...).
    path = path.split("#", 1)[0].split("?", 1)[0]
    return f"{scheme}://{authority}{path}"


# --------------------------------------------------------------------------- dirty state


class _GitError(Exception):
    pass


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_OPTIONAL_LOCKS="0",  # status must not refresh (write) the index
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        LC_ALL="C",
    )
    return env


def _run_git(root: Path, args: list[str], deadline: float, stdin: bytes | None = None) -> bytes:
    """Run ``git`` with a hard deadline; kill its whole process group if it overruns."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _GitError("timed out")
    cmd = ["git", "--no-optional-locks", "--no-pager", "-C", os.fspath(root), *args]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_git_env(),
            start_new_session=True,  # so a timeout can kill hooks/children git spawned
        )
    except OSError as exc:
        raise _GitError(f"cannot run git: {exc}") from exc
    try:
        out, err = proc.communicate(stdin, timeout=remaining)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise _GitError(f"git {args[0]} timed out after {remaining:.1f}s") from None
    if proc.returncode != 0:
        msg = err.decode("utf-8", "replace").strip().splitlines()
        raise _GitError(f"git {args[0]} failed ({proc.returncode}): {msg[-1] if msg else ''}")
    return out


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass
    try:
        proc.communicate(timeout=1.0)
    except (subprocess.TimeoutExpired, OSError, ValueError):
        # A grandchild still holds the pipes; do not wait for it.
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def _decode_path(raw: bytes) -> str:
    # Paths go into JSON manifests: never produce lone surrogates.
    return raw.decode("utf-8", "backslashreplace")


def _exclude_pathspecs(root: Path, exclude: Sequence[Path | str]) -> list[str]:
    """``:(exclude)`` pathspecs (literal, relative to the top of the working tree holding
    ``root``) for the folders in ``exclude`` that lie inside that tree; others need none.

    Both the folder as named and its resolved target are excluded, so a store reached
    through a symlink is hidden whichever path git sees."""
    located = _locate(root)
    if located is None:
        return []
    specs: list[str] = []
    for base, resolve in ((os.path.abspath(located[0]), os.path.abspath), (os.path.realpath(located[0]), os.path.realpath)):
        for folder in exclude:
            try:
                rel = os.path.relpath(resolve(os.fspath(folder)), base)
            except (OSError, ValueError):
                continue
            if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
                continue  # outside the tree (or the whole tree: excluding it would hide everything)
            spec = ":(exclude,literal,top)" + rel.replace(os.sep, "/")
            if spec not in specs:
                specs.append(spec)
    return specs


def dirty_state(root: Path, timeout: float = 10.0, exclude: Sequence[Path | str] = ()) -> dict[str, Any]:
    """Uncommitted state of the repo at ``root`` via ``git`` (slow: call it off-thread).

    Returns ``{"dirty": bool, "diff": bytes, "untracked": [str], "error": None}``:
    ``diff`` is ``git diff HEAD --binary`` (staged and unstaged tracked changes; against
    the empty tree on an unborn branch), ``untracked`` the files ``.gitignore`` does not
    hide, and ``dirty`` is True when either is non-empty (what ``git status`` calls not
    clean). On any failure (git missing, timeout, not a repo) returns ``dirty: None`` and
    an ``error`` string instead of raising. Never writes to the repository or index.

    ``exclude`` names folders (the run's own store) whose files are not the user's code:
    they count for none of ``dirty``, ``diff`` and ``untracked``, tracked or not.
    """
    deadline = time.monotonic() + timeout
    pathspecs = _exclude_pathspecs(root, exclude)
    result: dict[str, Any] = {"dirty": None, "diff": b"", "untracked": [], "error": None}
    try:
        status = _run_git(
            root,
            ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", "--", *pathspecs],
            deadline,
        )
        unborn = False
        tracked_changes = False
        untracked: list[str] = []
        tokens = status.split(b"\0")
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            i += 1
            if tok.startswith(b"# branch.oid "):
                unborn = tok.endswith(b"(initial)")
            elif tok.startswith(b"? "):
                untracked.append(_decode_path(tok[2:]))
            elif tok[:2] in (b"1 ", b"u "):
                tracked_changes = True
            elif tok.startswith(b"2 "):
                tracked_changes = True
                i += 1  # a rename/copy entry is followed by its original path
        result["untracked"] = untracked
        result["dirty"] = tracked_changes or bool(untracked)
        if tracked_changes:
            base = "HEAD"
            if unborn:
                empty_tree = _run_git(root, ["hash-object", "-t", "tree", "--stdin"], deadline, b"")
                base = empty_tree.decode("ascii").strip()
            result["diff"] = _run_git(
                root,
                [
                    "diff",
                    "--binary",
                    "--no-color",
                    "--no-ext-diff",
                    "--no-textconv",
                    "--src-prefix=a/",
                    "--dst-prefix=b/",
                    base,
                    "--",
                    *pathspecs,
                ],
                deadline,
            )
    except _GitError as exc:
        result["error"] = str(exc)
    except (OSError, ValueError, UnicodeError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result
