# Source: wandb/wandb tests/functional_tests/core/03-script-fail.py, verbatim: two logs, then
# an uncaught ZeroDivisionError ends the process (exit code 1); the run must keep both
# points and its summary.
import wandb

wandb.init()
wandb.log(dict(m1=1))
wandb.log(dict(m2=2))
print(1 / 0)
