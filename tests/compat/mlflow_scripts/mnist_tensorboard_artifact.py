# ruff: noqa
# (corpus script: the original code is kept as written, lint-free or not)
# Source: mlflow/mlflow, examples/pytorch/mnist_tensorboard_artifact.py
#   https://github.com/mlflow/mlflow/blob/master/examples/pytorch/mnist_tensorboard_artifact.py
# Every mlflow line is verbatim (log_param per argparse arg, log_metric without step, so every
# point is at MLflow's step 0; log_artifacts to "events"; get_artifact_uri). Changed: torch,
# torchvision and tensorboardX are replaced by a seeded numpy softmax regression on synthetic
# 10-class data and a tiny event-file writer; defaults are smaller (2 epochs, few batches);
# short pauses stand in for training time: every point is at step 0, and MLflow's "latest"
# breaks same-millisecond ties by the larger value, not by logging order.
import argparse
import json
import os
import tempfile
import time

import numpy as np

import mlflow

# Command-line arguments
parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
parser.add_argument('--batch-size', type=int, default=64, metavar='N',
                    help='input batch size for training (default: 64)')
parser.add_argument('--test-batch-size', type=int, default=1000, metavar='N',
                    help='input batch size for testing (default: 1000)')
parser.add_argument('--epochs', type=int, default=2, metavar='N',
                    help='number of epochs to train (default: 2)')
parser.add_argument('--lr', type=float, default=0.01, metavar='LR',
                    help='learning rate (default: 0.01)')
parser.add_argument('--momentum', type=float, default=0.5, metavar='M',
                    help='SGD momentum (default: 0.5)')
parser.add_argument('--enable-cuda', type=str, choices=['True', 'False'], default='True',
                    help='enables or disables CUDA training')
parser.add_argument('--seed', type=int, default=1, metavar='S',
                    help='random seed (default: 1)')
parser.add_argument('--log-interval', type=int, default=4, metavar='N',
                    help='how many batches to wait before logging training status')
args = parser.parse_args()

enable_cuda_flag = True if args.enable_cuda == 'True' else False
args.cuda = False  # numpy stand-in: no GPU

rng = np.random.default_rng(args.seed)
centers = rng.normal(size=(10, 20))
train_y = rng.integers(0, 10, size=640)
train_x = centers[train_y] + rng.normal(scale=2.0, size=(640, 20))
test_y = rng.integers(0, 10, size=200)
test_x = centers[test_y] + rng.normal(scale=2.0, size=(200, 20))
n_batches = len(train_x) // args.batch_size


class Net:
    def __init__(self):
        self.w = np.zeros((20, 10))
        self.v = np.zeros_like(self.w)

    def log_softmax(self, x):
        z = x @ self.w
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def log_weights(self, step):
        writer.add_histogram('weights/fc/weight', self.w, step)


class SummaryWriter:
    """Stand-in for tensorboardX.SummaryWriter: one JSON line per event."""

    def __init__(self, logdir):
        self.path = os.path.join(logdir, "events.jsonl")

    def _write(self, event):
        with open(self.path, "a") as f:
            f.write(json.dumps(event) + "\n")

    def add_scalar(self, name, value, step):
        self._write({"tag": name, "value": float(value), "step": int(step)})

    def add_histogram(self, name, values, step):
        counts, _ = np.histogram(values, bins=8)
        self._write({"tag": name, "hist": counts.tolist(), "step": int(step)})


model = Net()
writer = None  # Will be used to write TensorBoard events


def nll_loss(logp, target):
    return float(-logp[np.arange(len(target)), target].mean())


def train(epoch):
    for batch_idx in range(n_batches):
        sl = slice(batch_idx * args.batch_size, (batch_idx + 1) * args.batch_size)
        data, target = train_x[sl], train_y[sl]
        logp = model.log_softmax(data)
        loss = nll_loss(logp, target)
        grad_z = np.exp(logp)
        grad_z[np.arange(len(target)), target] -= 1
        model.v = args.momentum * model.v + data.T @ grad_z / len(target)
        model.w -= args.lr * model.v
        if batch_idx % args.log_interval == 0:
            step = epoch * n_batches + batch_idx
            log_scalar('train_loss', loss, step)
            model.log_weights(step)
            time.sleep(0.003)  # added, see the header


def test(epoch):
    logp = model.log_softmax(test_x)
    test_loss = nll_loss(logp, test_y)
    correct = int((logp.argmax(axis=1) == test_y).sum())
    test_accuracy = 100.0 * correct / len(test_y)
    step = (epoch + 1) * n_batches
    log_scalar('test_loss', test_loss, step)
    log_scalar('test_accuracy', test_accuracy, step)


def log_scalar(name, value, step):
    """Log a scalar value to both MLflow and TensorBoard"""
    writer.add_scalar(name, value, step)
    mlflow.log_metric(name, value)


with mlflow.start_run():
    # Log our parameters into mlflow
    for key, value in vars(args).items():
        mlflow.log_param(key, value)

    # Create a SummaryWriter to write TensorBoard events locally
    output_dir = dirpath = tempfile.mkdtemp()
    writer = SummaryWriter(output_dir)
    print("Writing TensorBoard events locally to %s\n" % output_dir)

    # Perform the training
    for epoch in range(1, args.epochs + 1):
        train(epoch)
        test(epoch)
        time.sleep(0.01)  # added, see the header

    # Upload the TensorBoard event logs as a run artifact
    print("Uploading TensorBoard events as a run artifact...")
    mlflow.log_artifacts(output_dir, artifact_path="events")
    print("\nLaunch TensorBoard with:\n\ntensorboard --logdir=%s" %
          os.path.join(mlflow.get_artifact_uri(), "events"))
