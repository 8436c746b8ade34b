# Source: lewi0332/ML_DevOps_Engineer_Course
# 2_BUILDING_A_REPRODUCIBLE_MODEL_WORKFLOW/1_introduction_to_reproducible_model_workflows/wanbd_test.py
# (the old W&B quickstart snippet), wandb lines verbatim: `wandb.config = {...}` assigned at
# module level after init, then wandb.log in a loop (the snippet logs an undefined `loss`;
# a small loop computes one here). The optional wandb.watch(model) line is left out: there
# is no model. No finish().
import wandb

wandb.init(project="my-test-project")

wandb.config = {
  "learning_rate": 0.001,
  "epochs": 100,
  "batch_size": 128
}

for epoch in range(5):
    loss = 1.0 / (epoch + 1)
    wandb.log({"loss": loss})
