# ruff: noqa
# (corpus script: the original code is kept as written, lint-free or not)
# Source: mlflow/mlflow, examples/quickstart/mlflow_tracking.py
#   https://github.com/mlflow/mlflow/blob/master/examples/quickstart/mlflow_tracking.py
# Every mlflow line is verbatim. Changed: the random module is seeded so both trackers see
# the same values. No start_run(): MLflow starts a run on the first log call and ends it at exit.
import os
import random as random_module
from random import random, randint

from mlflow import log_metric, log_param, log_artifacts

random_module.seed(7)  # added

if __name__ == "__main__":
    print("Running mlflow_tracking.py")

    log_param("param1", randint(0, 100))

    log_metric("foo", random())
    log_metric("foo", random() + 1)
    log_metric("foo", random() + 2)
    log_metric("accuracy 2", random())

    if not os.path.exists("outputs"):
        os.makedirs("outputs")
    with open("outputs/test.txt", "w") as f:
        f.write("hello world!")

    log_artifacts("outputs")
