"""Metrics from confusion counts against scikit-learn on hand-made cases."""

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from serjax.evaluation import metrics

CASES = [
    # (y_true, y_pred, num_classes)
    ([0, 0, 1, 1, 2, 2, 2, 3], [0, 1, 1, 1, 2, 0, 2, 3], 4),
    ([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1], 3),  # class 2 never right
    ([0, 0, 0, 1, 1], [0, 0, 2, 1, 2], 4),  # class 2 only predicted, class 3 absent
    ([1, 1, 1, 1], [1, 1, 0, 1], 2),
]


@pytest.mark.parametrize("y_true,y_pred,c", CASES)
def test_metrics_match_sklearn(y_true, y_pred, c):
    got = metrics.from_confusion(metrics.confusion_from_labels(y_true, y_pred, c))
    labels = list(range(c))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert got["uar"] == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    assert got["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro",
                                                         zero_division=0))
    assert got["weighted_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="weighted",
                                                            zero_division=0))
    np.testing.assert_allclose(got["precision"], skm.precision_score(
        y_true, y_pred, labels=labels, average=None, zero_division=0))
    np.testing.assert_allclose(got["recall"], skm.recall_score(
        y_true, y_pred, labels=labels, average=None, zero_division=0))
    np.testing.assert_array_equal(got["confusion"], skm.confusion_matrix(y_true, y_pred,
                                                                         labels=labels))


def test_hand_computed_values():
    got = metrics.from_confusion([[3, 1], [0, 4]])
    assert got["accuracy"] == pytest.approx(7 / 8)
    assert got["uar"] == pytest.approx((3 / 4 + 1) / 2)
    assert got["precision"] == pytest.approx([1.0, 0.8])


def test_device_confusion_counts_ignore_padding():
    logits = jnp.asarray([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    labels = jnp.asarray([0, 2, 2, 1, 0])
    rows = jnp.asarray([0, 3, 2, -1])  # the last logits row is padding
    got = metrics.confusion_counts(logits, labels, rows, 3)
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_summarize_over_folds_and_seeds():
    values = [0.5, 0.7, 0.6, 0.8]  # models: (fold 0, seed 0), (1, 0), (0, 1), (1, 1)
    got = metrics.summarize(values, folds=[0, 1, 0, 1], seeds=[0, 0, 1, 1])
    assert got["overall"]["mean"] == pytest.approx(0.65)
    assert got["overall"]["std"] == pytest.approx(np.std(values))
    assert got["over_folds"]["mean"] == pytest.approx(0.65)
    assert got["over_folds"]["std"] == pytest.approx(0.1)  # fold means 0.55, 0.75
    assert got["over_seeds"]["std"] == pytest.approx(0.05)  # seed means 0.6, 0.7


def test_write_report_files(tmp_path):
    import json

    from serjax.evaluation import report
    from serjax.training import train
    curves = {p: {c: np.random.default_rng(0).random((3, 2)) for c in
                  ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "stopped")}
              for p in train.PHASES}
    result = train.GridResult(
        num_classes=2, seeds=np.array([0, 0]), n_train=np.array([4, 4]),
        n_val=np.array([1, 1]), n_test=np.array([2, 2]),
        test_rows=[np.array([0, 1]), np.array([2, 3])],
        test_probs=[np.eye(2), np.eye(2)], test_pred=[np.array([0, 1]), np.array([0, 0])],
        confusion=np.array([[[1, 0], [0, 1]], [[1, 0], [1, 0]]]), curves=curves,
        params={}, scalers={}, timing={"compile_s": 1.0, "train_s": 2.0})
    summary = report.write_report(
        tmp_path, result, folds=[0, 1], labels=["calm", "angry"], true=[0, 1, 0, 1],
        files=["a.wav", "b.wav", "c.wav", "d.wav"], actors=["x", "x", "y", "y"],
        features_s=3.0)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(summary))
    assert saved["overall"]["accuracy"]["overall"]["mean"] == pytest.approx(0.75)
    assert saved["models"][1]["uar"] == pytest.approx(0.5)
    assert saved["timing"] == {"features_s": 3.0, "compile_s": 1.0, "train_s": 2.0}
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "file,actor,true,predicted,fold,seed"
    assert lines[4] == "d.wav,y,angry,calm,1,0"
    assert (tmp_path / "confusion.png").stat().st_size > 0
    assert (tmp_path / "learning_curves.png").stat().st_size > 0
    table = report.format_table(summary)
    assert "0.750 ± 0.250" in table and "mean ± std" in (tmp_path / "report.md").read_text()
