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

import importlib
import time
from pathlib import Path

import ml_collections

from serjax.config import ConfigError
from serjax.corpora import naming, sources
from serjax.evaluation import report
from serjax.evaluation import workdir as workdir_lib
from serjax.features import precompute
from serjax.models import networks
from serjax.splits import grid_inputs as grid_inputs_lib
from serjax.training import distributed, programs, train

#: ``baseline.kind`` → the module whose ``run_baseline(config, workdir, progress)`` trains it.
TRAINERS = {
    "random_forest": "serjax.paper.baselines",
    "cnn1d": "serjax.paper.baselines",
    "raw_waveform": "serjax.paper.baselines",
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
    if corpus not in (*naming.CORPORA, sources.SUPERSET):
        raise ConfigError(f"data.corpus={corpus!r} is not a corpus; choose one of "
                          f"{', '.join((*naming.CORPORA, sources.SUPERSET))}")
    if config.seeds < 1:
        raise ConfigError(f"seeds={config.seeds}: need at least one seed per split")
    try:
        train.check_train_config(config.train)
    except ValueError as err:  # one error type for every bad config field
        raise ConfigError(str(err)) from err
    unknown = sorted(set(config.labels) - set(naming.LABELS))
    if unknown:
        raise ConfigError(f"labels {unknown} are not in the label space {naming.LABELS}")
    if config.data.synthetic_scale < 0 or config.data.synthetic_scale > 1:
        raise ConfigError(f"data.synthetic_scale={config.data.synthetic_scale}: must lie "
                          "in (0, 1], or 0 to use data.root")


def check_features_suit_model(config: ml_collections.ConfigDict) -> None:
    """Frame-level features need a frames model, and summary vectors a summary model."""
    frames = config.features.acoustic == "frames"
    if frames != networks.reads_frames(config.model):
        raise ConfigError(
            f"features.acoustic={config.features.acoustic!r} does not suit model.kind="
            f"{config.model.get('kind', 'fusionnet')!r}: use model.kind='frames_cnn' with "
            "features.acoustic='frames', or 'fusionnet' with 'summary'")


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
    check_features_suit_model(config)
    programs.enable_compilation_cache(sources.cache_dir(config) / "xla")  # reruns skip compiles
    workdir = Path(workdir)
    if main:
        workdir_lib.start_workdir(config, workdir)

    start = time.perf_counter()
    with distributed.main_first("features"):  # process 0 fills the caches, the rest reuse them
        feature_set = precompute.prepare_features(config, progress)
    features_s = time.perf_counter() - start
    if progress:
        print(precompute.describe(feature_set))
    grid = grid_inputs_lib.grid_inputs(config, feature_set)
    result = train.train_grid(grid.data, grid.roles, [s.seed for s in grid.splits],
                              config.model, config.train, labels=grid.labels,
                              workdir=workdir, progress=progress)
    if not main:
        return {}
    summary = report.write_report(workdir, result, folds=[s.fold for s in grid.splits],
                                  labels=list(grid.labels), true=grid.data["label"],
                                  files=grid.files, actors=grid.actors, features_s=features_s)
    if progress:
        report.print_table(summary)
        print(f"outputs in {workdir}/ (metrics.json, report.md, confusion.png, "
              "learning_curves.png, predictions.csv, models/)")
    return summary
