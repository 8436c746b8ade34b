"""A training process for the conformance tests: one writer of a run, in its own interpreter.

    python child_writer.py STORE RUN_ID RANK [hang]

Logs ``loss`` at steps no other rank uses, ``rank<R>/x`` with a NaN and an inf, seals several
times (so the writer compacts), then finishes, or with ``hang`` prints ``ready`` and waits to
be killed.
"""

from __future__ import annotations

import sys
import time

import localtrack


def main() -> None:
    store, run_id, rank = sys.argv[1], sys.argv[2], int(sys.argv[3])
    hang = sys.argv[4:] == ["hang"]
    run = localtrack.init(
        dir=store, id=run_id, resume="allow", project="conformance", name=run_id,
        config={"world_size": 2, "optim": {"lr": 0.1, "eps": float("inf")}},
        tags={"ddp": "", "launcher": "child"},
    )
    for seal in range(10):
        for i in range(5):
            step = rank * 1000 + seal * 5 + i
            x = float("nan") if i == 1 else float("inf") if i == 2 else step / 7
            run.log({"loss": 1.0 / (step + 1), f"rank{rank}/x": x}, step=step)
        run.flush()
    if hang:
        print("ready", flush=True)
        time.sleep(120)
    run.finish()


if __name__ == "__main__":
    main()
