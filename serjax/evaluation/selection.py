"""Nested (honest) selection of a hyperparameter arm per outer fold, from VAL speakers only.

The grid's model axis is folds × seeds × arms (an arm is one hyperparameter setting; a grid
without arms has arm 0 only). Each outer fold picks the arm with the best VAL score, the mean
over that arm's seeds of one number per model read from its classifier-phase learning curves.
VAL rows are speakers of the fold's own training set, never its TEST fold, so the choice cannot
see TEST: ``choose_arms`` reads the ``val_score`` column and nothing else. The headline is then
the TEST metrics of the chosen arms, reported beside the per-arm table (every arm's TEST and
VAL, mean ± std over folds), which shows what picking by TEST would have claimed.

VAL scores (``val_scores``), per model, at the epoch whose parameters early stopping kept (the
first lowest VAL loss, as ``model_step.epoch_end`` keeps them):

* ``"val_acc"``: VAL accuracy at that epoch (default; on the same scale as the headline);
* ``"neg_val_loss"``: minus that lowest VAL loss (smoother, but favours calibrated arms).

A model without VAL rows has NaN VAL curves and so no score: selection refuses such a fold.
Ties between arms are broken by the lower arm index, so the choice is deterministic.

The per-model table is a list of dicts ``{"model", "fold", "seed", "arm", "val_score",
<metric>...}`` (``model_table``); folds and arms keep the order they first appear in.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from serjax.evaluation import metrics

VAL_SCORES = ("val_acc", "neg_val_loss")
#: The phase whose VAL curves score a model: the classifier is what predicts TEST.
PHASE = "classifier"


def curve(curves, phase: str, name: str) -> np.ndarray:
    """``float64 [epochs, M]`` curve ``name`` of ``phase``, whether the curves are nested dicts
    (``{phase: {name: array}}``) or named fields (``curves.phase.name``)."""
    per_phase = curves[phase] if isinstance(curves, Mapping) else getattr(curves, phase)
    values = per_phase[name] if isinstance(per_phase, Mapping) else getattr(per_phase, name)
    return np.asarray(values, np.float64)


def result_scores(result, score: str = "val_acc") -> np.ndarray:
    """``val_scores`` of a grid result; ``"val_acc"`` reads the result's own ``val_acc`` (the
    VAL accuracy of what predicts TEST, e.g. both steps of a late fusion) when it has one."""
    own = getattr(result, "val_acc", None)
    if score == "val_acc" and own is not None:
        return np.asarray(own, np.float64)
    return val_scores(result.curves, score)


def val_scores(curves, score: str = "val_acc", phase: str = PHASE) -> np.ndarray:
    """``float64 [M]``: each model's VAL score (module docstring); NaN without VAL rows."""
    if score not in VAL_SCORES:
        raise ValueError(f"VAL score {score!r} is not one of {', '.join(VAL_SCORES)}")
    loss = curve(curves, phase, "val_loss")
    finite = np.isfinite(loss)
    # argmin returns the first minimum: the epoch whose parameters were kept (strict improvement)
    best = np.argmin(np.where(finite, loss, np.inf), axis=0)
    cols = np.arange(loss.shape[1])
    value = -loss[best, cols] if score == "neg_val_loss" else curve(curves, phase,
                                                                     "val_acc")[best, cols]
    return np.where(finite.any(0), value, np.nan)


def model_table(per_model: list[dict], folds, seeds, arms, val_score) -> list[dict]:
    """One row per model: its fold, seed, arm, VAL score and scalar TEST metrics (``per_model``
    is ``metrics.per_model`` of the TEST confusions)."""
    n = len(per_model)
    columns = {"fold": folds, "seed": seeds, "arm": arms, "val_score": val_score}
    for name, col in columns.items():
        if len(col) != n:
            raise ValueError(f"{name}: {len(col)} entries for {n} models; give one per model")
    return [{"model": m, "fold": _plain(folds[m]), "seed": _plain(seeds[m]),
             "arm": int(arms[m]), "val_score": float(val_score[m]),
             **{k: float(per_model[m][k]) for k in metrics.SCALAR_METRICS}}
            for m in range(n)]


def _plain(x):
    return x.item() if hasattr(x, "item") else x


def group(rows: list[dict], key: str) -> dict:
    """``{value: rows}`` in first-appearance order."""
    out: dict = {}
    for row in rows:
        out.setdefault(row[key], []).append(row)
    return out


def mean_std(values) -> dict:
    """Mean ± population std (ddof=0, as ``metrics.summarize``) and the count."""
    values = np.asarray(values, np.float64)
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": int(values.size)}


def ranked_arms(table: list[dict]) -> dict:
    """``{fold: [arm, ...]}`` best VAL score first (mean over the arm's seeds; ties: lower arm
    first). Reads only ``fold``, ``arm`` and ``val_score``."""
    out = {}
    for fold, rows in group(table, "fold").items():
        scores = {arm: float(np.mean([r["val_score"] for r in arm_rows]))
                  for arm, arm_rows in group(rows, "arm").items()}
        missing = sorted(a for a, s in scores.items() if not np.isfinite(s))
        if missing:
            raise ValueError(
                f"fold {fold}: arm(s) {missing} have no finite VAL score (their models had no "
                "VAL rows); nested selection needs VAL speakers inside every fold's training "
                "set: configure the folds with validation speakers")
        out[fold] = sorted(scores, key=lambda a: (-scores[a], a))
    return out


def choose_arms(table: list[dict]) -> dict:
    """``{fold: arm}``: the arm with the best VAL score in each fold (``ranked_arms``)."""
    return {fold: arms[0] for fold, arms in ranked_arms(table).items()}


def top_arm_models(table: list[dict], k: int) -> list[int]:
    """Model indices of each fold's ``k`` best arms by VAL score (all their seeds)."""
    if k < 1:
        raise ValueError(f"top-k arms: k={k} must be >= 1")
    keep = {(fold, arm) for fold, arms in ranked_arms(table).items() for arm in arms[:k]}
    return [r["model"] for r in table if (r["fold"], r["arm"]) in keep]


def headline(table: list[dict], chosen: dict) -> dict:
    """TEST metrics of each fold's chosen arm (mean over its seeds) and their mean ± std over
    folds: ``{"folds": [{"fold", "arm", "val_score", <metric>...}], "over_folds": {metric:
    {mean, std, n}}}``."""
    folds = []
    for fold, rows in group(table, "fold").items():
        picked = [r for r in rows if r["arm"] == chosen[fold]]
        folds.append({"fold": fold, "arm": chosen[fold],
                      "val_score": float(np.mean([r["val_score"] for r in picked])),
                      **{k: float(np.mean([r[k] for r in picked])) for k in metrics.SCALAR_METRICS}})
    return {"folds": folds, "over_folds": {k: mean_std([f[k] for f in folds])
                                           for k in ("val_score", *metrics.SCALAR_METRICS)}}


def arm_table(table: list[dict], chosen: dict | None = None) -> list[dict]:
    """Per arm: VAL score and TEST metrics, mean ± std over folds of the per-fold seed means,
    and in how many folds VAL chose it (``chosen``)."""
    out = []
    for arm, rows in sorted(group(table, "arm").items()):
        fold_means = [{k: float(np.mean([r[k] for r in fold_rows]))
                       for k in ("val_score", *metrics.SCALAR_METRICS)}
                      for fold_rows in group(rows, "fold").values()]
        out.append({"arm": arm, "chosen_in": sum(a == arm for a in (chosen or {}).values()),
                    **{k: mean_std([f[k] for f in fold_means])
                       for k in ("val_score", *metrics.SCALAR_METRICS)}})
    return out


def select(table: list[dict], score: str = "val_acc") -> dict:
    """The metrics.json ``"selection"`` block: ``{"score", "chosen": [{"fold", "arm"}],
    "headline": headline(...), "arms": arm_table(...)}``."""
    chosen = choose_arms(table)
    return {"score": score,
            "chosen": [{"fold": fold, "arm": arm} for fold, arm in chosen.items()],
            "headline": headline(table, chosen), "arms": arm_table(table, chosen)}


def chosen_models(table: list[dict], selection: dict) -> list[int]:
    """Model indices of the arms ``select`` chose (every seed of each fold's chosen arm)."""
    chosen = {c["fold"]: c["arm"] for c in selection["chosen"]}
    return [r["model"] for r in table if chosen[r["fold"]] == r["arm"]]
