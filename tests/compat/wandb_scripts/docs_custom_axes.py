# Source: wandb/docs content/en/guides/models/track/log/customize-logging-axes.md (the
# x_axis_squared and the "train/*" glob snippets), wandb lines verbatim: run.define_metric
# with keyword arguments, a glob name with step_metric, two `with wandb.init() as run:` runs
# in one process. random is seeded.
import wandb
import random

random.seed(8)

with wandb.init() as run:
    run.define_metric(step_metric = "x_axis_squared", name = "validation_loss")

    for i in range(10):
        log_dict = {
            "x_axis_squared": i**2,
            "validation_loss": random.random(),
        }
        run.log(log_dict)

with wandb.init() as run:

    # set all other train/ metrics to use this step
    run.define_metric("train/*", step_metric="train/step")

    for i in range(10):
        log_dict = {
            "train/step": 2**i,  # exponential growth w/ internal W&B step
            "train/loss": 1 / (i + 1),  # x-axis is train/step
            "train/accuracy": 1 - (1 / (1 + i)),  # x-axis is train/step
            "val/loss": 1 / (1 + i),  # x-axis is internal wandb step
        }
        run.log(log_dict)
