"""A training process for the conformance tests: one writer of a run, in its own interpreter.

    python child_writer.py STORE RUN_ID RANK [hang] [ddp]

Logs ``loss`` at steps no other rank uses, ``rank<R>/x`` with a NaN and an inf, seals several
times (so the writer compacts), then finishes, or with ``hang`` prints ``ready`` and waits to
be killed. With ``ddp`` the ranks 0 and 1 wait for each other after ``init()``, as DDP ranks
do: a rank that finished before the other joined would make it resume an ended run (and
drop its steps below the last one logged, as wandb does).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import localtrack


def main() -> None:
    store, run_id, rank = sys.argv[1], sys.argv[2], int(sys.argv[3])
    hang = "hang" in sys.argv[4:]
    run = localtrack.init(
        dir=store, id=run_id, resume="allow", project="conformance", name=run_id,
        config={"world_size": 2, "optim": {"lr": 0.1, "eps": float("inf")}},
        tags={"ddp": "", "launcher": "child"},
    )
    if "ddp" in sys.argv[4:]:
        barrier = Path(store).parent / f"{run_id}-joined"
        (barrier.parent / f"{barrier.name}-{rank}").touch()
        deadline = time.monotonic() + 60
        while not (barrier.parent / f"{barrier.name}-{1 - rank}").exists() and time.monotonic() < deadline:
            time.sleep(0.002)
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
