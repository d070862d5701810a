"""Classification metrics as confusion counts on device, finished on the host.

``confusion_counts`` runs inside the compiled program (masked, so padded rows count for
nothing; counts add exactly across batches, folds and devices). Everything else works on
the host from a ``[C_true, C_pred]`` count matrix and follows scikit-learn's conventions:

* accuracy = trace / total;
* UAR (unweighted average recall, sklearn's ``balanced_accuracy_score``) = mean recall over
  the classes that occur in the truth;
* macro-F1 = mean F1 over classes that occur in the truth or the predictions (sklearn's
  ``f1_score(average="macro")`` without ``labels=``); weighted-F1 weights F1 by support;
* precision / recall of a class with nothing predicted / no support is 0 (``zero_division=0``).

Aggregation: ``summarize(values, folds, seeds)`` gives mean ± std (population std, ddof=0)
over all models, over folds (per-fold means across seeds, then spread across folds) and over
seeds (per-seed means across folds, then spread across seeds).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

SCALAR_METRICS = ("accuracy", "uar", "macro_f1", "weighted_f1")


def confusion_counts(logits: jax.Array, labels: jax.Array, rows: jax.Array,
                     num_classes: int) -> jax.Array:
    """Masked confusion counts ``int32 [C_true, C_pred]``.

    ``logits [R, C]`` are the predictions for ``rows [R]`` (-1 = padding, not counted);
    ``labels [N]`` are the true classes of every row.
    """
    mask = (rows >= 0).astype(jnp.int32)
    truth = jax.nn.one_hot(labels[jnp.maximum(rows, 0)], num_classes, dtype=jnp.int32)
    pred = jax.nn.one_hot(jnp.argmax(logits, -1), num_classes, dtype=jnp.int32)
    return jnp.einsum("r,rt,rp->tp", mask, truth, pred)


def confusion_from_labels(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Host version for tests and reports: ``int64 [C, C]`` counts."""
    out = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(out, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return out


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def from_confusion(confusion) -> dict:
    """All metrics of one ``[C, C]`` confusion matrix (true × predicted)."""
    cm = np.asarray(confusion, np.float64)
    total = cm.sum()
    tp = np.diag(cm)
    support = cm.sum(1)
    predicted = cm.sum(0)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    seen = (support > 0) | (predicted > 0)
    return {
        "accuracy": float(tp.sum() / total) if total else float("nan"),
        "uar": float(recall[support > 0].mean()) if (support > 0).any() else float("nan"),
        "macro_f1": float(f1[seen].mean()) if seen.any() else float("nan"),
        "weighted_f1": float((f1 * support).sum() / total) if total else float("nan"),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.astype(int).tolist(),
        "confusion": cm.astype(int).tolist(),
    }


def per_model(confusions) -> list[dict]:
    """``from_confusion`` of every model of ``[M, C, C]`` counts."""
    return [from_confusion(c) for c in np.asarray(confusions)]


def _mean_std(values: np.ndarray) -> dict:
    values = np.asarray(values, np.float64)
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": int(values.size)}


def summarize(values, folds, seeds) -> dict:
    """Mean ± std of one per-model metric overall, over folds and over seeds.

    ``values``, ``folds``, ``seeds``: one entry per model (folds/seeds are any hashable ids).
    """
    values, folds, seeds = np.asarray(values, np.float64), np.asarray(folds), np.asarray(seeds)
    fold_ids, seed_ids = np.unique(folds), np.unique(seeds)
    fold_means = [values[folds == f].mean() for f in fold_ids]
    seed_means = [values[seeds == s].mean() for s in seed_ids]
    return {"overall": _mean_std(values), "over_folds": _mean_std(fold_means),
            "over_seeds": _mean_std(seed_means)}


def summarize_all(per_model_metrics: list[dict], folds, seeds) -> dict:
    """``summarize`` of every scalar metric: ``{metric: {overall, over_folds, over_seeds}}``."""
    return {name: summarize([m[name] for m in per_model_metrics], folds, seeds)
            for name in SCALAR_METRICS}


def pooled(confusions) -> dict:
    """Metrics of the summed confusion matrix (every TEST row of every model counted once)."""
    return from_confusion(np.asarray(confusions).sum(0))
