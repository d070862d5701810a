"""One experiment end to end: config → prepared data → FeatureSet → role matrix → training →
workdir outputs. This is what ``serjax cv`` and ``serjax demo`` call.

Each stage is an importable function (a notebook can stop after any of them), and every stage
is cached or resumable: synthetic corpora and prepared datasets are reused when their inputs
are unchanged, FeatureSets are keyed by their spec, and training resumes from its checkpoints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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
