"""serjax.paper.baselines and serjax.paper.raw_waveform on small in-memory grids (no audio, no features)."""

import json

import ml_collections
import numpy as np
import pytest
from _grid_fixtures import actor_fold_roles, synthetic_arrays

from serjax.evaluation import predictions, report
from serjax.paper import baselines, raw_waveform
from serjax.splits.roles import TEST, TRAIN
from serjax.training import runtime, train


def _grid(num_rows=240, folds=3, seeds=2, separation=3.0):
    data = synthetic_arrays(num_rows, num_features=20, num_classes=4, num_actors=6,
                            separation=separation, seed=0)
    roles, fold_ids, seed_ids = actor_fold_roles(data["actor"], folds, seeds)
    return data, roles, fold_ids, seed_ids


def test_random_forest_predicts_each_models_test_rows_deterministically():
    data, roles, _, seeds = _grid()
    cfg = baselines.default_baseline_config("random_forest")
    cfg.n_estimators = 20
    preds, timing = baselines.random_forest(data, roles, seeds, cfg)
    again, _ = baselines.random_forest(data, roles, seeds, cfg)
    assert [len(p) for p in preds] == list((roles == TEST).sum(1))
    assert all(np.array_equal(a, b) for a, b in zip(preds, again))
    assert timing["compile_s"] == 0.0 and timing["train_s"] > 0
    result = predictions.predictions(roles, seeds, data["label"], preds, 4, timing)
    accuracy = np.trace(result.confusion.sum(0)) / result.confusion.sum()
    assert accuracy > 0.6  # well-separated classes; chance is 0.25
    assert result.confusion.sum() == (roles == TEST).sum()
    np.testing.assert_array_equal(result.n_train, (roles == TRAIN).sum(1))


def test_predictions_counts_match_hand_confusion():
    roles = np.array([[TRAIN, TEST, TEST, TEST], [TEST, TRAIN, TRAIN, TEST]], np.int8)
    true = np.array([0, 1, 1, 0])
    result = predictions.predictions(roles, [0, 1], true, [[1, 0, 0], [0, 1]], 2, {})
    np.testing.assert_array_equal(result.confusion[0], [[1, 0], [1, 1]])
    np.testing.assert_array_equal(result.confusion[1], [[1, 1], [0, 0]])
    assert result.num_models == 2
    np.testing.assert_array_equal(result.test_rows[1], [0, 3])


def test_write_report_has_per_model_entries_and_baseline_kind(tmp_path):
    data, roles, folds, seeds = _grid(seeds=1)
    cfg = baselines.default_baseline_config("random_forest")
    cfg.n_estimators = 5
    preds, timing = baselines.random_forest(data, roles, seeds, cfg)
    result = predictions.predictions(roles, seeds, data["label"], preds, 4, timing)
    files = np.array([f"ravdess/f{i}.wav" for i in range(len(data["label"]))])
    summary = report.write_report(tmp_path, result, folds=folds, labels=list("abcd"),
                                  true=data["label"], files=files, actors=files, features_s=1.0,
                                  extra={"baseline": {"kind": "random_forest"}},
                                  title="serjax results: baseline random_forest")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["baseline"] == {"kind": "random_forest"}
    assert [(m["fold"], m["seed"]) for m in saved["models"]] == [(0, 0), (1, 0), (2, 0)]
    assert summary["models"][0]["n_test"] == int((roles[0] == TEST).sum())
    assert (tmp_path / "confusion.png").is_file() and (tmp_path / "predictions.csv").is_file()
    assert "baseline random_forest" in (tmp_path / "report.md").read_text()


def test_fit_length_centre_crops_pads_and_normalises():
    y = np.arange(1, 11, dtype=np.float32)
    cropped = raw_waveform.fit_length(y, 4)
    np.testing.assert_allclose(cropped * np.sqrt(np.mean(np.arange(4, 8.0) ** 2)), [4, 5, 6, 7],
                               rtol=1e-6)
    padded = raw_waveform.fit_length(np.ones(3, np.float32), 7)
    np.testing.assert_allclose(padded, np.r_[0, 0, np.ones(3) * np.sqrt(7 / 3), 0, 0],
                               rtol=1e-6)
    cfg = baselines.default_baseline_config("raw_waveform")
    assert raw_waveform.waveform_length(cfg) == 12_000  # 3 s at 4 kHz, whole 40-sample frames


def test_raw_waveform_models_train_over_a_role_matrix():
    rng = np.random.default_rng(0)
    n, length = 192, 200
    label = np.arange(n) % 2
    t = np.arange(length) / 4000.0
    freq = np.where(label == 1, 900.0, 150.0)[:, None]
    waves = np.sin(2 * np.pi * freq * t) + 0.3 * rng.standard_normal((n, length))
    waves = (waves / np.sqrt(np.mean(waves ** 2, 1, keepdims=True))).astype(np.float32)
    roles, _, seeds = actor_fold_roles(np.arange(n) % 6, 3, 1)
    cfg = baselines.default_baseline_config("raw_waveform")
    cfg.raw_channels = (8,)
    train_cfg = train.default_train_config()
    train_cfg.epochs, train_cfg.batch_size = 6, 16
    train_cfg.learning_rate = 1e-2
    run = runtime.default_runtime_config()
    run.eval_batch_size = 64
    preds, timing, curves = raw_waveform.train_models(waves, label, roles, seeds, cfg,
                                                      train_cfg, 2, progress=False, runtime=run)
    assert [len(p) for p in preds] == list((roles == TEST).sum(1))
    loss = curves[raw_waveform.PHASE]["train_loss"]
    assert loss.shape == (6, 3) and np.isfinite(loss[0]).all()
    assert (loss[np.isfinite(loss[:, 0]), 0][-1] < loss[0, 0])
    again, _, _ = raw_waveform.train_models(waves, label, roles, seeds, cfg, train_cfg, 2,
                                            progress=False, runtime=run)
    with pytest.raises(ValueError, match=r"models \[0\] have no TRAIN rows"):
        raw_waveform.train_models(waves, label, np.where(roles == TRAIN, 0, roles)[:1], [0],
                                  cfg, train_cfg, 2, progress=False, runtime=run)
    assert all(np.array_equal(a, b) for a, b in zip(preds, again))
    accuracy = np.mean(np.concatenate([p == label[r == TEST] for p, r in zip(preds, roles)]))
    assert accuracy > 0.8  # a low vs a high tone: easy from the waveform


def test_cnn1d_refuses_a_source_run_with_another_step1(tmp_path):
    config = ml_collections.ConfigDict({
        "data": {"corpus": "ravdess"}, "audio": {}, "augment": {}, "features": {},
        "folds": {"scheme": "consecutive"}, "train": {"epochs": 25}, "labels": ["a"],
        "seeds": 3, "seed_offset": 0, "model": {"fusion": "fusion", "deep_width": 32},
        "baseline": {"kind": "cnn1d"}})
    source = dict(config.to_dict(), model={"fusion": "deep_only", "deep_width": 32})
    (tmp_path / "config.json").write_text(json.dumps(source))
    baselines.check_same_step1(config, tmp_path)  # fusion only changes step 2: accepted
    source["model"] = {"fusion": "fusion"}  # a run made before model.deep_width existed
    (tmp_path / "config.json").write_text(json.dumps(source))
    baselines.check_same_step1(config, tmp_path)
    source["train"] = {"epochs": 5}
    (tmp_path / "config.json").write_text(json.dumps(source))
    with pytest.raises(ValueError, match=r"train.epochs \(5 there, 25 now\) differs"):
        baselines.check_same_step1(config, tmp_path)
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        baselines.check_same_step1(config, tmp_path / "nope")


def test_unknown_baseline_kind_is_a_clear_error(tmp_path):
    config = ml_collections.ConfigDict({"baseline": {"kind": "svm"}})
    with pytest.raises(ValueError, match="baseline.kind='svm'"):
        baselines.run_baseline(config, tmp_path, progress=False)
