# Source: wandb/examples colabs/intro/run_quickstart.ipynb (code cells 2-3), wandb lines verbatim.
# `with wandb.init(...) as run:` ends the run at the end of the block; run.log with a dict.
import random

import wandb

random.seed(7)

# Project that the run is recorded to
project = "my-run-quickstart"

# Hyperparameters
config = {
    "epochs": 10,
    "lr": 0.01,
}

with wandb.init(project=project, config=config) as run:
    offset = random.random() / 5
    print(f"lr: {config['lr']}")

    for epoch in range(2, config["epochs"]):
        acc = 1 - 2**-config["epochs"] - random.random() / config["epochs"] - offset
        loss = 2**-config["epochs"] + random.random() / config["epochs"] + offset
        run.log({"epoch": epoch, "accuracy": acc, "loss": loss})
