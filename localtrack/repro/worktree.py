"""A throwaway checkout of a recorded commit, with the recorded diff applied.

``git worktree add --detach`` gives a second working tree with its own HEAD and index, so
the user's working tree, index and HEAD are never touched; only ``.git/worktrees/<name>``
is written, and removed again (``worktree remove --force`` then ``prune``) even when the
reproduction fails or is interrupted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from localtrack.errors import ReproduceError

_SHA = re.compile(r"[0-9a-f]{7,64}\Z")
GIT_TIMEOUT = 120.0


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat", LC_ALL="C")
    # A worktree checkout must not run the user's hooks or filters that expect their tree.
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    return env


def git(repo: Path, args: Sequence[str], *, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C repo args``; raise :class:`ReproduceError` with git's last line on failure."""
    cmd = ["git", "-C", os.fspath(repo), *args]
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, env=_git_env(), timeout=GIT_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise ReproduceError("git is not installed (or not on PATH); reproduce needs it", "git") from None
    except subprocess.TimeoutExpired:
        raise ReproduceError(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s", args[0]) from None
    if check and proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ReproduceError(f"git {args[0]} failed: {lines[-1] if lines else proc.returncode}", args[0])
    return proc


def repo_root(path: Path) -> Path | None:
    """The top of the git working tree holding ``path``, or None."""
    if not path.is_dir():
        return None
    try:
        proc = git(path, ["rev-parse", "--show-toplevel"], check=False)
    except ReproduceError:
        return None
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode("utf-8", "surrogateescape").strip())


def has_commit(repo: Path, commit: str) -> bool:
    """Whether ``commit`` names a commit object present in ``repo``."""
    if not _SHA.match(commit):
        return False
    proc = git(repo, ["cat-file", "-e", f"{commit}^{{commit}}"], check=False)
    return proc.returncode == 0


def find_repo(commit: str, candidates: Sequence[Path | None]) -> Path | None:
    """The first candidate folder inside a git repository that holds ``commit``."""
    seen: set[Path] = set()
    for candidate in candidates:
        if candidate is None:
            continue
        root = repo_root(candidate)
        if root is None or root in seen:
            continue
        seen.add(root)
        if has_commit(root, commit):
            return root
    return None


def diff_stat(repo: Path, diff: bytes) -> str:
    """``git apply --stat`` of a diff (what a dry run shows), or a byte count if git cannot read it."""
    proc = git(repo, ["apply", "--stat", "-"], stdin=diff, check=False)
    if proc.returncode != 0:
        return f"{len(diff)} bytes (git cannot summarise it)"
    return proc.stdout.decode("utf-8", "replace").rstrip()


@contextmanager
def temporary_worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temp folder, removed on exit whatever happens."""
    parent = Path(tempfile.mkdtemp(prefix="localtrack-reproduce-"))
    tree = parent / "tree"
    try:
        # No hooks: a post-checkout hook written for the user's tree has no business here.
        args = ["-c", f"core.hooksPath={os.devnull}", "worktree", "add", "--detach", "--quiet", str(tree), commit]
        proc = git(repo, args, check=False)
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ReproduceError(
                f"cannot check out commit {commit} in a temporary worktree: {lines[-1] if lines else proc.returncode}",
                commit,
            )
        yield tree
    finally:
        try:
            git(repo, ["worktree", "remove", "--force", "--force", str(tree)], check=False)
        except ReproduceError:
            pass
        shutil.rmtree(parent, ignore_errors=True)
        try:
            git(repo, ["worktree", "prune"], check=False)
        except ReproduceError:
            pass


def apply_diff(tree: Path, diff: bytes) -> None:
    """Apply a recorded ``git diff --binary`` to the worktree (files only, not its index)."""
    if not diff:
        return
    proc = git(tree, ["apply", "--binary", "--whitespace=nowarn", "-"], stdin=diff, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ReproduceError(
            f"the recorded diff does not apply to its commit: {lines[0] if lines else proc.returncode}", "diff"
        )
