# Source: wandb/docs content/en/guides/models/track/log/log-summary.md ("Customize summary
# metrics" snippet), verbatim: define_metric called twice for the same key, with
# summary="min" then summary="max"; no finish().
import wandb
import random

random.seed(1)
wandb.init()

# Min and max summary values for loss
wandb.define_metric("loss", summary="min")
wandb.define_metric("loss", summary="max")

# Min and max summary values for accuracy
wandb.define_metric("acc", summary="min")
wandb.define_metric("acc", summary="max")

for i in range(10):
    log_dict = {
        "loss": random.uniform(0, 1 / (i + 1)),
        "acc": random.uniform(1 / (i + 1), 1),
    }
    wandb.log(log_dict)
