"""Ensembles per fold: the mean class probabilities of several models that predict the same
TEST rows (a fold's seeds, or the seeds of its best arms by VAL score), reported beside the
single-model mean ± std.

Only models of one fold are averaged: they share the fold's TEST speakers, and averaging across
folds would mix different TEST sets. Which models of a fold take part is decided before any TEST
row is read (all of them, the VAL-chosen arm's seeds, or the top-k arms by VAL score; see
``serjax.evaluation.selection``), so the ensemble is as honest as the single models.

Results that carry no probabilities (the random-forest / SVM baselines give predicted classes
only) are ensembled by majority vote: the mean of one-hot predictions (ties go to the lower
class index, as ``argmax`` breaks them).

``report_fields`` makes the metrics.json blocks::

  "ensemble":  {"members", "method", "folds": [{"fold", "models", "n_test", <metric>...,
                "confusion"}], "over_folds": {metric: {mean, std, n}}}
               # only when some fold has more than one member model
  "selection": selection.select(...) + {"ensemble": ..., "top_k_ensemble": {"k", "folds",
               "over_folds", "val": {"accuracy": {mean, std, n}}}}
               # only when the grid has more than one arm; "val" when the result has VAL
               # probabilities. With k = every arm (or program) nothing was picked, so that
               # VAL score compares the ensemble with single arms honestly; with fewer, the
               # arms were picked on the same VAL rows and it is optimistic.
"""

from __future__ import annotations

import numpy as np

from serjax.evaluation import metrics, selection

#: Arms averaged by the top-k ensemble when the grid has arms.
TOP_K = 2


def _plain(x):
    return x.item() if hasattr(x, "item") else x


def fold_ensembles(test_rows, test_probs, folds, true, members=None) -> dict:
    """Per fold, the mean probability over its member models, its confusion and metrics, and
    the metrics' mean ± std over folds.

    Args:
      test_rows: per model, int [T_m] TEST row indices; test_probs: per model, float [T_m, C].
      folds: the fold of each model (any hashable ids); true: int [N] class of every row.
      members: model indices to ensemble (default: every model).

    Returns ``{"folds": [{"fold", "models", "n_test", <metric>..., "confusion"}],
    "over_folds": {metric: {mean, std, n}}}``; folds in first-appearance order.
    Raises ValueError when two members of one fold predict different TEST rows.
    """
    true, folds = np.asarray(true), np.asarray(folds)
    members = range(len(test_rows)) if members is None else members
    by_fold: dict = {}
    for m in members:
        by_fold.setdefault(_plain(folds[m]), []).append(int(m))
    out = []
    for fold, models in by_fold.items():
        rows, probs = _aligned(fold, models, test_rows, test_probs)
        mean = probs.mean(0)
        confusion = metrics.confusion_from_labels(true[rows], mean.argmax(-1), mean.shape[-1])
        scores = metrics.from_confusion(confusion)
        out.append({"fold": fold, "models": models, "n_test": int(rows.size),
                    **{k: scores[k] for k in metrics.SCALAR_METRICS},
                    "confusion": scores["confusion"]})
    return {"folds": out, "over_folds": {k: selection.mean_std([f[k] for f in out])
                                         for k in metrics.SCALAR_METRICS}}


def _aligned(fold, models, test_rows, test_probs, split: str = "TEST"
             ) -> tuple[np.ndarray, np.ndarray]:
    """(rows sorted [T], probabilities [models, T, C] in that row order); checks that every
    model of the fold predicts the same ``split`` rows."""
    first = np.sort(np.asarray(test_rows[models[0]]))
    stacked = []
    for m in models:
        rows = np.asarray(test_rows[m])
        order = np.argsort(rows, kind="stable")
        if not np.array_equal(rows[order], first):
            raise ValueError(
                f"fold {fold}: model {m} predicts {rows.size} {split} rows that differ from "
                f"model {models[0]}'s {first.size}; only models with the same {split} rows (the "
                "seeds and arms of one fold) can be ensembled: check that the folds passed match "
                "the models' role-matrix rows")
        stacked.append(np.asarray(test_probs[m], np.float64)[order])
    return first, np.stack(stacked)


def val_ensemble(result, folds, true, members) -> dict | None:
    """``{"accuracy": {mean, std, n}}`` over folds: the VAL accuracy of the mean probabilities of
    each (fold, seed)'s member models, i.e. of its arms or programs, which share that seed's VAL
    speakers (the seeds of a fold draw different VAL speakers, so a seed ensemble has no VAL
    score). Seeds averaged per fold; None without VAL probabilities or VAL rows. This is how an
    ensemble of arms is compared with single arms without reading a TEST row."""
    val_rows, val_probs = getattr(result, "val_rows", None), getattr(result, "val_probs", None)
    if val_rows is None or val_probs is None:
        return None
    true, groups = np.asarray(true), {}
    for m in members:
        if np.asarray(val_rows[m]).size:
            groups.setdefault((_plain(np.asarray(folds)[m]), _plain(result.seeds[m])),
                              []).append(int(m))
    by_fold: dict = {}
    for (fold, _), models in groups.items():
        rows, probs = _aligned(fold, models, val_rows, val_probs, "VAL")
        by_fold.setdefault(fold, []).append(float(np.mean(probs.mean(0).argmax(-1)
                                                          == true[rows])))
    if not by_fold:
        return None
    return {"accuracy": selection.mean_std([np.mean(v) for v in by_fold.values()])}


def vote_probs(test_pred, num_classes: int) -> list:
    """One-hot ``float [T_m, C]`` per model from predicted classes (majority-vote ensembles)."""
    return [np.eye(num_classes)[np.asarray(p, np.int64)] for p in test_pred]


def _probs_and_method(result) -> tuple[list, str]:
    probs = getattr(result, "test_probs", None)
    if probs is not None:
        return probs, "mean probability"
    return vote_probs(result.test_pred, np.asarray(result.confusion).shape[-1]), "majority vote"


def model_arms(result, arms=None) -> np.ndarray:
    """int [M]: ``arms`` if given, else the result's own ``arms`` field, else all 0."""
    if arms is None:
        arms = getattr(result, "arms", None)
    if arms is None:
        return np.zeros(result.num_models, np.int64)
    arms = np.asarray(arms, np.int64)
    if arms.shape != (result.num_models,):
        raise ValueError(f"arms: {arms.shape} for {result.num_models} models; give one per model")
    return arms


def _largest_fold(folds, members) -> int:
    counts: dict = {}
    for m in members:
        key = _plain(np.asarray(folds)[m])
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values(), default=0)


def report_fields(result, folds, true, arms=None, score: str = "val_acc",
                  top_k: int = TOP_K) -> dict:
    """The metrics.json ``"ensemble"`` and ``"selection"`` blocks of a grid result (module
    docstring). With arms, the seed ensemble averages the seeds of each fold's VAL-chosen arm;
    when the arms cannot be chosen (no VAL rows) ``"selection"`` says why and no seed ensemble
    is made."""
    arms = model_arms(result, arms)
    probs, method = _probs_and_method(result)
    out: dict = {}
    members, described = list(range(result.num_models)), "every seed of each fold"
    if len(np.unique(arms)) > 1:
        table = selection.model_table(metrics.per_model(result.confusion), folds, result.seeds,
                                      arms, selection.result_scores(result, score))
        try:
            chosen = selection.select(table, score)
        except ValueError as err:  # keep the rest of the report; say why nothing was chosen
            return {"selection": {"score": score, "error": str(err)}}
        members = selection.chosen_models(table, chosen)
        described = "every seed of each fold's VAL-chosen arm"
        chosen["ensemble"] = fold_ensembles(result.test_rows, probs, folds, true, members)
        k = min(top_k, len(np.unique(arms)))
        top = selection.top_arm_models(table, k)
        chosen["top_k_ensemble"] = {"k": k, **fold_ensembles(result.test_rows, probs, folds,
                                                             true, top)}
        val = val_ensemble(result, folds, true, top)
        if val is not None:
            chosen["top_k_ensemble"]["val"] = val
        out["selection"] = chosen
    if _largest_fold(folds, members) > 1:
        out["ensemble"] = {"members": described, "method": method,
                           **fold_ensembles(result.test_rows, probs, folds, true, members)}
    return out


def summary_lines(summary: dict) -> list[str]:
    """The lines printed after the results table: seed ensemble, nested selection (with the
    per-arm TEST accuracy) and the protocol notes, each only when metrics.json has it."""
    lines = []
    arm_values = summary.get("sweep", {}).get("arms", [])
    if arm_values:
        lines.append(f"({summary['sweep']['note']})")
    if "ensemble" in summary:
        over = summary["ensemble"]["over_folds"]
        lines.append("seed ensemble: " + _pairs(over, ("accuracy", "uar")))
    picked = summary.get("selection")
    if picked and "error" in picked:
        lines.append(f"nested selection: none ({picked['error']})")
    elif picked:
        lines.append(f"nested selection (by {picked['score']}): "
                     + _pairs(picked["headline"]["over_folds"], ("accuracy", "uar")))
        lines += [f"  arm {a['arm']}: chosen in {a['chosen_in']} folds, TEST "
                  + _pairs(a, ("accuracy",)) + ", VAL " + _pairs(a, ("val_score",))
                  + _values(arm_values, a["arm"]) for a in picked["arms"]]
        top = picked.get("top_k_ensemble")
        if top:
            lines.append(f"top-{top['k']} arms ensemble: "
                         + _pairs(top["over_folds"], ("accuracy", "uar"))
                         + ("; VAL " + _pairs(top["val"], ("accuracy",)) if "val" in top
                            else ""))
    if "val" in summary:
        lines.append("VAL speakers (what recipes are compared by): "
                     + _pairs(summary["val"], ("accuracy",)))
    lines += list(summary.get("protocol_notes", []))
    return lines


def format_values(values: dict) -> str:
    """An arm's values as ``learning_rate=0.001 weight_decay=0`` (a program's overrides as
    written); the one format of the report's arm lines and the sweep's start-up lines."""
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in values.items())


def _values(arm_values: list, arm: int) -> str:
    if arm >= len(arm_values):
        return ""
    return f"  ({format_values(arm_values[arm])})"


def _pairs(block: dict, names) -> str:
    return "  ".join(f"{k} {block[k]['mean']:.3f} ± {block[k]['std']:.3f}" for k in names)
