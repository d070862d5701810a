"""Shared builders of the paper's table cells (``configs/paper/*.py``; see serjax.paper.reproduce).

Every cell starts from the paper's recipe as ``configs/common.py`` writes it out; a cell file
changes only what its row of the paper changes (protocol, fusion, or a baseline model).
``import _paper`` works from a cell file, and ``import common`` from here, because the config
loader puts the cell's folder and ``configs/`` on ``sys.path``.
"""

import common

from serjax.paper import baselines


def holdout(corpus: str):
    """Table 1: train on every actor but RAVDESS actors 1–4, test on those four."""
    return common.base_config(corpus, "holdout")


def actor_cv(corpus: str):
    """Table 2: actor-fold CV (RAVDESS 6 × 4 consecutive actors; Superset 11 × 11 actors)."""
    return common.base_config(corpus, "consecutive" if corpus == "ravdess" else "superset")


def deep_only(config):
    """Table 3: the classifier sees the 32 deep features only (no statistical, no gender)."""
    config.model.fusion = "deep_only"
    return config


def baseline(config, kind: str):
    """Table 4 / discussion: a baseline model over the same data, folds, seeds and roles."""
    config.baseline = baselines.default_baseline_config(kind)
    return config


def cross_corpus():
    """Train CREMA-D + RAVDESS, test every actor of SAVEE + TESS (six Superset classes)."""
    c = common.base_config("superset", "corpus_split")
    c.folds.test_corpora = ("savee", "tess")
    return c


def leaky(corpus: str):
    """The authors' procedure: augment, then a stratified random split of the ROWS (80/10/10),
    so augmented copies of test files train. Leaky (speaker-dependent, augmented before split)."""
    return common.base_config(corpus, "leaky")


def frames(config):
    """Beyond the paper: the frame-level extractor (``model.kind='frames_cnn'``, its fields in
    ``model.frames_cnn``) over the per-frame acoustic features ``[T, 162]`` instead of their
    162-d mean, same fusion MLP."""
    config.features.acoustic = "frames"
    config.model.kind = "frames_cnn"
    return config
