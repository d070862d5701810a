"""One experiment end to end: config → prepared data → FeatureSet → role matrix → training →
workdir outputs. This is what ``serjax cv`` and ``serjax demo`` call.

Each stage is an importable function (a notebook can stop after any of them), and every stage
is cached or resumable: synthetic corpora and prepared datasets are reused when their inputs
are unchanged, FeatureSets are keyed by their spec, and training resumes from its checkpoints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path

import ml_collections
import numpy as np

from serjax import corpora

SUPERSET = "superset"


class ExperimentError(ValueError):
    """A config that cannot run; the message names the field and the fix."""


# --------------------------------------------------------------------------- config checks ---

def validate(config: ml_collections.ConfigDict) -> None:
    """Fails early, naming the field, for values that would otherwise fail deep inside."""
    corpus = config.data.corpus
    if corpus not in (*corpora.CORPORA, SUPERSET):
        raise ExperimentError(f"data.corpus={corpus!r} is not a corpus; choose one of "
                              f"{', '.join((*corpora.CORPORA, SUPERSET))}")
    if config.seeds < 1:
        raise ExperimentError(f"seeds={config.seeds}: need at least one seed per split")
    if config.train.epochs < 1:
        raise ExperimentError(f"train.epochs={config.train.epochs}: need at least one epoch")
    if config.train.batch_size < 1:
        raise ExperimentError(f"train.batch_size={config.train.batch_size}: must be >= 1")
    unknown = sorted(set(config.labels) - set(corpora.LABELS))
    if unknown:
        raise ExperimentError(f"labels {unknown} are not in the label space {corpora.LABELS}")
    if config.data.synthetic_scale < 0 or config.data.synthetic_scale > 1:
        raise ExperimentError(f"data.synthetic_scale={config.data.synthetic_scale}: must lie "
                              "in (0, 1], or 0 to use data.root")


def cache_dir(config: ml_collections.ConfigDict) -> Path:
    """Where synthetic corpora, prepared datasets and FeatureSets are cached."""
    base = config.data.cache_dir or os.environ.get("SERJAX_CACHE_DIR") or "~/.cache/serjax"
    return Path(base).expanduser()


def seed_values(config: ml_collections.ConfigDict) -> tuple[int, ...]:
    return tuple(range(config.seed_offset, config.seed_offset + config.seeds))


def _needed_corpora(config) -> tuple[str, ...]:
    return corpora.CORPORA if config.data.corpus == SUPERSET else (config.data.corpus,)


# ----------------------------------------------------------------------------------- data ---

def data_root(config: ml_collections.ConfigDict, progress: bool = True) -> Path:
    """The folder holding ``ravdess/ crema_d/ savee/ tess/``: a synthetic corpus (written once
    into the cache) when ``data.synthetic_scale`` > 0, else ``data.root`` / $SERJAX_DATA_ROOT."""
    if config.data.synthetic_scale > 0:
        from serjax import synth

        scale, seed = config.data.synthetic_scale, config.data.synthetic_seed
        root = cache_dir(config) / "synthetic" / f"scale{scale:g}-seed{seed}"
        for corpus in _needed_corpora(config):
            done = root / f".{corpus}.complete"
            if not done.exists():  # a marker, so an interrupted write is redone, not trusted
                synth.synthesize(corpus, root / corpus, scale=scale, seed=seed,
                                 progress=progress)
                done.write_text("ok\n")
        return root
    root = config.data.root or os.environ.get("SERJAX_DATA_ROOT", "")
    if not root:
        raise ExperimentError(
            "no data: set --config.data.root=DIR (a folder with ravdess/ crema_d/ savee/ tess/ "
            "as unpacked from Kaggle), or $SERJAX_DATA_ROOT, or train on a synthetic corpus "
            "with --config.data.synthetic_scale=0.25")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ExperimentError(f"data.root={root} is not a folder; it should hold ravdess/ "
                              "crema_d/ savee/ tess/ as unpacked from Kaggle")
    return root


def prepared_data_dir(config: ml_collections.ConfigDict, root: Path) -> Path:
    """Prepared datasets live per data root, so switching roots never rebuilds the other."""
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return cache_dir(config) / "tfds" / f"{root.name}-{tag}"


def load_tables(config: ml_collections.ConfigDict, progress: bool = True):
    """Builds what is missing and returns the experiment's CorpusTable."""
    from serjax import dataset

    root = data_root(config, progress)
    data_dir = prepared_data_dir(config, root)
    dataset.ensure_built(root, _needed_corpora(config), data_dir)
    if config.data.corpus == SUPERSET:
        return dataset.load_superset(data_dir)
    return dataset.load(config.data.corpus, data_dir)


def prepare_features(config: ml_collections.ConfigDict, progress: bool = True):
    """The experiment's FeatureSet (cached by its spec; a rerun does no work)."""
    from serjax.features import precompute

    validate(config)
    table = load_tables(config, progress)
    return precompute.precompute_from_config(config, [table], cache_dir(config) / "features")


def describe_features(feature_set) -> str:
    rows = feature_set.num_rows
    augmented = int(np.asarray(feature_set.augmented).sum())
    skipped = len(feature_set.manifest.get("skipped", []))
    return (f"FeatureSet {feature_set.directory}: {rows} rows ({rows - augmented} original, "
            f"{augmented} augmented), acoustic {tuple(feature_set.acoustic.shape[1:])}, "
            f"statistical {tuple(feature_set.statistical.shape[1:])}, {skipped} skipped")


# ------------------------------------------------------------------------------- training ---

@dataclasses.dataclass
class GridInputs:
    """What the engine trains on: arrays over FeatureSet rows plus the role matrix."""

    data: dict            # acoustic [N, F], statistical [N, S], gender [N], label [N] (0..C-1)
    roles: np.ndarray     # int8 [M, N]
    splits: list          # serjax.folds.Split per model (fold, seed, actors of each role)
    labels: tuple         # class names, index = class id
    files: np.ndarray     # str [N] "corpus/path" of each row's source file
    actors: np.ndarray    # str [N]


def grid_inputs(config: ml_collections.ConfigDict, feature_set) -> GridInputs:
    """Maps labels to 0..C-1, builds every model's split and the (leak-checked) role matrix.

    Rows whose emotion is not in ``config.labels`` (e.g. calm/surprise for the Superset) are
    UNUSED for every model.
    """
    from serjax import folds

    labels = tuple(config.labels)
    names = np.asarray(corpora.LABELS)[np.asarray(feature_set.label, dtype=np.int64)]
    keep = np.isin(names, labels)
    class_of = {name: i for i, name in enumerate(labels)}
    y = np.array([class_of.get(n, 0) for n in names], dtype=np.int32)
    actor = np.asarray(feature_set.actor)
    augmented = np.asarray(feature_set.augmented, dtype=bool)
    files = np.char.add(np.char.add(np.asarray(feature_set.corpus), "/"),
                        np.asarray(feature_set.path))
    actors = sorted(set(actor[keep]))
    rows = {"source": files[keep], "label": y[keep], "actor": actor[keep],
            "augmented": augmented[keep]}
    splits = folds.from_config(config.folds, actors, seeds=seed_values(config), rows=rows)
    roles = np.zeros((len(splits), len(y)), np.int8)
    roles[:, keep] = folds.role_matrix(actor[keep], augmented[keep], splits,
                                       row_source=files[keep])
    # Memory-mapped views, not copies (frames can be GBs); the engine uploads them once.
    data = {"acoustic": np.asarray(feature_set.acoustic),
            "statistical": np.asarray(feature_set.statistical),
            "gender": np.asarray(feature_set.gender, np.int32), "label": y, "actor": actor}
    if "frame_mask" in feature_set.arrays:  # frames [N, T, F]: the frames_cnn extractor
        data["frame_mask"] = np.asarray(feature_set.frame_mask)
    return GridInputs(data, roles, splits, labels, files, actor)


def versions() -> dict:
    """Package versions and devices, for ``versions.json``."""
    import importlib.metadata
    import platform

    import jax

    packages = ("serjax", "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "librosa",
                "orbax-checkpoint", "tensorflow-datasets", "ml_collections", "soundfile")
    found = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return {"python": platform.python_version(), "platform": platform.platform(),
            "packages": found, "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()]}


def start_workdir(config: ml_collections.ConfigDict, workdir: Path) -> None:
    """Creates ``workdir`` with ``config.json`` and ``versions.json`` (process 0 only)."""
    from serjax import atomic
    from serjax import config as config_lib

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(config_lib.to_json(config))
    atomic.write_json(workdir / "versions.json", versions(), indent=2, sort_keys=True,
                      default=str)


def run_cv(config: ml_collections.ConfigDict, workdir: str | Path,
           progress: bool = True) -> dict:
    """The whole experiment; writes the workdir (see ``serjax.report``) and returns metrics.

    Rerunning with the same config and workdir resumes: features come from the cache and
    training continues from its last per-epoch checkpoint.
    """
    from serjax import distributed, report, train

    distributed.initialize()  # joins a process group when the environment describes one
    main = distributed.is_main()  # only process 0 prints and writes reports
    progress = progress and main
    validate(config)
    if config.get("baseline") is not None and config.baseline.get("kind"):
        from serjax import baselines  # a paper baseline (RF, 1-D CNN, raw waveform): same data,
        return baselines.run_baseline(config, workdir, progress)  # roles and workdir files
    frames = config.features.acoustic == "frames"
    if frames != (config.model.get("kind", "fusionnet") == "frames_cnn"):
        raise ExperimentError(
            f"features.acoustic={config.features.acoustic!r} does not suit model.kind="
            f"{config.model.get('kind', 'fusionnet')!r}: use model.kind='frames_cnn' with "
            "features.acoustic='frames', or 'fusionnet' with 'summary'")
    from serjax import engine
    engine.enable_compilation_cache(cache_dir(config) / "xla")  # reruns skip XLA compiles
    workdir = Path(workdir)
    if main:
        start_workdir(config, workdir)

    start = time.perf_counter()
    with distributed.main_first("features"):  # process 0 fills the caches, the rest reuse them
        feature_set = prepare_features(config, progress)
    features_s = time.perf_counter() - start
    if progress:
        print(describe_features(feature_set))
    grid = grid_inputs(config, feature_set)
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
