# Source: wandb/examples examples/api-examples/group-and-resume/train.py, wandb lines
# verbatim: init(group=, job_type=), config.update(Namespace), then a config key set by
# attribute; 50 logs with a "train/" section prefix; no finish(). The sleep is dropped and
# random is seeded.
# corpus-argv: --group_id exp-1
import argparse
import random

import wandb

random.seed(11)

parser = argparse.ArgumentParser()
parser.description = 'Train an example model'
parser.add_argument('--group_id', type=str, default=None)
parser.add_argument('--worker_index', type=int, default=0)
parser.add_argument('--learning_rate', type=float, default=0.9)
parser.add_argument('--momentum', type=float, default=0.8)


def loss_curve(step):
    result = 10 / (step + 1)
    noise = (random.random() - 0.5) * 0.5 * result
    return result + noise


def accuracy(loss):
    return (100 - loss) / 100.0


def main():
    args = parser.parse_args()
    if args.group_id == None:
        print('Please pass --group_id')
        return
    wandb.init(group=args.group_id, job_type='train')
    wandb.config.update(args)
    wandb.config.job_type = 'training'

    for i in range(50):
        loss = loss_curve(i)
        acc = accuracy(loss)
        wandb.log({'epoch': i, 'loss': loss, 'train/acc': acc})


if __name__ == '__main__':
    main()
