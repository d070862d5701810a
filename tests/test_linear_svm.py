"""The linear-SVM baseline (serjax.training.linear_svm): TRAIN-only fitting, role matrix, the
workdir files, and eGeMAPS + SVM over speaker folds of a tiny synthetic corpus."""

import json

import ml_collections
import numpy as np
import pytest
from _feature_tables import speechlike

from serjax import experiment
from serjax.config import ConfigError
from serjax.corpora import naming
from serjax.corpora.dataset import InMemoryTable
from serjax.features import precompute, spec
from serjax.splits import schemes
from serjax.splits.roles import TEST, TRAIN, UNUSED, VAL
from serjax.training import linear_svm

CLASSES = ("neutral", "happy", "sad", "angry")


def _arrays(n=240, width=12, classes=4, actors=6, seed=0):
    """Class-dependent Gaussian vectors with a per-actor offset; roles: actor round-robin."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % classes
    actor = (np.arange(n) // classes) % actors
    centres = rng.normal(size=(classes, width)) * 2.0
    x = centres[label] + rng.normal(size=(actors, width))[actor] + rng.normal(size=(n, width))
    roles = []
    for fold in range(3):
        r = np.full(n, TRAIN, np.int8)
        r[actor % 3 == (fold + 1) % 3] = VAL
        r[actor % 3 == fold] = TEST
        roles.append(r)
    data = {"acoustic": x.astype(np.float32), "label": label.astype(np.int32),
            "actor": np.array([f"a/{a}" for a in actor])}
    return data, np.stack(roles)


def test_scaler_and_svm_see_train_rows_only():
    data, roles = _arrays()
    train = roles[0] == TRAIN
    scaler, svm = linear_svm.fit(data["acoustic"], data["label"], train, C=0.01)
    np.testing.assert_allclose(scaler.mean_, data["acoustic"][train].mean(0), rtol=1e-5)
    # Every non-TRAIN row (VAL and TEST) replaced by other values: nothing fitted changes.
    changed = dict(data, acoustic=data["acoustic"].copy())
    changed["acoustic"][~train] = 1e3 * np.random.default_rng(1).normal(
        size=changed["acoustic"][~train].shape)
    scaler2, svm2 = linear_svm.fit(changed["acoustic"], data["label"], train, C=0.01)
    np.testing.assert_array_equal(scaler2.mean_, scaler.mean_)
    np.testing.assert_array_equal(scaler2.scale_, scaler.scale_)
    np.testing.assert_array_equal(svm2.coef_, svm.coef_)
    # Predictions of model 0's TEST rows do not depend on the other models' TEST rows either.
    preds, _ = linear_svm.linear_svm(data, roles[:1], C=0.01)
    other = dict(data, acoustic=data["acoustic"].copy())
    other["acoustic"][roles[0] == VAL] += 50.0
    again, _ = linear_svm.linear_svm(other, roles[:1], C=0.01)
    np.testing.assert_array_equal(preds[0], again[0])


def test_predicts_each_models_test_rows_and_beats_chance():
    data, roles = _arrays()
    seeds_roles = np.concatenate([roles, roles])  # two seeds per split: one fit each split
    preds, timing = linear_svm.linear_svm(data, seeds_roles, C=0.01)
    assert [len(p) for p in preds] == list((seeds_roles == TEST).sum(1))
    for m in range(3):
        np.testing.assert_array_equal(preds[m], preds[m + 3])
    correct = sum((p == data["label"][r == TEST]).sum() for p, r in zip(preds, seeds_roles))
    accuracy = correct / (seeds_roles == TEST).sum()
    assert accuracy > 0.6, accuracy  # chance 0.25
    assert timing["compile_s"] == 0.0 and timing["train_s"] > 0


def test_frames_are_refused():
    data, roles = _arrays()
    frames = dict(data, acoustic=np.zeros((len(data["label"]), 4, 3), np.float32))
    with pytest.raises(ConfigError, match="frames"):
        linear_svm.linear_svm(frames, roles, C=0.01)


def test_registered_as_a_trainer():
    assert experiment.trainer("linear_svm") is linear_svm.run_baseline


def _corpus(actors=6, per_class=2, seed=0) -> InMemoryTable:
    """Speech-like clips whose pitch and noise floor depend on the class (so eGeMAPS can tell
    them apart), six speakers with their own pitch offset, alternating gender."""
    waves, rows = [], []
    for a in range(actors):
        for c, name in enumerate(CLASSES):
            for k in range(per_class):
                f0 = (120.0 + 6.0 * a) * (1.4 ** c)  # classes ~6 semitones apart
                waves.append(speechlike(0.8 + 0.1 * k, 16_000, f0=f0, seed=seed + len(rows),
                                        noise_dbfs=-60.0 + 10.0 * c))
                rows.append((f"Actor_{a + 1:02d}/c{c}_{k}.wav", f"ravdess/{a + 1:02d}",
                             naming.MALE if a % 2 else naming.FEMALE,
                             naming.LABELS.index(name)))
    col = lambda j, dtype: np.array([r[j] for r in rows], dtype)  # noqa: E731
    return InMemoryTable(corpus=np.array(["ravdess"] * len(rows)), path=col(0, str),
                         actor=col(1, str), gender=col(2, np.int8), label=col(3, np.int8),
                         sample_rate=np.full(len(rows), 16_000, np.int32), waves=waves,
                         fingerprint=f"svm-corpus-{actors}-{per_class}-{seed}")


def _cv_config(speaker_norm=False):
    c = spec.default_config()
    c.features.acoustic = "egemaps"
    c.features.backend = "librosa"
    c.folds = schemes.default_folds_config("actor_folds", n_folds=3)
    c.seeds, c.seed_offset, c.labels = 2, 0, CLASSES
    c.data = ml_collections.ConfigDict({"corpus": "ravdess"})
    c.train = ml_collections.ConfigDict({"speaker_norm": speaker_norm})
    c.baseline = ml_collections.ConfigDict({"kind": "linear_svm", "C": 0.01})
    return c


@pytest.fixture(scope="module")
def egemaps_set(tmp_path_factory):
    return precompute.precompute(_corpus(), _cv_config(), tmp_path_factory.mktemp("svm"),
                                 workers=1, progress=False)


@pytest.mark.parametrize("speaker_norm", [False, True])
def test_egemaps_svm_cv_end_to_end(egemaps_set, tmp_path, monkeypatch, speaker_norm):
    monkeypatch.setattr(precompute, "prepare_features", lambda config, progress: egemaps_set)
    summary = linear_svm.run_baseline(_cv_config(speaker_norm), tmp_path, progress=False)
    accuracy = summary["overall"]["accuracy"]["overall"]["mean"]
    assert accuracy > 0.9, accuracy  # measured 0.979 (1.0 speaker-normalised); chance 0.25
    for name in ("config.json", "metrics.json", "report.md", "predictions.csv",
                 "confusion.png"):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["baseline"] == {"kind": "linear_svm", "C": 0.01, "features": "egemaps",
                                 "speaker_norm": speaker_norm}
    assert [(m["fold"], m["seed"]) for m in saved["models"]] == [
        (f, s) for f in range(3) for s in (0, 1)]
    # Each original clip is tested once per seed; augmented copies are never tested.
    assert sum(m["n_test"] for m in saved["models"]) == 2 * 48
    assert UNUSED == 0


def test_bad_c_and_frames_config_are_named(tmp_path):
    cfg = _cv_config()
    cfg.baseline.C = 0.0
    with pytest.raises(ConfigError, match="baseline.C"):
        linear_svm.run_baseline(cfg, tmp_path, progress=False)
    cfg.features.acoustic = "egemaps_frames"
    with pytest.raises(ConfigError, match="egemaps_frames"):
        linear_svm.run_baseline(cfg, tmp_path, progress=False)


def _sklearn_views():
    """scripts/sklearn_views.py, imported by path (scripts/ is not a package)."""
    import importlib.util  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415
    path = Path(__file__).parents[1] / "scripts" / "sklearn_views.py"
    module_spec = importlib.util.spec_from_file_location("sklearn_views", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_sklearn_views_script_svm_equals_the_baseline_and_lr_learns(egemaps_set, tmp_path,
                                                                   monkeypatch, capsys):
    views = _sklearn_views()
    monkeypatch.setattr(precompute, "prepare_features", lambda config, progress: egemaps_set)
    baseline = linear_svm.run_baseline(_cv_config(), tmp_path, progress=False)
    args = views.parser().parse_args(["--config", "unused", "--views", "egemaps",
                                      "--model", "svm"])
    svm = views.run(_cv_config(), args)
    # The same folds, seeds, TRAIN rows and classifier: the baseline's per-model accuracies.
    np.testing.assert_allclose(svm["test"], [m["accuracy"] for m in baseline["models"]])
    assert len(svm["val"]) == len(svm["test"]) == 6 and len(svm["ensemble"]) == 3
    lr = views.run(_cv_config(), views.parser().parse_args(
        ["--config", "unused", "--views", "egemaps", "--gender-scale"]))
    assert np.mean(lr["test"]) > 0.8 and np.mean(lr["ensemble"]) > 0.8  # chance 0.25
    assert "| lr C=0.01 | egemaps | gender, TRAIN stats | 6 |" in capsys.readouterr().out


def test_gender_scaler_uses_each_genders_train_rows_only():
    scaler = _sklearn_views().GenderScaler(np.array([0, 0, 1, 1, 0, 1]))
    x = np.array([[1.0], [3.0], [10.0], [14.0], [100.0], [-50.0]])
    scaler.fit(x, np.arange(4))  # rows 4 and 5 are not TRAIN: they must not move the stats
    np.testing.assert_allclose(scaler.transform(x, np.arange(6))[:, 0],
                               [-1, 1, -1, 1, 98, -31], atol=1e-5)
