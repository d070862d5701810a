"""Where an experiment's corpora come from: a synthetic corpus written once into the cache, or
``data.root`` / $SERJAX_DATA_ROOT; prepared (TFDS) once per data root; loaded as a table.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import ml_collections

from serjax.config import ConfigError
from serjax.corpora import dataset, naming
from serjax.synth import corpus as synth

SUPERSET = "superset"  # the four corpora merged, six classes


def cache_dir(config: ml_collections.ConfigDict) -> Path:
    """Where synthetic corpora, prepared datasets and FeatureSets are cached."""
    base = config.data.cache_dir or os.environ.get("SERJAX_CACHE_DIR") or "~/.cache/serjax"
    return Path(base).expanduser()


def needed_corpora(config) -> tuple[str, ...]:
    return naming.CORPORA if config.data.corpus == SUPERSET else (config.data.corpus,)


def data_root(config: ml_collections.ConfigDict, progress: bool = True) -> Path:
    """The folder holding ``ravdess/ crema_d/ savee/ tess/``: a synthetic corpus (written once
    into the cache) when ``data.synthetic_scale`` > 0, else ``data.root`` / $SERJAX_DATA_ROOT."""
    if config.data.synthetic_scale > 0:
        scale, seed = config.data.synthetic_scale, config.data.synthetic_seed
        root = cache_dir(config) / "synthetic" / f"scale{scale:g}-seed{seed}"
        for corpus in needed_corpora(config):
            done = root / f".{corpus}.complete"
            if not done.exists():  # a marker, so an interrupted write is redone, not trusted
                synth.synthesize(corpus, root / corpus, scale=scale, seed=seed,
                                 progress=progress)
                done.write_text("ok\n")
        return root
    root = config.data.root or os.environ.get("SERJAX_DATA_ROOT", "")
    if not root:
        raise ConfigError(
            "no data: set --config.data.root=DIR (a folder with ravdess/ crema_d/ savee/ tess/ "
            "as unpacked from Kaggle), or $SERJAX_DATA_ROOT, or train on a synthetic corpus "
            "with --config.data.synthetic_scale=0.25")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"data.root={root} is not a folder; it should hold ravdess/ "
                              "crema_d/ savee/ tess/ as unpacked from Kaggle")
    return root


def prepared_data_dir(config: ml_collections.ConfigDict, root: Path) -> Path:
    """Prepared datasets live per data root, so switching roots never rebuilds the other."""
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return cache_dir(config) / "tfds" / f"{root.name}-{tag}"


def load_tables(config: ml_collections.ConfigDict, progress: bool = True):
    """Builds what is missing and returns the experiment's CorpusTable."""
    root = data_root(config, progress)
    data_dir = prepared_data_dir(config, root)
    dataset.ensure_built(root, needed_corpora(config), data_dir)
    if config.data.corpus == SUPERSET:
        return dataset.load_superset(data_dir)
    return dataset.load(config.data.corpus, data_dir)
