"""The paper's baselines, trained on exactly the experiment's data, folds, seeds and roles.

A config with a ``baseline`` section whose ``kind`` is set runs here instead of SER-FusionNet
(``experiment.run_cv`` hands it over), so ``serjax cv`` and ``serjax reproduce`` treat every
table cell alike and the workdir has the same files (``metrics.json`` with one entry per
(fold, seed) model, ``report.md``, ``confusion.png``, ``predictions.csv``):

* ``random_forest``: scikit-learn's RandomForestClassifier on the 162-d acoustic summary of
  each model's TRAIN rows (augmented copies included, as SER-FusionNet sees them), seeded with
  the model's seed; VAL rows are not used (nothing to early-stop).
* ``cnn1d``: the end-to-end 1-D CNN = SER-FusionNet's step 1 alone, i.e. the Conv1D extractor
  and its own softmax head, predicting the TEST rows. Its parameters come from a trained
  SER-FusionNet workdir with the same data, folds, seeds and step-1 settings
  (``baseline.source_workdir``; empty = train one under ``<workdir>/fusionnet``), so the CNN
  and the fusion model are paired exactly: the difference between them is what step 2 adds.
* ``raw_waveform``: a small Conv1D on the downsampled raw waveform (``serjax.paper.raw_waveform``),
  the paper's discussion (about 13 %).
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from serjax import experiment
from serjax.evaluation import report
from serjax.evaluation import workdir as workdir_lib
from serjax.evaluation.predictions import predictions
from serjax.features import precompute
from serjax.models import networks
from serjax.paper import raw_waveform
from serjax.splits import grid_inputs as grid_inputs_lib
from serjax.splits.roles import TEST, TRAIN
from serjax.training import checkpoint, model_step

KINDS = ("random_forest", "cnn1d", "raw_waveform")
# Config sections and fields that fix SER-FusionNet's step 1 (what the cnn1d baseline reuses).
STEP1_SECTIONS = ("data", "audio", "augment", "features", "folds", "train", "labels", "seeds",
                  "seed_offset")
STEP2_ONLY_MODEL_FIELDS = ("fusion", "mlp_hidden", "mlp_dropout")


def default_baseline_config(kind: str = "") -> ml_collections.ConfigDict:
    """The ``config.baseline`` section; ``kind`` "" means "train SER-FusionNet"."""
    c = ml_collections.ConfigDict()
    c.kind = kind                 # "" | "random_forest" | "cnn1d" | "raw_waveform" | "linear_svm"
    c.n_estimators = 100          # random_forest (scikit-learn's default forest)
    c.max_features = "sqrt"
    c.n_jobs = 1                  # random_forest worker processes (-1 = all CPUs)
    c.source_workdir = ""         # cnn1d: trained SER-FusionNet workdir; "" = <workdir>/fusionnet
    c.raw_rate = 4000             # raw_waveform: Hz after downsampling
    c.raw_seconds = 3.0           # raw_waveform: centre crop / zero pad to this length
    c.raw_frame = 40              # raw_waveform: samples per frame of the strided first layer
    c.raw_channels = (32, 64)     # raw_waveform: conv blocks after the framing layer
    c.C = 0.01                    # linear_svm: inverse regularisation (the EmoBox/openSMILE recipe)
    return c


# ------------------------------------------------------------------------- random forest ---

def random_forest(data: dict, roles: np.ndarray, seeds, baseline) -> tuple[list, dict]:
    """(per-model TEST predictions, timing) of one forest per model (role-matrix row)."""
    from sklearn.ensemble import RandomForestClassifier

    x, y = np.asarray(data["acoustic"], np.float32), np.asarray(data["label"])
    start, preds = time.perf_counter(), []
    for row, seed in zip(roles, seeds):
        forest = RandomForestClassifier(
            n_estimators=int(baseline.n_estimators), max_features=baseline.max_features,
            n_jobs=int(baseline.n_jobs), random_state=int(seed))
        forest.fit(x[row == TRAIN], y[row == TRAIN])
        preds.append(forest.predict(x[row == TEST]).astype(np.int64))
    return preds, {"compile_s": 0.0, "train_s": time.perf_counter() - start}


# ---------------------------------------------------------------- 1-D CNN (step 1 alone) ---

def _step1_view(config_dict: dict) -> dict:
    view = {k: config_dict.get(k) for k in STEP1_SECTIONS}
    view["model"] = {k: v for k, v in config_dict.get("model", {}).items()
                     if k not in STEP2_ONLY_MODEL_FIELDS}
    return json.loads(json.dumps(view, sort_keys=True, default=str))


def first_difference(now, saved, prefix: str = "") -> str:
    """The first field (``a.b (saved value there, value now)``) where two config dicts differ,
    or "". Fields missing from ``saved`` are skipped: they were added to serjax after that run
    was made, and a new field's default keeps the old behaviour."""
    if isinstance(now, dict) and isinstance(saved, dict):
        for key in sorted(set(now) | set(saved)):
            if key not in saved:
                continue
            diff = first_difference(now.get(key), saved[key], f"{prefix}{key}.")
            if diff:
                return diff
        return ""
    return "" if now == saved else f"{prefix.rstrip('.')} ({saved!r} there, {now!r} now)"


def check_same_step1(config: ml_collections.ConfigDict, source: Path) -> None:
    """Raises ValueError naming the first field where ``source``'s config.json differs from
    ``config`` in anything that changes step 1 (data, folds, seeds, features, training)."""
    path = source / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: baseline.source_workdir must be a "
                                "SER-FusionNet workdir written by `serjax cv`")
    diff = first_difference(_step1_view(config.to_dict()),
                            _step1_view(json.loads(path.read_text())))
    if diff:
        raise ValueError(f"{path}: {diff} differs from this cnn1d config, so its step 1 is not "
                         "this baseline's; point baseline.source_workdir at a run of the same "
                         "config (or leave it empty to train one)")


def fusionnet_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``config`` with the baseline switched off: the SER-FusionNet run a cnn1d cell reads."""
    plain = copy.deepcopy(config)
    plain.baseline.kind = ""
    return plain


def cnn1d_predictions(config, source: Path, data: dict, roles: np.ndarray,
                      num_classes: int) -> tuple[list, dict]:
    """TEST predictions of each saved extractor's own softmax head (step 1 of SER-FusionNet)."""
    check_same_step1(config, source)
    loaded = checkpoint.load_models(source)
    if jax.tree.leaves(loaded.params)[0].shape[0] != len(roles):
        raise ValueError(f"{source}/models holds {jax.tree.leaves(loaded.params)[0].shape[0]} "
                         f"models, this grid has {len(roles)}; rerun that workdir")
    if loaded.config.get("kind", "fusionnet") != "fusionnet":
        raise ValueError(f"{source}: the cnn1d baseline reads SER-FusionNet's summary-vector "
                         f"extractor, not model.kind={loaded.config.kind!r}")
    extractor = networks.Conv1DExtractor(loaded.config, num_classes)

    @jax.jit
    def logits(params, scaler, x):
        return extractor.apply(params, model_step.standardize(x, scaler), train=False)[0]

    start, preds = time.perf_counter(), []
    acoustic = np.asarray(data["acoustic"], np.float32)
    width = max(int((r == TEST).sum()) for r in roles)  # one shape: compiled once
    for m, row in enumerate(roles):
        rows = np.flatnonzero(row == TEST)
        x = np.zeros((width, acoustic.shape[1]), np.float32)
        x[:len(rows)] = acoustic[rows]
        params = jax.tree.map(lambda a, m=m: a[m], loaded.params["extractor"])
        scaler = model_step.Scaler(*(np.asarray(a)[m] for a in loaded.scalers["acoustic"]))
        out = np.asarray(logits(params, scaler, jnp.asarray(x)))[:len(rows)]
        preds.append(out.argmax(-1))
    return preds, {"compile_s": 0.0, "train_s": time.perf_counter() - start}


def _cnn1d(config, workdir: Path, grid, progress: bool) -> tuple[list, dict, dict]:
    source = Path(config.baseline.source_workdir or workdir / "fusionnet")
    if not (source / "models" / "models.json").is_file():
        if config.baseline.source_workdir:
            raise FileNotFoundError(f"{source}/models not found: train that SER-FusionNet "
                                    "workdir first, or leave baseline.source_workdir empty")
        experiment.run_cv(fusionnet_config(config), source, progress)
    preds, timing = cnn1d_predictions(config, source, grid.data, grid.roles, len(grid.labels))
    return preds, timing, {"source_workdir": str(source)}


# -------------------------------------------------------------------------------- running ---

def run_baseline(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
    """Trains/evaluates ``config.baseline.kind`` over the experiment's role matrix; writes the
    workdir (see the module docstring) and returns the metrics.json summary."""
    kind = config.baseline.kind
    if kind not in KINDS:
        raise ValueError(f"baseline.kind={kind!r}; choose one of {KINDS} (or '' for "
                         "SER-FusionNet)")
    workdir = Path(workdir)
    workdir_lib.start_workdir(config, workdir)
    start = time.perf_counter()
    feature_set = precompute.prepare_features(config, progress)
    features_s = time.perf_counter() - start
    grid = grid_inputs_lib.grid_inputs(config, feature_set)
    seeds = [s.seed for s in grid.splits]
    extra, curves, roles = {}, None, grid.roles
    if kind == "random_forest":
        preds, timing = random_forest(grid.data, grid.roles, seeds, config.baseline)
    elif kind == "cnn1d":
        preds, timing, extra = _cnn1d(config, workdir, grid, progress)
    else:
        preds, timing, curves, roles = raw_waveform.train_and_predict(config, feature_set, grid,
                                                                      progress, workdir)
    result = predictions(roles, seeds, grid.data["label"], preds, len(grid.labels),
                         timing, curves)
    summary = report.write_grid_report(workdir, result, grid, config, features_s=features_s,
                                       baseline={"kind": kind, **extra})
    if progress:
        report.print_table(summary)
    return summary
