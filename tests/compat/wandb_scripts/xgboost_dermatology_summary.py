# Source: wandb/examples examples/boosting-algorithms/xgboost-dermatology/train.py, wandb
# lines verbatim except the xgboost integration callback (wandb.xgboost.WandbCallback, out of
# scope for a tracker comparison): xgboost and the dermatology data are replaced by a seeded
# numpy nearest-centroid classifier. The shape kept: init() with no arguments,
# config.update(dict), and a numpy float written with wandb.summary[...] = ; no history.
import numpy as np
import wandb

wandb.init()

rng = np.random.default_rng(34)
centers = rng.normal(0.0, 3.0, size=(6, 33))
labels = rng.integers(0, 6, size=366)
data = centers[labels] + rng.normal(0.0, 9.0, size=(366, 33))
sz = data.shape

train_X, train_Y = data[: int(sz[0] * 0.7)], labels[: int(sz[0] * 0.7)]
test_X, test_Y = data[int(sz[0] * 0.7):], labels[int(sz[0] * 0.7):]

# setup parameters for xgboost
param = {}
# use softmax multi-class classification
param["objective"] = "multi:softmax"
# scale weight of positive examples
param["eta"] = 0.1
param["max_depth"] = 6
param["silent"] = 1
param["nthread"] = 4
param["num_class"] = 6
wandb.config.update(param)

fitted = np.stack([train_X[train_Y == k].mean(axis=0) for k in range(6)])
pred = np.argmin(((test_X[:, None, :] - fitted[None]) ** 2).sum(axis=2), axis=1)
error_rate = np.sum(pred != test_Y) / test_Y.shape[0]
print("Test error using softmax = {}".format(error_rate))
wandb.summary["Error Rate"] = error_rate
