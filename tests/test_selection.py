"""Nested, honest arm selection (serjax.evaluation.selection): each fold picks its arm from VAL
scores only, on hand-computed arrays; changing every TEST value leaves the choice unchanged."""

import copy
import types

import numpy as np
import pytest

from serjax.evaluation import ensembles, metrics, selection

NAN = np.nan
# Grid: 2 folds × 3 arms × 2 seeds, m = fold * 6 + arm * 2 + seed.
FOLDS = np.repeat([0, 1], 6)
ARMS = np.tile(np.repeat([0, 1, 2], 2), 2)
SEEDS = np.tile([0, 1], 6)
# VAL accuracy per model. Fold 0 arm means .5, .75, .75 (tie: arm 1); fold 1 .75, .5, .25.
VAL_ACC = np.array([.25, .75, .75, .75, .5, 1.0,
                    1.0, .5, .5, .5, .25, .25])
# TEST rows: fold 0 rows 0-3, fold 1 rows 4-7; TEST accuracy as number of right rows of 4.
TRUE = np.array([0, 0, 1, 1, 0, 0, 1, 1])
RIGHT = [4, 4, 2, 3, 1, 1,   # fold 0: arm 0 (best on TEST, not on VAL), arm 1, arm 2
         3, 3, 4, 4, 2, 2]   # fold 1
CONFIDENCE = [.6, .9] * 6    # seed 0 less sure than seed 1


def grid_result(val_acc=VAL_ACC):
    """A GridResult-like object: the first ``RIGHT[m]`` TEST rows of model m are right."""
    rows, probs = [], []
    for m in range(12):
        r = np.arange(4) + 4 * FOLDS[m]
        pred = np.where(np.arange(4) < RIGHT[m], TRUE[r], 1 - TRUE[r])
        p = np.full((4, 2), 1 - CONFIDENCE[m])
        p[np.arange(4), pred] = CONFIDENCE[m]
        rows.append(r)
        probs.append(p)
    pred = [p.argmax(-1) for p in probs]
    confusion = np.stack([metrics.confusion_from_labels(TRUE[r], q, 2)
                          for r, q in zip(rows, pred)])
    # Two epochs; the second has the lower VAL loss, so its VAL accuracy is the score.
    curves = {"classifier": {"val_loss": np.tile([[1.0], [0.5]], (1, 12)),
                             "val_acc": np.stack([np.zeros(12), np.asarray(val_acc, float)])}}
    return types.SimpleNamespace(num_models=12, seeds=SEEDS, test_rows=rows, test_probs=probs,
                                 test_pred=pred, confusion=confusion, curves=curves)


def table_of(result):
    return selection.model_table(metrics.per_model(result.confusion), FOLDS, SEEDS, ARMS,
                                 selection.val_scores(result.curves))


def test_val_scores_read_the_kept_epoch():
    curves = {"classifier": {"val_loss": np.array([[1.0, 0.5, NAN], [0.4, 0.3, NAN],
                                                   [0.4, 0.6, NAN]]),
                             "val_acc": np.array([[.1, .2, NAN], [.5, .6, NAN],
                                                  [.9, .4, NAN]])}}
    # model 0: lowest loss .4 first at epoch 1 (the kept parameters); model 1: epoch 1;
    # model 2 had no VAL rows
    np.testing.assert_array_equal(selection.val_scores(curves), [.5, .6, NAN])
    np.testing.assert_array_equal(selection.val_scores(curves, "neg_val_loss"), [-.4, -.3, NAN])
    named = types.SimpleNamespace(classifier=types.SimpleNamespace(**curves["classifier"]))
    np.testing.assert_array_equal(selection.val_scores(named), [.5, .6, NAN])
    with pytest.raises(ValueError, match="'val_f1' is not one of val_acc, neg_val_loss"):
        selection.val_scores(curves, "val_f1")


def test_each_fold_picks_its_best_val_arm_and_reports_its_test():
    table = table_of(grid_result())
    assert selection.ranked_arms(table) == {0: [1, 2, 0], 1: [0, 1, 2]}  # tie -> lower arm
    picked = selection.select(table)
    assert picked["chosen"] == [{"fold": 0, "arm": 1}, {"fold": 1, "arm": 0}]
    head = picked["headline"]
    assert [f["accuracy"] for f in head["folds"]] == [(2 + 3) / 8, 3 / 4]
    acc = head["over_folds"]["accuracy"]
    assert (acc["mean"], acc["std"], acc["n"]) == (0.6875, 0.0625, 2)
    arms = {a["arm"]: a for a in picked["arms"]}
    # arm 0 would have won fold 0 on TEST (1.0): the per-arm table shows what that would claim
    assert (arms[0]["accuracy"]["mean"], arms[0]["accuracy"]["std"]) == (0.875, 0.125)
    assert (arms[1]["accuracy"]["mean"], arms[1]["accuracy"]["std"]) == (0.8125, 0.1875)
    assert (arms[2]["accuracy"]["mean"], arms[2]["accuracy"]["std"]) == (0.375, 0.125)
    assert (arms[0]["val_score"]["mean"], arms[0]["val_score"]["std"]) == (0.625, 0.125)
    assert [a["chosen_in"] for a in picked["arms"]] == [1, 1, 0]
    assert selection.chosen_models(table, picked) == [2, 3, 6, 7]
    assert selection.top_arm_models(table, 2) == [2, 3, 4, 5, 6, 7, 8, 9]


def test_changing_every_test_value_leaves_the_choice_unchanged():
    honest = ensembles.report_fields(grid_result(), FOLDS, TRUE, ARMS)["selection"]
    rng = np.random.default_rng(0)
    tampered = grid_result()
    tampered.test_probs = [rng.dirichlet([1, 1], 4) for _ in range(12)]
    tampered.test_pred = [p.argmax(-1) for p in tampered.test_probs]
    tampered.confusion = rng.integers(0, 5, (12, 2, 2))
    other = ensembles.report_fields(tampered, FOLDS, rng.integers(0, 2, 8), ARMS)["selection"]
    assert other["chosen"] == honest["chosen"]
    assert other["headline"]["over_folds"] != honest["headline"]["over_folds"]  # TEST did change


def test_changing_val_changes_the_choice():
    val = VAL_ACC.copy()
    val[[0, 1]] = 1.0  # fold 0, arm 0 now best on VAL
    got = ensembles.report_fields(grid_result(val), FOLDS, TRUE, ARMS)["selection"]
    assert got["chosen"] == [{"fold": 0, "arm": 0}, {"fold": 1, "arm": 0}]
    assert got["headline"]["over_folds"]["accuracy"]["mean"] == (1.0 + 0.75) / 2


def test_seed_ensemble_with_arms_averages_the_chosen_arms_seeds():
    fields = ensembles.report_fields(grid_result(), FOLDS, TRUE, ARMS)
    seed = fields["ensemble"]
    assert seed["members"] == "every seed of each fold's VAL-chosen arm"
    assert [f["models"] for f in seed["folds"]] == [[2, 3], [6, 7]]
    # fold 0 row 2: seed 0 wrong at .6, seed 1 right at .9 -> mean .65 right: 3 of 4
    assert [f["accuracy"] for f in seed["folds"]] == [0.75, 0.75]
    assert fields["selection"]["ensemble"]["folds"] == seed["folds"]
    top = fields["selection"]["top_k_ensemble"]
    assert top["k"] == 2 and [f["models"] for f in top["folds"]] == [[2, 3, 4, 5], [6, 7, 8, 9]]
    lines = ensembles.summary_lines(fields)
    assert lines[:2] == ["seed ensemble: accuracy 0.750 ± 0.000  uar 0.750 ± 0.000",
                         ("nested selection (by val_acc): accuracy 0.688 ± 0.062  "
                          "uar 0.688 ± 0.062")]
    assert lines[2] == ("  arm 0: chosen in 1 folds, TEST accuracy 0.875 ± 0.125, "
                        "VAL val_score 0.625 ± 0.125")


def test_folds_without_val_rows_are_refused_with_the_reason():
    result = grid_result()
    result.curves = copy.deepcopy(result.curves)
    result.curves["classifier"]["val_loss"][:, 7] = NAN
    with pytest.raises(ValueError, match=r"fold 1: arm\(s\) \[0\] have no finite VAL score"):
        selection.choose_arms(table_of(result))
    fields = ensembles.report_fields(result, FOLDS, TRUE, ARMS)
    assert "ensemble" not in fields and "fold 1" in fields["selection"]["error"]
    assert ensembles.summary_lines(fields)[0].startswith("nested selection: none (fold 1:")
