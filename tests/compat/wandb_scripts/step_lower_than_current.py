# Source: "wandb.log(): the core function",
# https://theneuralbase.com/weights-biases/learn/beginner/wandb-log-the-core-function/
# (Configuration snippet), wandb lines verbatim: per-batch logs advance the step, then a
# per-epoch log passes step=epoch, which is lower than the current step: wandb warns and
# drops those points. random is seeded.
import random

import wandb

random.seed(21)

wandb.init(project='my-ml-project', config={'learning_rate': 0.001, 'batch_size': 32})
model_loss = 2.5
for epoch in range(5):
    for batch in range(10):
        model_loss -= 0.05 + random.uniform(-0.01, 0.01)
        wandb.log({
            'train_loss': model_loss,
            'epoch': epoch,
            'batch': batch
        })
    val_accuracy = 0.5 + (epoch * 0.08)
    wandb.log({
        'val_accuracy': val_accuracy,
        'epoch': epoch
    }, step=epoch)
wandb.finish()
