# ruff: noqa
# (corpus script: the original code is kept as written, lint-free or not)
# Source: mlflow/mlflow, examples/quickstart/mlflow_tracking.py
#   https://github.com/mlflow/mlflow/blob/master/examples/quickstart/mlflow_tracking.py
# Every mlflow line is verbatim. No start_run(): MLflow starts a run on the first log call and
# ends it at exit. Changed: `random`/`randint` come from a seeded random.Random of the script's
# own instead of the global generator: MLflow draws from the global one to name a run
# (2 draws here), so the values would otherwise depend on the tracker.
import os
from random import Random

from mlflow import log_metric, log_param, log_artifacts

_rng = Random(7)  # added
random, randint = _rng.random, _rng.randint  # was: from random import random, randint

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
