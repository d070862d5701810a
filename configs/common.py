"""Shared defaults every experiment config starts from (imported as ``import common``).

Sections: ``data`` (which corpora, where they are), ``audio`` / ``augment`` / ``features``
(serjax.features.spec), ``folds`` (serjax.splits.folds), ``model`` (serjax.models.networks), ``train``
(serjax.training.train), and ``seeds`` (how many seeds each split is trained with, all at once).
"""

import ml_collections

from serjax.corpora import naming
from serjax.features import spec
from serjax.models import networks
from serjax.splits import schemes
from serjax.training import train


def base_config(corpus: str = "ravdess", scheme: str = "consecutive") -> ml_collections.ConfigDict:
    c = spec.default_config()

    c.data = ml_collections.ConfigDict()
    # "ravdess" | "crema_d" | "savee" | "tess" | "superset" (the four merged, six classes).
    c.data.corpus = corpus
    # A folder holding ravdess/ crema_d/ savee/ tess/ as unpacked from Kaggle (or as
    # `serjax synth all` writes them). Empty: $SERJAX_DATA_ROOT, else a clear error.
    c.data.root = ""
    # > 0: ignore `root` and train on a synthetic corpus of this scale (written once, cached).
    c.data.synthetic_scale = 0.0
    c.data.synthetic_seed = 0
    c.data.cache_dir = ""   # features, prepared datasets, synthetic corpora; "" = ~/.cache/serjax

    c.folds = schemes.default_folds_config(scheme)
    c.model = networks.default_model_config()
    c.train = train.default_train_config()
    c.seeds = 3             # seeds per split: models = splits × seeds, trained in one program
    c.seed_offset = 0       # seed values are seed_offset .. seed_offset + seeds - 1
    c.labels = naming.SUPERSET_LABELS if corpus == "superset" else naming.LABELS
    return c
