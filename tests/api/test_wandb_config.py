"""Config as wandb scripts hand it over: dicts, Namespaces, dataclasses, module assignment."""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
from pathlib import Path
from typing import Any

import pytest
from wandb_helpers import manifest_of

import localtrack
from localtrack.errors import LocaltrackError


@dataclasses.dataclass
class TrainArgs:
    lr: float = 3e-4
    epochs: int = 2
    name: str = "base"


class WithToDict:
    def __init__(self) -> None:
        self._secret = "not this"

    def to_dict(self) -> dict[str, Any]:
        return {"model": "gpt", "layers": 12}


class Plain:
    def __init__(self) -> None:
        self.batch = 32
        self.dropout = 0.1


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"lr": 0.1, "opt": {"beta": 0.9}}, {"lr": 0.1, "opt": {"beta": 0.9}}),
        (argparse.Namespace(lr=0.1, epochs=3), {"lr": 0.1, "epochs": 3}),
        (types.SimpleNamespace(lr=0.2, tag="x"), {"lr": 0.2, "tag": "x"}),
        (TrainArgs(), {"lr": 3e-4, "epochs": 2, "name": "base"}),
        (WithToDict(), {"model": "gpt", "layers": 12}),
        (Plain(), {"batch": 32, "dropout": 0.1}),
    ],
    ids=["dict", "argparse", "simplenamespace", "dataclass", "to_dict", "__dict__"],
)
def test_init_and_update_take_what_wandb_takes(store_dir: Path, given: Any, expected: dict[str, Any]) -> None:
    run = localtrack.init(project="c", dir=store_dir, config=given)
    assert dict(run.config) == expected
    run.finish()
    assert manifest_of(run)["config"] == expected

    later = localtrack.init(project="c", dir=store_dir)
    later.config.update(given)
    later.finish()
    assert manifest_of(later)["config"] == expected


def test_include_and_exclude_keys(store_dir: Path) -> None:
    args = argparse.Namespace(lr=0.1, epochs=3, data_dir="/secret")
    run = localtrack.init(project="c", dir=store_dir, config=args, config_exclude_keys=["data_dir"])
    run.finish()
    assert manifest_of(run)["config"] == {"lr": 0.1, "epochs": 3}
    run = localtrack.init(project="c", dir=store_dir, config=args, config_include_keys=["lr"])
    run.finish()
    assert manifest_of(run)["config"] == {"lr": 0.1}
    with pytest.raises(ValueError, match="not both"):
        localtrack.init(project="c", dir=store_dir, config=args, config_include_keys=["lr"], config_exclude_keys=["x"])


def test_attribute_item_access_setdefaults_and_dash_stripping(store_dir: Path) -> None:
    run = localtrack.init(project="c", dir=store_dir, config={"lr": 0.1})
    run.config.epochs = 5
    run.config["batch"] = 64
    run.config.setdefaults({"lr": 99.0, "warmup": 100})
    run.config.update({"--seed": 7}, allow_val_change=True)
    assert run.config.lr == 0.1 and run.config["epochs"] == 5 and run.config.get("warmup") == 100
    assert "seed" in run.config and run.config.seed == 7
    with pytest.raises(AttributeError):
        run.config.missing  # noqa: B018
    del run.config.batch
    run.finish()
    assert manifest_of(run)["config"] == {"lr": 0.1, "epochs": 5, "warmup": 100, "seed": 7}


def test_module_level_config_assignment_is_recorded(store_dir: Path) -> None:
    run = localtrack.init(project="c", dir=store_dir, config={"a": 1})
    localtrack.config = {"b": 2}
    localtrack.config.update({"c": 3})
    assert localtrack.config is run.config  # the lazy attribute still follows the run
    run.finish()
    assert manifest_of(run)["config"] == {"a": 1, "b": 2, "c": 3}
    assert localtrack.config is None  # no run: nothing current

    localtrack.config = {"before_init": True}  # kept for the next init()
    nxt = localtrack.init(project="c", dir=store_dir, config={"x": 1})
    nxt.finish()
    assert manifest_of(nxt)["config"] == {"before_init": True, "x": 1}


@pytest.mark.parametrize(
    "config",
    [
        {"opt": {"lr": 1}, "opt.lr": 2},
        {"opt.lr": 2, "opt": {"lr": 1}},
        {"a": {"b": {"c": 1}}, "a.b": 3},
    ],
)
def test_a_dotted_key_clashing_with_a_nested_path_is_refused(store_dir: Path, config: dict[str, Any]) -> None:
    with pytest.raises(LocaltrackError, match="clashes"):
        localtrack.init(project="c", dir=store_dir, config=config)


def test_a_clash_across_updates_is_refused_and_changes_nothing(store_dir: Path) -> None:
    run = localtrack.init(project="c", dir=store_dir, config={"opt": {"lr": 1}})
    with pytest.raises(LocaltrackError, match=r"'opt\.lr'"):
        run.config.update({"fine": 1, "opt.lr": 2})
    run.config.update({"opt": 5, "opt.lr": 2})  # replacing the nested dict frees the name
    run.finish()
    assert manifest_of(run)["config"] == {"opt": 5, "opt.lr": 2}


def test_non_finite_floats_are_unambiguous(store_dir: Path) -> None:
    run = localtrack.init(project="c", dir=store_dir, config={"eps": math.nan, "typed": "NaN", "big": math.inf})
    assert math.isnan(run.config.eps) and run.config.typed == "NaN" and run.config.big == math.inf
    run.summary["best"] = -math.inf
    run.summary["label"] = "Infinity"
    run.finish()
    manifest = manifest_of(run)
    assert manifest["config"] == {"eps": {"$float": "NaN"}, "typed": "NaN", "big": {"$float": "Infinity"}}
    assert manifest["summary_values"] == {"best": {"$float": "-Infinity"}, "label": "Infinity"}
    assert manifest["value_encoding"] == 2


def test_old_manifests_still_read_their_bare_nan_strings(store_dir: Path) -> None:
    from localtrack.storage.manifest import decode_value, is_legacy_values

    old = {"format_version": 1, "config": {"eps": "NaN", "lr": 0.1}}
    assert is_legacy_values(old)
    decoded = decode_value(old["config"], legacy=True)
    assert math.isnan(decoded["eps"]) and decoded["lr"] == 0.1
    assert decode_value({"eps": "NaN"}, legacy=False) == {"eps": "NaN"}


def test_int_keys_of_nested_dicts_become_strings(store_dir: Path) -> None:
    np = pytest.importorskip("numpy")
    run = localtrack.init(project="c", dir=store_dir, config={"ok": {3: 4}, "deeper": {"again": {9: 34}}, "bad": {np.int64(22): 4}})
    run.finish()
    assert manifest_of(run)["config"] == {"ok": {"3": 4}, "deeper": {"again": {"9": 34}}, "bad": {"22": 4}}


def test_a_dotted_override_replaces_the_nested_value(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``reproduce --set opt.lr=0.5`` hands init(): the nested value the script reads changes."""
    # reproduce resolves each --set against the recorded config and hands init() key paths
    monkeypatch.setenv("LOCALTRACK_RUN_OVERRIDES", '[[["opt", "lr"], 0.5], [["new.key"], 1]]')
    run = localtrack.init(project="c", dir=store_dir, config={"opt": {"lr": 0.1, "wd": 0.0}})
    assert run.config.opt == {"lr": 0.5, "wd": 0.0}
    run.finish()
    assert manifest_of(run)["config"] == {"opt": {"lr": 0.5, "wd": 0.0}, "new.key": 1}
