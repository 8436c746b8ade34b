# Source: wandb/examples colabs/wandb-log/Configs_in_W&B.ipynb (code cells 4-7), wandb lines
# verbatim: config at init, attribute and item assignment, config.update(argparse Namespace),
# and wandb.run.entity/.project/.id read back. The notebook's last step (wandb.Api() to edit
# the run on the server) needs the W&B server and is left out; so is wandb.login().
import argparse

import wandb

wandb.init(project="config_example",
           config={"dataset": "CelebA", "type": "baseline"});

wandb.config.epochs = 4
wandb.config["batch_size"] = 32

parser = argparse.ArgumentParser()
parser.add_argument('-b', '--batch_per_gpu', type=int, default=8,
                    help='input batch size for training (default: 8)')
parser.add_argument('-wd', '--weight_decay', type=float, default=0.1,
                    help='weight decay (default: 0.1)')

args = parser.parse_args(args=[])
wandb.config.update(args)

# pulling the relevant info automatically from the run object
# this can also be found on the website
username = wandb.run.entity
project = wandb.run.project
run_id = wandb.run.id
print(f"{username}/{project}/{run_id}")
