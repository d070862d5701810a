"""The four TFDS builders, build/load/ensure_built, bad input (serjax.corpora.dataset, datasets/)."""

import collections
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import SYNTH_SCALE, TINY_COUNTS, TINY_DUPLICATES, write_wav

from serjax.corpora import audio_file, dataset, naming
from serjax.corpora.tfds_base import GENDER_NAMES, MANIFEST_NAME
from serjax.synth import corpus as synth


def _planned(corpus):
    return synth.planned_files(corpus, SYNTH_SCALE)


def _expected_counts(infos):
    return {
        "label": collections.Counter(naming.LABELS[i.label] for i in infos),
        "actor": collections.Counter(i.actor for i in infos),
        "gender_files": collections.Counter(GENDER_NAMES[i.gender] for i in infos),
        "gender_actors": collections.Counter(GENDER_NAMES[g] for _, g in
                                             {(i.actor, i.gender) for i in infos}),
    }


@pytest.mark.parametrize("corpus", naming.CORPORA)
def test_build_reproduces_the_synth_plan(synth_built, corpus):
    data_dir, results = synth_built
    result, plan = results[corpus], _planned(corpus)
    assert result.num_examples == len(plan)
    assert result.version_dir == data_dir / f"serjax_{corpus}" / "1.0.0"
    manifest = json.loads((result.version_dir / MANIFEST_NAME).read_text())
    assert manifest == result.manifest
    assert manifest["files"] == sorted(path for path, _ in plan)
    for key, counts in _expected_counts([info for _, info in plan]).items():
        assert manifest["counts"][key] == dict(counts), key
    n_duplicates = len(synth.planned_files(corpus, SYNTH_SCALE, duplicates=True)) - len(plan)
    assert len(manifest["duplicates"]) == manifest["counts"]["duplicates"] == n_duplicates
    assert manifest["skipped"] == [] and manifest["ignored_non_wav"] == {}


def test_exact_numbers_per_corpus(synth_built):
    """Smallest synth scale: one file per actor × emotion (TESS: 2 of its 200 words)."""
    counts = {c: r.manifest["counts"] for c, r in synth_built[1].items()}
    assert {c: r.num_examples for c, r in synth_built[1].items()} == {
        "ravdess": 192, "crema_d": 546, "savee": 28, "tess": 28}
    assert counts["ravdess"]["gender_actors"] == {"female": 12, "male": 12}
    assert counts["ravdess"]["duplicates"] == 192 and counts["tess"]["duplicates"] == 28
    assert counts["crema_d"]["gender_actors"] == {"female": 43, "male": 48}
    assert counts["savee"]["gender_actors"] == {"male": 4}
    assert counts["tess"]["gender_actors"] == {"female": 2}
    assert counts["tess"]["label"] == {"neutral": 4, "happy": 4, "sad": 4, "angry": 4,
                                       "fear": 4, "disgust": 4, "surprise": 4}
    assert synth_built[1]["crema_d"].manifest["sex_table"].startswith("packaged")


@pytest.mark.parametrize("corpus", naming.CORPORA)
def test_load_table_matches_the_plan(synth_root, synth_built, corpus):
    table = dataset.load(corpus, synth_built[0])
    plan = dict(_planned(corpus))
    assert list(table.path) == sorted(plan)
    infos = [plan[p] for p in table.path]
    assert table.actor.tolist() == [i.actor for i in infos]
    assert table.gender.tolist() == [i.gender for i in infos]
    assert table.label.tolist() == [i.label for i in infos]
    assert table.statement.tolist() == [i.statement for i in infos]
    assert table.intensity.tolist() == [i.intensity for i in infos]
    assert set(table.corpus) == {corpus}
    assert set(table.sample_rate.tolist()) == {naming.NATIVE_RATES[corpus]}
    for i in (0, len(table) - 1):
        audio, rate = audio_file.read_int16(synth_root / corpus / table.path[i])
        np.testing.assert_array_equal(table.audio(i), audio)
        assert table.num_samples[i] == len(audio)
    assert table.gender.dtype == np.int8 and table.label.dtype == np.int8
    assert table.num_samples.dtype == np.int64 and table.sample_rate.dtype == np.int32


def test_superset_merge(synth_built):
    table = dataset.load_superset(synth_built[0])
    plan = [info for c in naming.CORPORA for _, info in _planned(c)]
    kept = [i for i in plan if i.emotion in naming.SUPERSET_LABELS]
    # Dropped: RAVDESS calm + surprise (1 per actor each), SAVEE su (1 each), TESS ps (2 each).
    assert len(plan) == 794 and len(table) == len(kept) == 794 - 2 * 24 - 4 - 2 * 2
    assert collections.Counter(table.label.tolist()) == collections.Counter(i.label for i in kept)
    assert set(table.label.tolist()) == {naming.LABEL_INDEX[n] for n in naming.SUPERSET_LABELS}
    actors = dict(zip(table.actor.tolist(), table.gender.tolist()))
    assert len(actors) == 121
    assert collections.Counter(actors.values()) == {naming.FEMALE: 57, naming.MALE: 64}
    order = list(zip(table.corpus, table.path))
    assert order == sorted(order)
    assert table.fingerprint != dataset.load("tess", synth_built[0]).fingerprint
    i = int(np.flatnonzero(table.corpus == "tess")[0])
    assert table.audio(i).shape == (table.num_samples[i],)


# --------------------------------------------------------------------------- hand-made quirks


def test_tiny_corpora_counts(tiny_built):
    counts = {c: r.manifest["counts"] for c, r in tiny_built[1].items()}
    assert {c: r.num_examples for c, r in tiny_built[1].items()} == TINY_COUNTS
    assert {c: n["duplicates"] for c, n in counts.items()} == TINY_DUPLICATES
    assert counts["crema_d"]["gender_actors"] == {"female": 2, "male": 1}   # 1002, 1091 female
    assert counts["tess"]["gender_files"] == {"female": 28}


def test_ravdess_mixed_rates_and_stereo_downmix(tiny_root, tiny_built):
    table = dataset.load("ravdess", tiny_built[0])
    assert collections.Counter(table.sample_rate.tolist()) == {48_000: 21, 22_050: 11}
    stereo = "Actor_01/03-01-03-01-02-01-01.wav"   # the 6th file written (channels=2)
    i = list(table.path).index(stereo)
    expected, _ = audio_file.read_int16(tiny_root / "ravdess" / stereo)
    np.testing.assert_array_equal(table.audio(i), expected)


def test_summary_is_a_small_table(tiny_built):
    text = tiny_built[1]["crema_d"].summary()
    assert "crema_d: 18 files from 3 actors (1 male, 2 female)" in text
    assert "  angry               3" in text and "  skipped             0" in text


def test_reads_back_with_tensorflow_hidden(tiny_root, tmp_path):
    """Build and read in a fresh process where `import tensorflow` finds nothing (even if it is
    installed). Not `sys.modules['tensorflow'] = None`: TFDS itself reads that as 'TF loaded'."""
    script = textwrap.dedent(f"""
        import json, sys
        class HideTF:
            def __init__(self, inner): self.inner = inner
            def __getattr__(self, attr): return getattr(self.inner, attr)
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "tensorflow":
                    return None
                return self.inner.find_spec(name, path, target)
        sys.meta_path[:] = [HideTF(f) for f in sys.meta_path]
        import tensorflow_datasets as tfds
        from serjax.corpora import dataset
        result = dataset.build("savee", {str(tiny_root / "savee")!r}, {str(tmp_path)!r})
        source = tfds.builder_from_directory(str(result.version_dir)).as_data_source()["train"]
        example = source[0]
        table = dataset.load("savee", {str(tmp_path)!r})
        print(json.dumps({{"n": len(source), "keys": sorted(example),
                          "audio": str(example["audio"].dtype), "rate": int(example["sample_rate"]),
                          "table": len(table),
                          "tf": [m for m in sys.modules if m.partition(".")[0] == "tensorflow"]}}))
    """)
    env = {**os.environ, "TFDS_DISABLE_PROGRESS_BAR": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"n": 28, "keys": ["actor", "audio", "corpus", "gender", "intensity", "label",
                                     "path", "sample_rate", "statement"],
                   "audio": "int16", "rate": 44_100, "table": 28, "tf": []}


# --------------------------------------------------------------------------- bad input


def _bad_crema_d(tiny_root, tmp_path):
    manual = tmp_path / "cremad"
    shutil.copytree(tiny_root / "crema_d", manual / "AudioWAV", dirs_exist_ok=True)
    bad = manual / "AudioWAV" / "AudioWAV"
    (bad / "1076_MTI_SAD_XX.wav").write_bytes(b"")
    write_wav(bad / "1001_IEO_ANG_HI.wav", 16_000, seconds=0.5)
    data = (bad / "1001_IEO_ANG_HI.wav").read_bytes()
    (bad / "1001_IEO_ANG_HI.wav").write_bytes(data[:len(data) // 2])
    (bad / "1001_IEO_DIS_HI.wav").write_text("not audio")
    write_wav(bad / "1001_notes.wav", 16_000)
    (manual / "README.txt").write_text("from kaggle")
    return manual


def test_bad_files_are_skipped_listed_and_warned(tiny_root, tmp_path, caplog):
    manual = _bad_crema_d(tiny_root, tmp_path)
    with caplog.at_level(logging.WARNING, logger="serjax.corpora.dataset"):
        result = dataset.build("crema_d", manual, tmp_path / "data")
    assert result.num_examples == 18
    reasons = {s["path"].rsplit("/", 1)[1]: s["reason"] for s in result.manifest["skipped"]}
    assert sorted(reasons) == ["1001_IEO_ANG_HI.wav", "1001_IEO_DIS_HI.wav", "1001_notes.wav",
                               "1076_MTI_SAD_XX.wav"]
    assert "truncated" in reasons["1001_IEO_ANG_HI.wav"]
    assert "not a readable WAV file" in reasons["1001_IEO_DIS_HI.wav"]
    assert "not a CREMA-D file name" in reasons["1001_notes.wav"]
    assert "empty file (0 bytes)" in reasons["1076_MTI_SAD_XX.wav"]
    assert result.manifest["ignored_non_wav"] == {".txt": 1}
    assert result.manifest["counts"]["skipped"] == 4
    assert "1076_MTI_SAD_XX.wav" not in " ".join(result.manifest["files"])
    warning, = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "crema_d: skipped 4 file(s)" in warning.getMessage()
    assert "(and 1 more)" in warning.getMessage()


def test_nothing_usable_fails_cleanly(tmp_path):
    (tmp_path / "tess" / "OAF_angry").mkdir(parents=True)
    (tmp_path / "tess" / "OAF_angry" / "OAF_back_angry.wav").write_bytes(b"")
    (tmp_path / "tess" / "OAF_angry" / "OAF_bar_angry.wav").write_text("junk")
    with pytest.raises(dataset.DatasetError, match="none of the 2 files .* could be read"):
        dataset.build("tess", tmp_path / "tess", tmp_path / "data")
    assert list((tmp_path / "data" / "serjax_tess").iterdir()) == []   # nothing half-written


def test_missing_empty_or_unmatched_manual_dir(tiny_root, tmp_path):
    with pytest.raises(dataset.DatasetError, match="does not exist"):
        dataset.build("savee", tmp_path / "missing", tmp_path / "data")
    (tmp_path / "empty").mkdir()
    with pytest.raises(dataset.DatasetError, match="is empty"):
        dataset.build("savee", tmp_path / "empty", tmp_path / "data")
    with pytest.raises(dataset.DatasetError,
                       match="no savee file found .* 28 .wav files with other names"):
        dataset.build("savee", tiny_root / "tess", tmp_path / "data")
    with pytest.raises(dataset.DatasetError, match="unknown corpus 'iemocap'"):
        dataset.build("iemocap", tiny_root / "tess", tmp_path / "data")
    with pytest.raises(dataset.DatasetError, match="not prepared .*serjax build savee"):
        dataset.load("savee", tmp_path / "data")


def test_ensure_built_builds_only_missing_or_changed(tiny_root, tiny_built, tmp_path):
    data_dir, results = tiny_built
    records = {c: next(r.version_dir.glob("*.array_record*")).stat().st_mtime_ns
               for c, r in results.items()}
    dirs = dataset.ensure_built(tiny_root, naming.CORPORA, data_dir)
    assert dirs == {c: r.version_dir for c, r in results.items()}
    assert {c: next(d.glob("*.array_record*")).stat().st_mtime_ns
            for c, d in dirs.items()} == records   # nothing rebuilt

    root = tmp_path / "root"
    shutil.copytree(tiny_root / "savee", root / "SAVEE")
    first = dataset.ensure_built(root, ["savee"], tmp_path / "data")["savee"]
    assert dataset.read_manifest(first)["num_examples"] == 28
    write_wav(root / "SAVEE" / "ALL" / "JK_n03.wav", 44_100)
    again = dataset.ensure_built(root, ["savee"], tmp_path / "data")["savee"]
    assert again == first and dataset.read_manifest(again)["num_examples"] == 29
    with pytest.raises(dataset.DatasetError, match="no folder tess/ under .*serjax synth all"):
        dataset.ensure_built(root, ["savee", "tess"], tmp_path / "data")


def test_build_without_overwrite_returns_existing(tiny_root, tiny_built):
    data_dir, results = tiny_built
    again = dataset.build("tess", tiny_root / "tess", data_dir, overwrite=False)
    assert again.manifest == results["tess"].manifest


def test_record_index_matches_a_scan_of_the_records(tiny_built, tmp_path):
    import tensorflow_datasets as tfds

    from serjax.corpora import tfds_base

    data_dir, results = tiny_built
    vdir = results["crema_d"].version_dir
    scanned = tfds_base.scan_records(tfds.builder_from_directory(str(vdir)))
    assert tfds_base.read_record_index(vdir, 18) == scanned
    assert tfds_base.read_record_index(vdir, 17) is None   # stale index: ignored
    copy = tmp_path / "serjax_crema_d" / "1.0.0"
    shutil.copytree(vdir, copy)
    (copy / tfds_base.RECORD_INDEX_NAME).unlink()
    without, with_index = dataset.load("crema_d", tmp_path), dataset.load("crema_d", data_dir)
    for name in ("path", "actor", "label", "gender", "num_samples", "sample_rate"):
        np.testing.assert_array_equal(getattr(without, name), getattr(with_index, name))
    np.testing.assert_array_equal(without.audio(5), with_index.audio(5))


def test_plain_tfds_api_builds_and_reads(tiny_root, tmp_path):
    """The builders are ordinary TFDS builders: registered as serjax_<corpus>, prepared with a
    DownloadConfig(manual_dir=...), manifest and record index written beside the records."""
    import tensorflow_datasets as tfds
    from serjax_datasets.tess import Tess

    assert tfds.builder_cls("serjax_tess") is Tess
    builder = tfds.builder("serjax_tess", data_dir=tmp_path)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=tiny_root / "tess"))
    vdir = tmp_path / "serjax_tess" / "1.0.0"
    assert (vdir / MANIFEST_NAME).exists() and (vdir / "record_index.json").exists()
    assert builder.info.splits["train"].num_examples == 28
    assert builder.info.file_format.value == "array_record"
    example = tfds.builder_from_directory(vdir).as_data_source()["train"][0]
    assert example["audio"].dtype == np.int16 and example["sample_rate"] == 24_414
    assert "kaggle.com" in builder.MANUAL_DOWNLOAD_INSTRUCTIONS
    assert "Toronto" in builder.info.description
    with pytest.raises(dataset.DatasetError, match="does not exist or is empty"):
        Tess(data_dir=tmp_path / "other").download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=tmp_path / "missing"))
