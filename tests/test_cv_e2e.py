"""`serjax cv` end to end on the synthetic RAVDESS corpus: Kaggle layout → TFDS build →
features → role matrix → every fold trained at once → workdir outputs.

The test config is ``ravdess_cv`` with one seed, a wider MLP (64 hidden units instead of the
authors' 12, which under-fits in 25 epochs on 160 training files per fold) and per-speaker
feature normalisation; measured at 0.646 ± 0.050 accuracy over the 6 folds (chance 0.125).
"""

import csv
import json

import numpy as np
import pytest

from serjax import config as config_lib
from serjax import experiment
from serjax.splits import folds


@pytest.fixture(scope="module")
def cv_run(synth_root, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cv_e2e")
    config = config_lib.load_config("ravdess_cv", [
        f"--config.data.root={synth_root}",
        f"--config.data.cache_dir={tmp_path_factory.mktemp('cv_cache')}",
        "--config.seeds=1", "--config.features.workers=1",
        "--config.model.mlp_hidden=(64,)", "--config.train.speaker_norm=true"])
    summary = experiment.run_cv(config, workdir, progress=False)
    return workdir, summary


def test_synthetic_ravdess_cv_learns(cv_run):
    _, summary = cv_run
    accuracy = summary["overall"]["accuracy"]["overall"]["mean"]
    assert 0.5 <= accuracy < 1.0, accuracy


def test_workdir_outputs(cv_run):
    workdir, _ = cv_run
    for name in ("config.json", "versions.json", "metrics.json", "report.md", "confusion.png",
                 "learning_curves.png", "predictions.csv", "models/models.json"):
        assert (workdir / name).is_file(), name
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert len(metrics["models"]) == 6
    assert {"features_s", "compile_s", "train_s"} <= set(metrics["timing"])
    assert np.asarray(metrics["confusion"]).shape[-2:] == (8, 8)


def test_every_test_file_belongs_to_its_fold_actors(cv_run):
    """No leakage in the outputs: each model predicts exactly its own fold's actors' original
    files, each original file once."""
    workdir, _ = cv_run
    with open(workdir / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    expected = folds.ravdess_folds("consecutive")
    seen = set()
    for row in rows:
        assert row["actor"] in expected[int(row["fold"])]
        seen.add(row["file"])
    assert len(rows) == len(seen) == 192
