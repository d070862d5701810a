"""The ``config.folds`` section: a scheme name and its fields → one ``Split`` per model.

The schemes themselves are pure functions in ``serjax.splits.folds`` (actor folds, holdouts,
random splits), ``serjax.splits.protocols`` (leaky, cross-corpus) and
``serjax.splits.speaker_folds`` (speaker folds of any corpus, a corpus's given folds); this
module only reads the config, checks its fields and dispatches, so none of them needs to know
the others.

``folds.num_folds`` and ``folds.n_folds`` are one setting under two names: ``num_folds`` is the
name the speaker schemes were asked for by, ``n_folds`` the one every earlier config and command
uses. Either may be set (both only if equal), for every scheme, so no config breaks and
neither name silently loses.
"""

from __future__ import annotations

from serjax.corpora import naming
from serjax.splits import protocols, speaker_folds
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
           "corpus_split", "speaker_kfold", "loso", "given")
CONFIG_FIELDS = ("scheme", "n_folds", "split_seed", "n_val_actors", "test_actors", "stratify",
                 "fractions", "test_corpora", "num_folds", "val_fraction")


def default_folds_config(scheme: str = "consecutive", **overrides):
    """The ``config.folds`` ConfigDict. ``n_folds`` None = the scheme's own (6 or 11; required
    for ``actor_folds``); ``n_val_actors`` None = ``default_n_val_actors``; ``test_actors`` is
    used by ``holdout``; ``stratify`` by ``actor_folds`` and ``speaker_kfold``; ``fractions`` by
    ``random`` and ``leaky``; ``test_corpora`` by ``corpus_split``; ``num_folds`` is
    ``n_folds``'s other name (``speaker_kfold``'s k); ``val_fraction`` the share of TRAIN files
    that validate in ``given`` folds whose speakers are unknown or shared."""
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
    c.num_folds = config_dict.placeholder(int)
    c.val_fraction = speaker_folds.GIVEN_VAL_FRACTION
    unknown = sorted(set(overrides) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"unknown folds config field(s) {unknown}; known: {CONFIG_FIELDS}")
    c.update(overrides)
    return c


def num_folds(cfg) -> int | None:
    """The fold count set by ``num_folds`` or ``n_folds`` (see the module docstring)."""
    a, b = cfg.get("num_folds"), cfg.get("n_folds")
    if a is not None and b is not None and a != b:
        raise ValueError(f"folds.num_folds={a} and folds.n_folds={b} disagree; they are one "
                         "setting: set one of them")
    return a if a is not None else b


def _fixed_folds(cfg, actors, speakers=None) -> Folds:
    scheme, n_folds = cfg["scheme"], num_folds(cfg)
    if scheme in ("actor_folds", "speaker_kfold"):
        if n_folds is None:
            raise ValueError(f"folds.scheme={scheme!r} needs folds.n_folds (or its other name "
                             "folds.num_folds; e.g. 3 for the 12 real RAVDESS actors, 5 for a "
                             "corpus of 10 or more speakers)")
        return actor_folds(actors, n_folds, cfg.get("split_seed", 0),
                           cfg.get("stratify", "corpus_gender"), speakers=speakers)
    if scheme == "loso":   # one fold per speaker: num_folds is not read
        return speaker_folds.loso_folds(actors, speakers)
    foreign = sorted(a for a in actors if a.partition("/")[0] not in naming.CORPORA)
    if foreign:
        raise ValueError(f"folds.scheme={scheme!r} holds the Kaggle corpora's actors, not "
                         f"{foreign[0]!r}: for this corpus use folds.scheme='speaker_kfold' "
                         "(with folds.num_folds), 'loso' or 'holdout'")
    folds = (superset_folds(cfg.get("split_seed", 0), actors) if scheme == "superset"
             else ravdess_folds(scheme, actors))
    if n_folds is not None and n_folds != len(folds):
        raise ValueError(f"folds.n_folds={n_folds} but scheme {scheme!r} gives {len(folds)} "
                         "folds on these actors; leave n_folds unset or use 'actor_folds'")
    return folds


def _checked(folds_config) -> dict:
    cfg = folds_config.to_dict() if hasattr(folds_config, "to_dict") else dict(folds_config)
    unknown = sorted(set(cfg) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"unknown folds config field(s) {unknown}; known: {CONFIG_FIELDS}")
    if cfg.get("scheme") not in SCHEMES:
        raise ValueError(f"unknown folds.scheme {cfg.get('scheme')!r}; choose one of {SCHEMES}")
    return cfg


def given_from_config(folds_config, given, rows, *, seeds=(0,),
                      speakers=None) -> speaker_folds.GivenSplits:
    """``folds.scheme='given'``: the corpus's own ``given`` folds over the FeatureSet ``rows``
    (``key``, ``source``, ``actor``, ``label``, ``augmented``); see ``speaker_folds``."""
    cfg = _checked(folds_config)
    return speaker_folds.given_splits(
        given, rows["key"], rows["source"], rows["actor"], rows["label"], rows["augmented"],
        seeds=seeds, split_seed=cfg.get("split_seed", 0), n_val_actors=cfg.get("n_val_actors"),
        val_fraction=cfg.get("val_fraction", speaker_folds.GIVEN_VAL_FRACTION),
        speakers=speakers)


def from_config(folds_config, actors, *, seeds=(0,), rows=None, speakers=None) -> list[Split]:
    """Splits for ``config.folds`` over the data's ``actors``, one per model (fold-major).

    ``rows`` (schemes ``random`` and ``leaky``): a mapping with the FeatureSet's per-row
    ``source``, ``label``, ``actor`` and ``augmented`` arrays. ``speakers``: the data's
    {actor: gender} for corpora other than the Kaggle four (``serjax.splits.folds``).
    ``given`` folds come from ``given_from_config``.
    """
    cfg = _checked(folds_config)
    scheme = cfg["scheme"]
    if scheme == "given":
        raise ValueError("folds.scheme='given' runs the corpus's own folds: build them with "
                         "schemes.given_from_config (serjax.splits.grid_inputs does)")
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
    unknown = [str(a) for a in actors if a.endswith("/" + speaker_folds.UNKNOWN_SPEAKER)]
    if unknown:
        raise ValueError(f"folds.scheme={scheme!r} folds speakers, but the speaker of the rows "
                         f"of {unknown[0]!r} is unknown (an EmoBox corpus whose file names do not "
                         "say it): use folds.scheme='given' (its official folds) or 'random'")
    if scheme == "corpus_split":
        return protocols.corpus_split(
            actors, cfg.get("test_corpora", ("savee", "tess")), seeds, n_val, split_seed)
    if scheme == "holdout":
        test = cfg.get("test_actors", PAPER_HOLDOUT_TEST_ACTORS)
        test = [t.strip() for t in (test.split(",") if isinstance(test, str) else test)]
        if speakers is not None:   # any corpus: bare speaker ids name the data's speakers
            test = speaker_folds.resolve_actors(test, actors)
        return holdout_split(actors, test, seeds, n_val, split_seed, speakers=speakers)
    return cv_splits(_fixed_folds(cfg, actors, speakers), seeds, n_val, split_seed,
                     speakers=speakers)
