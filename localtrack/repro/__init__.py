"""Reproducibility: ``localtrack exec`` wraps any command as a run, ``reproduce`` re-runs one.

    session.py      one wrapped command as one run (create, record, run, end)
    runner.py       the child process: live output tee'd to a log, signals forwarded
    argv_params.py  ``--key value`` params read from a command line and rewritten for ``--set``
    worktree.py     a temporary git worktree of a recorded commit with its diff applied
    reproduce.py    plan a re-run, execute it, judge it
    verdict.py      final metric values compared with a relative tolerance
    drift.py        interpreter / package version differences
    artifact_io.py  the artifacts exec writes and reproduce reads

No duckdb, rich or typer here: the CLI (localtrack/cli/cmd_repro.py) renders.
"""
