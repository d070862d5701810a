"""Manifest corpora: reading and checking manifests, the generic TFDS builder, its cache, the
RAVDESS equivalence on real files, and speaker CV end to end on a seven-class corpus."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from _listed_corpora import EMODB_STYLE, write_csv, write_seven_class_corpus
from conftest import write_wav

from serjax import cli, experiment
from serjax import config as config_lib
from serjax.corpora import dataset, manifest, naming
from serjax.features import precompute, statistical
from serjax.splits import folds

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


@pytest.fixture()
def small(tmp_path) -> Path:
    """A 3-speaker, 2-class manifest folder: audio/<speaker>/<n>.wav and corpus.csv."""
    rows = []
    for s, gender in (("s1", "f"), ("s2", "m"), ("s3", "f")):
        for k, emotion in enumerate(("calm", "angry", "calm", "angry")):
            path = f"audio/{s}/{k}.wav"
            write_wav(tmp_path / path, 16_000, seconds=0.5, freq=150 + 40 * k)
            rows.append({"path": path, "emotion": emotion, "speaker": s, "gender": gender})
    write_csv(tmp_path / "corpus.csv", rows)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> Path:
    path.write_text(path.read_text().replace(old, new, 1))
    return path


# ------------------------------------------------------------------------------ reading

def test_reads_rows_labels_speakers_and_metadata(small):
    with open(small / "corpus.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["mic"] = "close"
    write_csv(small / "corpus.csv", rows, ["path", "emotion", "speaker", "gender", "mic"])
    m = manifest.read(small / "corpus.csv")
    assert m.name == "corpus" and m.root == small.resolve()
    assert m.label_names == ("calm", "angry")   # naming.LABELS order for Kaggle names
    assert [r.key for r in m.rows[:2]] == ["audio/s1/0.wav", "audio/s1/1.wav"]
    assert manifest.speaker_genders(m) == {"corpus/s1": 0, "corpus/s2": 1, "corpus/s3": 0}
    assert dict(m.rows[0].metadata) == {"mic": "close"}
    assert m.actor(m.rows[0]) == "corpus/s1"


def test_jsonl_segments_keys_and_a_label_set_of_its_own(tmp_path):
    write_wav(tmp_path / "long.wav", 16_000, seconds=2.0)
    lines = [{"path": "long.wav", "emotion": "boredom", "speaker": 7, "start": 0, "end": 0.5},
             {"path": "long.wav", "emotion": "anger", "speaker": 7, "start": 0.5, "end": 1.2},
             {"path": "long.wav", "emotion": "anger", "speaker": 8, "start": 1.9, "end": 2.5,
              "key": "late"}]
    (tmp_path / "Mine Corpus.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n")
    m = manifest.read(tmp_path / "Mine Corpus.jsonl")
    assert m.name == "mine_corpus" and m.label_names == ("anger", "boredom")
    assert [r.key for r in m.rows] == ["late", "long.wav#0-0.5", "long.wav#0.5-1.2"]
    assert not m.has_gender and {r.gender for r in m.rows} == {manifest.UNKNOWN_GENDER}
    result = dataset.build_manifest_corpus(m, tmp_path / "data")
    assert result.num_examples == 2   # the segment past the file's end is skipped, with why
    assert result.manifest["skipped"][0]["path"] == "late"
    assert "past the file's end (2.000 s)" in result.manifest["skipped"][0]["reason"]
    table = dataset.load_manifest_corpus(m, tmp_path / "data")
    assert list(table.path) == ["long.wav#0-0.5", "long.wav#0.5-1.2"]
    assert [len(table.audio(i)) for i in range(2)] == [8000, 11200]
    assert list(table.actor) == ["mine_corpus/7"] * 2 and list(table.gender) == [-1, -1]
    assert table.label_names == ("anger", "boredom") and list(table.label) == [1, 0]


def test_build_command_and_one_unknown_gender_everywhere(small, capsys):
    assert cli.main(["build", "manifest", "--manifest", str(small / "corpus.csv"),
                     "--data-dir", str(small / "data")]) == 0
    out = capsys.readouterr().out
    assert "corpus: 12 files from 3 actors (1 male, 2 female)" in out
    assert "  calm                6" in out and "sex table: manifest gender column" in out
    assert cli.main(["build", "manifest"]) == 2
    assert "serjax build manifest needs --manifest" in capsys.readouterr().err
    assert manifest.UNKNOWN_GENDER == folds.UNKNOWN_GENDER == statistical.UNKNOWN_GENDER == -1
    assert statistical.gender_bit(manifest.UNKNOWN_GENDER) == -1


@pytest.mark.parametrize("edit, match", [
    (("path,emotion,speaker,gender", "path,emotion,who,gender"),
     r"line 1 \(the header\) has no column \['speaker'\]"),
    (("audio/s2/1.wav,angry,s2,m", "audio/s2/1.wav,angry,s2,x"),
     r"line 7: gender 'x' is not one of m, f .*drop the gender column"),
    (("audio/s2/1.wav,angry,s2,m", "audio/s2/1.wav,angry,s2,f"),
     r"speaker 's2' is male on line 6 and female on line 7; give each speaker one gender"),
    (("audio/s2/1.wav", "../s2/1.wav"), r"line 7: path '../s2/1.wav' leads outside"),
    (("audio/s2/1.wav,angry", "audio/s2/0.wav,angry"),
     r"key 'audio/s2/0.wav' on line 7 is already used on line 6"),
    (("audio/s2/1.wav,angry,s2", "audio/s2/1.wav,,s2"), r"line 7: empty 'emotion'"),
    (("audio/s2/1.wav,angry,s2,m", "audio/s2/1.wav,angry,s2"), r"line 7 has 3 fields"),
])
def test_bad_manifests_name_the_line_and_the_fix(small, edit, match):
    with pytest.raises(manifest.ManifestError, match=match):
        manifest.read(_edit(small / "corpus.csv", *edit))


def test_more_bad_manifests(small):
    path = small / "corpus.csv"
    text = path.read_text()
    path.write_text(text.replace("angry", "calm"))
    with pytest.raises(manifest.ManifestError, match="one class .'calm'.*two or more"):
        manifest.read(path)
    path.write_bytes(text.encode().replace(b"s3", "s\u00e9".encode("latin-1"), 1))
    with pytest.raises(manifest.ManifestError, match=r"line 10 is not UTF-8.*save the manifest"):
        manifest.read(path)
    keyed = small / "keyed.csv"
    keyed.write_text("key,path,emotion,speaker\n,audio/s1/0.wav,calm,s1\n")
    with pytest.raises(manifest.ManifestError, match=r"keyed.csv: line 2: empty 'key'"):
        manifest.read(keyed)
    (small / "x.txt").write_text("path,emotion,speaker\n")
    with pytest.raises(manifest.ManifestError, match=r"\.csv, \.tsv or \.jsonl"):
        manifest.read(small / "x.txt")


# ------------------------------------------------------------------------------ building

def test_missing_files_are_skipped_and_edits_build_beside_the_old_build(small):
    data_dir = small / "data"
    first = dataset.build_manifest_corpus(manifest.read(small / "corpus.csv"), data_dir)
    assert first.num_examples == 12 and first.manifest["label_names"] == ["calm", "angry"]
    # A bad edit fails before anything is written; the old build stays usable.
    bad = _edit(small / "corpus.csv", "audio/s3/3.wav,angry,s3,f", "audio/s3/3.wav,angry,s3,q")
    with pytest.raises(manifest.ManifestError, match="gender 'q'"):
        dataset.build_manifest_corpus(manifest.read(bad), data_dir)
    assert (first.version_dir / "build_manifest.json").is_file()
    _edit(bad, ",q", ",f")
    # A deleted file is skipped and listed; the new content is built beside the old.
    os.remove(small / "audio/s3/3.wav")
    second = dataset.build_manifest_corpus(manifest.read(small / "corpus.csv"), data_dir)
    assert second.version_dir != first.version_dir and first.version_dir.is_dir()
    assert second.num_examples == 11
    assert second.manifest["skipped"][0]["path"] == "audio/s3/3.wav"
    assert "no such file (manifest line 13)" in second.manifest["skipped"][0]["reason"]
    # The same content again is the cached build; a changed audio file is a new one.
    again = dataset.build_manifest_corpus(manifest.read(small / "corpus.csv"), data_dir)
    assert again.version_dir == second.version_dir
    write_wav(small / "audio/s1/0.wav", 16_000, seconds=0.75)
    third = manifest.read(small / "corpus.csv")
    assert dataset.manifest_version_dir(third, data_dir) != second.version_dir
    table = dataset.load_manifest_corpus(third, data_dir)
    assert len(table.audio(0)) == 12_000 and len(table) == 11
    assert sorted(p.name.split("-")[0] for p in (data_dir / "serjax_manifest").iterdir()) == \
        ["corpus"] * 3


def test_no_readable_row_is_an_error_and_leaves_nothing(small):
    for wav in (small / "audio").rglob("*.wav"):
        wav.write_bytes(b"")
    m = manifest.read(small / "corpus.csv")
    with pytest.raises(dataset.DatasetError, match="none of its 12 rows could be read"):
        dataset.build_manifest_corpus(m, small / "data")
    assert not dataset.manifest_version_dir(m, small / "data").exists()


# ---------------------------------------------------------------- RAVDESS: same rows, same features

def _first_files(actor: str, n: int) -> list[Path]:
    return sorted((REALDATA / "ravdess" / f"Actor_{actor}").glob("*.wav"))[:n]


@pytest.mark.skipif(not (REALDATA / "ravdess" / "Actor_02").is_dir(),
                    reason="../shared/realdata (real RAVDESS) is not here")
def test_a_ravdess_manifest_gives_the_ravdess_builders_rows_and_features(tmp_path):
    folder = tmp_path / "ravdess"
    rows = []
    for actor in ("01", "02"):
        for wav in _first_files(actor, 6):
            link = folder / f"Actor_{actor}" / wav.name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(wav)
            info = naming.parse_ravdess(wav.name)
            rows.append({"path": f"Actor_{actor}/{wav.name}", "emotion": info.emotion,
                         "speaker": actor, "gender": "m" if info.gender else "f"})
    kaggle = dataset.build("ravdess", folder, tmp_path / "data")
    by_builder = dataset.load("ravdess", tmp_path / "data")
    m = manifest.read(write_csv(folder / "ravdess.csv", rows))   # paths relative to it
    assert m.name == "ravdess" and m.label_names == tuple(
        n for n in naming.LABELS if n in {r["emotion"] for r in rows})
    by_manifest = dataset.load_manifest_corpus(m, tmp_path / "manifests")
    assert kaggle.num_examples == len(by_manifest) == 12
    def names(t):
        return np.asarray(t.label_names)[t.label]
    for column in ("corpus", "path", "actor", "gender", "sample_rate", "num_samples"):
        assert list(getattr(by_manifest, column)) == list(getattr(by_builder, column)), column
    assert list(names(by_manifest)) == list(names(by_builder))
    assert list(by_manifest.actor[[0, -1]]) == ["ravdess/01", "ravdess/02"]
    for i in range(12):
        np.testing.assert_array_equal(by_manifest.audio(i), by_builder.audio(i))
    config = config_lib.load_config("ravdess_cv")
    a = precompute.precompute([by_builder], config, tmp_path / "f", workers=1, progress=False)
    b = precompute.precompute([by_manifest], config, tmp_path / "f", workers=1, progress=False)
    assert a.directory != b.directory and a.num_rows == b.num_rows == 24   # + augmented copies
    for field in ("acoustic", "statistical", "gender", "actor", "corpus", "path", "augmented"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    np.testing.assert_array_equal(np.asarray(naming.LABELS)[a.label],
                                  np.asarray(b.manifest["label_names"])[b.label])


# ------------------------------------------------------------------ seven classes, speaker CV

@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    """A synthetic corpus of 6 speakers × 7 EmoDB-named classes × 2 files, as a manifest, and a
    shared cache (the features are computed once for both schemes)."""
    root = tmp_path_factory.mktemp("seven")
    rows = write_seven_class_corpus(root)
    return root, rows, tmp_path_factory.mktemp("seven_cache")


def _cv(seven, tmp_path, *overrides):
    root, _, cache = seven
    config = config_lib.load_config("manifest_cv", [
        f"--config.data.manifest={root / 'corpus.csv'}", f"--config.data.cache_dir={cache}",
        "--config.seeds=1", "--config.features.workers=1", "--config.train.epochs=3",
        *overrides])
    summary = experiment.run_cv(config, tmp_path, progress=False)
    with open(tmp_path / "predictions.csv", newline="") as f:
        return summary, list(csv.DictReader(f))


@pytest.mark.slow
def test_seven_class_manifest_runs_speaker_kfold_cv(seven, tmp_path):
    summary, predictions = _cv(seven, tmp_path, "--config.folds.num_folds=3")
    assert summary["labels"] == sorted(EMODB_STYLE) and len(summary["labels"]) == 7
    assert summary["protocol"] == "speaker-independent"
    genders = {f"corpus/spk{s:02d}": naming.actor_gender(f"crema_d/{naming.CREMA_D_ACTORS[s]}")
               for s in range(6)}
    expected = folds.actor_folds(list(genders), 3, 0, speakers=genders)
    assert expected == (("corpus/spk03", "corpus/spk05"), ("corpus/spk00", "corpus/spk02"),
                        ("corpus/spk01", "corpus/spk04"))
    # 2 male and 4 female speakers: each fold holds 0-1 male and 1-2 female (balanced within 1)
    assert [sum(genders[a] for a in f) for f in expected] == [0, 1, 1]
    for row in predictions:
        assert row["actor"] in expected[int(row["fold"])]
    assert [m["n_test"] for m in summary["models"]] == [28, 28, 28]   # 2 speakers × 14 files
    assert [m["n_train"] for m in summary["models"]] == [56, 56, 56]  # 2 speakers, 2 copies
    assert np.asarray(summary["confusion"]).shape == (7, 7)
    assert "Protocol: speaker-independent" in (tmp_path / "report.md").read_text()
    assert "| WA (accuracy) | UA (UAR) | macro-F1 | weighted-F1 |" in \
        (tmp_path / "report.md").read_text()


@pytest.mark.slow
def test_seven_class_manifest_runs_loso_and_merges_labels(seven, tmp_path):
    summary, predictions = _cv(seven, tmp_path, "--config.folds.scheme=loso",
                               "--config.data.labels=neutral,negative=anger+sadness+fear,"
                               "happiness")
    assert summary["labels"] == ["neutral", "negative", "happiness"]
    assert [m["n_test"] for m in summary["models"]] == [10] * 6   # 5 kept classes × 2 files
    assert sorted({(r["fold"], r["actor"]) for r in predictions}) == \
        [(str(s), f"corpus/spk{s:02d}") for s in range(6)]
    assert {r["true"] for r in predictions} == {"neutral", "negative", "happiness"}
    assert sum(m["n_test"] for m in summary["models"]) == len(predictions) == 60
