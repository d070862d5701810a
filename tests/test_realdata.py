"""Builders on real corpus files: /work/shared/realdata (or $SERJAX_REALDATA), see its SOURCES.md.

RAVDESS actors 01-12 (every file; mixed 48 kHz / 22,050 Hz; three stereo originals) and 56 TESS
files in the Kaggle folder spellings. Checked against the folder's MANIFEST.tsv (rate, channels
and frames of every file, read independently of serjax).
"""

import collections
import csv
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from serjax.corpora import dataset, discover, naming

REALDATA = Path(os.environ.get("SERJAX_REALDATA")
                or Path(__file__).resolve().parents[1].parent / "shared" / "realdata")
pytestmark = pytest.mark.skipif(
    not (REALDATA / "MANIFEST.tsv").exists(),
    reason=f"real corpus samples not found at {REALDATA} (set SERJAX_REALDATA to their folder)")

STEREO = ("Actor_01/03-01-02-01-01-02-01.wav", "Actor_01/03-01-08-01-02-02-01.wav",
          "Actor_05/03-01-02-01-02-02-05.wav")


@pytest.fixture(scope="module")
def real_manifest() -> dict[str, dict]:
    """{path under realdata: MANIFEST.tsv row} for the audio files."""
    with open(REALDATA / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return {r["path"]: r for r in rows if r["path"].endswith(".wav")}


@pytest.fixture(scope="module")
def real_built(tmp_path_factory) -> Path:
    """data_dir with RAVDESS and TESS built from the real files (via ensure_built)."""
    data_dir = tmp_path_factory.mktemp("real_data")
    dataset.ensure_built(REALDATA, ["ravdess", "tess"], data_dir)
    return data_dir


def test_ravdess_counts(real_built):
    table = dataset.load("ravdess", real_built)
    assert len(table) == 720
    assert sorted(set(table.actor)) == [f"ravdess/{i:02d}" for i in range(1, 13)]
    assert collections.Counter(table.actor.tolist()) == {a: 60 for a in set(table.actor)}
    assert np.bincount(table.gender).tolist() == [360, 360]   # [female, male]
    per_label = dict(zip(naming.LABELS, np.bincount(table.label, minlength=8).tolist()))
    assert per_label == {"neutral": 48, "calm": 96, "happy": 96, "sad": 96, "angry": 96,
                         "fear": 96, "disgust": 96, "surprise": 96}
    assert all(table.gender[i] == (int(a[-2:]) % 2) for i, a in enumerate(table.actor))
    assert collections.Counter(table.sample_rate.tolist()) == {22_050: 705, 48_000: 15}
    manifest = dataset.read_manifest(dataset.version_dir("ravdess", real_built))
    assert manifest["skipped"] == [] and manifest["counts"]["gender_actors"] == {
        "female": 6, "male": 6}


def test_rates_and_lengths_match_the_folder_manifest(real_built, real_manifest):
    for corpus in ("ravdess", "tess"):
        table = dataset.load(corpus, real_built)
        rows = [real_manifest[f"{corpus}/{p}"] for p in table.path]
        assert table.sample_rate.tolist() == [int(r["sample_rate"]) for r in rows]
        assert table.num_samples.tolist() == [int(r["frames"]) for r in rows]


def test_three_stereo_files_are_downmixed(real_built, real_manifest):
    table = dataset.load("ravdess", real_built)
    two_channel = [p for p in table.path if real_manifest[f"ravdess/{p}"]["channels"] == "2"]
    assert two_channel == list(STEREO)
    for path in STEREO:
        i = list(table.path).index(path)
        both, rate = soundfile.read(REALDATA / "ravdess" / path, dtype="int16")
        assert both.shape[1] == 2 and rate == table.sample_rate[i] == 48_000
        expected = np.rint((both[:, 0].astype(np.int32) + both[:, 1]) / 2).astype(np.int16)
        np.testing.assert_array_equal(table.audio(i), expected)


def test_tess_folder_quirks_all_female(real_built):
    table = dataset.load("tess", real_built)
    assert len(table) == 56
    assert set(table.gender.tolist()) == {naming.FEMALE}
    assert sorted(set(table.actor)) == ["tess/OAF", "tess/YAF"]
    per_label = collections.Counter(naming.LABELS[i] for i in table.label)
    assert per_label == {e: 8 for e in ("neutral", "happy", "sad", "angry", "fear", "disgust",
                                        "surprise")}
    folders = {p.split("/")[0] for p in table.path}
    assert {"OAF_Fear", "OAF_Pleasant_surprise", "OAF_Sad", "YAF_pleasant_surprised"} <= folders
    assert set(table.sample_rate.tolist()) == {24_414}
    surprise = table.path[table.label == naming.LABEL_INDEX["surprise"]]
    assert all(p.endswith("_ps.wav") for p in surprise)


def test_crema_d_folder_with_only_demographics(tmp_path):
    """The staged CREMA-D folder has VideoDemographics.csv and no audio: the table matches the
    packaged one, and building says clearly that no file fits."""
    user = naming.read_crema_d_demographics(REALDATA / "crema_d" / "VideoDemographics.csv")
    assert user == naming.crema_d_sex_table()
    with pytest.raises(dataset.DatasetError,
                       match=(r"no crema_d file found .* no audio files "
                              r"\(\.wav, \.flac, \.ogg, \.opus, \.mp3\) and 1 other files")):
        dataset.build("crema_d", REALDATA / "crema_d", tmp_path)
    with pytest.raises(discover.DatasetError, match="no crema_d file found"):
        dataset.ensure_built(REALDATA, ["crema_d"], tmp_path)
