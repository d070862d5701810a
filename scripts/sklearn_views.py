"""scikit-learn classifiers on serjax's own grid: where a recipe's margin over the SVM comes from.

    python scripts/sklearn_views.py --config configs/ravdess_cv.py \
        --config.data.root=../shared/realdata --config.folds.scheme=actor_folds \
        --config.folds.n_folds=3 --config.augment.copies=0 --config.seeds=10 \
        --views compare --model lr --C 0.01 [--speaker-norm] [--gender-scale]

Every (fold, seed) model of the experiment's role matrix (the same folds, seeds, VAL speakers and
TEST speakers as ``serjax cv`` with that config) is fitted on its TRAIN rows only: a
``StandardScaler`` (or, with ``--gender-scale``, one scaler per gender, fitted on that gender's
TRAIN rows: not transductive) and then the classifier. Printed, as a Markdown table:

* VAL and TEST accuracy of the single models (mean over models);
* the seed ensemble: per fold, the mean of its seeds' class probabilities (``lr``) or decision
  scores (``svm``, one-vs-rest shape), mean ± std over folds, and each fold's figure.

``--views compare,egemaps`` concatenates several one-vector-per-file feature sets (each
``features.acoustic``, cached as ``serjax cv`` caches it). ``--speaker-norm`` applies
``train.speaker_norm`` (serjax's ``grid_data.speaker_normalize``: each speaker's rows by that
speaker's own statistics; transductive). ``--model``: ``lr`` (multinomial logistic regression,
L2, ``C``), ``svm`` (``SVC(kernel="linear", C)``, the baseline's classifier), ``rbf``
(``SVC(kernel="rbf", C)``) or ``subspace`` (``--bags`` logistic regressions on random fifths of
the columns, probabilities averaged). Nothing here reads a TEST row before the TEST column.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from serjax import config as config_lib
from serjax.features import precompute
from serjax.splits import grid_inputs
from serjax.splits.roles import TEST, TRAIN, VAL
from serjax.training import grid_data


def view_matrix(config, views: list[str]):
    """(grid of the first view, float64 [N, sum of widths]): the views' columns side by side."""
    grids, columns = [], []
    for view in views:
        c = config.copy_and_resolve_references()
        c.features.acoustic = view
        grid = grid_inputs.grid_inputs(c, precompute.prepare_features(c, progress=False))
        if grids and not (np.array_equal(grid.files, grids[0].files)
                          and np.array_equal(grid.roles, grids[0].roles)):
            raise ValueError(f"view {view!r} has other files or roles than {views[0]!r} (a file "
                             "one feature set skipped?): compute them from the same corpus")
        grids.append(grid)
        columns.append(np.asarray(grid.data["acoustic"], np.float64).reshape(len(grid.actors), -1))
    return grids[0], np.hstack(columns)


class GenderScaler:
    """Standardises each gender's rows by that gender's TRAIN statistics (not transductive)."""

    def __init__(self, gender):
        self.gender = np.asarray(gender).reshape(-1)

    def fit(self, x, rows):
        self.stats = {g: (x[rows][self.gender[rows] == g].mean(0),
                          x[rows][self.gender[rows] == g].std(0) + 1e-8)
                      for g in np.unique(self.gender[rows])}
        return self

    def transform(self, x, rows):
        out = np.empty_like(x[rows])
        for g, (mean, std) in self.stats.items():
            pick = self.gender[rows] == g
            out[pick] = (x[rows][pick] - mean) / std
        return out


class PlainScaler:
    def fit(self, x, rows):
        self.scaler = StandardScaler().fit(x[rows])
        return self

    def transform(self, x, rows):
        return self.scaler.transform(x[rows])


class Subspace:
    """Logistic regressions on random column subsets (a fifth each), probabilities averaged."""

    def __init__(self, C, bags, seed=0):
        self.C, self.bags, self.rng = C, bags, np.random.default_rng(seed)

    def fit(self, x, y):
        self.members = []
        for _ in range(self.bags):
            cols = self.rng.random(x.shape[1]) < 0.2
            self.members.append((cols, LogisticRegression(C=self.C, max_iter=3000)
                                 .fit(x[:, cols], y)))
        return self

    def scores(self, x):
        return np.mean([m.predict_proba(x[:, cols]) for cols, m in self.members], 0)


def classifier(name: str, C: float, bags: int):
    """(unfitted model, its soft-score function)."""
    if name == "lr":
        return LogisticRegression(C=C, max_iter=3000), lambda m, x: m.predict_proba(x)
    if name in ("svm", "rbf"):
        kernel = "linear" if name == "svm" else "rbf"
        return SVC(kernel=kernel, C=C), lambda m, x: m.decision_function(x)
    return Subspace(C, bags), lambda m, x: m.scores(x)  # "subspace" (parser() checks names)


def evaluate(grid, x, y, args):
    """(VAL accs, TEST accs, {fold TEST rows: [scores per seed]}) over every model."""
    vals, tests, by_fold = [], [], {}
    for row in grid.roles:
        train, val, test = (np.flatnonzero(row == code) for code in (TRAIN, VAL, TEST))
        scaler = (GenderScaler(grid.data["gender"]) if args.gender_scale else PlainScaler())
        scaler.fit(x, train)
        model, scores = classifier(args.model, args.C, args.bags)
        model.fit(scaler.transform(x, train), y[train])
        if val.size:
            vals.append(np.mean(scores(model, scaler.transform(x, val)).argmax(1) == y[val]))
        s = scores(model, scaler.transform(x, test))
        tests.append(np.mean(s.argmax(1) == y[test]))
        by_fold.setdefault(tuple(test), []).append(s)
    return vals, tests, by_fold


def pct(values) -> str:
    return f"{100 * np.mean(values):.1f}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("--config", required=True)
    p.add_argument("--views", default="compare")
    p.add_argument("--model", default="lr", choices=("lr", "svm", "rbf", "subspace"))
    p.add_argument("--C", type=float, default=0.01)
    p.add_argument("--bags", type=int, default=20)
    p.add_argument("--speaker-norm", action="store_true")
    p.add_argument("--gender-scale", action="store_true")
    return p


def run(config, args) -> dict:
    """Fits every model of ``config``'s grid; prints the table row; returns the figures."""
    start = time.perf_counter()
    grid, x = view_matrix(config, args.views.split(","))
    y = np.asarray(grid.data["label"])
    if args.speaker_norm:
        x = grid_data.speaker_normalize({**grid.data, "acoustic": x})["acoustic"]
    vals, tests, by_fold = evaluate(grid, x, y, args)
    ensembles = [np.mean(np.mean(s, 0).argmax(1) == y[list(rows)]) for rows, s in by_fold.items()]
    norm = ("speaker (transductive)" if args.speaker_norm else
            "gender, TRAIN stats" if args.gender_scale else "TRAIN stats")
    print("| model | views | scaling | models | VAL acc % | TEST acc % | seed ensemble % | "
          "per fold | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.model} C={args.C:g} | {args.views} | {norm} | {len(tests)} | "
          f"{pct(vals) if vals else '–'} | {pct(tests)} | "
          f"{pct(ensembles)} ± {100 * np.std(ensembles):.1f} | "
          f"{' / '.join(pct(e) for e in ensembles)} | {time.perf_counter() - start:.0f} |")
    return {"val": vals, "test": tests, "ensemble": ensembles}


def main(argv=None):
    args, overrides = parser().parse_known_args(argv)
    return run(config_lib.load_config(args.config, overrides), args)


if __name__ == "__main__":
    main(sys.argv[1:])
