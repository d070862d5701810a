"""The trained models of a workdir or artifact directory: ``load_bundle(W, models)``.

``W`` is a training workdir (``serjax cv``) or an artifact directory (``serjax export``):
both hold ``config.json`` (the experiment config) and ``models/``
(``serjax.training.checkpoint.save_models``). ``models`` picks which saved models vote:

* ``all``: every fold × seed model; the ensemble averages their class probabilities;
* ``best``: the one model with the highest test accuracy in the workdir's ``predictions.csv``
  (an artifact carries those accuracies in ``artifact.json``);
* ``FOLD`` (an int): the seeds of that fold.

Model ``m`` belongs to fold ``m // seeds`` (``config.seeds`` models per split, fold-major, as
``serjax.splits.folds`` orders them); an artifact lists its models' folds and seeds in
``artifact.json``. Used by ``serjax predict``, ``serjax stream`` and ``serjax export``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
from typing import Any

import jax
import ml_collections
import numpy as np

from serjax.features import spec
from serjax.models import networks as models_lib
from serjax.training import checkpoint

ARTIFACT_MANIFEST = "artifact.json"


@dataclasses.dataclass
class Bundle:
    """The experiment config and the selected models of a workdir or artifact directory.

    models: ``checkpoint.Models`` holding only the selected models (leading axis M);
    folds / seeds: int [M], the fold and seed of each."""

    source: pathlib.Path
    config: ml_collections.ConfigDict
    models: Any
    folds: list
    seeds: list

    @property
    def labels(self) -> list:
        return list(self.models.labels)

    @property
    def speaker_norm(self) -> bool:
        """Trained with ``train.speaker_norm``: each speaker's features must be standardised
        by that speaker's own statistics before the models see them."""
        train = self.config.get("train")
        return bool(train is not None and train.get("speaker_norm", False))

    def describe(self) -> str:
        pairs = ", ".join(f"f{f}/s{s}" for f, s in zip(self.folds, self.seeds))
        return f"{self.source}: {len(self.folds)} model(s) [{pairs}], labels {self.labels}"


def checked_dir(path) -> pathlib.Path:
    """``--workdir`` as a Path; FileNotFoundError with the fix when it is not a folder."""
    directory = pathlib.Path(path).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"--workdir {directory} does not exist; pass the workdir of a "
                                "finished `serjax cv` run or a `serjax export` artifact")
    return directory


def read_config(directory: pathlib.Path) -> ml_collections.ConfigDict:
    """``config.json`` of a workdir/artifact -> ConfigDict (needs ``audio`` and ``features``)."""
    path = directory / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --workdir must be a finished `serjax cv` "
                                "workdir or a `serjax export` artifact directory")
    config = ml_collections.ConfigDict(json.loads(path.read_text()))
    missing = [k for k in ("audio", "features") if k not in config]
    if missing:
        raise ValueError(f"{path} has no {missing} section(s); it was not written by serjax cv "
                         "or serjax export")
    return config


def nest_frames_fields(model_config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A saved model config with the frame-level extractor's fields where they live now: models
    saved before ``model.frames_*`` moved to ``model.frames_cnn.*`` (serjax.config.MOVED) still
    load. A config without the old fields is returned as it is."""
    old = [k for k in model_config.keys() if k.startswith("frames_") and k != "frames_cnn"]
    if not old:
        return model_config
    upgraded = ml_collections.ConfigDict({k: v for k, v in model_config.items() if k not in old})
    upgraded.frames_cnn = ml_collections.ConfigDict(
        {k.removeprefix("frames_"): model_config[k] for k in old})
    return upgraded


def model_table(directory: pathlib.Path, config, num_models: int, seeds) -> tuple[list, list]:
    """(folds [M], seeds [M]) of the saved models: from ``artifact.json`` when present, else
    fold-major order with ``config.seeds`` models per split."""
    manifest = directory / ARTIFACT_MANIFEST
    if manifest.is_file():
        meta = json.loads(manifest.read_text())
        return list(meta["folds"]), list(meta["seeds"])
    per_split = int(config.get("seeds", 1) or 1)
    if num_models % per_split:
        per_split = 1
    seeds = list(seeds) if seeds is not None else [m % per_split for m in range(num_models)]
    return [m // per_split for m in range(num_models)], seeds


def test_accuracies(directory: pathlib.Path, folds: list, seeds: list) -> list | None:
    """Each model's test accuracy, from the workdir's ``predictions.csv`` or, in an artifact
    directory, from ``artifact.json`` (copied there by ``serjax export``); None if neither
    exists. A model without rows gets -1."""
    path = directory / "predictions.csv"
    if not path.is_file():
        manifest = directory / ARTIFACT_MANIFEST
        if manifest.is_file():
            return json.loads(manifest.read_text()).get("test_accuracy")
        return None
    hits: dict[tuple[int, int], list[int]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (int(row["fold"]), int(row["seed"]))
            hits.setdefault(key, []).append(int(row["true"] == row["predicted"]))
    return [float(np.mean(hits[(f, s)])) if (f, s) in hits else -1.0
            for f, s in zip(folds, seeds)]


def best_model(directory: pathlib.Path, folds: list, seeds: list) -> int:
    """Index of the model with the highest test accuracy (``test_accuracies``)."""
    scores = test_accuracies(directory, folds, seeds)
    if scores is None:
        raise FileNotFoundError(
            f"--models best needs {directory / 'predictions.csv'} (written by serjax cv) or an "
            "artifact exported by this serjax version; use --models all or --models FOLD")
    if max(scores) < 0:
        raise ValueError(f"{directory} has no test predictions for the saved models' "
                         "(fold, seed) pairs")
    return int(np.argmax(scores))


def select(choice: str, directory: pathlib.Path, folds: list, seeds: list) -> list[int]:
    """``all`` | ``best`` | a fold number -> model indices."""
    choice = str(choice)
    if choice == "all":
        return list(range(len(folds)))
    if choice == "best":
        return [best_model(directory, folds, seeds)]
    try:
        fold = int(choice)
    except ValueError:
        raise ValueError(f"--models {choice!r}; choose all, best or a fold number") from None
    picked = [m for m, f in enumerate(folds) if f == fold]
    if not picked:
        raise ValueError(f"--models {fold}: no such fold; this run has folds "
                         f"{sorted(set(folds))}")
    return picked


def check_computable(directory: pathlib.Path, features) -> None:
    """ValueError naming ``config.json`` and the field when the models read features that
    serjax cannot compute for new audio: ``features.acoustic`` in ``spec.EXTERNAL_KINDS`` or
    ``features.fuse='external'`` (read from ``features.external_path`` in training). The
    librosa and openSMILE kinds, and the fused views of those, are computed
    (``serjax.serve.predict.wave_features``)."""
    fields = (("acoustic", features.get("acoustic", "summary")),
              ("fuse", features.get("fuse", "") or ""))
    for field, kind in fields:
        if kind in spec.EXTERNAL_KINDS:
            raise ValueError(f"{directory / 'config.json'}: features.{field}={kind!r}: these "
                             "features were read from features.external_path at training "
                             "time; serjax cannot compute them for new audio, so these models "
                             "cannot be served")


def load_bundle(path, models: str = "all") -> Bundle:
    """A workdir or artifact directory -> Bundle with the chosen models (see module doc)."""
    directory = checked_dir(path)
    config = read_config(directory)
    if not (directory / checkpoint.MODELS_DIR / "models.json").is_file():
        raise FileNotFoundError(f"{directory / checkpoint.MODELS_DIR} has no trained models "
                                "(models.json); finish `serjax cv` first")
    check_computable(directory, config.features)
    try:
        models_lib.check_features_suit_model(config.get("model", {}), config.features)
    except ValueError as err:
        raise ValueError(f"{directory}/config.json: {err}") from None
    saved = checkpoint.load_models(directory)
    saved = saved._replace(config=nest_frames_fields(saved.config))
    meta = json.loads((directory / checkpoint.MODELS_DIR / "models.json").read_text())
    num = int(jax.tree.leaves(saved.params)[0].shape[0])
    folds, seeds = model_table(directory, config, num, meta.get("seeds"))
    idx = select(models, directory, folds, seeds)
    take = np.asarray(idx)
    subset = saved._replace(params=jax.tree.map(lambda a: a[take], saved.params),
                            scalers=jax.tree.map(lambda a: a[take], saved.scalers))
    return Bundle(directory, config, subset, [folds[i] for i in idx], [seeds[i] for i in idx])
