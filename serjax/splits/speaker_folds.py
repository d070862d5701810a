"""Speaker folds for any corpus, and a corpus's own (given) folds.

Pure functions over actor ids (``corpus/speaker``), the data's ``speakers`` map ({actor id:
gender}, ``folds.UNKNOWN_GENDER`` where not known) and row arrays; ``serjax.splits.schemes``
dispatches to them:

* ``speaker_kfold``: k folds of speakers (``folds.actor_folds``), balanced by corpus and
  gender where genders are known.
* ``loso``: leave one speaker out, one fold per speaker.
* ``holdout`` by a speaker list: ``resolve_actors`` lets the list name bare speaker ids.
* ``given``: the folds a corpus ships (EmoBox's), by row key. Where every row's speaker is
  known and no fold's TEST speakers train in it, each fold becomes a speaker-independent Split
  (VAL speakers drawn from the fold's TRAIN speakers, as for every scheme). Otherwise the
  folds are run as given, by source file, labelled so: ``speaker-dependent`` when speakers
  are known and shared (EmoBox's EmoDB folds), ``speakers unknown`` when the corpus does not
  say. Their VAL rows are the corpus's own validation list when it ships one, else a seeded,
  class-stratified ``val_fraction`` of the fold's TRAIN files: never a TEST row.

In every case the role matrix and its leakage check (``serjax.splits.roles``) apply unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from serjax.corpora.manifest import UNKNOWN_SPEAKER
from serjax.splits import folds as folds_lib
from serjax.splits.roles import TRAIN, VAL, LeakageError, Split

GIVEN_VAL_FRACTION = 0.1


def loso_folds(actors, speakers=None) -> folds_lib.Folds:
    """Leave one speaker out: one fold per actor, in sorted order."""
    actors = folds_lib._actor_set(actors, speakers=speakers)
    if len(actors) < 3:
        raise ValueError(f"leave-one-speaker-out needs 3 or more speakers (one tests, one "
                         f"validates, one trains); the data has {len(actors)}")
    return tuple((a,) for a in actors)


def resolve_actors(names, actors) -> tuple[str, ...]:
    """Speaker ids as actor ids: ``corpus/speaker`` as given, a bare ``speaker`` matched to the
    one actor of the data with that speaker id. Raises naming the ones not in the data."""
    names = [names] if isinstance(names, str) else list(names)
    by_local: dict[str, list[str]] = {}
    for actor in actors:
        by_local.setdefault(actor.partition("/")[2], []).append(actor)
    out, unknown = [], []
    for name in (str(n).strip() for n in names):
        if name in actors:
            out.append(name)
        elif len(by_local.get(name, ())) == 1:
            out.append(by_local[name][0])
        else:
            unknown.append(name)
    if unknown:
        shown = ", ".join(sorted(actors)[:8]) + (" ..." if len(actors) > 8 else "")
        raise ValueError(f"folds.test_actors {unknown} are not speakers of the data ({shown}); "
                         "name speakers as CORPUS/SPEAKER or by a speaker id the data has")
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class GivenSplits:
    """The Splits of a corpus's own folds, what each model's rows may be, and the protocol."""

    splits: list                 # Split per (fold, seed), fold-major
    listed: list                 # per model: the source ids its fold lists (others UNUSED)
    protocol: str
    dropped: int                 # fold keys with no row in the data (skipped at build time)


def _fold_sources(fold, key_to_source: dict) -> tuple[dict, int]:
    parts, dropped = {}, 0
    for part in ("train", "test", "valid"):
        keys = tuple(getattr(fold, part, ()) or ())
        present = [key_to_source[k] for k in keys if k in key_to_source]
        dropped += len(keys) - len(present)
        parts[part] = tuple(present)
    clash = sorted(set(parts["test"]) & (set(parts["train"]) | set(parts["valid"])))
    if clash:
        raise LeakageError(f"given fold {fold.name}: row {clash[0]!r} is listed for TEST and for "
                           "TRAIN/VAL; fix the fold files")
    if not parts["test"] or not parts["train"]:
        raise ValueError(f"given fold {fold.name} has no {'TEST' if not parts['test'] else 'TRAIN'}"
                         " rows in the data (were its files skipped at build time?)")
    return parts, dropped


def _speaker_independent(parts: list[dict], actor_of: dict) -> tuple[bool, str]:
    """(whether every fold's TEST speakers are absent from its TRAIN/VAL, why not)."""
    actors = {actor_of[s] for p in parts for s in p["train"] + p["test"] + p["valid"]}
    if any(a.endswith("/" + UNKNOWN_SPEAKER) for a in actors):
        return False, "speakers unknown (the corpus's files do not say; independence not checked)"
    for k, p in enumerate(parts):
        shared = {actor_of[s] for s in p["test"]} & {actor_of[s] for s in p["train"] + p["valid"]}
        if shared:
            return False, (f"speaker-dependent (given folds share speakers between TRAIN and "
                           f"TEST: fold {k + 1} shares {len(shared)})")
    return True, ""


def _file_split(fold: int, seed: int, p: dict, row_label: dict, actor_of: dict,
                split_seed: int, val_fraction: float) -> Split:
    valid = p["valid"]
    train = [s for s in p["train"] if s not in set(valid)]
    if not valid:   # a seeded, class-stratified share of the fold's TRAIN files validates
        train = np.array(sorted(train))
        labels = np.array([row_label[s] for s in train])
        rng = np.random.default_rng([split_seed, fold, seed])
        parts = folds_lib._stratified_parts(labels, train, (1 - val_fraction, val_fraction, 0.0),
                                            rng)
        valid, train = tuple(train[parts[VAL]]), list(train[parts[TRAIN]])
    people = [sorted({actor_of[s] for s in files}) for files in (train, valid, p["test"])]
    return Split(fold, seed, *people, speaker_dependent=True, train_files=tuple(train),
                 val_files=tuple(valid), test_files=p["test"])


def given_splits(given, row_key, row_source, row_actor, row_label, row_augmented, *,
                 seeds=(0,), split_seed: int = 0, n_val_actors: int | None = None,
                 val_fraction: float = GIVEN_VAL_FRACTION, speakers=None) -> GivenSplits:
    """Splits for a corpus's own folds (module docstring). ``given``: folds with ``name``,
    ``train``, ``test`` (and ``valid``) row keys; rows: str [N] key, source id, actor, int [N]
    class, bool [N] augmented (only original rows are read)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"folds.val_fraction={val_fraction} must lie in (0, 1)")
    original = ~np.asarray(row_augmented, bool)
    keys, sources = np.asarray(row_key)[original], np.asarray(row_source)[original]
    key_to_source = dict(zip(keys.tolist(), sources.tolist()))
    actor_of = dict(zip(sources.tolist(), np.asarray(row_actor)[original].tolist()))
    label_of = dict(zip(sources.tolist(), np.asarray(row_label)[original].tolist()))
    if len(given) < 1:
        raise ValueError("folds.scheme='given' found no folds in the corpus")
    parts, dropped = [], 0
    for fold in given:
        p, d = _fold_sources(fold, key_to_source)
        parts.append(p)
        dropped += d
    independent, why = _speaker_independent(parts, actor_of)
    seeds = folds_lib._seeds(seeds)
    splits, listed = [], []
    for k, p in enumerate(parts):
        for seed in seeds:
            listed.append(p["train"] + p["test"] + p["valid"])
            if independent:
                splits.append(_actor_split(k, seed, p, actor_of, n_val_actors, split_seed,
                                           speakers))
            else:
                splits.append(_file_split(k, seed, p, label_of, actor_of, split_seed,
                                          val_fraction))
    if independent:
        protocol = ("speaker-independent (given folds; VAL speakers drawn from each fold's "
                    "TRAIN speakers)")
    else:
        source = ("the corpus's validation lists" if all(p["valid"] for p in parts) else
                  f"{val_fraction:.0%} of each fold's TRAIN files, class-stratified, seeded")
        protocol = f"{why}; VAL = {source}"
    return GivenSplits(splits, listed, protocol, dropped)


def _actor_split(fold, seed, p, actor_of, n_val_actors, split_seed, speakers) -> Split:
    train = sorted({actor_of[s] for s in p["train"] + p["valid"]})
    test = sorted({actor_of[s] for s in p["test"]})
    n_val = folds_lib.default_n_val_actors(train + test) if n_val_actors is None else n_val_actors
    val = folds_lib.validation_actors(train, n_val, split_seed=split_seed, fold=fold, seed=seed,
                                      speakers=speakers)
    return Split(fold, seed, [a for a in train if a not in set(val)], val, test)
