"""The linear-SVM baseline (``baseline.kind=linear_svm``): scikit-learn on the experiment's own
features, folds, seeds and role matrix, with the workdir files every model writes.

Per model (one row of the role matrix): a ``StandardScaler`` fitted on that model's TRAIN rows
only (augmented copies included, as the deep models see them), then
``sklearn.svm.SVC(kernel="linear", C=baseline.C)`` fitted on the same rows, predicting its TEST
rows. VAL rows are not used: there is nothing to early-stop or select (C is a config value,
default 0.01).

Why ``SVC(kernel="linear")`` and not ``LinearSVC``: it is the model of the openSMILE/EmoBox
reference figures (hinge loss, one-vs-one multi-class, unpenalised intercept, libsvm), so serjax's
number is comparable to theirs; ``LinearSVC`` (liblinear: squared hinge, one-vs-rest, penalised
intercept) is a different classifier. libsvm's cost grows with the square of the TRAIN rows:
seconds for RAVDESS, minutes for the full Superset.

The classifier reads ``acoustic [N, D]`` only (e.g. eGeMAPS 88, ComParE 6,373, the librosa
162-d summary, external embeddings), as the random-forest baseline does; frame sequences are
refused. ``train.speaker_norm=True`` first standardises each speaker's rows by that speaker's own
statistics (``grid_data.speaker_normalize``, the deep models' function; transductive: it uses
the test speakers' unlabeled features). ``SVC`` is deterministic: the seeds of one fold differ
only where their roles do (e.g. ``actor_folds`` draws each seed's VAL speakers, which are then
not in TRAIN), and models with identical TRAIN rows are fitted once.
"""

from __future__ import annotations

import time
from pathlib import Path

import ml_collections
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from serjax.config import ConfigError
from serjax.evaluation import report
from serjax.evaluation import workdir as workdir_lib
from serjax.evaluation.predictions import predictions
from serjax.features import precompute, spec
from serjax.splits import grid_inputs as grid_inputs_lib
from serjax.splits.roles import TEST, TRAIN
from serjax.training import grid_data

DEFAULT_C = 0.01


def fit(x: np.ndarray, y: np.ndarray, train: np.ndarray, C: float):
    """(scaler, svm) fitted on the rows where ``train`` (bool [N]) is True, and only those."""
    scaler = StandardScaler().fit(x[train])
    svm = SVC(kernel="linear", C=float(C)).fit(scaler.transform(x[train]), y[train])
    return scaler, svm


def linear_svm(data: dict, roles: np.ndarray, C: float) -> tuple[list, dict]:
    """(per-model TEST predictions in row order, timing) over the role matrix ``roles [M, N]``."""
    x = np.asarray(data["acoustic"], np.float32)
    if x.ndim != 2:
        raise ConfigError(f"baseline.kind='linear_svm' reads one vector per row, not frames "
                          f"{x.shape}: use features.acoustic='egemaps', 'compare', 'summary' or "
                          "'external'")
    y = np.asarray(data["label"])
    start, preds, fitted = time.perf_counter(), [], {}
    for row in roles:
        train = row == TRAIN
        key = train.tobytes()  # the seeds of one split share their TRAIN rows: one fit
        if key not in fitted:
            fitted[key] = fit(x, y, train, C)
        scaler, svm = fitted[key]
        test = np.flatnonzero(row == TEST)
        pred = svm.predict(scaler.transform(x[test])) if test.size else np.zeros(0)
        preds.append(pred.astype(np.int64))
    return preds, {"compile_s": 0.0, "train_s": time.perf_counter() - start}


def svm_inputs(data: dict, train_config) -> dict:
    """``data`` with ``train.speaker_norm`` applied, as the deep models get it."""
    if train_config.get("speaker_norm", False):
        return grid_data.speaker_normalize(data)
    return data


def run_baseline(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
    """Fits and evaluates the linear SVM over the experiment's role matrix; writes the workdir
    (``metrics.json``, ``report.md``, ``predictions.csv``, ``confusion.png``) and returns the
    metrics.json summary."""
    if spec.is_frames(config.features):
        raise ConfigError(f"baseline.kind='linear_svm' reads one vector per utterance; "
                          f"features.acoustic={config.features.acoustic!r} gives frames: use "
                          "'egemaps', 'compare', 'summary' or 'external'")
    C = float(config.baseline.get("C", DEFAULT_C))
    if not C > 0:
        raise ConfigError(f"baseline.C={C}: the SVM's C must be > 0 (e.g. 0.01)")
    workdir = Path(workdir)
    workdir_lib.start_workdir(config, workdir)
    start = time.perf_counter()
    feature_set = precompute.prepare_features(config, progress)
    features_s = time.perf_counter() - start
    if progress:
        print(precompute.describe(feature_set))
    grid = grid_inputs_lib.grid_inputs(config, feature_set)
    data = svm_inputs(grid.data, config.train)
    preds, timing = linear_svm(data, grid.roles, C)
    seeds = [s.seed for s in grid.splits]
    result = predictions(grid.roles, seeds, grid.data["label"], preds, len(grid.labels), timing)
    speaker_norm = bool(config.train.get("speaker_norm", False))
    summary = report.write_grid_report(
        workdir, result, grid, config, features_s=features_s,
        baseline={"kind": "linear_svm", "C": C, "features": config.features.acoustic,
                  "speaker_norm": speaker_norm})
    if progress:
        report.print_table(summary)
    return summary
