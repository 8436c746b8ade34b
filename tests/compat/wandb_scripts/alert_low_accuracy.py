# Source: wandb/examples colabs/intro/Intro_to_Weights_&_Biases.ipynb ("Set Alerts" cell),
# wandb lines verbatim: a loop that logs, fires wandb.alert() and breaks out early, then
# wandb.finish(). random is seeded so the alert fires at a fixed step.
import random

import wandb

random.seed(2)

# Start a wandb run
wandb.init(project="pytorch-intro")

# Simulating a model training loop
acc_threshold = 0.3
for training_step in range(1000):

    # Generate a random number for accuracy
    accuracy = round(random.random() + random.random(), 3)

    # Log accuracy to wandb
    wandb.log({"Accuracy": accuracy})

    # If the accuracy is below the threshold, fire a W&B Alert and stop the run
    if accuracy <= acc_threshold:
        # Send the wandb Alert
        wandb.alert(
            title='Low Accuracy',
            text=f'Accuracy {accuracy} at step {training_step} is below the acceptable theshold, {acc_threshold}',
        )
        print('Alert triggered')
        break

# Mark the run as finished (useful in Jupyter notebooks)
wandb.finish()
