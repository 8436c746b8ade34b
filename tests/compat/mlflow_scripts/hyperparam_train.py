# ruff: noqa
# (corpus script: the original code is kept as written, lint-free or not)
# Source: mlflow/mlflow, examples/hyperparam/train.py (the "train" entry point of the
#   hyperparameter-search example: a Keras model on wine quality, logged with a Keras callback)
#   https://github.com/mlflow/mlflow/blob/master/examples/hyperparam/train.py
# The mlflow lines are verbatim (log_metric with step=, log_metrics with step=, start_run) except
# two that need a model flavor localtrack does not have, left out: `from mlflow.models import
# infer_signature` and `mlflow.tensorflow.log_model(...)` with its `infer_signature` line.
# Changed: Keras and sklearn are replaced by a seeded numpy linear model trained with SGD +
# momentum, driven through the same callback; the data is synthetic ("wine-like", 11 features)
# instead of a CSV; the null model (epochs == 0) logs at step -1, which localtrack refuses, so
# the corpus runs this script with --epochs > 0 only.
import math
import warnings

import click
import numpy as np

import mlflow


def mean_squared_error(actual, pred):
    return float(np.mean((np.ravel(actual) - np.ravel(pred)) ** 2))


def eval_and_log_metrics(prefix, actual, pred, epoch):
    rmse = np.sqrt(mean_squared_error(actual, pred))
    mlflow.log_metric(f"{prefix}_rmse", rmse, step=epoch)
    return rmse


def get_standardize_f(train):
    mu = np.mean(train, axis=0)
    std = np.std(train, axis=0)
    return lambda x: (x - mu) / std


class Callback:
    model = None


class LinearModel:
    def __init__(self, standardize, n_features, seed):
        self.standardize = standardize
        self.w = np.random.default_rng(seed).normal(scale=0.01, size=n_features)
        self.b = 0.0

    def predict(self, x):
        return self.standardize(x) @ self.w + self.b

    def get_weights(self):
        return [self.w, np.array([self.b])]

    def set_weights(self, weights):
        self.w, self.b = weights[0].copy(), float(weights[1][0])


class MlflowCheckpoint(Callback):
    """
    Example of Keras MLflow logger.
    Logs training metrics and final model with MLflow.
    """

    def __init__(self, test_x, test_y, loss="rmse"):
        self._test_x = test_x
        self._test_y = test_y
        self.train_loss = f"train_{loss}"
        self.val_loss = f"val_{loss}"
        self.test_loss = f"test_{loss}"
        self._best_train_loss = math.inf
        self._best_val_loss = math.inf
        self._best_model = None
        self._next_step = 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        """
        Log the best model at the end of the training run.
        """
        if not self._best_model:
            raise Exception("Failed to build any model")
        mlflow.log_metric(self.train_loss, self._best_train_loss, step=self._next_step)
        mlflow.log_metric(self.val_loss, self._best_val_loss, step=self._next_step)
        predictions = self._best_model.predict(self._test_x)
        assert len(predictions) == len(self._test_x)

    def on_epoch_end(self, epoch, logs=None):
        """
        Log Keras metrics with MLflow. If model improved on the validation data, evaluate it on
        a test set and store it as the best model.
        """
        if not logs:
            return
        self._next_step = epoch + 1
        train_loss = logs["loss"]
        val_loss = logs["val_loss"]
        mlflow.log_metrics({self.train_loss: train_loss, self.val_loss: val_loss}, step=epoch)

        if val_loss < self._best_val_loss:
            # The result improved in the validation set.
            # Log the model with mlflow and also evaluate and log on test set.
            self._best_train_loss = train_loss
            self._best_val_loss = val_loss
            self._best_model = LinearModel(self.model.standardize, len(self.model.w), 0)
            self._best_model.set_weights([x.copy() for x in self.model.get_weights()])
            preds = self._best_model.predict(self._test_x)
            eval_and_log_metrics("test", self._test_y, preds, epoch)


def fit(model, x, y, valid, epochs, batch_size, learning_rate, momentum, callback):
    callback.model = model
    velocity = [np.zeros_like(model.w), 0.0]
    for epoch in range(epochs):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            err = model.predict(xb) - yb
            grad_w = model.standardize(xb).T @ err / len(xb)
            velocity[0] = momentum * velocity[0] - learning_rate * grad_w
            velocity[1] = momentum * velocity[1] - learning_rate * float(err.mean())
            model.w += velocity[0]
            model.b += velocity[1]
        logs = {"loss": math.sqrt(mean_squared_error(y, model.predict(x))),
                "val_loss": math.sqrt(mean_squared_error(valid[1], model.predict(valid[0])))}
        callback.on_epoch_end(epoch, logs)


@click.command(help="Trains a model on a wine-like dataset; its metrics are logged with mlflow.")
@click.option("--epochs", type=click.INT, default=100, help="Maximum number of epochs to evaluate.")
@click.option(
    "--batch-size", type=click.INT, default=16, help="Batch size passed to the learning algo."
)
@click.option("--learning-rate", type=click.FLOAT, default=1e-2, help="Learning rate.")
@click.option("--momentum", type=click.FLOAT, default=0.9, help="SGD momentum.")
@click.option("--seed", type=click.INT, default=97531, help="Seed for the random generator.")
@click.argument("training_data")
def run(training_data, epochs, batch_size, learning_rate, momentum, seed):
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=5.0, scale=2.0, size=(400, 11))
    y = 5.6 + x @ rng.normal(scale=0.1, size=11) + rng.normal(scale=0.6, size=400)
    train_x, valid_x, test_x = x[:225], x[225:300], x[300:]
    train_y, valid_y, test_y = y[:225], y[225:300], y[300:]

    with mlflow.start_run():
        with MlflowCheckpoint(test_x, test_y) as mlflow_logger:
            model = LinearModel(get_standardize_f(train_x), train_x.shape[1], seed)
            fit(model, train_x, train_y, (valid_x, valid_y), epochs, batch_size, learning_rate,
                momentum, mlflow_logger)


if __name__ == "__main__":
    run()
