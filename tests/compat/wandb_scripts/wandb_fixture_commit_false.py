# Source: wandb/wandb tests/fixtures/train.py, wandb lines verbatim: init(config=Namespace),
# config read by attribute as a loop bound, log(..., commit=False) followed by a log of a
# bool value; no finish(). random is seeded.
import argparse
import random

import wandb

random.seed(4)

parser = argparse.ArgumentParser()
parser.add_argument('--epochs', type=int, default=2)
args = parser.parse_args()

wandb.init(config=args)

for i in range(0, wandb.config.epochs):
    loss = random.uniform(0, wandb.config.epochs - i)
    print("loss: %s" % loss)
    wandb.log({"loss": loss}, commit=False)
    wandb.log({"cool": True})

print("Finished")
