"""Two more split protocols for ``config.folds.scheme``, built on ``serjax.splits.folds``.

* ``leaky``: the authors' code as it ran: augment first, then a stratified random split of the
  *rows*, so augmented copies of test files train. Labelled ``LEAKY_PROTOCOL`` ("leaky
  (speaker-dependent, augmented before split)") in every output; it exists only so the gap
  between it and the speaker-independent protocols is measured, not argued.
* ``corpus_split``: cross-corpus; every actor of ``folds.test_corpora`` tests, validation
  actors come from the other corpora, the rest train.
"""

from __future__ import annotations

import numpy as np

from serjax.corpora import naming
from serjax.splits.folds import (
    RANDOM_FRACTIONS,
    TEST,
    TRAIN,
    VAL,
    Split,
    _actor_set,
    _check_seed,
    _held_out_split,
    _seeds,
    _stratified_parts,
    default_n_val_actors,
)
from serjax.splits.roles import leaky_row_keys


def leaky_split(row_source, row_label, row_actor, row_augmented, *, seeds=(0,),
                split_seed: int = 0, fractions=RANDOM_FRACTIONS) -> list[Split]:
    """The authors' procedure, kept only to measure its leak: augment first, then a stratified
    random train/val/test split of the *rows* (originals and augmented copies alike).

    A test file's augmented copy can train, and augmented copies can validate and test; the
    same speakers are in every role. Rows are identified by ``leaky_row_keys``; the partition
    depends on ``split_seed`` only. Returns one Split per seed, fold 0, ``leaky=True``.
    """
    source = np.asarray(row_source).astype(str)
    label, actor = np.asarray(row_label), np.asarray(row_actor).astype(str)
    aug = np.asarray(row_augmented, bool)
    if not (source.ndim == 1 and label.shape == actor.shape == aug.shape == source.shape):
        raise ValueError("row_source, row_label, row_actor and row_augmented must be 1-D arrays "
                         "of equal length")
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be (train, val, test) >= 0 summing to 1, got {fractions}")
    keys = leaky_row_keys(source, aug)
    rng = np.random.default_rng(_check_seed(split_seed, "split_seed"))
    parts = _stratified_parts(label, keys, fractions, rng)
    files = {r: tuple(keys[parts[r]]) for r in parts}
    people = {r: sorted(set(actor[parts[r]])) for r in parts}
    return [Split(0, seed, people[TRAIN], people[VAL], people[TEST], speaker_dependent=True,
                  train_files=files[TRAIN], val_files=files[VAL], test_files=files[TEST],
                  leaky=True)
            for seed in _seeds(seeds)]


def corpus_split(actors, test_corpora, seeds=(0,), n_val_actors: int | None = None,
                 split_seed: int = 0) -> list[Split]:
    """Cross-corpus: every actor of ``test_corpora`` tests; ``n_val_actors`` of the other
    corpora's actors validate (default ``default_n_val_actors``), the rest train. One Split per
    seed, fold 0 (e.g. train CREMA-D + RAVDESS, test SAVEE + TESS)."""
    actors = _actor_set(actors)
    test_corpora = (test_corpora.split(",") if isinstance(test_corpora, str)
                    else list(test_corpora))
    test_corpora = [c.strip() for c in test_corpora if c.strip()]
    unknown = sorted(set(test_corpora) - set(naming.CORPORA))
    if unknown or not test_corpora:
        raise ValueError(f"folds.test_corpora={test_corpora}: name one or more of "
                         f"{naming.CORPORA} (e.g. savee,tess)")
    test = [a for a in actors if a.partition("/")[0] in test_corpora]
    pool = [a for a in actors if a.partition("/")[0] not in test_corpora]
    if not test or not pool:
        present = sorted({a.partition("/")[0] for a in actors})
        raise ValueError(f"corpus_split needs actors of the test corpora {test_corpora} and of "
                         f"at least one other corpus; the data has corpora {present}")
    n_val = default_n_val_actors(pool) if n_val_actors is None else n_val_actors
    return [_held_out_split(actors, test, 0, seed, n_val, split_seed) for seed in _seeds(seeds)]
