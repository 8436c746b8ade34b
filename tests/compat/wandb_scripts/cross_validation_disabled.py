# Source: glmanhtu/homer-competition cross_validation.py, wandb lines verbatim: one run per
# fold with init(group=, name=, project=, entity=, resume=, config=args, mode=args.wb_mode)
# and run.finish(). Run here with --wb_mode disabled, the way the script is used when
# tracking is off: wandb records nothing and nothing fails. The Trainer is replaced by a
# small loop; CrossValOptions by argparse.
# corpus-argv: --wb_mode disabled
import argparse

import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--k_fold", type=int, default=3)
parser.add_argument("--group", default="cv")
parser.add_argument("--name", default="homer")
parser.add_argument("--wb_project", default="homer-competition")
parser.add_argument("--wb_entity", default=None)
parser.add_argument("--resume", action="store_true")
parser.add_argument("--wb_mode", default="online")
args = parser.parse_args()

if __name__ == "__main__":
    for fold in range(args.k_fold):
        run = wandb.init(group=args.group,
                         name=f'{args.name}_fold-{fold}',
                         project=args.wb_project,
                         entity=args.wb_entity,
                         resume=args.resume,
                         config=args,
                         mode=args.wb_mode)

        score = sum(1.0 / (fold + k + 1) for k in range(10))
        print(f"fold {fold}: {score:.4f}")

        run.finish()
