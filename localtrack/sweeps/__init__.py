"""Local sweeps: W&B's sweep config, trials claimed through the store, no server.

    localtrack sweep create sweep.yaml          # -> sweep id, stored in .localtrack/sweeps/
    localtrack sweep agent SWEEP -- python train.py
    localtrack sweep show SWEEP

or from Python, as with wandb: ``sweep_id = localtrack.sweep(config)`` then
``localtrack.agent(sweep_id, function=train, count=10)``. See docs/SWEEPS.md.
"""
