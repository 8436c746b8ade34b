# Source: ahsan518/PoC scripts/log_runs.py, verbatim apart from comments and the
# commented-out login: ten runs in one process with reinit=True, each logging once through
# the module-level wandb.log and closed with run.finish().
import wandb


def main():
    project_name = "my-wandb-project"
    for i in range(10):
        run = wandb.init(project=project_name, name=f"test-run-{i}", reinit=True)
        wandb.log({"iteration": i})
        run.finish()


if __name__ == "__main__":
    main()
