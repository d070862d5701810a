"""Hyperparameter arms: the third factor of the model axis (folds × seeds × arms).

An arm is one setting of the hyperparameters that can differ per model inside one compiled
program (``PER_MODEL``: learning rate, weight decay (both steps, or step 2's own:
``classifier_weight_decay``), label smoothing, mixup α, dropout rates, SpecAugment widths).
``config.sweep`` lists them::

    sweep.method = "grid"                       # every combination of the listed values
    sweep.grid.learning_rate = (1e-3, 3e-3)
    sweep.grid.weight_decay = (0.0, 1e-4)       # -> 4 arms

    sweep.method = "random"                     # num_arms draws, reproducible from sweep.seed
    sweep.random.learning_rate = ("log_uniform", 3e-4, 3e-3)
    sweep.random.dropout = ("uniform", 0.1, 0.4)
    sweep.random.mixup_alpha = ("choice", 0.0, 0.2, 0.4)

A name not listed keeps its ``train`` / ``model`` value for every arm. Every fold × seed trains
every arm, with the same seed (so arms differ only in their values: paired), and each outer
fold then picks its arm from its VAL speakers only (``serjax.evaluation.selection``).
Structural choices (layer widths, kernel sizes, model kind, feature set) change the compiled
program, so they are ``sweep.programs``: one string of ``;``-separated overrides per program,
e.g. ``("model.frames_cnn.conv_features=(64, 64)", "model.frames_cnn.conv_features=(128, 128);
model.deep_width=64")``. The same command trains every program (each with every arm) one after
another and selects among all of them: arm ``p * A + a`` is arm ``a`` of program ``p``.

``expand_grid`` repeats the role matrix once per arm; ``per_model_values`` gives the arrays
``train_grid(..., hparams=...)`` reads (``{name: float32 [M]}``, model ``m`` of arm
``arm_of[m]``), which ``serjax.training.model_step`` uses in place of the static values.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import ml_collections
import numpy as np

from serjax import config as config_lib
from serjax.evaluation import ensembles

#: name -> the config field whose value an arm replaces, per model.
PER_MODEL = {
    "learning_rate": "train.learning_rate",
    "weight_decay": "train.weight_decay",
    "classifier_weight_decay": "train.classifier_weight_decay",  # step 2's own decay
    "label_smoothing": "train.label_smoothing",
    "mixup_alpha": "train.mixup_alpha",
    "dropout": "model.dropout",
    "mlp_dropout": "model.mlp_dropout",
    "time_width": "train.specaugment.time_width",
    "feature_width": "train.specaugment.feature_width",
}
METHODS = ("", "grid", "random")
DISTRIBUTIONS = ("uniform", "log_uniform", "choice")


def default_sweep_config() -> ml_collections.ConfigDict:
    """No arms (``method=""``): every model trains the ``train`` / ``model`` values."""
    c = ml_collections.ConfigDict()
    c.method = ""
    c.grid = ml_collections.ConfigDict({name: () for name in PER_MODEL})
    c.random = ml_collections.ConfigDict({name: () for name in PER_MODEL})
    c.programs = ()      # structural choices: one ";"-separated override string per program
    c.num_arms = 8
    c.seed = 0
    c.score = "val_acc"  # what picks each fold's arm: "val_acc" | "neg_val_loss"
    c.top_k = 2          # arms averaged by the top-k ensemble
    return c


def sweep_or_default(config) -> ml_collections.ConfigDict:
    return config.get("sweep") or default_sweep_config()


def _value(config, path: str):
    section, *rest = path.split(".")
    node = config[section]
    for part in rest:
        node = node[part]
    return node


def _check_value(name: str, value: float) -> None:
    ok = {"learning_rate": value > 0, "weight_decay": value >= 0,
          "classifier_weight_decay": value >= 0,
          "label_smoothing": 0 <= value < 1, "mixup_alpha": value >= 0,
          "dropout": 0 <= value < 1, "mlp_dropout": 0 <= value < 1,
          "time_width": value >= 0 and float(value).is_integer(),
          "feature_width": value >= 0 and float(value).is_integer()}[name]
    if not ok:
        raise ValueError(f"sweep: {name}={value} is out of range for {PER_MODEL[name]}")


def _listed(section) -> dict:
    return {name: tuple(section[name]) for name in PER_MODEL
            if section.get(name) not in (None, ())}


def _draw(rng: np.random.Generator, name: str, spec: tuple) -> float:
    if not spec or spec[0] not in DISTRIBUTIONS:
        raise ValueError(f"sweep.random.{name}={spec!r}: give (kind, ...) with kind one of "
                         f"{DISTRIBUTIONS}, e.g. ('log_uniform', 1e-4, 1e-2)")
    kind, *args = spec
    if kind == "choice":
        if not args:
            raise ValueError(f"sweep.random.{name}: 'choice' needs at least one value")
        return float(args[rng.integers(len(args))])
    if len(args) != 2 or not args[0] <= args[1]:
        raise ValueError(f"sweep.random.{name}={spec!r}: {kind} needs (low, high), low <= high")
    low, high = float(args[0]), float(args[1])
    if kind == "log_uniform":
        if low <= 0:
            raise ValueError(f"sweep.random.{name}: log_uniform needs low > 0")
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    return float(round(value)) if name in ("time_width", "feature_width") else value


def arms(config) -> list[dict]:
    """The arms of ``config.sweep``: a list of ``{name: value}`` (one per arm; ``[]`` without
    a sweep). Raises ValueError naming the bad field."""
    sweep = sweep_or_default(config)
    if sweep.method not in METHODS:
        raise ValueError(f"sweep.method={sweep.method!r}: choose one of {METHODS} "
                         "('' = no arms)")
    if not sweep.method:
        return []
    if sweep.method == "grid":
        listed = _listed(sweep.grid)
        if not listed:
            raise ValueError("sweep.method='grid' lists no values: set e.g. "
                             "--config.sweep.grid.learning_rate='(1e-3, 3e-3)'")
        out = [dict(zip(listed, values)) for values in itertools.product(*listed.values())]
        out = [{k: float(v) for k, v in arm.items()} for arm in out]
    else:
        listed = _listed(sweep.random)
        if not listed or int(sweep.num_arms) < 1:
            raise ValueError("sweep.method='random' needs sweep.num_arms >= 1 and at least one "
                             "distribution, e.g. --config.sweep.random.dropout="
                             "\"('uniform', 0.1, 0.5)\"")
        rng = np.random.default_rng(int(sweep.seed))
        out = [{name: _draw(rng, name, spec) for name, spec in listed.items()}
               for _ in range(int(sweep.num_arms))]
    for arm in out:
        for name, value in arm.items():
            _check_value(name, value)
    check_arms_have_effect(config, out)
    return out


def check_arms_have_effect(config, arm_list: list[dict]) -> None:
    """Refuses arms whose values could change nothing (so a sweep never silently trains
    identical models): SpecAugment widths with no masks, MLP dropout with no hidden layer."""
    names = {n for arm in arm_list for n in arm}
    aug = config.train.get("specaugment")
    for name, count in (("time_width", "time_masks"), ("feature_width", "feature_masks")):
        if name in names and (aug is None or int(aug[count]) <= 0):
            raise ValueError(f"sweep: {name} varies but train.specaugment.{count}=0; set "
                             f"--config.train.specaugment.{count}=2 (or stop sweeping {name})")
    if "mlp_dropout" in names and not tuple(config.model.mlp_hidden):
        raise ValueError("sweep: mlp_dropout varies but model.mlp_hidden=() has no hidden "
                         "layer to drop from")
    if ("weight_decay" in names and "classifier_weight_decay" not in names
            and config.train.get("classifier_weight_decay") is not None):
        raise ValueError("sweep: weight_decay varies (an arm's value sets both steps) but "
                         "train.classifier_weight_decay fixes step 2's; unset one of them")


def check_per_model(values: dict | None, num_models: int) -> dict:
    """``{name: float32 [M]}`` checked: known names (``PER_MODEL``), one value per model (what
    ``train_grid(hparams=...)`` takes). Raises ValueError naming the bad entry."""
    out = {}
    for name, per_model in (values or {}).items():
        if name not in PER_MODEL:
            raise ValueError(f"hparams: {name!r} cannot differ per model; choose from "
                             f"{', '.join(PER_MODEL)}")
        per_model = np.asarray(per_model, np.float32)
        if per_model.shape != (num_models,):
            raise ValueError(f"hparams[{name!r}]: shape {per_model.shape}, need one value per "
                             f"model ({num_models},)")
        out[name] = per_model
    return out


def per_model_values(arm_list: list[dict], arm_of: np.ndarray) -> dict:
    """``{name: float32 [M]}`` of every name any arm sets (each arm sets the same names)."""
    names = [n for n in PER_MODEL if any(n in arm for arm in arm_list)]
    return {n: np.asarray([arm_list[a][n] for a in arm_of], np.float32) for n in names}


def expand_grid(grid, num_arms: int):
    """``grid`` (``splits.grid_inputs.GridInputs``) with every model repeated once per arm,
    arms innermost: model ``m`` is split ``m // num_arms``, arm ``m % num_arms``. Returns
    ``(grid, arm_of int [M])``; the role rows are the split's own, so no arm sees more."""
    roles = np.repeat(grid.roles, num_arms, axis=0)
    splits = [s for s in grid.splits for _ in range(num_arms)]
    arm_of = np.tile(np.arange(num_arms), len(grid.splits))
    return dataclasses.replace(grid, roles=roles, splits=splits), arm_of


def tags(splits, arm_of) -> list[str]:
    """TensorBoard run names ``fold{f}_seed{s}_arm{a}``."""
    return [f"fold{s.fold}_seed{s.seed}_arm{a}" for s, a in zip(splits, arm_of)]


def describe(arm_list: list[dict]) -> list[str]:
    """One line per arm: ``arm 0: learning_rate=0.001 weight_decay=0``."""
    return [f"arm {i}: {ensembles.format_values(arm)}" for i, arm in enumerate(arm_list)]


def programs(config) -> list[tuple[str, ml_collections.ConfigDict]]:
    """``[(label, config)]``: one config per ``sweep.programs`` entry (its overrides applied to
    a copy), or ``[("", config)]`` without structural choices. Raises ConfigError naming a
    bad override."""
    listed = tuple(sweep_or_default(config).get("programs", ()) or ())
    if not listed:
        return [("", config)]
    out = []
    for text in listed:
        items = [item.strip() for item in str(text).split(";") if item.strip()]
        if not items or any(item.startswith(("sweep.", "seeds", "folds.", "data.")) for item in items):
            raise config_lib.ConfigError(
                f"sweep.programs entry {text!r}: give ';'-separated overrides of the model, "
                "train, features or augment sections (the folds, seeds, data and sweep are "
                "shared by every program)")
        program = config_lib.apply_overrides(config.copy_and_resolve_references(),
                                             [f"--config.{item}" for item in items])
        out.append((str(text), program))
    return out


def global_arms(program_labels: list[str], arm_list: list[dict]) -> list[dict]:
    """Per global arm (program-major), its values with its program's overrides under
    ``"program"`` when there are programs."""
    arm_list = arm_list or [{}]
    return [({"program": label} if label else {}) | dict(arm)
            for label in program_labels for arm in arm_list]
