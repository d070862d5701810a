"""Folds, splits, role matrix and leakage checks: exact, fast, no audio."""

from collections import Counter
from pathlib import Path

import ml_collections
import numpy as np
import pytest

from serjax.corpora import naming
from serjax.splits import classes, folds, folds_doc, schemes
from serjax.splits.folds import TEST, TRAIN, UNUSED, VAL, LeakageError, Split

RAVDESS = naming.all_actors("ravdess")
SUPERSET = folds.superset_actors()
REAL_RAVDESS = RAVDESS[:12]


def _every_actor_once(assignment, actors):
    flat = [a for f in assignment for a in f]
    assert sorted(flat) == sorted(actors)
    assert len(flat) == len(set(flat))


# --------------------------------------------------------------------------------- fold schemes

def test_ravdess_schemes_cover_each_actor_once_in_six_folds_of_four():
    for scheme in ("consecutive", "emobox"):
        assignment = folds.ravdess_folds(scheme)
        assert [len(f) for f in assignment] == [4] * 6
        _every_actor_once(assignment, RAVDESS)
    # The paper's folds hold 2 male (odd) + 2 female (even) actors each; EmoBox's do not.
    males = [sum(naming.actor_gender(a) for a in f) for f in folds.ravdess_folds("consecutive")]
    assert males == [2] * 6
    assert [sum(naming.actor_gender(a) for a in f)
            for f in folds.ravdess_folds("emobox")] == [3, 0, 3, 3, 1, 2]


def test_consecutive_is_the_papers_folds_and_emobox_is_exact():
    assert folds.ravdess_folds("consecutive")[0] == ("ravdess/01", "ravdess/02", "ravdess/03",
                                                     "ravdess/04")
    assert folds.ravdess_folds("consecutive")[5] == tuple(f"ravdess/{i}" for i in range(21, 25))
    expected = [["01", "11", "20", "21"], ["04", "10", "12", "14"], ["08", "09", "19", "23"],
                ["03", "05", "07", "24"], ["02", "15", "16", "18"], ["06", "13", "17", "22"]]
    assert [[a.split("/")[1] for a in f] for f in folds.ravdess_folds("emobox")] == expected


def test_ravdess_subset_keeps_complete_folds_and_rejects_partial_ones():
    assert folds.ravdess_folds("consecutive", REAL_RAVDESS) == folds.ravdess_folds()[:3]
    with pytest.raises(ValueError, match="only partly present.*actor_folds"):
        folds.ravdess_folds("emobox", REAL_RAVDESS)
    with pytest.raises(ValueError, match="unknown RAVDESS fold scheme"):
        folds.ravdess_folds("random")


def test_superset_has_121_actors_with_the_papers_gender_counts():
    genders = Counter(naming.actor_gender(a) for a in SUPERSET)
    assert len(SUPERSET) == 121 and genders == {naming.MALE: 64, naming.FEMALE: 57}
    assert SUPERSET[:4] == folds.PAPER_HOLDOUT_TEST_ACTORS


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_superset_folds_are_11_by_11_and_balanced(seed):
    assignment = folds.superset_folds(seed)
    assert [len(f) for f in assignment] == [11] * 11
    _every_actor_once(assignment, SUPERSET)
    keys = {
        "corpus_gender": lambda a: (a.split("/")[0], naming.actor_gender(a)),
        "corpus": lambda a: a.split("/")[0],
        "gender": naming.actor_gender,
    }
    for key in keys.values():
        groups = {key(a) for a in SUPERSET}
        for g in groups:
            per_fold = [sum(key(a) == g for a in f) for f in assignment]
            assert max(per_fold) - min(per_fold) <= 1, (g, per_fold)
    # CREMA-D's 48 m / 43 f over 11 folds: 4-5 male and 3-4 female CREMA-D actors per fold.
    crema_f = [sum(a.startswith("crema_d/") and naming.actor_gender(a) == naming.FEMALE
                   for a in f) for f in assignment]
    assert sorted(Counter(crema_f).items()) == [(3, 1), (4, 10)]


def test_superset_folds_are_deterministic_and_depend_on_the_seed():
    assert folds.superset_folds(0) == folds.superset_folds(0)
    assert folds.superset_folds(0) != folds.superset_folds(1)
    # A pure function of the actor *set*: input order does not matter.
    shuffled = list(np.random.default_rng(3).permutation(np.array(SUPERSET)))
    assert folds.actor_folds(shuffled, 11, 0) == folds.superset_folds(0)


def test_actor_folds_on_the_real_ravdess_actors_gives_3_gender_balanced_folds():
    assignment = folds.actor_folds(REAL_RAVDESS, 3, seed=0)
    assert [len(f) for f in assignment] == [4, 4, 4]
    _every_actor_once(assignment, REAL_RAVDESS)
    assert all(sum(naming.actor_gender(a) for a in f) == 2 for f in assignment)
    uneven = folds.actor_folds(REAL_RAVDESS, 5, seed=0, stratify="none")
    assert sorted(len(f) for f in uneven) == [2, 2, 2, 3, 3]


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_folds=13), "more folds than actors"),
    (dict(n_folds=1), "n_folds must be an int >= 2"),
    (dict(n_folds=3, stratify="age"), "unknown stratify"),
    (dict(n_folds=3, seed=-1), "non-negative"),
])
def test_actor_folds_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        folds.actor_folds(REAL_RAVDESS, **kwargs)


def test_actor_folds_rejects_unknown_and_duplicate_actors():
    with pytest.raises(ValueError, match="unknown actor id"):
        folds.actor_folds(["iemocap/1", "ravdess/01"], 2)
    with pytest.raises(ValueError, match="duplicates"):
        folds.actor_folds(["ravdess/01", "ravdess/01", "ravdess/02"], 2)


# ----------------------------------------------------------------------------- splits and seeds

def test_cv_splits_validation_actors_come_from_training_actors_only():
    splits = folds.cv_splits(folds.ravdess_folds("emobox"), seeds=(0, 1, 2), split_seed=0)
    assert [(s.fold, s.seed) for s in splits[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert len(splits) == 18
    for s in splits:
        test_fold = folds.ravdess_folds("emobox")[s.fold]
        assert s.test_actors == test_fold
        assert not set(s.val_actors) & set(test_fold)
        assert sorted(s.train_actors + s.val_actors + s.test_actors) == sorted(RAVDESS)
        assert sorted(naming.actor_gender(a) for a in s.val_actors) == [0, 1]  # 1 f, 1 m
        assert len(s.train_actors) == 18
    # Deterministic from (split seed, fold, seed); seeds see different validation actors.
    again = folds.cv_splits(folds.ravdess_folds("emobox"), seeds=(0, 1, 2), split_seed=0)
    assert again == splits
    assert len({s.val_actors for s in splits if s.fold == 0}) > 1


def test_superset_validation_actors_are_gender_balanced_and_corpus_aware():
    splits = folds.cv_splits(folds.superset_folds(0), seeds=(0,), split_seed=0)
    assert len(splits) == 11
    for s in splits:
        assert len(s.val_actors) == 11 and len(s.train_actors) == 99
        genders = Counter(naming.actor_gender(a) for a in s.val_actors)
        assert sorted(genders.values()) == [5, 6]
        corpus = Counter(a.split("/")[0] for a in s.val_actors)
        # CREMA-D holds ~3/4 of the training actors, so most validation actors.
        assert 7 <= corpus["crema_d"] <= 9 and 1 <= corpus["ravdess"] <= 3


def test_validation_actors_rejects_too_many():
    with pytest.raises(ValueError, match="leaves no training actors"):
        folds.validation_actors(RAVDESS[:4], 4, split_seed=0, fold=0, seed=0)
    assert folds.validation_actors(RAVDESS[:4], 0, split_seed=0, fold=0, seed=0) == ()


def test_holdout_tests_actors_1_to_4_for_ravdess_and_superset():
    for actors, n_val in ((RAVDESS, 2), (SUPERSET, 11)):
        (split,) = folds.holdout_split(actors)
        assert split.test_actors == folds.PAPER_HOLDOUT_TEST_ACTORS
        assert len(split.val_actors) == n_val
        assert len(split.train_actors) == len(actors) - 4 - n_val
    with pytest.raises(ValueError, match="not in the data"):
        folds.holdout_split(RAVDESS[4:])


# --------------------------------------------------------------------------------- role matrix

A, B, C, D, E = (f"ravdess/0{i}" for i in range(1, 6))
ROW_ACTOR = np.array([A, A, B, B, B, C, C, C, D, E])
ROW_AUG = np.array([False, True, False, False, True, False, False, True, False, False])
HAND_SPLITS = [Split(0, 0, [A, D], [B], [C]), Split(1, 0, [C, D], [A], [B])]


def test_role_matrix_on_a_hand_built_table():
    roles = folds.role_matrix(ROW_ACTOR, ROW_AUG, HAND_SPLITS)
    expected = np.array([
        # A orig, A aug, B, B, B aug, C, C, C aug, D, E (in no split)
        [TRAIN, TRAIN, VAL, VAL, UNUSED, TEST, TEST, UNUSED, TRAIN, UNUSED],
        [VAL, UNUSED, TEST, TEST, UNUSED, TRAIN, TRAIN, TRAIN, TRAIN, UNUSED],
    ], np.int8)
    assert roles.dtype == np.int8
    np.testing.assert_array_equal(roles, expected)
    table = folds.model_table(HAND_SPLITS)
    assert table["fold"].tolist() == [0, 1] and table["test_actors"].tolist() == [C, B]
    assert table["val_actors"].tolist() == [B, A]
    assert table["speaker_dependent"].tolist() == [False, False]


@pytest.mark.parametrize("model, row, role, match", [
    (0, 5, TRAIN, r"model 0 \(fold 0 seed 0\): actor 'ravdess/03' holds roles TRAIN and TEST"),
    (0, 7, TEST, r"augmented row 7 \(actor 'ravdess/03'\) is TEST"),
    (1, 4, VAL, r"model 1 .*augmented row 4 .* is VAL"),
    (0, 2, TRAIN, r"actor 'ravdess/02' holds roles TRAIN and VAL"),
    (1, 2, VAL, r"actor 'ravdess/02' holds roles VAL and TEST"),
    (0, 9, TRAIN, r"actor 'ravdess/05' is TRAIN but that actor is not in the split"),
])
def test_leakage_check_catches_hand_corrupted_matrices(model, row, role, match):
    roles = folds.role_matrix(ROW_ACTOR, ROW_AUG, HAND_SPLITS)
    roles[model, row] = role
    with pytest.raises(LeakageError, match=match):
        folds.check_no_leakage(roles, ROW_ACTOR, ROW_AUG, HAND_SPLITS)


def test_leakage_check_catches_whole_actors_in_the_wrong_role():
    roles = folds.role_matrix(ROW_ACTOR, ROW_AUG, HAND_SPLITS)
    roles[0, [5, 6]] = TRAIN                   # every original row of test actor C trains
    with pytest.raises(LeakageError, match="'ravdess/03' is TRAIN but that actor is a TEST"):
        folds.check_no_leakage(roles, ROW_ACTOR, ROW_AUG, HAND_SPLITS)
    roles = folds.role_matrix(ROW_ACTOR, ROW_AUG, HAND_SPLITS)
    roles[1, [2, 3]] = VAL                     # test actor B used for validation
    with pytest.raises(LeakageError, match="'ravdess/02' is VAL but that actor is a TEST"):
        folds.check_no_leakage(roles, ROW_ACTOR, ROW_AUG, HAND_SPLITS)
    with pytest.raises(ValueError, match="roles has shape"):
        folds.check_no_leakage(roles[:1], ROW_ACTOR, ROW_AUG, HAND_SPLITS)


def test_role_matrix_rejects_splits_that_do_not_fit_the_rows():
    with pytest.raises(ValueError, match="has no TEST rows.*ravdess/09"):
        folds.role_matrix(ROW_ACTOR, ROW_AUG, [Split(0, 0, [A], [B], ["ravdess/09"])])
    with pytest.raises(ValueError, match="equal length"):
        folds.role_matrix(ROW_ACTOR, ROW_AUG[:3], HAND_SPLITS)
    with pytest.raises(TypeError, match="row_augmented must be bool"):
        folds.role_matrix(ROW_ACTOR, ROW_AUG.astype(int), HAND_SPLITS)


def test_split_refuses_overlapping_actor_sets():
    with pytest.raises(LeakageError, match="ravdess/01.*TRAIN and TEST"):
        Split(0, 0, [A, B], [], [A])
    with pytest.raises(ValueError, match="non-negative int"):
        Split(-1, 0, [A], [], [B])
    with pytest.raises(ValueError, match="train_files is empty"):
        Split(0, 0, [A], [A], [A], speaker_dependent=True)
    with pytest.raises(ValueError, match="speaker-dependent splits only"):
        Split(0, 0, [A], [], [B], train_files=["x.wav"])
    with pytest.raises(LeakageError, match="source file 'x.wav' is both TRAIN and TEST"):
        Split(0, 0, [A], [], [A], speaker_dependent=True, train_files=["x.wav"],
              test_files=["x.wav"])


# -------------------------------------------------------------------------------- random split

def _random_rows():
    """3 actors × 40 files over 2 classes (70 of class 0, 50 of class 1), plus 1 copy each."""
    n = 120
    source = np.array([f"f{i:03d}.wav" for i in range(n)])
    label = np.where(np.arange(n) < 70, 0, 1)
    actor = np.array([RAVDESS[i % 3] for i in range(n)])
    aug = np.r_[np.zeros(n, bool), np.ones(n, bool)]
    return np.r_[source, source], np.r_[label, label], np.r_[actor, actor], aug


def test_random_split_is_80_10_10_per_class_and_speaker_dependent():
    source, label, actor, aug = _random_rows()
    splits = folds.random_split(source, label, actor, aug, seeds=(0, 1), split_seed=0)
    assert [s.seed for s in splits] == [0, 1]
    assert all(s.speaker_dependent and s.protocol == "speaker-dependent" for s in splits)
    s = splits[0]
    cls = dict(zip(source[:120], label[:120]))
    for files, want in ((s.train_files, {0: 56, 1: 40}), (s.val_files, {0: 7, 1: 5}),
                        (s.test_files, {0: 7, 1: 5})):
        assert dict(Counter(cls[f] for f in files)) == want
    assert splits[1].test_files == s.test_files      # partition depends on split_seed only
    assert folds.random_split(source, label, actor, aug, split_seed=1)[0].test_files \
        != s.test_files
    roles = folds.role_matrix(actor, aug, splits, row_source=source)
    table = folds.model_table(splits)
    assert table["speaker_dependent"].tolist() == [True, True]
    assert set(table["protocol"].tolist()) == {"speaker-dependent"}
    # Originals: 96 / 12 / 12; augmented copies only of training files, the rest unused.
    assert np.bincount(roles[0, :120], minlength=4).tolist() == [0, 96, 12, 12]
    assert np.bincount(roles[0, 120:], minlength=4).tolist() == [24, 96, 0, 0]
    # The same actors train and test: allowed here, and only here.
    assert set(s.train_actors) & set(s.test_actors)


def test_speaker_dependent_check_applies_the_file_rule():
    source, label, actor, aug = _random_rows()
    splits = folds.random_split(source, label, actor, aug)
    roles = folds.role_matrix(actor, aug, splits, row_source=source)
    test_row = int(np.flatnonzero(roles[0] == TEST)[0])
    aug_copy = 120 + test_row
    roles[0, aug_copy] = TEST
    with pytest.raises(LeakageError, match="augmented row"):
        folds.check_no_leakage(roles, actor, aug, splits, row_source=source)
    roles[0, aug_copy] = TRAIN
    with pytest.raises(LeakageError, match=f"source file '{source[test_row]}' holds roles "
                                           "TRAIN and TEST"):
        folds.check_no_leakage(roles, actor, aug, splits, row_source=source)
    with pytest.raises(ValueError, match="pass row_source"):
        folds.role_matrix(actor, aug, splits)


# ----------------------------------------------------------------------------------- config

def test_from_config_builds_every_scheme():
    def build(scheme, actors, **kw):
        return schemes.from_config(schemes.default_folds_config(scheme, **kw), actors, seeds=(0, 1))
    assert len(build("consecutive", RAVDESS)) == 12
    assert build("emobox", RAVDESS)[0].test_actors == folds.ravdess_folds("emobox")[0]
    assert len(build("consecutive", REAL_RAVDESS)) == 6
    assert len(build("superset", SUPERSET)) == 22
    assert len(build("actor_folds", REAL_RAVDESS, n_folds=3)) == 6
    holdout = build("holdout", RAVDESS, test_actors=("ravdess/05", "ravdess/06"))
    assert holdout[0].test_actors == ("ravdess/05", "ravdess/06")
    source, label, actor, aug = _random_rows()
    rows = {"source": source, "label": label, "actor": actor, "augmented": aug}
    cfg = schemes.default_folds_config("random")
    assert all(s.speaker_dependent for s in schemes.from_config(cfg, RAVDESS[:3], rows=rows))


@pytest.mark.parametrize("scheme, actors, kw, match", [
    ("kfold", RAVDESS, {}, "unknown folds.scheme 'kfold'"),
    ("actor_folds", REAL_RAVDESS, dict(n_folds=13), "more folds than actors"),
    ("actor_folds", REAL_RAVDESS, {}, "needs folds.n_folds"),
    ("consecutive", RAVDESS, dict(n_folds=5), "n_folds=5 but scheme 'consecutive' gives 6"),
    ("superset", RAVDESS, {}, "needs all 121 Superset actors"),
    ("random", RAVDESS, {}, "pass rows="),
])
def test_from_config_errors_are_clear(scheme, actors, kw, match):
    with pytest.raises(ValueError, match=match):
        schemes.from_config(schemes.default_folds_config(scheme, **kw), actors)


def test_from_config_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown folds config field"):
        schemes.from_config({"scheme": "consecutive", "nfolds": 6}, RAVDESS)
    with pytest.raises(ValueError, match="unknown folds config field"):
        schemes.default_folds_config("consecutive", seeds=3)


def test_docs_folds_md_matches_the_code():
    doc = Path(__file__).resolve().parents[1] / "docs" / "folds.md"
    assert doc.read_text(encoding="utf-8") == folds_doc.folds_markdown(), (
        "docs/folds.md is stale: run `python -m serjax.splits.folds_doc docs/folds.md`")
    assert "| 0 | 01, 11, 20, 21 |" not in doc.read_text()  # emobox is the second column
    assert "| 0 | 01, 02, 03, 04 | 01, 11, 20, 21 |" in doc.read_text()


# ------------------------------------------------------- speaker folds for any corpus (issue 13)

MINE = {f"mine/s{i}": (i % 2 if i < 8 else folds.UNKNOWN_GENDER) for i in range(10)}


def test_speaker_kfold_balances_known_genders_and_num_folds_is_n_folds():
    splits = schemes.from_config(schemes.default_folds_config("speaker_kfold", num_folds=3),
                                 list(MINE), speakers=MINE)
    tests = [s.test_actors for s in splits]
    assert tests == [("mine/s2", "mine/s5", "mine/s9"),
                     ("mine/s3", "mine/s4", "mine/s6", "mine/s8"),
                     ("mine/s0", "mine/s1", "mine/s7")]
    # 4 female, 4 male, 2 unknown speakers: each group spread over the folds within one
    assert [[sum(MINE[a] == g for a in t) for t in tests] for g in (0, 1, -1)] == \
        [[1, 2, 1], [1, 1, 2], [1, 1, 0]]
    for s in splits:
        assert set(s.val_actors) <= set(MINE) - set(s.test_actors)
        assert sorted(s.train_actors + s.val_actors + s.test_actors) == sorted(MINE)
    same = schemes.from_config(schemes.default_folds_config("speaker_kfold", n_folds=3),
                               list(MINE), speakers=MINE)
    assert same == splits
    with pytest.raises(ValueError, match="num_folds=3 and folds.n_folds=4 disagree"):
        schemes.from_config(schemes.default_folds_config("speaker_kfold", num_folds=3,
                                                         n_folds=4), list(MINE), speakers=MINE)
    with pytest.raises(ValueError, match="needs folds.n_folds .or its other name folds.num_folds"):
        schemes.from_config(schemes.default_folds_config("speaker_kfold"), list(MINE),
                            speakers=MINE)


def test_loso_holds_out_each_speaker_once():
    five = {a: MINE[a] for a in list(MINE)[:5]}
    splits = schemes.from_config(schemes.default_folds_config("loso", num_folds=5), list(five),
                                 seeds=(0, 1), speakers=five)
    assert [(s.fold, s.seed, s.test_actors) for s in splits[:3]] == \
        [(0, 0, ("mine/s0",)), (0, 1, ("mine/s0",)), (1, 0, ("mine/s1",))]
    assert [s.test_actors[0] for s in splits[::2]] == sorted(five)
    assert [(s.val_actors, s.train_actors) for s in splits[::2][:2]] == [
        (("mine/s3", "mine/s4"), ("mine/s1", "mine/s2")),
        (("mine/s3", "mine/s4"), ("mine/s0", "mine/s2"))]
    for s in splits:   # VAL speakers come from the training speakers, one per gender
        assert s.test_actors[0] not in s.val_actors + s.train_actors
        assert sorted(MINE[a] for a in s.val_actors) in ([0, 1], [-1, 0], [-1, 1])


def test_holdout_by_a_speaker_list_and_clear_errors_for_other_corpora():
    splits = schemes.from_config(
        schemes.default_folds_config("holdout", test_actors=("s1", " mine/s2")), list(MINE),
        seeds=(0,), speakers=MINE)
    assert splits[0].test_actors == ("mine/s1", "mine/s2") and len(splits[0].val_actors) == 2
    with pytest.raises(ValueError, match=r"test_actors \['s42'\] are not speakers of the data"):
        schemes.from_config(schemes.default_folds_config("holdout", test_actors=("s42",)),
                            list(MINE), speakers=MINE)
    with pytest.raises(ValueError, match="holds the Kaggle corpora's actors, not 'mine/s0'.*"
                                         "speaker_kfold"):
        schemes.from_config(schemes.default_folds_config("consecutive"), list(MINE),
                            speakers=MINE)
    with pytest.raises(ValueError, match="unknown actor id 'mine/s99'"):   # not in the data
        folds.actor_folds(["mine/s1", "mine/s99"], 2, speakers=MINE)
    with pytest.raises(ValueError, match="speaker of the rows of 'mine/\\?' is unknown"):
        schemes.from_config(schemes.default_folds_config("loso"), ["mine/?", "mine/s1"],
                            speakers={"mine/?": -1, "mine/s1": 1})


def _given_rows(speaker_of: dict[str, str]):
    """Rows of a given-folds corpus: key k, source 'c/k', its actor, classes 0/1 alternating."""
    keys = np.array(sorted(speaker_of))
    return {"key": keys, "source": np.char.add("c/", keys),
            "actor": np.array([f"c/{speaker_of[k]}" for k in keys]),
            "label": np.arange(len(keys)) % 2, "augmented": np.zeros(len(keys), bool)}


class _Fold:
    def __init__(self, name, train, test, valid=()):
        self.name, self.train, self.test, self.valid = name, train, test, valid


def _given(rows, given, **kw):
    speakers = {str(a): folds.UNKNOWN_GENDER for a in rows["actor"]}
    return schemes.given_from_config(schemes.default_folds_config("given", **kw), given, rows,
                                     seeds=(0,), speakers=speakers)


def test_given_speaker_disjoint_folds_are_speaker_independent():
    rows = _given_rows({f"{s}{i}": s for s in "abcdef" for i in range(4)})
    keys = list(rows["key"])
    def fold(test):
        return _Fold("f", [k for k in keys if k[0] not in test], [k for k in keys if k[0] in test])
    out = _given(rows, [fold("ab"), fold("cd"), fold("ef")])
    assert out.protocol.startswith("speaker-independent (given folds; VAL speakers drawn")
    assert [(s.test_actors, s.speaker_dependent) for s in out.splits] == [
        (("c/a", "c/b"), False), (("c/c", "c/d"), False), (("c/e", "c/f"), False)]
    for s in out.splits:
        assert len(s.val_actors) == 2 and not set(s.val_actors) & set(s.test_actors)
    roles = folds.role_matrix(rows["actor"], rows["augmented"], out.splits, rows["source"])
    assert (roles == TEST).sum(1).tolist() == [8, 8, 8]


def test_given_folds_sharing_or_hiding_speakers_are_labelled_and_validate_on_train_files():
    shared = _given_rows({f"{s}{i}": s for s in "abc" for i in range(10)})
    keys = list(shared["key"])
    given = [_Fold("f1", [k for k in keys if int(k[1]) >= 5], [k for k in keys if int(k[1]) < 5]),
             _Fold("f2", [k for k in keys if int(k[1]) < 5], [k for k in keys if int(k[1]) >= 5])]
    out = _given(shared, given, val_fraction=0.2)
    assert out.protocol == ("speaker-dependent (given folds share speakers between TRAIN and "
                            "TEST: fold 1 shares 3); VAL = 20% of each fold's TRAIN files, "
                            "class-stratified, seeded")
    s = out.splits[0]
    assert s.speaker_dependent and s.test_files == tuple(f"c/{k}" for k in given[0].test)
    # fold 1 trains 15 files, 6 of class 0 and 9 of class 1: round(1.2) + round(1.8) validate
    assert len(s.val_files) == 3 and set(s.val_files) <= {f"c/{k}" for k in given[0].train}
    assert sorted(shared["label"][np.isin(shared["source"], s.val_files)]) == [0, 1, 1]
    assert s.val_files == ("c/a9", "c/b8", "c/c9")
    roles = folds.role_matrix(shared["actor"], shared["augmented"], out.splits, shared["source"])
    assert (roles == VAL).sum(1).tolist() == [3, 3] and (roles == TRAIN).sum(1).tolist() == [12, 12]
    hidden = _given_rows({f"k{i}": "?" for i in range(6)})
    out = _given(hidden, [_Fold("f1", ["k2", "k3", "k4", "k5"], ["k0", "k1"], ["k5"])])
    assert out.protocol.startswith("speakers unknown (the corpus's files do not say")
    assert out.protocol.endswith("VAL = the corpus's validation lists")
    assert (out.splits[0].train_files, out.splits[0].val_files) == \
        (("c/k2", "c/k3", "c/k4"), ("c/k5",))
    with pytest.raises(LeakageError, match="row 'c/k1' is listed for TEST and for TRAIN/VAL"):
        _given(hidden, [_Fold("f1", ["k1", "k2"], ["k0", "k1"])])


def test_labels_choose_order_and_merge_the_corpus_names():
    names = ("anger", "boredom", "neutral", "sadness")
    assert classes.resolve((), names) == (names, {n: i for i, n in enumerate(names)})
    assert classes.resolve(("neutral", "anger"), names) == (("neutral", "anger"),
                                                            {"neutral": 0, "anger": 1})
    merged = classes.resolve(("neutral", "low=boredom+sadness"), names)
    assert merged == (("neutral", "low"), {"neutral": 0, "boredom": 1, "sadness": 1})
    assert classes.resolve({"neutral": "neutral", "low": ("boredom", "sadness")}, names) == merged
    assert classes.resolve(naming.LABELS, naming.LABELS)[1] == naming.LABEL_INDEX
    with pytest.raises(ValueError, match=r"'calm' is not a label of this corpus; its labels are "
                                         r"\['anger', 'boredom', 'neutral', 'sadness'\]"):
        classes.resolve(("neutral", "calm"), names)
    with pytest.raises(ValueError, match="'anger' feeds both 'anger' and 'bad'"):
        classes.resolve(("anger", "bad=anger+sadness"), names)
    with pytest.raises(ValueError, match="two classes or more"):
        classes.resolve(("all=anger+boredom+neutral+sadness",), names)
    config = ml_collections.ConfigDict({"labels": ("neutral", "anger"),
                                        "data": {"labels": None}})
    assert classes.spec_of(config) == ("neutral", "anger")
    config.data.labels = {"low": ["boredom", "sadness"], "neutral": "neutral"}
    assert classes.resolve(classes.spec_of(config), names)[0] == ("low", "neutral")
