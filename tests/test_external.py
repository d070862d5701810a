"""External features (serjax.features.external): keyed files and folders, vectors and
sequences, and the errors that name the key and the fix."""

import numpy as np
import pytest
from _feature_tables import tiny_table

from serjax.features import external, precompute, spec


def _config(path, kind="external", **features):
    cfg = spec.default_config()
    cfg.features.backend = "librosa"
    cfg.features.shard_size = 2
    cfg.features.acoustic = kind
    cfg.features.external_path = str(path)
    cfg.augment.copies = 0
    for k, v in features.items():
        cfg.features[k] = v
    return cfg


def _keys(table):
    return [f"{c}/{p}" for c, p in zip(table.corpus, table.path)]


def _vectors(table, width=16):
    rng = np.random.default_rng(0)
    return {key: rng.normal(size=width).astype(np.float32) for key in _keys(table)}


def test_npz_vectors_become_the_acoustic_rows(tmp_path):
    table = tiny_table(4)
    vectors = _vectors(table)
    np.savez(tmp_path / "emb.npz", **vectors)
    fs = precompute.precompute(table, _config(tmp_path / "emb.npz"), tmp_path / "cache",
                               workers=1, progress=False)
    assert fs.acoustic.shape == (4, 16) and "frame_mask" not in fs.arrays
    for i, key in enumerate(f"{c}/{p}" for c, p in zip(fs.corpus, fs.path)):
        np.testing.assert_array_equal(fs.acoustic[i], vectors[key])
    assert fs.statistical.shape == (4, 8) and np.isfinite(fs.statistical).all()
    # The same pipeline with the librosa summary gives the same statistical features.
    librosa = precompute.precompute(table, _config("", "summary"), tmp_path / "cache",
                                    workers=1, progress=False)
    np.testing.assert_array_equal(fs.statistical, librosa.statistical)


def test_npy_dict_with_bare_path_keys(tmp_path):
    table = tiny_table(3)
    vectors = {key.split("/", 1)[1]: v for key, v in _vectors(table, 5).items()}
    np.save(tmp_path / "emb.npy", vectors)
    fs = precompute.precompute(table, _config(tmp_path / "emb.npy"), tmp_path / "cache",
                               workers=1, progress=False)
    np.testing.assert_array_equal(fs.acoustic[0], vectors[str(fs.path[0])])


def test_folder_of_sequences_becomes_frames_with_mask(tmp_path):
    table = tiny_table(3)
    lengths = {}
    for i, (corpus, path) in enumerate(zip(table.corpus, table.path)):
        file = tmp_path / "emb" / corpus / path.replace(".wav", ".npy")
        file.parent.mkdir(parents=True, exist_ok=True)
        lengths[path] = 5 + 4 * i
        np.save(file, np.full((lengths[path], 7), i + 1.0, np.float32))
    cfg = _config(tmp_path / "emb", "external_frames", max_frames=10)
    fs = precompute.precompute(table, cfg, tmp_path / "cache", workers=1, progress=False)
    assert fs.acoustic.shape == (3, 10, 7) and fs.frame_mask.shape == (3, 10)
    for i, path in enumerate(fs.path):
        assert fs.num_frames[i] == lengths[str(path)]
        assert fs.frame_mask[i].sum() == min(lengths[str(path)], 10)
    assert np.all(fs.acoustic[~fs.frame_mask] == 0)


def test_missing_key_is_named(tmp_path):
    table = tiny_table(3)
    vectors = _vectors(table)
    missing = _keys(table)[1]
    del vectors[missing]
    np.savez(tmp_path / "emb.npz", **vectors)
    with pytest.raises(external.ExternalError, match=missing):
        precompute.precompute(table, _config(tmp_path / "emb.npz"), tmp_path / "cache",
                              workers=1, progress=False)


def test_missing_file_in_folder_is_named_with_the_paths_tried(tmp_path):
    table = tiny_table(2)
    (tmp_path / "emb").mkdir()
    np.save(tmp_path / "emb" / "unrelated.npy", np.zeros(4, np.float32))
    with pytest.raises(external.ExternalError, match="file_000.npy"):
        precompute.precompute(table, _config(tmp_path / "emb"), tmp_path / "cache",
                              workers=1, progress=False)


def test_sequence_where_a_vector_is_expected_is_named(tmp_path):
    table = tiny_table(2)
    keys = _keys(table)
    np.savez(tmp_path / "emb.npz", **{keys[0]: np.zeros(4, np.float32),
                                      keys[1]: np.zeros((3, 4), np.float32)})
    with pytest.raises(external.ExternalError, match=rf"{keys[1]}.*\(3, 4\).*external_frames"):
        precompute.precompute(table, _config(tmp_path / "emb.npz"), tmp_path / "cache",
                              workers=1, progress=False)


def test_width_mismatch_is_named(tmp_path):
    table = tiny_table(2)
    keys = sorted(_keys(table))
    np.savez(tmp_path / "emb.npz", **{keys[0]: np.zeros(4, np.float32),
                                      keys[1]: np.zeros(6, np.float32)})
    with pytest.raises(external.ExternalError, match=rf"{keys[1]}.*6 features.*has 4"):
        precompute.precompute(table, _config(tmp_path / "emb.npz"), tmp_path / "cache",
                              workers=1, progress=False)


def test_augmentation_and_missing_path_are_refused(tmp_path):
    cfg = _config(tmp_path / "emb.npz")
    cfg.augment.copies = 1
    with pytest.raises(external.ExternalError, match="augment.copies=0"):
        precompute.precompute(tiny_table(2), cfg, tmp_path / "cache", workers=1,
                              progress=False)
    with pytest.raises(ValueError, match="external_path"):
        spec.acoustic_kind(_config("").features)


def test_cache_key_follows_the_file_contents(tmp_path):
    table = tiny_table(2)
    np.savez(tmp_path / "emb.npz", **_vectors(table, 4))
    cfg = _config(tmp_path / "emb.npz")
    first = precompute.cache_key([table], cfg, "librosa")
    np.savez(tmp_path / "emb.npz", **_vectors(table, 8))
    assert precompute.cache_key([table], cfg, "librosa") != first
    # Without external features the (empty) path does not enter the key at all.
    plain = _config("", "summary")
    del plain.features["external_path"]
    assert precompute.cache_key([table], _config("", "summary"), "librosa") == \
        precompute.cache_key([table], plain, "librosa")
