"""Finding corpus files under a manual dir, and reading/checking WAVs (serjax.corpora.discover)."""

import shutil
import struct

import numpy as np
import pytest
from conftest import TINY_COUNTS, TINY_DUPLICATES, write_wav

from serjax.corpora import audio_file, discover, naming


@pytest.mark.parametrize("corpus", naming.CORPORA)
def test_discover_counts_each_file_once(tiny_root, tiny_names, corpus):
    found = discover.discover(corpus, tiny_root / corpus)
    assert [f.info for f in found.files] == [naming.parse(corpus, f.abspath.name)
                                             for f in found.files]
    assert sorted(f.abspath.name for f in found.files) == tiny_names[corpus]
    assert len(found.files) == TINY_COUNTS[corpus]
    assert len(found.duplicates) == TINY_DUPLICATES[corpus]
    assert found.skipped == [] and found.ignored == {}


def test_duplicate_trees_keep_first_in_sorted_order(tiny_root):
    found = discover.discover("ravdess", tiny_root / "ravdess")
    assert all(f.path.startswith("Actor_") for f in found.files)
    assert all(d.startswith("audio_speech_actors_01-24/") and k == d.split("/", 1)[1]
               for d, k in found.duplicates)
    tess = discover.discover("tess", tiny_root / "tess")
    assert all(f.path.startswith("TESS Toronto emotional speech set data/") for f in tess.files)
    assert {f.path.split("/")[1] for f in tess.files} == {
        "OAF_angry", "OAF_disgust", "OAF_Fear", "OAF_happy", "OAF_neutral",
        "OAF_Pleasant_surprise", "OAF_Sad", "YAF_angry", "YAF_disgust", "YAF_fear", "YAF_happy",
        "YAF_neutral", "YAF_pleasant_surprised", "YAF_sad"}
    surprise = [f for f in tess.files if f.info.emotion == "surprise"]
    assert len(surprise) == 4 and all(f.path.endswith("_ps.wav") for f in surprise)


def test_wrapper_folders_and_folder_case(tiny_root, tmp_path):
    wrapped = tmp_path / "Downloads" / "archive (3)" / "SAVEE"
    shutil.copytree(tiny_root / "savee" / "ALL", wrapped / "all")
    found = discover.discover("savee", tmp_path / "Downloads")
    assert len(found.files) == TINY_COUNTS["savee"]
    assert found.files[0].path == "archive (3)/SAVEE/all/DC_a01.wav"


def test_non_wav_ignored_and_unknown_names_skipped(tmp_path):
    write_wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav", 16_000)
    write_wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX copy.wav", 16_000)
    write_wav(tmp_path / "__MACOSX" / "AudioWAV" / "._1001_DFA_ANG_XX.wav", 16_000)
    write_wav(tmp_path / "AudioWAV" / "._1001_DFA_HAP_XX.wav", 16_000)
    (tmp_path / "README.md").write_text("readme")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    found = discover.discover("crema_d", tmp_path)
    assert [f.path for f in found.files] == ["AudioWAV/1001_DFA_ANG_XX.wav"]
    assert [p for p, _ in found.skipped] == ["AudioWAV/1001_DFA_ANG_XX copy.wav"]
    assert "not a CREMA-D file name" in found.skipped[0][1]
    assert found.ignored == {".ds_store": 1, ".md": 1, "._ (macOS)": 1}


def test_crema_d_demographics_in_folder_overrides_packaged(tmp_path):
    write_wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav", 16_000)
    write_wav(tmp_path / "AudioWAV" / "1002_DFA_ANG_XX.wav", 16_000)
    packaged = discover.discover("crema_d", tmp_path)
    assert [f.info.gender for f in packaged.files] == [naming.MALE, naming.FEMALE]
    assert packaged.sex_table_source.startswith("packaged")
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Female,Caucasian,Not Hispanic\n")
    user = discover.discover("crema_d", tmp_path)
    assert [f.info.gender for f in user.files] == [naming.FEMALE, naming.FEMALE]
    assert user.sex_table_source == "meta/VideoDemographics.csv in the manual directory (1 actors)"
    (tmp_path / "meta" / "VideoDemographics.csv").write_text("ActorID,Sex\n1001,robot\n")
    with pytest.raises(discover.DatasetError, match="VideoDemographics.csv: cannot read"):
        discover.discover("crema_d", tmp_path)


def test_missing_empty_and_unmatched_manual_dirs(tmp_path):
    with pytest.raises(discover.DatasetError, match="does not exist"):
        discover.discover("tess", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(discover.DatasetError, match="is empty"):
        discover.discover("tess", tmp_path / "empty")
    write_wav(tmp_path / "other" / "Actor_01" / "03-01-05-01-02-01-01.wav", 48_000)
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(discover.DatasetError,
                       match=r"no tess file found .* 1 \.wav files with other names .* 1 other"):
        discover.discover("tess", tmp_path / "other")


def test_fingerprint_changes_with_folder_contents(tmp_path):
    write_wav(tmp_path / "ALL" / "DC_a01.wav", 44_100)
    before = discover.manual_dir_fingerprint(tmp_path)
    assert discover.discover("savee", tmp_path).fingerprint == before
    write_wav(tmp_path / "ALL" / "DC_a02.wav", 44_100)
    assert discover.manual_dir_fingerprint(tmp_path) != before


# --------------------------------------------------------------------------- read_wav


def test_read_wav_mono_and_stereo_downmix(tmp_path):
    mono = write_wav(tmp_path / "m.wav", 22_050)
    audio, rate = audio_file.read_int16(tmp_path / "m.wav")
    assert rate == 22_050 and audio.dtype == np.int16
    np.testing.assert_array_equal(audio, mono[:, 0])
    stereo = write_wav(tmp_path / "s.wav", 48_000, channels=2)
    audio, rate = audio_file.read_int16(tmp_path / "s.wav")
    assert rate == 48_000 and audio.shape == (12_000,)
    expected = np.rint(stereo.astype(np.float64).mean(axis=1)).astype(np.int16)
    np.testing.assert_array_equal(audio, expected)
    assert not np.array_equal(audio, stereo[:, 0])


def _truncate(path, keep_bytes):
    data = path.read_bytes()
    path.write_bytes(data[:keep_bytes])


@pytest.mark.parametrize("damage, message", [
    ("empty", "empty file"),
    ("text", "not a readable WAV file"),
    ("header_only_truncated", "not a readable WAV file"),
    ("truncated", r"truncated \(\d+ bytes of audio missing"),
    ("no_samples", "0 samples .* too short"),
    ("too_short", "too short to hold speech"),
    ("flac", "not a WAV file"),
])
def test_read_wav_bad_files_name_the_file(tmp_path, damage, message):
    path = tmp_path / "03-01-05-01-02-01-01.wav"
    write_wav(path, 16_000, seconds=0.5)
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("this is not audio\n")
    elif damage == "header_only_truncated":
        _truncate(path, 20)
    elif damage == "truncated":
        _truncate(path, 44 + 4000)
    elif damage == "no_samples":
        write_wav(path, 16_000, seconds=0.0)
    elif damage == "too_short":
        write_wav(path, 16_000, seconds=0.05)
    elif damage == "flac":
        import soundfile
        soundfile.write(path, np.zeros(8000, np.int16), 16_000, format="FLAC")
    with pytest.raises(audio_file.BadAudio, match=message) as err:
        audio_file.read_int16(path)
    assert str(path) in str(err.value) and "delete it" in str(err.value)


def test_truncation_check_reads_chunk_sizes(tmp_path):
    path = tmp_path / "a.wav"
    write_wav(path, 16_000, seconds=0.5)   # 16,000 bytes of data after a 44-byte header
    assert audio_file._data_chunk_shortfall(path) == 0
    _truncate(path, 44 + 15_000)
    assert audio_file._data_chunk_shortfall(path) == 1_000
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 40, 0xFFFFFFFF)   # streaming writer: size unknown
    path.write_bytes(bytes(data))
    assert audio_file._data_chunk_shortfall(path) == 0


def test_symlinked_folders_are_followed_once(tmp_path):
    write_wav(tmp_path / "real" / "ALL" / "DC_a01.wav", 44_100)
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real")
    (tmp_path / "manual").mkdir()
    (tmp_path / "manual" / "savee").symlink_to(tmp_path / "real")
    found = discover.discover("savee", tmp_path / "manual")
    assert [f.path for f in found.files] == ["savee/ALL/DC_a01.wav"] and found.duplicates == []
