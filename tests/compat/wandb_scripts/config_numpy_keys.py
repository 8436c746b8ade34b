# Source: wandb/wandb tests/functional_tests/t0_main/core/t7_config_numpy_keys.py, verbatim:
# config with int and numpy-int keys in nested dicts (wandb stores them as strings); no
# history, no finish().
import numpy as np
import wandb

wandb.init(
    config={
        "this": 2,
        "ok": {3: 4},
        "deeper": {"again": {9: 34}},
        "bad": {np.int64(22): 4},
    }
)
