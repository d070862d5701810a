"""Per-fold ensembles (serjax.evaluation.ensembles) on hand-computed arrays, and their place in
metrics.json, report.md and the printed table."""

import json
import types

import numpy as np
import pytest

from serjax.evaluation import ensembles, metrics, report
from serjax.evaluation.predictions import predictions
from serjax.splits.roles import TEST, TRAIN

TRUE = np.array([0, 1, 1, 0, 1])
# Models 0, 2: fold 0 (TEST rows 0-2), seeds 0, 1; models 1, 3: fold 1 (TEST rows 3, 4).
FOLDS = [0, 1, 0, 1]
ROWS = [np.array([0, 1, 2]), np.array([3, 4]), np.array([0, 1, 2]), np.array([4, 3])]
PROBS = [np.array([[.9, .1], [.6, .4], [.2, .8]]),   # predicts 0 0 1: accuracy 2/3
         np.array([[.9, .1], [.4, .6]]),             # predicts 0 1: accuracy 1
         np.array([[.3, .7], [.2, .8], [.4, .6]]),   # predicts 1 1 1: accuracy 2/3
         np.array([[.7, .3], [.4, .6]])]             # rows 4, 3 (other order): 0 1: accuracy 0


def fake_result(rows, probs, true, seeds, curves=None):
    """What report reads from a GridResult, built from per-model TEST rows and probabilities."""
    num_classes = probs[0].shape[1]
    pred = [p.argmax(-1) for p in probs]
    confusion = np.stack([metrics.confusion_from_labels(true[r], p, num_classes)
                          for r, p in zip(rows, pred)])
    n = np.array([len(r) for r in rows])
    return types.SimpleNamespace(
        num_models=len(rows), num_classes=num_classes, seeds=np.asarray(seeds), n_train=n * 2,
        n_val=n, n_test=n, test_rows=rows, test_probs=probs, test_pred=pred,
        confusion=confusion, curves=curves or {}, timing={"compile_s": 0.0, "train_s": 0.0})


def test_fold_ensembles_average_each_folds_seeds():
    got = ensembles.fold_ensembles(ROWS, PROBS, FOLDS, TRUE)
    fold0, fold1 = got["folds"]
    # fold 0 mean: [.6 .4], [.4 .6], [.3 .7] -> 0 1 1, all right (each seed alone: 2/3)
    assert (fold0["fold"], fold0["models"], fold0["n_test"]) == (0, [0, 2], 3)
    assert fold0["accuracy"] == 1.0 and fold0["confusion"] == [[1, 0], [0, 2]]
    # fold 1, rows 3, 4 aligned: mean [.65 .35], [.55 .45] -> 0 0; truth 0 1
    assert (fold1["models"], fold1["accuracy"], fold1["uar"]) == ([1, 3], 0.5, 0.5)
    assert fold1["confusion"] == [[1, 0], [1, 0]]
    assert fold1["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    over = got["over_folds"]["accuracy"]
    assert (over["mean"], over["std"], over["n"]) == (0.75, 0.25, 2)


def test_members_restrict_the_ensemble():
    got = ensembles.fold_ensembles(ROWS, PROBS, FOLDS, TRUE, members=[0, 1])
    assert [f["models"] for f in got["folds"]] == [[0], [1]]
    assert [f["accuracy"] for f in got["folds"]] == pytest.approx([2 / 3, 1.0])


def test_models_of_one_fold_with_different_test_rows_are_refused():
    rows = [ROWS[0], ROWS[1], np.array([0, 1, 4]), ROWS[3]]
    with pytest.raises(ValueError, match=r"fold 0: model 2 predicts 3 TEST rows that differ "
                                         r"from model 0"):
        ensembles.fold_ensembles(rows, PROBS, FOLDS, TRUE)


def test_predicted_classes_only_are_ensembled_by_majority_vote():
    roles = np.array([[TRAIN, TEST, TEST, TEST]] * 3, np.int8)
    true = np.array([0, 0, 1, 2])
    result = predictions(roles, [0, 1, 2], true, [[0, 1, 2], [0, 1, 1], [1, 0, 2]], 3, {})
    got = ensembles.report_fields(result, [0, 0, 0], true)["ensemble"]
    assert (got["method"], got["members"]) == ("majority vote", "every seed of each fold")
    # votes per row: (0, 0, 1) -> 0; (1, 1, 0) -> 1; (2, 1, 2) -> 2: all right
    assert got["folds"][0]["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_no_ensemble_block_with_one_model_per_fold():
    result = fake_result(ROWS[:2], PROBS[:2], TRUE, [0, 0])
    assert ensembles.report_fields(result, FOLDS[:2], TRUE) == {}


def test_write_report_adds_the_ensemble_below_an_unchanged_table(tmp_path, capsys):
    result = fake_result(ROWS, PROBS, TRUE, [0, 0, 1, 1])
    summary = report.write_report(tmp_path, result, folds=FOLDS, labels=["calm", "angry"],
                                  true=TRUE, files=[f"f{i}.wav" for i in range(5)],
                                  actors=list("aabbb"))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["ensemble"]["over_folds"]["accuracy"]["mean"] == 0.75
    assert saved["ensemble"]["method"] == "mean probability"
    assert saved["protocol_notes"] == [] and "selection" not in saved
    report.print_table(summary)
    printed = capsys.readouterr().out.splitlines()
    table = report.format_table(summary).splitlines()
    assert printed[:len(table)] == table  # the table's own lines are untouched
    assert printed[len(table)] == ("seed ensemble: accuracy 0.750 ± 0.250  "
                                   "uar 0.750 ± 0.250")
    # the single models: fold means (2/3 + 2/3) / 2 and (1 + 0) / 2
    assert "0.583 ± 0.083" in table[-1]
    assert "seed ensemble: accuracy 0.750 ± 0.250" in (tmp_path / "report.md").read_text()


def test_speaker_normalised_runs_are_labelled_transductive(tmp_path, capsys):
    result = fake_result(ROWS, PROBS, TRUE, [0, 0, 1, 1])
    summary = report.write_report(tmp_path, result, folds=FOLDS, labels=["calm", "angry"],
                                  true=TRUE, files=[f"f{i}.wav" for i in range(5)],
                                  actors=list("aabbb"), speaker_norm=True)
    assert summary["protocol_notes"] == [report.SPEAKER_NORM_NOTE]
    assert report.SPEAKER_NORM_NOTE.startswith("speaker-normalised (transductive)")
    assert report.SPEAKER_NORM_NOTE in (tmp_path / "report.md").read_text()
    report.print_table(summary)
    assert capsys.readouterr().out.splitlines()[-1] == report.SPEAKER_NORM_NOTE
    # a baseline that says so in its own block is labelled too
    assert report.protocol_notes(False, {"baseline": {"speaker_norm": True}}) == {
        "protocol_notes": [report.SPEAKER_NORM_NOTE]}


def test_val_ensemble_averages_the_arms_of_each_fold_and_seed():
    # 4 models: fold 0, seed 0, arms 0 and 1 (VAL rows 0-2); fold 1, seed 0, arms 0 and 1
    # (VAL rows 3, 4, listed in another order by the second arm).
    result = types.SimpleNamespace(
        seeds=np.array([0, 0, 0, 0]),
        val_rows=[np.array([0, 1, 2]), np.array([0, 1, 2]), np.array([3, 4]),
                  np.array([4, 3])],
        val_probs=[np.array([[.9, .1], [.6, .4], [.2, .8]]),   # 0 0 1: 2/3 alone
                   np.array([[.3, .7], [.2, .8], [.4, .6]]),   # 1 1 1: 2/3 alone
                   np.array([[.9, .1], [.4, .6]]),             # rows 3, 4: 0 1
                   np.array([[.7, .3], [.4, .6]])])            # rows 4, 3: 0 1
    got = ensembles.val_ensemble(result, folds=[0, 0, 1, 1], true=TRUE, members=[0, 1, 2, 3])
    # fold 0 mean [.6 .4], [.4 .6], [.3 .7] -> 0 1 1: 3/3; fold 1 rows aligned: row 3
    # [.65 .35] -> 0 (right), row 4 [.55 .45] -> 0 (wrong): 1/2
    assert (got["accuracy"]["mean"], got["accuracy"]["std"]) == (0.75, 0.25)
    alone = ensembles.val_ensemble(result, [0, 0, 1, 1], TRUE, members=[0, 3])
    assert alone["accuracy"]["mean"] == pytest.approx((2 / 3 + 0.0) / 2)
    assert ensembles.val_ensemble(types.SimpleNamespace(seeds=np.zeros(4)), [0, 0, 1, 1],
                                  TRUE, [0, 1]) is None
