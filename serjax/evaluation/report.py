"""Reports of a trained grid: metrics.json, report.md, plots, predictions.csv, a terminal table.

``write_report(workdir, result, folds=..., labels=..., true=..., files=..., actors=...)``
writes into ``workdir``:

metrics.json::

  {
    "labels": [str, ...],                         # class names, index = class id
    "overall": {metric: {"overall":    {"mean", "std", "n"},   # over every model
                         "over_folds": {"mean", "std", "n"},   # fold means across seeds
                         "over_seeds": {"mean", "std", "n"}}}, # seed means across folds
               # metric in accuracy, uar, macro_f1, weighted_f1; std is population (ddof=0)
    "pooled": {accuracy, uar, macro_f1, weighted_f1, precision[C], recall[C], f1[C],
               support[C], confusion[C][C]},      # all TEST predictions of all models
    "models": [{"model", "fold", "seed", "accuracy", "uar", "macro_f1", "weighted_f1",
                "precision"[C], "recall"[C], "n_train", "n_val", "n_test",
                "confusion"[C][C]}, ...],
    "confusion": [[...]],                         # pooled counts, true × predicted
    "timing": {"features_s", "compile_s", "train_s"},
    "metric_names": {"accuracy": "WA", "uar": "UA", "macro_f1": "macro-F1",
                     "weighted_f1": "weighted-F1"},   # the field's names (report.md uses them)
    "protocol": str,                              # e.g. "speaker-independent" (when known)
    "protocol_notes": [str],                      # "speaker-normalised (transductive): ..."
    "ensemble": {...}, "selection": {...}         # see serjax.evaluation.ensembles
  }

report.md: one row per fold (mean over seeds) and a mean ± std row; confusion.png: the pooled
confusion matrix, row-normalised; learning_curves.png: train/val loss and accuracy per epoch
of both steps, one line per fold (mean over seeds); predictions.csv: file, actor, true,
predicted, fold, seed for every TEST row of every model.

Metric names: the keys stay ``accuracy``, ``uar``, ``macro_f1``, ``weighted_f1`` (and the
terminal table keeps them); report.md names them as the SER literature does: WA (weighted
accuracy = accuracy), UA (unweighted average recall = UAR), macro-F1, weighted-F1.

EmoBox corpora also get ``emobox/fold_<k>/seed_<s>/predictions.jsonl`` (``{"key", "pred"}``)
and ``labels.jsonl`` (``{"key", "label"}``), one line per TEST row in the same order, label
names as strings: the two lists EmoBox's ``EmoEval(predictions, data_labels)`` scores
(``write_emobox_predictions``; k counts from 1 as EmoBox's fold folders do).
"""

from __future__ import annotations

import csv
import json
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from serjax import atomic
from serjax.evaluation import ensembles, metrics, selection

TABLE_METRICS = ("accuracy", "uar", "macro_f1", "weighted_f1")
#: What the SER literature (EmoBox among it) calls them.
FIELD_NAMES = {"accuracy": "WA", "uar": "UA", "macro_f1": "macro-F1",
               "weighted_f1": "weighted-F1"}


def results_dict(result, folds, labels, features_s: float = 0.0) -> dict:
    """The metrics.json content of a ``GridResult`` (see the module docstring)."""
    folds = np.asarray(folds)
    per = metrics.per_model(result.confusion)
    rows = []
    for m, mm in enumerate(per):
        rows.append({
            "model": m, "fold": _plain(folds[m]), "seed": int(result.seeds[m]),
            **{k: mm[k] for k in TABLE_METRICS},
            "precision": mm["precision"], "recall": mm["recall"],
            "n_train": int(result.n_train[m]), "n_val": int(result.n_val[m]),
            "n_test": int(result.n_test[m]), "confusion": mm["confusion"]})
        if getattr(result, "arms", None) is not None:
            rows[-1]["arm"] = int(result.arms[m])
    pooled = metrics.pooled(result.confusion)
    return {
        **val_fields(result, folds, rows),
        "labels": list(labels),
        "overall": metrics.summarize_all(per, folds, result.seeds),
        "pooled": pooled,
        "models": rows,
        "confusion": pooled["confusion"],
        "timing": {"features_s": float(features_s),
                   "compile_s": float(result.timing["compile_s"]),
                   "train_s": float(result.timing["train_s"])},
        "metric_names": dict(FIELD_NAMES),
    }


def _plain(x):
    return x.item() if hasattr(x, "item") else x


def val_fields(result, folds, rows: list) -> dict:
    """Each model's VAL accuracy at its kept epoch into ``rows`` (``"val_acc"``), and
    ``{"val": {"accuracy": {mean, std, n}}}`` over folds: what recipes and arms are compared by
    (never TEST). Empty for results without epoch curves or without VAL rows."""
    if getattr(result, "val_acc", None) is None and (
            not getattr(result, "curves", None) or selection.PHASE not in result.curves):
        return {}
    scores = selection.result_scores(result, "val_acc")
    if not np.isfinite(scores).any():
        return {}
    by_fold: dict = {}
    for m, row in enumerate(rows):
        row["val_acc"] = float(scores[m])
        by_fold.setdefault(_plain(np.asarray(folds)[m]), []).append(float(scores[m]))
    return {"val": {"accuracy": selection.mean_std([np.nanmean(v) for v in by_fold.values()])}}


#: Printed under the table of a sweep: its rows average every arm, the headline is below.
SWEEP_NOTE = ("the table averages every arm; the headline of a sweep is the nested selection "
              "(each fold's arm chosen on its VAL speakers)")


def sweep_fields(result) -> dict:
    """``{"sweep": {"arms": [{name: value}, ...], "note"}}`` for a sweep's result, else {}."""
    values = getattr(result, "arm_values", None)
    if not values:
        return {}
    return {"sweep": {"arms": [dict(v) for v in values], "note": SWEEP_NOTE}}


def fold_table(summary: dict) -> list[list[str]]:
    """Rows ``[fold, n_test, accuracy, uar, macro_f1, weighted_f1]``: one per fold (mean over
    seeds) and a final ``mean ± std`` row (std across fold means)."""
    by_fold: dict = {}
    for row in summary["models"]:
        by_fold.setdefault(row["fold"], []).append(row)
    table = []
    for fold, rows in by_fold.items():
        table.append([str(fold), str(rows[0]["n_test"])] +
                     [f"{np.mean([r[k] for r in rows]):.3f}" for k in TABLE_METRICS])
    over = summary["overall"]
    table.append(["mean ± std", ""] + [
        f"{over[k]['over_folds']['mean']:.3f} ± {over[k]['over_folds']['std']:.3f}"
        for k in TABLE_METRICS])
    return table


def format_table(summary: dict) -> str:
    """Plain-text table of ``fold_table`` for the terminal."""
    header = ["fold", "n_test", *TABLE_METRICS]
    rows = [header, *fold_table(summary)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_table(summary: dict) -> None:
    """The table, then (below it, the table's lines unchanged) ``ensembles.summary_lines``:
    seed ensemble, nested selection, protocol notes."""
    print("\n".join([format_table(summary), *ensembles.summary_lines(summary)]))


#: The label of a speaker-normalised run's headline: it is transductive, not comparable with
#: speaker-independent figures.
SPEAKER_NORM_NOTE = ("speaker-normalised (transductive): each speaker's features, the TEST "
                     "speakers' included, are standardised by that speaker's own statistics; "
                     "compare only with speaker-normalised results")


def protocol_notes(speaker_norm: bool, extra: dict | None = None) -> dict:
    """``{"protocol_notes": [...]}``: the speaker-normalisation label when ``speaker_norm``
    (``train.speaker_norm``) or a baseline's ``{"speaker_norm": true}`` is on."""
    baseline = (extra or {}).get("baseline") or {}
    on = bool(speaker_norm) or bool(baseline.get("speaker_norm", False))
    return {"protocol_notes": [SPEAKER_NORM_NOTE] if on else []}


def markdown(summary: dict) -> str:
    header = ["fold", "n_test", "WA (accuracy)", "UA (UAR)", "macro-F1", "weighted-F1"]
    lines = ["# serjax results", ""]
    if summary.get("protocol"):
        lines += [f"Protocol: {summary['protocol']}.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in fold_table(summary)]
    below = ensembles.summary_lines(summary)  # seed ensemble, selection, protocol notes
    lines += ["", *below] if below else []
    t = summary["timing"]
    lines += ["", f"{len(summary['models'])} models; features {t['features_s']:.1f} s, "
              f"compile {t['compile_s']:.1f} s, training {t['train_s']:.1f} s.",
              "Fold rows average the seeds; the last row is mean ± std across folds.", ""]
    return "\n".join(lines)


def plot_confusion(confusion, labels, path) -> None:
    cm = np.asarray(confusion, np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1 + 0.7 * len(labels), 1 + 0.6 * len(labels)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _epoch_means(curve: np.ndarray) -> np.ndarray:
    """Mean over models per epoch, NaN for epochs no model ran (all had stopped early)."""
    counted = np.isfinite(curve)
    total = np.where(counted, curve, 0.0).sum(1)
    return np.where(counted.any(1), total / np.maximum(counted.sum(1), 1), np.nan)


def plot_learning_curves(curves: dict, folds, path) -> None:
    """``curves[phase][name]`` float [epochs, M]; one line per fold, mean over its seeds."""
    folds = np.asarray(folds)
    phases = list(curves)
    fig, axes = plt.subplots(2, len(phases), figsize=(5 * len(phases), 7), squeeze=False)
    for col, phase in enumerate(phases):
        for row, what in enumerate(("loss", "acc")):
            ax = axes[row, col]
            for fold in np.unique(folds):
                sel = folds == fold
                for split, style in (("train", "-"), ("val", "--")):
                    y = _epoch_means(curves[phase][f"{split}_{what}"][:, sel])
                    ax.plot(np.arange(1, len(y) + 1), y, style, label=f"{split} fold {fold}")
            ax.set_title(f"{phase}: {what}")
            ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_predictions(path, result, folds, labels, true, files, actors) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "actor", "true", "predicted", "fold", "seed"])
        for m in range(result.num_models):
            for row, pred in zip(result.test_rows[m], result.test_pred[m]):
                w.writerow([files[row], actors[row], labels[int(true[row])], labels[int(pred)],
                            _plain(np.asarray(folds)[m]), int(result.seeds[m])])


def write_emobox_predictions(workdir, result, *, folds, labels, true, keys) -> list:
    """Each (fold, seed) model's TEST predictions in EmoBox's format (module docstring) under
    ``workdir/emobox/``; returns the folders written."""
    folds, written = np.asarray(folds), []
    for m in range(result.num_models):
        out = (pathlib.Path(workdir) / "emobox" / f"fold_{int(folds[m]) + 1}"
               / f"seed_{int(result.seeds[m])}")
        out.mkdir(parents=True, exist_ok=True)
        rows = list(zip(result.test_rows[m], result.test_pred[m]))
        preds = [json.dumps({"key": str(keys[r]), "pred": labels[int(p)]}) for r, p in rows]
        truth = [json.dumps({"key": str(keys[r]), "label": labels[int(true[r])]}) for r, _ in rows]
        (out / "predictions.jsonl").write_text("".join(line + "\n" for line in preds))
        (out / "labels.jsonl").write_text("".join(line + "\n" for line in truth))
        written.append(out)
    return written


def write_report(workdir, result, *, folds, labels, true, files, actors,
                 features_s: float = 0.0, extra: dict | None = None,
                 title: str = "serjax results", protocol: str | None = None,
                 arms=None, speaker_norm: bool = False, score: str = "val_acc",
                 top_k: int = ensembles.TOP_K) -> dict:
    """Writes every report file (module docstring) into ``workdir``; returns the summary.

    ``true``, ``files``, ``actors``: per-row arrays over the rows ``roles`` indexed;
    ``extra``: more top-level metrics.json fields (e.g. a baseline's ``{"baseline": ...}``);
    ``title``: report.md's heading; ``protocol``: what the splits are (``GridInputs.protocol``),
    written to metrics.json and report.md. The learning-curves plot is skipped when the result
    has no curves (models that are not trained by epochs). ``arms``: the hyperparameter arm of
    each model (default ``result.arms``, else one arm) for ``"ensemble"`` / ``"selection"``;
    ``speaker_norm``: ``train.speaker_norm``, labels the headline transductive; ``score`` /
    ``top_k``: how arms are chosen and how many the top-k ensemble averages (``config.sweep``).
    """
    out = pathlib.Path(workdir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {**results_dict(result, folds, labels, features_s),
               **sweep_fields(result),
               **ensembles.report_fields(result, folds, true, arms, score, top_k),
               **protocol_notes(speaker_norm, extra), **(extra or {})}
    if protocol:
        summary["protocol"] = protocol
    atomic.write_json(out / "metrics.json", summary, indent=1)
    (out / "report.md").write_text(markdown(summary).replace("# serjax results", f"# {title}", 1))
    plot_confusion(summary["confusion"], labels, out / "confusion.png")
    if result.curves:
        plot_learning_curves(result.curves, folds, out / "learning_curves.png")
    write_predictions(out / "predictions.csv", result, folds, labels, true, files, actors)
    return summary


def _selection_args(config) -> dict:
    sweep = config.get("sweep")
    if sweep is None:
        return {}
    return {"score": str(sweep.get("score", "val_acc")),
            "top_k": int(sweep.get("top_k", ensembles.TOP_K))}


def write_grid_report(workdir, result, grid, config, *, features_s: float = 0.0,
                      baseline: dict | None = None) -> dict:
    """``write_report`` for a trained grid (``splits.grid_inputs.GridInputs``) under ``config``,
    for SER-FusionNet and every baseline alike: the protocol, the transductive label when
    ``train.speaker_norm`` is on, ``metrics.json["baseline"]`` for a baseline, and EmoBox's
    prediction files for an EmoBox corpus."""
    folds = [s.fold for s in grid.splits]
    summary = write_report(
        workdir, result, folds=folds, labels=list(grid.labels), true=grid.data["label"],
        files=grid.files, actors=grid.actors, features_s=features_s,
        extra={"baseline": baseline} if baseline else None,
        title=f"serjax results: baseline {baseline['kind']}" if baseline else "serjax results",
        protocol=grid.protocol, speaker_norm=bool(config.train.get("speaker_norm", False)),
        **_selection_args(config))
    if config.data.corpus == "emobox":  # each fold's predictions in EmoBox's format
        write_emobox_predictions(workdir, result, folds=folds, labels=list(grid.labels),
                                 true=grid.data["label"], keys=grid.keys)
    return summary
