"""The paper's tables next to serjax's measurements: figures quoted, statistics, markdown, plots.

``TABLES`` lays out each table as rows; a row names the workdir cell it measures
(``configs/paper/<cell>.py``), the paper's figure and the authors' slides' figure (quoted as
they published them) and, for ablations and baselines, the cell it is paired with.

Statistics of a cell (``cell_stats``), from its ``metrics.json`` (one entry per (fold, seed)
model; accuracy in %):

* mean: over every model (= the mean of the fold means, folds having equal seed counts);
* std over folds: population std of the per-fold means (seeds averaged within a fold), as
  ``metrics.json`` and the paper's "0.45 ± 0.05" report it;
* std over seeds: population std of the per-seed means (folds averaged within a seed);
* 95 % CI: Student-t interval of the mean, over the fold means when there are >= 2 folds
  (the test actors are the unit of replication), else over the seeds' values (a holdout,
  leaky or cross-corpus protocol: only the training randomness is replicated); "—" for one
  value.

Paired columns (``serjax.evaluation.compare``): the difference row − reference over the same (fold,
seed) models, its paired t-test and sign-flip p-values.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from serjax.evaluation import compare
from serjax.splits.roles import LEAKY_PROTOCOL

HOLDOUT = "speaker-independent holdout (test actors 1–4)"
ACTOR_CV = "speaker-independent actor CV"
CROSS = "cross-corpus (train CREMA-D + RAVDESS, test SAVEE + TESS)"


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a table: what it shows, the cell that measures it, the published figures."""
    dataset: str
    model: str
    protocol: str
    cell: str
    paper: str = "—"
    slides: str = "—"
    paired_with: str | None = None  # the reference cell of the paired difference


FUSION = "SER-FusionNet (fusion)"
TABLES: dict[str, tuple[str, list[Row]]] = {
    "1": ("Table 1: holdout, test actors 1–4", [
        Row("RAVDESS", FUSION, HOLDOUT, "table1_ravdess", "88.07 %", "50.1 %"),
        Row("SER Superset", FUSION, HOLDOUT, "table1_superset", "68.04 %", "49.22 %")]),
    "2": ("Table 2: actor-fold cross-validation", [
        Row("RAVDESS", FUSION, f"{ACTOR_CV} (4-actor folds)", "table2_ravdess", "45 ± 5 %",
            "46 ± 1 %"),
        Row("SER Superset", FUSION, f"{ACTOR_CV} (11-actor folds)", "table2_superset",
            "43 ± 2 %", "38 ± 2 %")]),
    "3": ("Table 3: fusion vs deep features only (paired: deep only − fusion)", [
        Row("RAVDESS", FUSION, HOLDOUT, "table1_ravdess", "88.07 %"),
        Row("RAVDESS", "deep features only", HOLDOUT, "table3_ravdess_deep_only", "86.65 %",
            paired_with="table1_ravdess"),
        Row("SER Superset", FUSION, HOLDOUT, "table1_superset", "68.04 %"),
        Row("SER Superset", "deep features only", HOLDOUT, "table3_superset_deep_only",
            "67.19 %", paired_with="table1_superset"),
        Row("RAVDESS", FUSION, ACTOR_CV, "table2_ravdess"),
        Row("RAVDESS", "deep features only", ACTOR_CV, "table3_ravdess_cv_deep_only",
            paired_with="table2_ravdess"),
        Row("SER Superset", FUSION, ACTOR_CV, "table2_superset"),
        Row("SER Superset", "deep features only", ACTOR_CV, "table3_superset_cv_deep_only",
            paired_with="table2_superset")]),
    "4": ("Table 4: baselines on the same folds, seeds and roles (paired: model − "
          "SER-FusionNet)", [
        Row("SER Superset", "Random Forest (162-d acoustic)", ACTOR_CV, "table4_rf_superset",
            "43.6 %", paired_with="table2_superset"),
        Row("SER Superset", "1-D CNN (step 1 alone)", ACTOR_CV, "table4_cnn1d_superset",
            "48.96 %", paired_with="table2_superset"),
        Row("SER Superset", "raw-waveform Conv1D", ACTOR_CV, "table4_raw_superset", "≈ 13 %",
            paired_with="table2_superset"),
        Row("SER Superset", "frame-level SER-FusionNet", ACTOR_CV, "table4_frames_superset",
            paired_with="table2_superset"),
        Row("SER Superset", FUSION, ACTOR_CV, "table2_superset", "68.04 % (random split)"),
        Row("RAVDESS", "Random Forest (162-d acoustic)", ACTOR_CV, "table4_rf_ravdess",
            paired_with="table2_ravdess"),
        Row("RAVDESS", "1-D CNN (step 1 alone)", ACTOR_CV, "table4_cnn1d_ravdess",
            paired_with="table2_ravdess"),
        Row("RAVDESS", "raw-waveform Conv1D", ACTOR_CV, "table4_raw_ravdess", "≈ 13 %",
            paired_with="table2_ravdess"),
        Row("RAVDESS", "frame-level SER-FusionNet", ACTOR_CV, "table4_frames_ravdess",
            paired_with="table2_ravdess"),
        Row("RAVDESS", FUSION, ACTOR_CV, "table2_ravdess")]),
    "xcorpus": ("Cross-corpus", [
        Row("CREMA-D + RAVDESS → SAVEE + TESS", FUSION, CROSS, "xcorpus", slides="26.05 %")]),
    "leaky": (f"The authors' procedure: {LEAKY_PROTOCOL} vs speaker-independent", [
        Row("RAVDESS", FUSION, LEAKY_PROTOCOL, "leaky_ravdess", "88.07 %"),
        Row("RAVDESS", FUSION, HOLDOUT, "table1_ravdess", "88.07 %", "50.1 %"),
        Row("SER Superset", FUSION, LEAKY_PROTOCOL, "leaky_superset", "68.04 %"),
        Row("SER Superset", FUSION, HOLDOUT, "table1_superset", "68.04 %", "49.22 %")]),
}
TABLE_NAMES = tuple(TABLES)
# Cells of a model that may not run in every version of the engine (the frame-level
# extractor): an ExperimentError there is reported as "not run", not as a failure.
PENDING = {"table4_frames_superset", "table4_frames_ravdess"}


# ---------------------------------------------------------------------------- statistics ---

def _t_interval(values) -> tuple[float, float] | None:
    from scipy import stats

    v = np.asarray(values, np.float64)
    if len(v) < 2:
        return None
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)


def cell_stats(summary: dict, metric: str = "accuracy") -> dict:
    """Mean, std over folds and seeds, 95 % CI and counts of one metric (module docstring)."""
    rows = summary["models"]
    values = np.array([r[metric] for r in rows], np.float64)
    folds = np.array([str(r["fold"]) for r in rows])
    seeds = np.array([r["seed"] for r in rows])
    fold_ids, seed_ids = sorted(set(folds)), sorted(set(seeds))
    fold_means = np.array([values[folds == f].mean() for f in fold_ids])
    seed_means = np.array([values[seeds == s].mean() for s in seed_ids])
    ci_over = "folds" if len(fold_ids) >= 2 else "seeds"
    ci = _t_interval(fold_means if ci_over == "folds" else values)
    return {"mean": float(values.mean()), "std_folds": float(fold_means.std()),
            "std_seeds": float(seed_means.std()), "ci95": ci, "ci_over": ci_over,
            "n_folds": len(fold_ids), "n_seeds": len(seed_ids), "n_models": len(values)}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def stats_columns(summary: dict) -> list[str]:
    """[accuracy ± std over folds, std over seeds, 95 % CI, UAR, macro-F1, models]."""
    acc = cell_stats(summary, "accuracy")
    ci = acc["ci95"]
    ci_text = ("—" if ci is None else  # clipped to the 0–100 % an accuracy can take
               f"{_pct(max(ci[0], 0.0))}–{_pct(min(ci[1], 1.0))} ({acc['ci_over']})")
    folds = (f"{_pct(acc['mean'])} ± {_pct(acc['std_folds'])}" if acc["n_folds"] > 1
             else _pct(acc["mean"]))
    return [f"**{folds}**", _pct(acc["std_seeds"]) if acc["n_seeds"] > 1 else "—", ci_text,
            _pct(cell_stats(summary, "uar")["mean"]),
            _pct(cell_stats(summary, "macro_f1")["mean"]),
            f"{acc['n_folds']} × {acc['n_seeds']}"]


# ------------------------------------------------------------------------------ markdown ---

HEADER = ["dataset", "model", "protocol", "paper", "slides", "serjax acc. % (± std folds)",
          "± std seeds", "95 % CI", "UAR %", "macro-F1 %", "folds × seeds",
          "paired Δ (pp)", "p (t / sign-flip)"]


def _paired_columns(workdir: Path, row: Row, done: set) -> list[str]:
    if row.paired_with is None:
        return ["—", "—"]
    if row.paired_with not in done:
        return [f"needs {row.paired_with}", "—"]
    try:
        c = compare.compare(workdir / row.paired_with, workdir / row.cell).as_dict()
    except compare.CompareError as err:
        return [f"not paired: {err}", "—"]
    p_values = (f"{c['p_t']:.2g} / {c['p_perm']:.2g}" if c["n"] >= 2
                else "— (one pair)")
    return [f"{100 * c['mean_diff']:+.1f} vs {row.paired_with}", p_values]


def table_markdown(name: str, workdir: Path, status: dict[str, str]) -> str:
    """One table as markdown; ``status[cell]`` is "done" or why the cell has no numbers."""
    title, rows = TABLES[name]
    done = {c for c, s in status.items() if s == "done"}
    lines = [f"### {title}", "", "| " + " | ".join(HEADER) + " |",
             "|" + "---|" * len(HEADER)]
    for row in rows:
        lead = [row.dataset, row.model, row.protocol, row.paper, row.slides]
        if row.cell in done:
            summary = json.loads((workdir / row.cell / "metrics.json").read_text())
            rest = stats_columns(summary) + _paired_columns(workdir, row, done)
        else:
            rest = [status.get(row.cell, "not run")] + ["—"] * (len(HEADER) - 6)
        lines.append("| " + " | ".join(lead + rest) + " |")
    return "\n".join(lines)


NOTES = f"""Notes. "paper" quotes the SER-FusionNet paper; "slides" the authors' slides (held-out
actors). The paper's 88.07 % and 68.04 % come from a random split made after augmentation,
which puts augmented copies of test utterances, and the test speakers, into training; serjax
reproduces that procedure only in the rows labelled "{LEAKY_PROTOCOL}". Every other
serjax row is speaker-independent. Accuracy mean over all (fold, seed) models; ± std over folds =
population std of fold means (seeds averaged), ± std over seeds = population std of seed means
(folds averaged); 95 % CI = Student-t interval over fold means (≥ 2 folds) or over seeds
(one fold), clipped to 0–100 %. Paired Δ = row − reference over the same (fold, seed) models, in percentage points;
p = paired t-test / sign-flip permutation test (exact up to 16 pairs), models of one fold
treated as pairs (`serjax compare --over folds` pairs fold means instead)."""


HOW_TO_RUN = """### How to run it on the full corpora

Unpack the four Kaggle downloads side by side (`ravdess/` from
uwrfkaggler/ravdess-emotional-speech-audio, `crema_d/` from ejlok1/cremad, `savee/` from
ejlok1/surrey-audiovisual-expressed-emotion-savee, `tess/` from
ejlok1/toronto-emotional-speech-set-tess), then:

```bash
serjax reproduce --data-root DATA_ROOT --workdir runs/paper --docs docs/results.md  # 3 seeds
serjax reproduce --data-root DATA_ROOT --workdir runs/paper --tables 1,2 --seeds 5   # a subset
serjax reproduce --workdir runs/paper --from-workdirs --docs docs/results.md  # tables only
serjax compare runs/paper/table1_ravdess runs/paper/table3_ravdess_deep_only  # one ablation
serjax reproduce --quick --workdir /tmp/paper_quick  # the whole pipeline in minutes, synthetic
```

Every command resumes: finished cells are reused, interrupted ones continue from their last
checkpoint. One cell by hand: `serjax cv --config configs/paper/<cell>.py --workdir
runs/paper/<cell> --config.data.root=DATA_ROOT`."""


def tables_markdown(tables, workdir: Path, status: dict[str, str], preamble: str = "",
                    figures: dict[str, str] | None = None) -> str:
    """The whole results page: preamble, each table, notes, how to run, figure links."""
    parts = [preamble] if preamble else []
    parts += [table_markdown(t, workdir, status) for t in tables]
    parts += [NOTES, HOW_TO_RUN]
    if figures:
        parts.append("### Figures\n\n" + "\n".join(
            f"- `{cell}`: {links}" for cell, links in figures.items()))
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------------- plots ---

def plot_fold_accuracy(summary: dict, path, title: str) -> None:
    """Per-fold accuracy bars (mean over seeds) with each seed's model as a dot; the dashed
    line is chance (1 / classes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["models"]
    folds = sorted({str(r["fold"]) for r in rows}, key=lambda f: (len(f), f))
    fig, ax = plt.subplots(figsize=(1.6 + 0.7 * len(folds), 3.4))
    for i, fold in enumerate(folds):
        values = [100 * r["accuracy"] for r in rows if str(r["fold"]) == fold]
        ax.bar(i, np.mean(values), color="#9ecae1", edgecolor="#3182bd")
        jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
        ax.scatter(i + np.asarray(jitter), values, color="#08519c", s=14, zorder=3)
    ax.axhline(100 / len(summary["labels"]), ls="--", color="grey", lw=1, label="chance")
    ax.set_xticks(range(len(folds)), [f"fold {f}" for f in folds], rotation=0, fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
