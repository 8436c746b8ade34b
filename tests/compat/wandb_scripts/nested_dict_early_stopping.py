# Source: podondra/calibration calibration/train.py (train_early_stopping), wandb lines
# verbatim: nested dicts logged ({"train": {...}, "valid": {...}}) and a summary key
# "valid.loss" written with wandb.run.summary[...] = beside the nested history key.
# The torch model is replaced by a deterministic pure-Python loss curve. The repository
# calls wandb.init in another module; the init line here (project + config dict) is ours,
# not verbatim. No finish().
import math

import wandb

hyperparams = {"patience": 3, "lr": 0.01}
wandb.init(project="calibration", config=hyperparams)


def train_epoch(epoch):
    return {"loss": 1.0 / (epoch + 1), "accuracy": 1.0 - 0.5 / (epoch + 1)}


def evaluate(epoch):
    return {"loss": 0.6 + 0.05 * math.cos(epoch * 1.3) - 0.02 * min(epoch, 4),
            "accuracy": 0.7 + 0.01 * epoch}


loss_best = float("inf")
i = 0
epoch = 0
while i < hyperparams["patience"]:
    log_train = train_epoch(epoch)
    log_valid = evaluate(epoch)
    if log_valid["loss"] < loss_best:
        loss_best = log_valid["loss"]
        i = 0
    else:
        i += 1
    wandb.log({"train": log_train, "valid": log_valid})
    wandb.run.summary["valid.loss"] = loss_best
    epoch += 1
