"""serjax.evaluation.compare: pairing two runs over (fold, seed) models, paired t and sign-flip p-values."""

import json

import numpy as np
import pytest
from scipy import stats

from serjax.evaluation import compare


def _write_run(path, accuracies, folds, seeds, n_test=10, labels=("a", "b"), config=None):
    path.mkdir(parents=True, exist_ok=True)
    models = [{"model": m, "fold": f, "seed": s, "accuracy": a, "uar": a, "macro_f1": a,
               "weighted_f1": a, "n_test": n_test}
              for m, (a, f, s) in enumerate(zip(accuracies, folds, seeds))]
    (path / "metrics.json").write_text(json.dumps({"labels": list(labels), "models": models}))
    if config is not None:
        (path / "config.json").write_text(json.dumps(config))
    return path


FOLDS, SEEDS = [0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1]
FIRST = [0.40, 0.42, 0.50, 0.48, 0.30, 0.33]
SECOND = [0.45, 0.44, 0.52, 0.53, 0.31, 0.36]


def test_paired_difference_t_test_and_exact_sign_flip(tmp_path):
    w1 = _write_run(tmp_path / "a", FIRST, FOLDS, SEEDS)
    w2 = _write_run(tmp_path / "b", SECOND, FOLDS, SEEDS)
    c = compare.compare(w1, w2)
    d = np.array(SECOND) - np.array(FIRST)
    out = c.as_dict()
    assert out["n"] == 6
    np.testing.assert_allclose(out["mean_diff"], d.mean(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["std_diff"], d.std(ddof=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["p_t"], stats.ttest_rel(SECOND, FIRST).pvalue, rtol=1e-12)
    # All six differences are positive: only the all-plus and all-minus sign patterns reach
    # |mean|, so the exact two-sided p is 2 / 2**6.
    assert out["p_perm"] == pytest.approx(2 / 64)
    assert out["perm_method"].startswith("exact")
    text = compare.format_comparison(c)
    assert "paired t-test p" in text and "sign-flip permutation p = 0.03125" in text


def test_over_folds_pairs_fold_means(tmp_path):
    w1 = _write_run(tmp_path / "a", FIRST, FOLDS, SEEDS)
    w2 = _write_run(tmp_path / "b", SECOND, FOLDS, SEEDS)
    c = compare.compare(w1, w2, over="folds")
    assert c.keys == [(0,), (1,), (2,)]
    np.testing.assert_allclose(c.first_values, [0.41, 0.49, 0.315])
    assert c.p_perm == pytest.approx(2 / 8)


def test_sign_flip_monte_carlo_and_degenerate_cases():
    p, method = compare.sign_flip_p(np.full(20, 0.01), draws=2000, seed=0)
    assert method == "Monte Carlo (2000 draws)"
    # Only the two all-equal-sign patterns reach the observed |mean| (2 in 2**20 ≈ 0).
    assert p == pytest.approx(1 / 2001, abs=2 / 2001)
    assert compare.paired_t_p([0.0, 0.0, 0.0]) == 1.0
    assert compare.paired_t_p([0.1, 0.1, 0.1]) == 0.0
    assert compare.sign_flip_p([0.0, 0.0])[0] == 1.0


def test_refuses_runs_over_different_folds_or_seeds(tmp_path):
    w1 = _write_run(tmp_path / "a", FIRST, FOLDS, SEEDS)
    w2 = _write_run(tmp_path / "b", SECOND[:4], FOLDS[:4], SEEDS[:4])
    with pytest.raises(compare.CompareError, match=r"not over the same folds × seeds.*\(2, 0\)"):
        compare.compare(w1, w2)
    w3 = _write_run(tmp_path / "c", SECOND, FOLDS, [s + 5 for s in SEEDS])
    with pytest.raises(compare.CompareError, match="not over the same folds × seeds"):
        compare.compare(w1, w3)


def test_refuses_different_test_sets_labels_or_protocols(tmp_path):
    w1 = _write_run(tmp_path / "a", FIRST, FOLDS, SEEDS, config={"folds": {"scheme": "x"},
                                                                  "data": {"corpus": "ravdess"}})
    w2 = _write_run(tmp_path / "b", SECOND, FOLDS, SEEDS, n_test=12)
    with pytest.raises(compare.CompareError, match="test sets differ"):
        compare.compare(w1, w2)
    w3 = _write_run(tmp_path / "c", SECOND, FOLDS, SEEDS, labels=("a", "c"))
    with pytest.raises(compare.CompareError, match="different labels"):
        compare.compare(w1, w3)
    w4 = _write_run(tmp_path / "d", SECOND, FOLDS, SEEDS, config={"folds": {"scheme": "y"},
                                                                   "data": {"corpus": "ravdess"}})
    with pytest.raises(compare.CompareError, match="differ in folds"):
        compare.compare(w1, w4)
    with pytest.raises(compare.CompareError, match="metrics.json not found"):
        compare.compare(w1, tmp_path / "missing")


def test_cli_prints_and_writes_json(tmp_path, capsys):
    import argparse

    w1 = _write_run(tmp_path / "a", FIRST, FOLDS, SEEDS)
    w2 = _write_run(tmp_path / "b", SECOND, FOLDS, SEEDS)
    parser = argparse.ArgumentParser()
    compare.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["compare", str(w1), str(w2), "--metric", "uar", "--json",
                              str(tmp_path / "out.json")])
    args.func(args)
    assert "paired uar" in capsys.readouterr().out
    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved["n"] == 6 and saved["metric"] == "uar"
