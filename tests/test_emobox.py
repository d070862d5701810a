"""EmoBox corpora: an EmoBox-format folder made here runs its given folds end to end and writes
EmoBox-format predictions; speakers from file names; protocols labelled; bad folders named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _listed_corpora import write_emobox, write_jsonl
from conftest import write_wav

from serjax import config as config_lib
from serjax import experiment
from serjax.corpora import emobox, manifest, naming
from serjax.features import precompute
from serjax.splits import grid_inputs
from serjax.splits.roles import TEST, TRAIN, UNUSED, VAL

EMOS = {"01": "Neutral", "03": "Happy", "04": "Sad", "05": "Angry"}
LABEL_MAP = {"Neutral": "Neutral", "Happy": "Happy", "Sad": "Sad", "Angry": "Angry"}


def _ravdess_records(audio_root, actors=("01", "02", "03", "04", "05", "06")) -> list[dict]:
    """EmoBox-style lines for RAVDESS-named sine-wave files (4 emotions × 2 statements)."""
    records = []
    for actor in actors:
        for i, (code, emo) in enumerate(EMOS.items()):
            for statement in ("01", "02"):
                name = f"03-01-{code}-01-{statement}-01-{actor}"
                wav = f"downloads/ravdess/Actor_{actor}/{name}.wav"
                write_wav(audio_root / wav, 16_000, seconds=0.5,
                          freq=120 + 30 * i + 5 * int(actor) + 2 * int(statement))
                records.append({"key": f"ravdess-{name}", "dataset": "ravdess", "wav": wav,
                                "type": "raw", "sample_rate": 16000, "num_frame": 8000,
                                "task": "category", "length": 0.5, "emo": emo, "channel": 1})
    return records


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(EmoBox folder with 3 speaker-disjoint folds, audio root, records, cache dir)."""
    root = tmp_path_factory.mktemp("emobox_audio")
    records = _ravdess_records(root)
    folds = [[r["key"] for r in records if r["key"][-2:] in pair]
             for pair in (("01", "04"), ("02", "05"), ("03", "06"))]
    folder = write_emobox(tmp_path_factory.mktemp("emobox") / "ravdess", "ravdess", records,
                          folds, LABEL_MAP)
    return folder, root, records, tmp_path_factory.mktemp("emobox_cache")


def _config(folder, root, cache, *overrides):
    return config_lib.load_config("emobox_cv", [
        f"--config.data.emobox_dir={folder}", f"--config.data.audio_root={root}",
        f"--config.data.cache_dir={cache}", "--config.seeds=1", "--config.features.workers=1",
        "--config.train.epochs=2", *overrides])


def test_reads_rows_speakers_and_folds(corpus):
    folder, root, _, _ = corpus
    m = emobox.read(folder, root)
    assert m.name == "ravdess" and len(m.rows) == 48
    assert m.label_names == ("Angry", "Happy", "Neutral", "Sad")
    assert {manifest.speaker_genders(m)[f"ravdess/{a}"] for a in ("01", "03")} == {naming.MALE}
    assert manifest.speaker_genders(m)["ravdess/02"] == naming.FEMALE
    assert m.rows[0].key == "ravdess-03-01-01-01-01-01-01" and m.rows[0].speaker == "01"
    given = emobox.read_folds(folder, [r.key for r in m.rows])
    assert [f.name for f in given] == ["fold_1", "fold_2", "fold_3"]
    assert [(len(f.train), len(f.test), f.valid) for f in given] == [(32, 16, ())] * 3


def test_speakers_from_file_names():
    assert emobox.speaker_from_name("ravdess", "x/Actor_11/03-01-07-02-02-02-11.wav") == \
        ("11", naming.MALE)
    assert emobox.speaker_from_name("emodb", "wav/03a01Fa.wav") == ("03", naming.MALE)
    assert emobox.speaker_from_name("emodb", "wav/16b10Td.wav") == ("16", naming.FEMALE)
    assert emobox.speaker_from_name("cremad", "AudioWAV/1091_TIE_SAD_XX.wav")[0] == "1091"
    assert emobox.speaker_from_name("iemocap", "Ses01F_impro01_F000.wav") is None


def test_bad_emobox_folders_say_what_to_fix(corpus, tmp_path):
    folder, root, records, _ = corpus
    bad = write_emobox(tmp_path / "ravdess", "ravdess", records, [[records[0]["key"]]],
                       {"Neutral": "Neutral"})
    with pytest.raises(manifest.ManifestError, match=r"line 3: emo 'Happy' is not in "
                                                     r"label_map.json .*add it there"):
        emobox.read(bad, root)
    (bad / "fold_1" / "ravdess_test_fold_1.jsonl").unlink()
    with pytest.raises(manifest.ManifestError, match="ravdess_test_fold_1.jsonl is missing"):
        emobox.read_folds(bad)
    write_jsonl(bad / "fold_1" / "ravdess_test_fold_1.jsonl", [{"key": "nope"}])
    with pytest.raises(manifest.ManifestError, match="key 'nope' is not in the corpus file"):
        emobox.read_folds(bad, [r["key"] for r in records])
    with pytest.raises(manifest.ManifestError, match="data.audio_root=.* is not a folder"):
        emobox.read(folder, tmp_path / "absent")


def test_given_folds_run_end_to_end_and_write_emobox_predictions(corpus, tmp_path):
    folder, root, records, cache = corpus
    summary = experiment.run_cv(_config(folder, root, cache), tmp_path, progress=False)
    assert summary["protocol"].startswith("speaker-independent (given folds")
    assert summary["labels"] == ["Angry", "Happy", "Neutral", "Sad"]
    assert [m["n_test"] for m in summary["models"]] == [16, 16, 16]
    report = (tmp_path / "report.md").read_text()
    assert "Protocol: speaker-independent (given folds" in report and "UA (UAR)" in report
    emo = {r["key"]: LABEL_MAP[r["emo"]] for r in records}
    for k, pair in enumerate((("01", "04"), ("02", "05"), ("03", "06")), 1):
        out = tmp_path / "emobox" / f"fold_{k}" / "seed_0"
        preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().split("\n")
                 if line]
        labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().split("\n")
                  if line]
        assert sorted(p["key"] for p in preds) == sorted(r for r in emo if r[-2:] in pair)
        assert [p["key"] for p in preds] == [x["key"] for x in labels]
        assert all(x["label"] == emo[x["key"]] for x in labels)
        assert {p["pred"] for p in preds} <= set(summary["labels"])
        hits = np.mean([p["pred"] == x["label"] for p, x in zip(preds, labels)])
        assert hits == pytest.approx(summary["models"][k - 1]["accuracy"])



def test_a_baseline_on_emobox_folds_labels_the_protocol_and_writes_emobox_predictions(
        corpus, tmp_path):
    """Baselines report through the same function as SER-FusionNet: same protocol label, same
    EmoBox prediction files."""
    folder, root, records, cache = corpus
    summary = experiment.run_cv(
        _config(folder, root, cache, "--config.baseline.kind=linear_svm"), tmp_path,
        progress=False)
    assert summary["baseline"]["kind"] == "linear_svm"
    assert summary["protocol"].startswith("speaker-independent (given folds")
    for k in (1, 2, 3):
        preds = (tmp_path / "emobox" / f"fold_{k}" / "seed_0" / "predictions.jsonl").read_text()
        assert len(preds.strip().split("\n")) == 16

def test_folds_sharing_speakers_run_speaker_dependent_with_val_from_train(corpus, tmp_path):
    """EmoDB-like folds (split by statement, every speaker in every fold): labelled
    speaker-dependent; VAL is a stratified share of each fold's TRAIN files, never TEST."""
    _, root, records, cache = corpus
    by_statement = [[r["key"] for r in records if r["key"].split("-")[5] == s]
                    for s in ("01", "02")]
    shared = write_emobox(tmp_path / "ravdess", "ravdess", records, by_statement, LABEL_MAP)
    config = _config(shared, root, cache, "--config.seeds=2", "--config.folds.val_fraction=0.2")
    fs = precompute.prepare_features(config, progress=False)
    grid = grid_inputs.grid_inputs(config, fs)
    assert grid.protocol == ("speaker-dependent (given folds share speakers between TRAIN and "
                             "TEST: fold 1 shares 6); VAL = 20% of each fold's TRAIN files, "
                             "class-stratified, seeded")
    assert [(s.fold, s.seed, s.speaker_dependent) for s in grid.splits] == \
        [(0, 0, True), (0, 1, True), (1, 0, True), (1, 1, True)]
    original = ~np.asarray(fs.augmented)
    for m, split in enumerate(grid.splits):
        test_keys = set(by_statement[split.fold])
        roles = grid.roles[m]
        assert {str(k) for k in grid.keys[roles == TEST]} == test_keys
        val_keys = {str(k) for k in grid.keys[roles == VAL]}
        assert not val_keys & test_keys and len(val_keys) == 4   # 20 % of 6 per class × 4
        assert ((roles == TRAIN) & original).sum() == 24 - 4
        assert not ((roles != UNUSED) & ~original & (roles != TRAIN)).any()
    assert grid.splits[0].val_files != grid.splits[1].val_files   # seeded per model seed


def test_speaker_schemes_refuse_rows_of_unknown_speakers(tmp_path):
    root = tmp_path / "audio"
    records = []
    for i, emo in enumerate(["a", "b"] * 3):
        write_wav(root / f"clip{i}.wav", 16_000, seconds=0.3, freq=200 + 20 * i)
        records.append({"key": f"k{i}", "dataset": "mine", "wav": f"clip{i}.wav", "emo": emo})
    folder = write_emobox(tmp_path / "mine", "mine", records, [["k0", "k1"], ["k2", "k3"]])
    m = emobox.read(folder, root)
    assert {r.speaker for r in m.rows} == {manifest.UNKNOWN_SPEAKER} and not m.has_gender
    config = _config(folder, root, tmp_path / "cache", "--config.folds.scheme=speaker_kfold",
                     "--config.folds.num_folds=2", "--config.augment.copies=0")
    fs = precompute.prepare_features(config, progress=False)
    with pytest.raises(ValueError, match="speaker of the rows of 'mine/\\?' is unknown.*'given'"):
        grid_inputs.grid_inputs(config, fs)
    config.folds.scheme = "given"
    grid = grid_inputs.grid_inputs(config, fs)
    assert grid.protocol.startswith("speakers unknown (the corpus's files do not say")
    assert [sorted(str(k) for k in grid.keys[r == TEST]) for r in grid.roles] == \
        [["k0", "k1"], ["k2", "k3"]]
