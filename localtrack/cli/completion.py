"""``localtrack --show-completion [SHELL]``: the completion script for a named shell.

typer's own option ignores a shell named after it and asks shellingham for the shell of the
process tree, which fails when no shell is among the ancestors (a job whose parent exited, a
service): then it printed "Shell  not supported" and exited 1. Here the named shell comes
first, then shellingham, then ``$SHELL``, as the root help says.
"""

from __future__ import annotations

import os
import sys

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def shell_for(named: str | None) -> str | None:
    """The shell to print a script for: ``named``, else the detected one, else ``$SHELL``'s."""
    if named:
        return named
    try:
        import shellingham  # type: ignore[import-untyped]

        return str(shellingham.detect_shell()[0])
    except Exception:  # ShellDetectionFailure, or shellingham missing: fall back to $SHELL
        name = os.path.basename(os.environ.get("SHELL", ""))
        return name or None


def show_completion(args: list[str]) -> int:
    """Print the script and return 0, or one line naming the problem and return 2."""
    from typer._completion_shared import get_completion_script

    from localtrack.cli.output import print_error

    if len(args) > 1:
        print_error(f"--show-completion takes one shell name, got {len(args)}", f"one of {', '.join(SHELLS)}")
        return 2
    shell = shell_for(args[0] if args else None)
    if shell not in SHELLS:
        found = "no shell was detected and SHELL is not set" if shell is None else f"{shell!r} is not supported"
        print_error(f"--show-completion: {found}", f"name one: localtrack --show-completion {{{','.join(SHELLS)}}}")
        return 2
    script = get_completion_script(prog_name="localtrack", complete_var="_LOCALTRACK_COMPLETE", shell=shell)
    sys.stdout.write(script + "\n")
    return 0
