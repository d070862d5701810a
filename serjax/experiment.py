"""One experiment end to end: config → prepared data → FeatureSet → role matrix → training →
workdir outputs. This is what ``serjax cv`` and ``serjax demo`` call.

Each stage lives in its own folder and is an importable function (a notebook can stop after any
of them): ``corpora.sources`` (synthetic or real corpora, built once), ``features.precompute``
(the cached FeatureSet), ``splits.grid_inputs`` (labels, splits, role matrix),
``training.train`` (the grid), ``evaluation.report`` (the workdir). Every stage is cached or
resumable, so a rerun with the same config and workdir does only what is missing.

A config with ``baseline.kind`` set is handed to the trainer registered under that name
(``TRAINERS``): a module imported by name, as big_vision picks ``models.{name}``, so this file
does not depend on the baselines and they may build on it.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from pathlib import Path

import ml_collections
import numpy as np

from serjax.config import ConfigError
from serjax.corpora import sources
from serjax.evaluation import report
from serjax.evaluation import workdir as workdir_lib
from serjax.features import precompute
from serjax.models import networks
from serjax.splits import classes
from serjax.splits import grid_inputs as grid_inputs_lib
from serjax.splits.roles import TRAIN, UNUSED
from serjax.training import distributed, hparams, programs, train
from serjax.training import runtime as runtime_lib

#: ``baseline.kind`` → the module whose ``run_baseline(config, workdir, progress)`` trains it.
TRAINERS = {
    "random_forest": "serjax.paper.baselines",
    "cnn1d": "serjax.paper.baselines",
    "raw_waveform": "serjax.paper.baselines",
    "linear_svm": "serjax.training.linear_svm",
}


def trainer(kind: str):
    """The ``run_baseline`` function registered for ``baseline.kind=kind``."""
    if kind not in TRAINERS:
        raise ConfigError(f"baseline.kind={kind!r} is not a trainer; choose one of "
                          f"{', '.join(sorted(TRAINERS))}, or '' for SER-FusionNet")
    return importlib.import_module(TRAINERS[kind]).run_baseline


def validate(config: ml_collections.ConfigDict) -> None:
    """Fails early, naming the field, for values that would otherwise fail deep inside."""
    corpus = config.data.corpus
    if corpus not in sources.CORPUS_CHOICES:
        raise ConfigError(f"data.corpus={corpus!r} is not a corpus; choose one of "
                          f"{', '.join(sources.CORPUS_CHOICES)}")
    if config.folds.scheme == "given" and corpus != sources.EMOBOX:
        raise ConfigError("folds.scheme='given' runs a corpus's own folds: use it with "
                          "data.corpus='emobox' (data.emobox_dir, data.audio_root)")
    if config.seeds < 1:
        raise ConfigError(f"seeds={config.seeds}: need at least one seed per split")
    try:
        train.check_train_config(config.train)
        runtime_lib.check_runtime_config(runtime_lib.runtime_or_default(config.get("runtime")))
        hparams.arms(config)
        hparams.programs(config)
    except ValueError as err:  # one error type for every bad config field
        raise ConfigError(str(err)) from err
    try:   # names, order, merges: checked against the corpus's own label names
        names = sources.label_names(config)
        if names is not None:
            classes.resolve(classes.spec_of(config), names)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    if config.data.synthetic_scale < 0 or config.data.synthetic_scale > 1:
        raise ConfigError(f"data.synthetic_scale={config.data.synthetic_scale}: must lie "
                          "in (0, 1], or 0 to use data.root")


def check_features_suit_model(config: ml_collections.ConfigDict) -> None:
    """``networks.check_features_suit_model`` on a whole config, as a ConfigError."""
    try:
        networks.check_features_suit_model(config.model, config.features)
    except ValueError as err:  # one error type for every bad config field
        raise ConfigError(str(err)) from err


def run_cv(config: ml_collections.ConfigDict, workdir: str | Path,
           progress: bool = True) -> dict:
    """The whole experiment; writes the workdir (see ``serjax.evaluation.report``) and returns
    metrics.

    Rerunning with the same config and workdir resumes: features come from the cache and
    training continues from its last per-epoch checkpoint.
    """
    distributed.initialize()  # joins a process group when the environment describes one
    main = distributed.is_main()  # only process 0 prints and writes reports
    progress = progress and main
    validate(config)
    if config.get("baseline") is not None and config.baseline.get("kind"):
        # A baseline (RF, 1-D CNN, raw waveform, …): same data, roles and workdir files.
        return trainer(config.baseline.kind)(config, workdir, progress)
    structures = hparams.programs(config)  # structural choices: one compiled program each
    for _, program in structures:
        check_features_suit_model(program)
    programs.enable_compilation_cache(sources.cache_dir(config) / "xla")  # reruns skip compiles
    workdir = Path(workdir)
    if main:
        workdir_lib.start_workdir(config, workdir)

    features_s, results, grids = 0.0, [], []
    for p, (label, program) in enumerate(structures):
        if progress and label:
            print(f"program {p} of {len(structures)}: {label}")
        out = workdir if len(structures) == 1 else workdir / "programs" / f"program{p}"
        result, grid, seconds = train_one_program(program, out, progress)
        if grids and not np.array_equal(grid.files, grids[0].files):
            raise ConfigError(f"sweep.programs entry {label!r} reads other rows than the first "
                              "program (a feature set skipped other files); programs must "
                              "share the corpus rows to be selected among")
        features_s += seconds
        results.append(result)
        grids.append(grid)
    result, grid = train.concat_results(results), grids[0]
    arms = hparams.arms(config)
    if len(structures) > 1:  # arm p * A + a: arm a of program p; every program's splits
        per_program = len(arms) or 1
        result.arms = np.concatenate([p * per_program + (r.arms if r.arms is not None else
                                                          np.zeros(r.num_models, np.int64))
                                      for p, r in enumerate(results)])
        result.arm_values = hparams.global_arms([label for label, _ in structures], arms)
        grid = dataclasses.replace(grid, splits=[s for g in grids for s in g.splits])
    if not main:
        return {}
    summary = report.write_grid_report(workdir, result, grid, config, features_s=features_s)
    if progress:
        report.print_table(summary)
        print(f"outputs in {workdir}/ (metrics.json, report.md, confusion.png, "
              "learning_curves.png, predictions.csv, models/)")
    return summary


def train_one_program(config: ml_collections.ConfigDict, workdir: Path, progress: bool):
    """Features, role matrix and the trained grid of one compiled program (every fold × seed
    × numeric arm of ``config.sweep``): ``(GridResult, its GridInputs, feature seconds)``."""
    start = time.perf_counter()
    with distributed.main_first("features"):  # process 0 fills the caches, the rest reuse them
        feature_set = precompute.prepare_features(config, progress)
    features_s = time.perf_counter() - start
    if progress:
        print(precompute.describe(feature_set))
    grid = grid_inputs_lib.grid_inputs(config, feature_set)
    arms = hparams.arms(config)
    tags, values = [f"fold{s.fold}_seed{s.seed}" for s in grid.splits], None
    if arms:  # models = splits × arms, arms innermost; each arm its own values
        grid, arm_of = hparams.expand_grid(grid, len(arms))
        tags, values = hparams.tags(grid.splits, arm_of), hparams.per_model_values(arms, arm_of)
        if progress:
            print(f"sweep: {len(arms)} arms × {len(grid.splits) // len(arms)} models:\n  "
                  + "\n  ".join(hparams.describe(arms)))
    classifier_roles = None
    if not config.train.get("classifier_augmented", True):  # step 2 on original files only
        classifier_roles = np.where((grid.roles == TRAIN) & np.asarray(feature_set.augmented,
                                                                        bool), UNUSED, grid.roles)
    result = train.train_grid(grid.data, grid.roles, [s.seed for s in grid.splits],
                              config.model, config.train, runtime=config.get("runtime"),
                              tags=tags, labels=grid.labels, hparams=values,
                              classifier_roles=classifier_roles, workdir=workdir,
                              progress=progress)
    if arms:
        result.arms, result.arm_values = arm_of, arms
    return result, grid, features_s
