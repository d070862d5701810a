"""Actor folds, holdout and random splits, validation actors, and the folds config.

Everything here is a pure function of actor ids (``ravdess/01``, ``crema_d/1001``, ``savee/DC``,
``tess/OAF``) and a split seed; the result never depends on the order actors are passed in.

* RAVDESS: 6 folds × 4 actors, two schemes: ``consecutive`` (the paper: {01–04}, …, {21–24})
  and ``emobox`` (EmoBox's published test folds).
* SER Superset: 11 folds × 11 actors over its 121 actors, balanced by corpus and gender.
* ``actor_folds``: balanced folds for any actor set (e.g. the 12 real RAVDESS actors → 3 × 4).
* The paper's holdout: test actors 1–4. The paper numbers the Superset's actors with RAVDESS
  first, so its "1–4 Actors" are ``ravdess/01..04`` there too.
* The paper's stratified random 80/10/10 split by source file: speaker-dependent, labelled so.
* ``leaky`` and ``corpus_split`` (in ``serjax.splits.protocols``): the authors' leaky row split,
  and cross-corpus (every actor of ``test_corpora`` tests).

Each (fold, seed) model gets validation actors drawn from its own training actors only.

Any corpus (a manifest's): pass ``speakers``, the data's ``{actor id: gender}`` (``MALE``,
``FEMALE`` or ``UNKNOWN_GENDER``), to ``actor_folds``, ``cv_splits``, ``holdout_split`` and
``validation_actors``. Actor ids it names are then valid whatever their corpus (others must
still be Kaggle ids, so a typo is caught), genders come from it, and balancing by gender
applies to the speakers whose gender is known (the unknown ones form their own group).

Splits become a role matrix in ``serjax.splits.roles`` (re-exported here). Model order is fold-major:
model ``m = fold * len(seeds) + seed_index``.
"""

from __future__ import annotations

import numpy as np

from serjax.corpora import naming
from serjax.corpora.manifest import UNKNOWN_GENDER
from serjax.splits.roles import (
    LEAKY_PROTOCOL,
    ROLE_NAMES,
    TEST,
    TRAIN,
    UNUSED,
    VAL,
    LeakageError,
    Split,
    check_no_leakage,
    leaky_row_keys,
    model_table,
    role_matrix,
)

RAVDESS_FOLDS = {
    "consecutive": tuple(tuple(f"ravdess/{i:02d}" for i in range(4 * k + 1, 4 * k + 5))
                         for k in range(6)),
    # EmoBox (Ma et al., 2024) RAVDESS speaker folds, as published in its data split files.
    "emobox": tuple(tuple(f"ravdess/{a}" for a in fold) for fold in (
        ("01", "11", "20", "21"), ("04", "10", "12", "14"), ("08", "09", "19", "23"),
        ("03", "05", "07", "24"), ("02", "15", "16", "18"), ("06", "13", "17", "22"))),
}
SUPERSET_N_FOLDS = 11
PAPER_HOLDOUT_TEST_ACTORS = ("ravdess/01", "ravdess/02", "ravdess/03", "ravdess/04")
STRATIFY = ("corpus_gender", "gender", "corpus", "none")
RANDOM_FRACTIONS = (0.8, 0.1, 0.1)


Folds = tuple[tuple[str, ...], ...]


def actor_sort_key(actor: str) -> tuple[int, str]:
    """Sorts by corpus (``naming.CORPORA`` order), then local id: ravdess/02 < crema_d/1001."""
    corpus, _, local = actor.partition("/")
    if corpus not in naming.CORPORA or not local:
        raise ValueError(f"unknown actor id {actor!r}; expected CORPUS/ID with CORPUS in "
                         f"{naming.CORPORA}, e.g. ravdess/01")
    return naming.CORPORA.index(corpus), local


def corpus_rank(corpus: str) -> tuple:
    """Kaggle corpora in ``naming.CORPORA`` order, then any other corpus by name."""
    if corpus in naming.CORPORA:
        return (naming.CORPORA.index(corpus),)
    return len(naming.CORPORA), corpus


def speaker_sort_key(actor: str) -> tuple:
    """``actor_sort_key`` for actor ids of any corpus (``corpus/speaker``)."""
    corpus, _, local = actor.partition("/")
    return (*corpus_rank(corpus), local)


def _actor_set(actors, what: str = "actors", speakers=None) -> tuple[str, ...]:
    if isinstance(actors, str):
        raise TypeError(f"{what} must be a sequence of actor ids, got the string {actors!r}")
    if speakers is None:
        out = sorted({str(a) for a in actors}, key=actor_sort_key)
    else:
        out = sorted({str(a) for a in actors}, key=speaker_sort_key)
        for actor in out:
            if actor not in speakers:
                actor_sort_key(actor)   # a Kaggle id is fine; anything else is unknown
    if len(out) != len(list(actors)):
        raise ValueError(f"{what} contains duplicates")
    return tuple(out)


def actor_gender(actor: str, speakers=None) -> int:
    """The data's gender of an actor when ``speakers`` gives it, else the Kaggle tables'."""
    if speakers is not None and actor in speakers:
        return int(speakers[actor])
    return naming.actor_gender(actor)


def _check_seed(seed, what: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{what} must be a non-negative int, got {seed!r}")
    return int(seed)


def _group_key(actor: str, stratify: str, speakers=None) -> tuple:
    corpus = actor.partition("/")[0]
    gender = actor_gender(actor, speakers)
    return {"corpus_gender": (corpus, gender), "gender": (gender,), "corpus": (corpus,),
            "none": ()}[stratify]


def _dealing_order(keys: list[tuple]) -> list[tuple]:
    """Orders (corpus, gender) groups so that each corpus and each gender forms one cyclic run:
    female-only corpora, a mixed corpus (F then M), male-only corpora, the next mixed corpus
    (M then F), ... Dealt round-robin, a cyclic run spreads over folds within ±1. Speakers of
    unknown gender come last, one group per corpus."""
    if not keys or len(keys[0]) != 2:
        return sorted(keys)
    by_corpus: dict[str, set[int]] = {}
    for corpus, gender in keys:
        by_corpus.setdefault(corpus, set()).add(gender)
    order = sorted(by_corpus, key=corpus_rank)
    known = {c: by_corpus[c] - {UNKNOWN_GENDER} for c in order}
    mixed = [c for c in order if len(known[c]) == 2]
    only_f = [(c, naming.FEMALE) for c in order if known[c] == {naming.FEMALE}]
    only_m = [(c, naming.MALE) for c in order if known[c] == {naming.MALE}]
    out = list(only_f)
    for i, corpus in enumerate(mixed):
        first, second = ((naming.FEMALE, naming.MALE) if i % 2 == 0
                         else (naming.MALE, naming.FEMALE))
        out += [(corpus, first), (corpus, second)]
        if i == 0:
            out += only_m
    if not mixed:
        out += only_m
    return out + [(c, UNKNOWN_GENDER) for c in order if UNKNOWN_GENDER in by_corpus[c]]


def actor_folds(actors, n_folds: int, seed: int = 0, stratify: str = "corpus_gender",
                speakers=None) -> Folds:
    """Deals ``actors`` into ``n_folds`` test folds, balanced by ``stratify``.

    Actors are grouped by (corpus, gender) (or by gender, corpus, or not at all), each group is
    shuffled with ``seed``, the groups are laid end to end (see ``_dealing_order``) and dealt
    round-robin, then the fold labels are permuted with ``seed``. Fold sizes differ by at most
    one, and so does each group's count across folds. Returns ``n_folds`` sorted tuples.
    ``speakers``: the data's {actor: gender}, for actors of any corpus (module docstring).
    """
    actors = _actor_set(actors, speakers=speakers)
    sort_key = actor_sort_key if speakers is None else speaker_sort_key
    seed = _check_seed(seed, "seed")
    if stratify not in STRATIFY:
        raise ValueError(f"unknown stratify {stratify!r}; choose one of {STRATIFY}")
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds must be an int >= 2, got {n_folds!r}")
    if n_folds > len(actors):
        raise ValueError(f"n_folds={n_folds} is more folds than actors ({len(actors)}); every "
                         f"fold needs at least one actor: use n_folds <= {len(actors)}")
    rng = np.random.default_rng(seed)
    groups: dict[tuple, list[str]] = {}
    for actor in actors:
        groups.setdefault(_group_key(actor, stratify, speakers), []).append(actor)
    dealt = [a for key in _dealing_order(list(groups))
             for a in rng.permutation(np.array(groups[key], dtype=object))]
    labels = rng.permutation(n_folds)
    folds = [[] for _ in range(n_folds)]
    for position, actor in enumerate(dealt):
        folds[labels[position % n_folds]].append(str(actor))
    return tuple(tuple(sorted(f, key=sort_key)) for f in folds)


def ravdess_folds(scheme: str = "consecutive", actors=None) -> Folds:
    """RAVDESS's 6 × 4 test folds under ``scheme`` (``consecutive`` or ``emobox``).

    With ``actors`` (a subset of the 24), keeps the folds whose four actors are all present
    (actors 01–12 → the first three consecutive folds) and raises if a fold is only partly
    present, since dropping actors from it would silently change the protocol.
    """
    if scheme not in RAVDESS_FOLDS:
        raise ValueError(f"unknown RAVDESS fold scheme {scheme!r}; choose one of "
                         f"{tuple(RAVDESS_FOLDS)}")
    folds = RAVDESS_FOLDS[scheme]
    if actors is None:
        return folds
    present = set(_actor_set(actors))
    extra = sorted(present - {a for f in folds for a in f})
    if extra:
        raise ValueError(f"{scheme} folds cover RAVDESS actors only; not in them: {extra[:5]}")
    partial = [f for f in folds if 0 < len(present.intersection(f)) < len(f)]
    if partial:
        raise ValueError(f"{scheme} fold {partial[0]} is only partly present in the data "
                         f"(have {sorted(present.intersection(partial[0]))}); use scheme "
                         "'actor_folds' for an actor subset")
    kept = tuple(f for f in folds if present.issuperset(f))
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} complete {scheme} fold(s) in the data; need 2 or "
                         "more (use scheme 'actor_folds' or 'holdout')")
    return kept


def superset_actors() -> tuple[str, ...]:
    """The SER Superset's 121 actors, RAVDESS first (the paper's numbering)."""
    return tuple(a for c in naming.CORPORA for a in naming.all_actors(c))


def superset_folds(split_seed: int = 0, actors=None) -> Folds:
    """11 folds × 11 actors over the Superset, balanced by corpus and gender."""
    if actors is not None and set(_actor_set(actors)) != set(superset_actors()):
        raise ValueError(f"scheme 'superset' needs all {len(superset_actors())} Superset actors, "
                         f"got {len(set(actors))}; use scheme 'actor_folds' for a subset")
    return actor_folds(superset_actors(), SUPERSET_N_FOLDS, split_seed, "corpus_gender")


# ---------------------------------------------------------------------------------------------
# Validation actors and splits
# ---------------------------------------------------------------------------------------------

def default_n_val_actors(actors) -> int:
    """About one actor in eleven, at least 2 (one per gender): RAVDESS 24 → 2, Superset → 11."""
    return max(2, int(np.floor(len(actors) / 11 + 0.5)))


def _allocate(n: int, capacity: list[int], proportional: bool, rng) -> list[int]:
    """Splits ``n`` picks over groups of the given capacities: equal shares, or shares
    proportional to capacity (Sainte-Laguë); ties go to the larger group, then by ``rng``."""
    counts = [0] * len(capacity)
    tiebreak = rng.permutation(len(capacity))
    for _ in range(n):
        open_groups = [g for g in range(len(capacity)) if counts[g] < capacity[g]]
        def score(g):
            share = capacity[g] / (2 * counts[g] + 1) if proportional else -counts[g]
            return share, capacity[g], tiebreak[g]
        counts[max(open_groups, key=score)] += 1
    return counts


def validation_actors(train_pool, n_val: int, *, split_seed: int, fold: int,
                      seed: int, speakers=None) -> tuple[str, ...]:
    """``n_val`` actors from ``train_pool`` (one model's training actors, never its test ones),
    split as evenly as possible between genders, within a gender spread over corpora in
    proportion to their actors there, chosen deterministically from (split_seed, fold, seed)."""
    pool = _actor_set(train_pool, "train_pool", speakers)
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or n_val < 0:
        raise ValueError(f"n_val_actors must be a non-negative int, got {n_val!r}")
    if n_val >= len(pool):
        raise ValueError(f"n_val_actors={n_val} leaves no training actors out of {len(pool)}; "
                         f"use n_val_actors < {len(pool)}")
    rng = np.random.default_rng([_check_seed(split_seed, "split_seed"),
                                 _check_seed(fold, "fold"), _check_seed(seed, "seed")])
    by_gender: dict[int, dict[str, list[str]]] = {}
    for actor in pool:
        corpus = actor.partition("/")[0]
        by_gender.setdefault(actor_gender(actor, speakers), {}).setdefault(corpus, []).append(actor)
    genders = sorted(by_gender)
    sizes = [sum(map(len, by_gender[g].values())) for g in genders]
    chosen = []
    for gender, n_gender in zip(genders, _allocate(n_val, sizes, False, rng)):
        corpus_groups = [by_gender[gender][c] for c in sorted(by_gender[gender],
                                                               key=corpus_rank)]
        counts = _allocate(n_gender, [len(g) for g in corpus_groups], True, rng)
        for group, k in zip(corpus_groups, counts):
            chosen += list(rng.choice(np.array(group, dtype=object), size=k, replace=False))
    return tuple(sorted(map(str, chosen), key=actor_sort_key if speakers is None
                        else speaker_sort_key))


def _seeds(seeds) -> tuple[int, ...]:
    seeds = tuple(_check_seed(s, "seed") for s in np.atleast_1d(np.asarray(seeds)).tolist())
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds}")
    return seeds


def _held_out_split(actors, test, fold, seed, n_val_actors, split_seed, speakers=None) -> Split:
    pool = [a for a in actors if a not in set(test)]
    val = validation_actors(pool, n_val_actors, split_seed=split_seed, fold=fold, seed=seed,
                            speakers=speakers)
    train = [a for a in pool if a not in set(val)]
    return Split(fold, seed, train, val, test)


def cv_splits(folds: Folds, seeds=(0,), n_val_actors: int | None = None,
              split_seed: int = 0, speakers=None) -> list[Split]:
    """One Split per (fold, seed), fold-major: fold f's actors test, ``n_val_actors`` of the
    other folds' actors validate (default ``default_n_val_actors``), the rest train."""
    folds = tuple(_actor_set(f, f"fold {i}", speakers) for i, f in enumerate(folds))
    actors = _actor_set([a for f in folds for a in f], "the folds' actors (each in one fold)",
                        speakers)
    if len(folds) < 2 or not all(folds):
        raise ValueError(f"cross-validation needs >= 2 non-empty folds, got sizes "
                         f"{[len(f) for f in folds]}")
    n_val = default_n_val_actors(actors) if n_val_actors is None else n_val_actors
    return [_held_out_split(actors, test, fold, seed, n_val, split_seed, speakers)
            for fold, test in enumerate(folds) for seed in _seeds(seeds)]


def holdout_split(actors, test_actors=PAPER_HOLDOUT_TEST_ACTORS, seeds=(0,),
                  n_val_actors: int | None = None, split_seed: int = 0,
                  speakers=None) -> list[Split]:
    """The paper's holdout (test actors 1–4, train the rest), one Split per seed, fold 0; with
    ``speakers``, a holdout by any speaker list of any corpus."""
    actors = _actor_set(actors, speakers=speakers)
    test = _actor_set(test_actors, "test_actors", speakers)
    missing = sorted(set(test) - set(actors))
    if missing or not test:
        raise ValueError(f"holdout test actors {missing or '(none)'} are not in the data's "
                         f"{len(actors)} actors; set folds.test_actors to actors that exist")
    n_val = default_n_val_actors(actors) if n_val_actors is None else n_val_actors
    return [_held_out_split(actors, test, 0, seed, n_val, split_seed, speakers)
            for seed in _seeds(seeds)]


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def random_split(row_source, row_label, row_actor, row_augmented=None, *, seeds=(0,),
                 split_seed: int = 0, fractions=RANDOM_FRACTIONS) -> list[Split]:
    """The paper's stratified random train/val/test split of *source files* (speaker-dependent).

    Takes FeatureSet rows (str[N] source ids, int[N] labels, str[N] actors, bool[N] augmented);
    only original rows define files. Per class, ``round(n * val)`` files validate,
    ``round(n * test)`` test and the rest train (``fractions`` = (train, val, test)); the file
    partition depends on ``split_seed`` only. ``role_matrix`` then sends augmented copies of
    training files to TRAIN and those of val/test files to UNUSED. Returns one Split per seed,
    fold 0, each marked ``speaker_dependent=True``: results from it are not speaker-independent.
    """
    source = np.asarray(row_source).astype(str)
    label, actor = np.asarray(row_label), np.asarray(row_actor).astype(str)
    aug = np.zeros(len(source), bool) if row_augmented is None else np.asarray(row_augmented)
    if not (source.ndim == 1 and label.shape == actor.shape == aug.shape == source.shape):
        raise ValueError("row_source, row_label, row_actor and row_augmented must be 1-D arrays "
                         "of equal length")
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be (train, val, test) >= 0 summing to 1, got {fractions}")
    source, label, actor = source[~aug], label[~aug], actor[~aug]
    if len(np.unique(source)) != len(source):
        raise ValueError("row_source repeats among original rows; each original row must be "
                         "its own source file")
    rng = np.random.default_rng(_check_seed(split_seed, "split_seed"))
    parts = _stratified_parts(label, source, fractions, rng)
    files = {r: tuple(source[parts[r]]) for r in parts}
    people = {r: sorted(set(actor[parts[r]])) for r in parts}
    return [Split(0, seed, people[TRAIN], people[VAL], people[TEST], speaker_dependent=True,
                  train_files=files[TRAIN], val_files=files[VAL], test_files=files[TEST])
            for seed in _seeds(seeds)]


def _stratified_parts(label: np.ndarray, order_key: np.ndarray, fractions, rng) -> dict:
    """{TRAIN, VAL, TEST: indices}: per class ``round(n * val)`` validate, ``round(n * test)``
    test, the rest train; within a class the items are sorted by ``order_key`` then shuffled."""
    parts = {TRAIN: [], VAL: [], TEST: []}
    for cls in np.unique(label):
        idx = np.flatnonzero(label == cls)
        idx = rng.permutation(idx[np.argsort(order_key[idx])])
        n_val = _round_half_up(len(idx) * fractions[1])
        n_test = _round_half_up(len(idx) * fractions[2])
        parts[TEST] += list(idx[:n_test])
        parts[VAL] += list(idx[n_test:n_test + n_val])
        parts[TRAIN] += list(idx[n_test + n_val:])
    return parts
