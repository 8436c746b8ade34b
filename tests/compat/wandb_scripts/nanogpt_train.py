# Source: karpathy/nanoGPT train.py (commit 3adf61e1), wandb lines 245-247 and 266-273 verbatim.
# The GPT model, data loader and torch are replaced by a seeded numpy "loss" so the shape
# stays: a config dict built from module globals, init only on the master process, a log
# every eval_interval iterations with numpy float values, and no finish() (the run ends
# when the interpreter exits).
import math

import numpy as np

# -----------------------------------------------------------------------------
eval_interval = 20
eval_iters = 5
wandb_log = True
wandb_project = 'owt'
wandb_run_name = 'gpt2'
batch_size = 12
block_size = 64
n_layer = 4
learning_rate = 6e-4
max_iters = 100
decay_lr = True
warmup_iters = 10
lr_decay_iters = 100
min_lr = 6e-5
device = 'cpu'
compile = False
# -----------------------------------------------------------------------------
config_keys = [k for k, v in globals().items() if not k.startswith('_') and isinstance(v, (int, float, bool, str))]
config = {k: globals()[k] for k in config_keys}
# -----------------------------------------------------------------------------
master_process = True
rng = np.random.default_rng(1337)


def estimate_loss(it):
    """Mean of a few noisy losses per split (numpy scalars, as torch's .mean() would give)."""
    base = 4.0 * math.exp(-it / 40.0) + 1.0
    return {split: rng.normal(base + offset, 0.01, size=eval_iters).mean()
            for split, offset in (("train", 0.0), ("val", 0.05))}


def get_lr(it):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


# logging
if wandb_log and master_process:
    import wandb
    wandb.init(project=wandb_project, name=wandb_run_name, config=config)

iter_num = 0
running_mfu = -1.0
while True:
    lr = get_lr(iter_num) if decay_lr else learning_rate
    if iter_num % eval_interval == 0 and master_process:
        losses = estimate_loss(iter_num)
        if wandb_log:
            wandb.log({
                "iter": iter_num,
                "train/loss": losses['train'],
                "val/loss": losses['val'],
                "lr": lr,
                "mfu": running_mfu*100, # convert to percentage
            })
    if iter_num >= 5:
        mfu = 0.3 + 0.001 * iter_num
        running_mfu = mfu if running_mfu == -1.0 else 0.9*running_mfu + 0.1*mfu
    iter_num += 1
    if iter_num > max_iters:
        break
