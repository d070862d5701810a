"""The ``config.folds`` section: a scheme name and its fields → one ``Split`` per model.

The schemes themselves are pure functions in ``serjax.splits.folds`` (actor folds, holdouts,
random splits) and ``serjax.splits.protocols`` (leaky, cross-corpus); this module only reads the
config, checks its fields and dispatches, so neither of them needs to know the other.
"""

from __future__ import annotations

from serjax.splits import protocols
from serjax.splits.folds import (
    PAPER_HOLDOUT_TEST_ACTORS,
    RANDOM_FRACTIONS,
    Folds,
    Split,
    actor_folds,
    cv_splits,
    holdout_split,
    random_split,
    ravdess_folds,
    superset_folds,
)

SCHEMES = ("consecutive", "emobox", "superset", "actor_folds", "holdout", "random", "leaky",
           "corpus_split")
CONFIG_FIELDS = ("scheme", "n_folds", "split_seed", "n_val_actors", "test_actors", "stratify",
                 "fractions", "test_corpora")


def default_folds_config(scheme: str = "consecutive", **overrides):
    """The ``config.folds`` ConfigDict. ``n_folds`` None = the scheme's own (6 or 11; required
    for ``actor_folds``); ``n_val_actors`` None = ``default_n_val_actors``; ``test_actors`` is
    used by ``holdout``; ``stratify`` by ``actor_folds``; ``fractions`` by ``random`` and
    ``leaky``; ``test_corpora`` by ``corpus_split``."""
    from ml_collections import config_dict
    c = config_dict.ConfigDict()
    c.scheme = scheme
    c.n_folds = config_dict.placeholder(int)
    c.split_seed = 0
    c.n_val_actors = config_dict.placeholder(int)
    c.test_actors = PAPER_HOLDOUT_TEST_ACTORS
    c.stratify = "corpus_gender"
    c.fractions = RANDOM_FRACTIONS
    c.test_corpora = ("savee", "tess")
    unknown = sorted(set(overrides) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"unknown folds config field(s) {unknown}; known: {CONFIG_FIELDS}")
    c.update(overrides)
    return c


def _fixed_folds(cfg, actors) -> Folds:
    scheme, n_folds = cfg["scheme"], cfg.get("n_folds")
    if scheme == "actor_folds":
        if n_folds is None:
            raise ValueError("folds.scheme='actor_folds' needs folds.n_folds (e.g. 3 for the 12 "
                             "real RAVDESS actors)")
        return actor_folds(actors, n_folds, cfg.get("split_seed", 0),
                           cfg.get("stratify", "corpus_gender"))
    folds = (superset_folds(cfg.get("split_seed", 0), actors) if scheme == "superset"
             else ravdess_folds(scheme, actors))
    if n_folds is not None and n_folds != len(folds):
        raise ValueError(f"folds.n_folds={n_folds} but scheme {scheme!r} gives {len(folds)} "
                         "folds on these actors; leave n_folds unset or use 'actor_folds'")
    return folds


def from_config(folds_config, actors, *, seeds=(0,), rows=None) -> list[Split]:
    """Splits for ``config.folds`` over the data's ``actors``, one per model (fold-major).

    ``rows`` (schemes ``random`` and ``leaky``): a mapping with the FeatureSet's per-row
    ``source``, ``label``, ``actor`` and ``augmented`` arrays.
    """
    cfg = folds_config.to_dict() if hasattr(folds_config, "to_dict") else dict(folds_config)
    unknown = sorted(set(cfg) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"unknown folds config field(s) {unknown}; known: {CONFIG_FIELDS}")
    scheme = cfg.get("scheme")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown folds.scheme {scheme!r}; choose one of {SCHEMES}")
    split_seed, n_val = cfg.get("split_seed", 0), cfg.get("n_val_actors")
    if scheme == "random":
        if rows is None:
            raise ValueError("folds.scheme='random' splits source files: pass rows={'source', "
                             "'label', 'actor', 'augmented'} from the FeatureSet")
        return random_split(rows["source"], rows["label"], rows["actor"], rows.get("augmented"),
                            seeds=seeds, split_seed=split_seed,
                            fractions=tuple(cfg.get("fractions", RANDOM_FRACTIONS)))
    if scheme == "leaky":
        if rows is None:
            raise ValueError("folds.scheme='leaky' splits rows: pass rows={'source', 'label', "
                             "'actor', 'augmented'} from the FeatureSet")
        return protocols.leaky_split(
            rows["source"], rows["label"], rows["actor"], rows["augmented"], seeds=seeds,
            split_seed=split_seed, fractions=tuple(cfg.get("fractions", RANDOM_FRACTIONS)))
    if scheme == "corpus_split":
        return protocols.corpus_split(
            actors, cfg.get("test_corpora", ("savee", "tess")), seeds, n_val, split_seed)
    if scheme == "holdout":
        test = cfg.get("test_actors", PAPER_HOLDOUT_TEST_ACTORS)
        test = test.split(",") if isinstance(test, str) else test
        return holdout_split(actors, [t.strip() for t in test], seeds, n_val, split_seed)
    return cv_splits(_fixed_folds(cfg, actors), seeds, n_val, split_seed)
