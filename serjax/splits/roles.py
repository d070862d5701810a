"""Splits, the role matrix and the leakage check.

A ``Split`` says, for one model, which actors train, validate and test. ``role_matrix`` turns a
list of splits (one per model: folds × seeds, later × arms) into ``int8[M, N]`` over FeatureSet
rows, and ``check_no_leakage`` proves the matrix honest before anything trains on it:

* an actor holds at most one of TRAIN / VAL / TEST within one model;
* augmented rows are TRAIN or UNUSED, never VAL or TEST (they inherit their source's actor);
* every non-UNUSED row agrees with its model's split (a test actor never trains or validates).

The paper's random 80/10/10 split is *speaker-dependent* (one actor's files land in all three
roles); such splits carry ``speaker_dependent=True`` and file sets instead, and for them only
the augmented-row rule and the file-level rule (no source file in two roles) apply.

The authors' own procedure (augment first, then split the *rows* at random) exists only as
``leaky=True`` splits, to measure the gap it causes: their file sets hold row keys
(``leaky_row_keys``: source id + copy rank), so an augmented copy of a test file may train
and augmented rows may test. Leaky splits are exempt from the augmented-row rule and say
``LEAKY_PROTOCOL`` wherever their protocol is printed.

Pure NumPy; no audio, no JAX.
"""

from __future__ import annotations

import dataclasses

import numpy as np

UNUSED, TRAIN, VAL, TEST = 0, 1, 2, 3
ROLE_NAMES = {UNUSED: "UNUSED", TRAIN: "TRAIN", VAL: "VAL", TEST: "TEST"}
ROLE_DTYPE = np.int8
LEAKY_PROTOCOL = "leaky (speaker-dependent, augmented before split)"


class LeakageError(ValueError):
    """A role assignment that would let held-out speakers or files inform training."""


def _sorted_names(names, what: str) -> tuple[str, ...]:
    if isinstance(names, str):
        raise TypeError(f"{what} must be a sequence of ids, got the single string {names!r}")
    out = tuple(sorted(str(n) for n in names))
    if len(set(out)) != len(out):
        dups = sorted({n for n in out if out.count(n) > 1})
        raise ValueError(f"{what} lists {dups} more than once")
    return out


def _first_overlap(sets: dict[str, tuple[str, ...]]) -> tuple[str, str, str] | None:
    """(name, role a, role b) for the first id found in two of ``sets``, else None."""
    roles = list(sets)
    for i, a in enumerate(roles):
        for b in roles[i + 1:]:
            common = sorted(set(sets[a]) & set(sets[b]))
            if common:
                return common[0], a, b
    return None


@dataclasses.dataclass(frozen=True)
class Split:
    """Who trains, validates and tests for one model (one row of the role matrix).

    ``fold`` indexes the held-out fold (0 for holdout and random splits); ``seed`` is the model
    seed. Actor tuples are stored sorted. A speaker-independent split (the default) must have
    disjoint actor sets. A ``speaker_dependent`` split (the paper's random file split) assigns
    *source files* instead (``train_files`` / ``val_files`` / ``test_files``, disjoint); its
    actor tuples then only record which actors have files in each role, and overlap.
    """

    fold: int
    seed: int
    train_actors: tuple[str, ...]
    val_actors: tuple[str, ...]
    test_actors: tuple[str, ...]
    speaker_dependent: bool = False
    train_files: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    val_files: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    test_files: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    leaky: bool = False  # row-level split after augmentation (the authors' procedure)

    def __post_init__(self):
        for name in ("fold", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Split.{name} must be a non-negative int, got {value!r}")
            object.__setattr__(self, name, int(value))
        object.__setattr__(self, "speaker_dependent", bool(self.speaker_dependent))
        object.__setattr__(self, "leaky", bool(self.leaky))
        if self.leaky and not self.speaker_dependent:
            raise ValueError(f"{self.name}: a leaky split is speaker-dependent; pass "
                             "speaker_dependent=True (build it with folds.leaky_split)")
        for field in ("train_actors", "val_actors", "test_actors",
                      "train_files", "val_files", "test_files"):
            object.__setattr__(self, field, _sorted_names(getattr(self, field), f"Split.{field}"))
        if self.speaker_dependent:
            if not self.train_files:
                raise ValueError(f"{self.name}: a speaker-dependent split assigns source files; "
                                 "train_files is empty (build it with folds.random_split)")
            clash = _first_overlap({"TRAIN": self.train_files, "VAL": self.val_files,
                                    "TEST": self.test_files})
            if clash:
                raise LeakageError(f"{self.name}: source file {clash[0]!r} is both "
                                   f"{clash[1]} and {clash[2]}")
            return
        if self.train_files or self.val_files or self.test_files:
            raise ValueError(f"{self.name}: file sets belong to speaker-dependent splits only; "
                             "pass speaker_dependent=True or drop the *_files fields")
        if not self.train_actors:
            raise ValueError(f"{self.name}: no training actors")
        clash = _first_overlap({"TRAIN": self.train_actors, "VAL": self.val_actors,
                                "TEST": self.test_actors})
        if clash:
            raise LeakageError(f"{self.name}: actor {clash[0]!r} is both {clash[1]} and "
                               f"{clash[2]}")

    @property
    def name(self) -> str:
        """Human-readable model name used in errors and tables, e.g. ``fold 2 seed 0``."""
        tag = (" [leaky]" if self.leaky else
               " [speaker-dependent]" if self.speaker_dependent else "")
        return f"fold {self.fold} seed {self.seed}{tag}"

    @property
    def protocol(self) -> str:
        if self.leaky:
            return LEAKY_PROTOCOL
        return "speaker-dependent" if self.speaker_dependent else "speaker-independent"


# ---------------------------------------------------------------------------------------------
# Role matrix
# ---------------------------------------------------------------------------------------------

def _check_rows(row_actor, row_augmented, row_source):
    row_actor = np.asarray(row_actor).astype(str)
    row_augmented = np.asarray(row_augmented)
    if row_actor.ndim != 1 or row_augmented.shape != row_actor.shape:
        raise ValueError(f"row_actor and row_augmented must be 1-D of equal length, got shapes "
                         f"{row_actor.shape} and {row_augmented.shape}")
    if row_augmented.dtype != bool:
        raise TypeError(f"row_augmented must be bool, got {row_augmented.dtype}")
    if row_source is not None:
        row_source = np.asarray(row_source).astype(str)
        if row_source.shape != row_actor.shape:
            raise ValueError(f"row_source has shape {row_source.shape}, expected "
                             f"{row_actor.shape} (one source file id per row)")
    return row_actor, row_augmented, row_source


def leaky_row_keys(row_source, row_augmented) -> np.ndarray:
    """str[N] id of every row for leaky splits: ``"<source>#<k>"``, k = the row's rank among
    the rows of its source file (original first, then augmented copies in row order)."""
    source = np.asarray(row_source).astype(str)
    augmented = np.asarray(row_augmented, bool)
    order = np.lexsort((np.arange(len(source)), augmented, source))
    sorted_source = source[order]
    starts = np.r_[True, sorted_source[1:] != sorted_source[:-1]] if len(source) else []
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(source)), 0))
    rank = np.empty(len(source), np.int64)
    rank[order] = np.arange(len(source)) - group_start
    return np.char.add(np.char.add(source, "#"), rank.astype(str))


def _expected_roles(splits: list[Split], keys: np.ndarray, by_files: bool) -> np.ndarray:
    """int8[M, K]: the role each split gives each of the sorted unique ``keys`` (actor or file
    ids); rows of speaker-dependent splits when ``by_files`` else of the others stay UNUSED."""
    expected = np.zeros((len(splits), len(keys)), ROLE_DTYPE)
    for m, split in enumerate(splits):
        if split.speaker_dependent != by_files:
            continue
        sets = ((split.train_files, split.val_files, split.test_files) if by_files
                else (split.train_actors, split.val_actors, split.test_actors))
        for role, names in zip((TRAIN, VAL, TEST), sets):
            if not names or not len(keys):
                continue
            names = np.asarray(names)
            idx = np.minimum(np.searchsorted(keys, names), len(keys) - 1)
            present = keys[idx] == names
            expected[m, idx[present]] = role
    return expected


def _need_sources(splits, row_source):
    if row_source is None and any(s.speaker_dependent for s in splits):
        raise ValueError("speaker-dependent (random) splits assign source files: pass row_source "
                         "(per row, the id of the original file it was made from)")


def role_matrix(row_actor, row_augmented, splits: list[Split], row_source=None) -> np.ndarray:
    """int8[M, N] roles for M = len(splits) models over N FeatureSet rows.

    Args:
      row_actor: str[N], each row's actor id (augmented copies inherit their source's actor).
      row_augmented: bool[N], True for augmented copies.
      splits: one Split per model; row m of the result belongs to ``splits[m]``.
      row_source: str[N], each row's source-file id (an augmented copy carries its source's id);
        needed only for speaker-dependent splits.

    Original rows take their actor's role (their file's role for speaker-dependent splits);
    augmented rows are TRAIN when that role is TRAIN and UNUSED otherwise. Rows of actors (files)
    the split does not name are UNUSED. The result passes ``check_no_leakage`` or this raises.
    """
    if not splits:
        raise ValueError("role_matrix needs at least one Split")
    row_actor, row_augmented, row_source = _check_rows(row_actor, row_augmented, row_source)
    _need_sources(splits, row_source)
    actors, actor_code = np.unique(row_actor, return_inverse=True)
    roles = _expected_roles(splits, actors, by_files=False)[:, actor_code]
    if row_source is not None:
        files, file_code = np.unique(row_source, return_inverse=True)
        by_file = _expected_roles(splits, files, by_files=True)[:, file_code]
        sd = np.array([s.speaker_dependent for s in splits])
        roles[sd] = by_file[sd]
    leaky = np.array([s.leaky for s in splits])
    if leaky.any():
        keys, key_code = np.unique(leaky_row_keys(row_source, row_augmented), return_inverse=True)
        roles[leaky] = _expected_roles(splits, keys, by_files=True)[:, key_code][leaky]
    aug = row_augmented[None, :] & ~leaky[:, None]
    roles = np.where(aug & (roles != TRAIN), UNUSED, roles).astype(ROLE_DTYPE)
    check_no_leakage(roles, row_actor, row_augmented, splits, row_source)
    _require_rows(roles, splits)
    return roles


def _require_rows(roles: np.ndarray, splits: list[Split]) -> None:
    """A model with no training or no test rows means the splits do not fit the data."""
    for role, field in ((TRAIN, "train"), (VAL, "val"), (TEST, "test")):
        empty = ~(roles == role).any(axis=1)
        for m in np.flatnonzero(empty):
            named = getattr(splits[m], f"{field}_files" if splits[m].speaker_dependent
                            else f"{field}_actors")
            if named:
                raise ValueError(f"model {m} ({splits[m].name}) has no {ROLE_NAMES[role]} rows: "
                                 f"its {field} set {list(named[:4])} has no rows in the data; "
                                 "build the splits from the data's own actors")


def model_table(splits: list[Split]) -> dict[str, np.ndarray]:
    """Columns over the M models: ``model, fold, seed`` (int32), ``speaker_dependent``, ``leaky``
    (bool), ``protocol`` (str), ``n_train_actors, n_val_actors, n_test_actors`` (int32) and
    ``train_actors, val_actors, test_actors`` (str, ids joined by spaces)."""
    def col(fn, dtype):
        return np.array([fn(s) for s in splits], dtype=dtype)
    return {
        "model": np.arange(len(splits), dtype=np.int32),
        "fold": col(lambda s: s.fold, np.int32),
        "seed": col(lambda s: s.seed, np.int32),
        "speaker_dependent": col(lambda s: s.speaker_dependent, bool),
        "leaky": col(lambda s: s.leaky, bool),
        "protocol": col(lambda s: s.protocol, str),
        "n_train_actors": col(lambda s: len(s.train_actors), np.int32),
        "n_val_actors": col(lambda s: len(s.val_actors), np.int32),
        "n_test_actors": col(lambda s: len(s.test_actors), np.int32),
        "train_actors": col(lambda s: " ".join(s.train_actors), str),
        "val_actors": col(lambda s: " ".join(s.val_actors), str),
        "test_actors": col(lambda s: " ".join(s.test_actors), str),
    }


# ---------------------------------------------------------------------------------------------
# Leakage check
# ---------------------------------------------------------------------------------------------

def _roles_per_key(roles: np.ndarray, code: np.ndarray, n_keys: int) -> np.ndarray:
    """bool[M, K, 3]: whether key k (actor or file) has any row of TRAIN / VAL / TEST in model m."""
    m_count = roles.shape[0]
    flat = (np.arange(m_count)[:, None] * n_keys + code[None, :]) * 4 + roles
    counts = np.bincount(flat.ravel(), minlength=m_count * n_keys * 4)
    return counts.reshape(m_count, n_keys, 4)[:, :, 1:] > 0


def _raise_two_roles(present, mask, keys, splits, what):
    multi = (present.sum(-1) > 1) & mask[:, None]
    if multi.any():
        m, k = np.argwhere(multi)[0]
        held = [ROLE_NAMES[r + 1] for r in range(3) if present[m, k, r]]
        raise LeakageError(f"model {m} ({splits[m].name}): {what} {str(keys[k])!r} holds roles "
                           f"{' and '.join(held)}; each {what} may hold one role per model")


def _raise_disagreement(roles, expected, mask, row_names, splits, what):
    wrong = (roles != UNUSED) & (roles != expected) & mask[:, None]
    if wrong.any():
        m, i = np.argwhere(wrong)[0]
        want = ROLE_NAMES[int(expected[m, i])]
        want = "not in the split" if want == "UNUSED" else f"a {want} {what}"
        raise LeakageError(f"model {m} ({splits[m].name}): row {i} of {what} "
                           f"{str(row_names[i])!r} is {ROLE_NAMES[int(roles[m, i])]} but that "
                           f"{what} is {want}")


def check_no_leakage(roles, row_actor, row_augmented, models: list[Split],
                     row_source=None) -> None:
    """Raises LeakageError (naming the model and the actor, file or row) unless:

    * no augmented row is VAL or TEST (every model but leaky ones, whose rows are split);
    * speaker-independent models: no actor holds two of TRAIN / VAL / TEST, and every
      non-UNUSED row's role is its actor's role in the split (so no test or validation actor
      reaches training, no test actor reaches validation);
    * speaker-dependent models: no source file holds two roles and every non-UNUSED row's role
      is its source file's role in the split (needs ``row_source``);
    * leaky models: every non-UNUSED row's role is its row key's role (``leaky_row_keys``).

    Args: ``roles`` int8[M, N]; ``row_actor`` str[N]; ``row_augmented`` bool[N]; ``models`` the
    M splits; ``row_source`` str[N] (for speaker-dependent models).
    """
    row_actor, row_augmented, row_source = _check_rows(row_actor, row_augmented, row_source)
    roles = np.asarray(roles)
    if roles.shape != (len(models), len(row_actor)):
        raise ValueError(f"roles has shape {roles.shape}, expected (models, rows) = "
                         f"{(len(models), len(row_actor))}")
    if not np.issubdtype(roles.dtype, np.integer) or roles.size and (
            roles.min() < UNUSED or roles.max() > TEST):
        raise ValueError("roles must be integers in {UNUSED=0, TRAIN=1, VAL=2, TEST=3}")
    roles = roles.astype(np.int64)
    _need_sources(models, row_source)

    leaky = np.array([s.leaky for s in models], dtype=bool)
    bad_aug = (row_augmented[None, :] & ~leaky[:, None]) & ((roles == VAL) | (roles == TEST))
    if bad_aug.any():
        m, i = np.argwhere(bad_aug)[0]
        raise LeakageError(f"model {m} ({models[m].name}): augmented row {i} (actor "
                           f"{str(row_actor[i])!r}) is {ROLE_NAMES[int(roles[m, i])]}; augmented "
                           "copies may only be TRAIN or UNUSED")

    sd = np.array([s.speaker_dependent for s in models], dtype=bool)
    actors, actor_code = np.unique(row_actor, return_inverse=True)
    _raise_two_roles(_roles_per_key(roles, actor_code, len(actors)), ~sd, actors, models,
                     "actor")
    expected = _expected_roles(models, actors, by_files=False)[:, actor_code]
    _raise_disagreement(roles, expected, ~sd, row_actor, models, "actor")
    by_file = sd & ~leaky
    if by_file.any():
        files, file_code = np.unique(row_source, return_inverse=True)
        _raise_two_roles(_roles_per_key(roles, file_code, len(files)), by_file, files, models,
                         "source file")
        expected = _expected_roles(models, files, by_files=True)[:, file_code]
        _raise_disagreement(roles, expected, by_file, row_source, models, "source file")
    if leaky.any():
        row_keys = leaky_row_keys(row_source, row_augmented)
        keys, key_code = np.unique(row_keys, return_inverse=True)
        expected = _expected_roles(models, keys, by_files=True)[:, key_code]
        _raise_disagreement(roles, expected, leaky, row_keys, models, "row")
