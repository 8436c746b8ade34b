# Source: wandb/examples colabs/wandb-log/Logging_Strategies_for_High_Frequency_Data.ipynb
# ("downsample" and "summarizing" cells), wandb lines verbatim: run = wandb.init(...) then
# `with run:` twice in one process, logging every 500th of 100 000 iterations. The notebook's
# timing prints are dropped.
import random

import wandb

total_steps = 100_000
log_every = 500

run = wandb.init(project="perf-log",
                 name="downsample")
with run:
    random.seed(117)
    metric = 0
    for iter in range(total_steps):
        metric += random.randint(-1, 1)

        if (iter + 1) % log_every == 0:  # subsampling
            run.log({"metric": metric, "iter": iter})

run = wandb.init(project="perf-log",
                 name="summarizing")

with run:
    random.seed(117)
    metric, running_average = 0, 0
    for iter in range(total_steps):
        metric += random.randint(-1, 1)
        running_average += metric / log_every

        if (iter + 1) % log_every == 0:
            run.log({"metric": running_average, "iter": iter})
            running_average = 0
