# Source: dkphd/mlops job.py, verbatim: wandb.Settings(...) passed to init, a string value
# logged to history in the first step, then ten numeric steps, inside `with wandb.init() as run`.
import wandb

settings = wandb.Settings(disable_git=True)

with wandb.init(settings=settings) as run:
    run.log({"hello": "world"})
    for i in range(10):
        run.log({"metric": i})
