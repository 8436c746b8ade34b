# Source: W&B docs "Log summary metrics", https://docs.wandb.ai/guides/track/log/log-summary
# (first snippet), wandb lines verbatim: init(config=args) with an argparse Namespace and
# wandb.run.summary["best_accuracy"] = ... inside the epoch loop; no history, no finish().
# test() is a deterministic stand-in for a model evaluation.
import argparse

import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()

_accuracies = iter([0.52, 0.61, 0.58, 0.7, 0.69, 0.74])


def test():
    accuracy = next(_accuracies)
    return 1.0 - accuracy, accuracy


wandb.init(config=args)

best_accuracy = 0
for epoch in range(1, args.epochs + 1):
    test_loss, test_accuracy = test()
    if test_accuracy > best_accuracy:
        wandb.run.summary["best_accuracy"] = test_accuracy
        best_accuracy = test_accuracy
