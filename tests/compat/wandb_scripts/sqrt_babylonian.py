# Source: wandb/examples examples/wandb-log/sqrt.py, verbatim apart from comments.
# Config set by attribute and read back as a loop bound; the project and the metric key are
# built from sys.argv; no finish().
# corpus-argv: 2
import sys

import wandb

wandb.init(project="sqrt" + sys.argv[1])

wandb.config.steps = 10

x = float(sys.argv[1])

approx_sqrt = x / 2.0

for i in range(wandb.config.steps):
    approx_sqrt = (x / approx_sqrt + approx_sqrt) / 2
    wandb.log({"Approx. Sqrt" + sys.argv[1]: approx_sqrt})
