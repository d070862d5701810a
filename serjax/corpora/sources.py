"""Where an experiment's corpora come from: a synthetic corpus written once into the cache, or
``data.root`` / $SERJAX_DATA_ROOT; prepared (TFDS) once per data root; loaded as a table.

``data.corpus="manifest"`` reads ``data.manifest`` (``serjax.corpora.manifest``) and
``data.corpus="emobox"`` reads ``data.emobox_dir`` with ``data.audio_root``
(``serjax.corpora.emobox``); both are prepared once per content under the cache's
``tfds/manifests/``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import ml_collections

from serjax.config import ConfigError
from serjax.corpora import dataset, emobox, manifest, naming
from serjax.synth import corpus as synth

SUPERSET = "superset"  # the four corpora merged, six classes
MANIFEST, EMOBOX = "manifest", "emobox"  # a corpus listed in a manifest / an EmoBox folder
CORPUS_CHOICES = (*naming.CORPORA, SUPERSET, MANIFEST, EMOBOX)


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


def is_listed(config: ml_collections.ConfigDict) -> bool:
    """True for corpora listed by a manifest (or EmoBox) rather than found in Kaggle folders."""
    return config.data.corpus in (MANIFEST, EMOBOX)


def listed_corpus(config: ml_collections.ConfigDict) -> manifest.Manifest:
    """The checked manifest of a ``manifest`` or ``emobox`` corpus (no audio read)."""
    data = config.data
    if data.corpus == MANIFEST:
        if not data.get("manifest"):
            raise ConfigError("data.corpus='manifest' needs --config.data.manifest=FILE (a .csv, "
                              ".tsv or .jsonl file with columns path, emotion, speaker)")
        return manifest.read(data.manifest)
    if data.corpus == EMOBOX:
        if not data.get("emobox_dir") or not data.get("audio_root"):
            raise ConfigError("data.corpus='emobox' needs --config.data.emobox_dir=DIR (EmoBox's "
                              "data/<corpus>/ folder) and --config.data.audio_root=DIR (where its "
                              "wav paths start)")
        return emobox.read(data.emobox_dir, data.audio_root)
    raise ConfigError(f"data.corpus={data.corpus!r} is not listed by a manifest")


def label_names(config: ml_collections.ConfigDict) -> tuple[str, ...] | None:
    """The label names the corpus's rows carry (what ``config.labels`` chooses from); None for
    a listed corpus not located yet (as a Kaggle config before ``data.root`` is set)."""
    if not is_listed(config):
        return naming.LABELS
    data = config.data
    located = data.get("manifest") if data.corpus == MANIFEST else data.get("emobox_dir")
    return listed_corpus(config).label_names if located else None


def given_folds(config: ml_collections.ConfigDict) -> list[emobox.GivenFold]:
    """The corpus's own folds (``folds.scheme='given'``): EmoBox's fold files, every key
    checked against the corpus file."""
    if config.data.corpus != EMOBOX:
        raise ConfigError("folds.scheme='given' runs the folds a corpus ships: use it with "
                          "data.corpus='emobox' (and data.emobox_dir)")
    keys = [row.key for row in listed_corpus(config).rows]
    return emobox.read_folds(config.data.emobox_dir, keys)


def load_tables(config: ml_collections.ConfigDict, progress: bool = True):
    """Builds what is missing and returns the experiment's CorpusTable."""
    if is_listed(config):
        return dataset.load_manifest_corpus(listed_corpus(config),
                                            cache_dir(config) / "tfds" / "manifests")
    root = data_root(config, progress)
    data_dir = prepared_data_dir(config, root)
    dataset.ensure_built(root, needed_corpora(config), data_dir)
    if config.data.corpus == SUPERSET:
        return dataset.load_superset(data_dir)
    return dataset.load(config.data.corpus, data_dir)
