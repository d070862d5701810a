"""Precompute + FeatureSet store: cache hit/miss/invalidation, resume, bad rows, reruns."""

import json

import numpy as np
import pytest
from _feature_tables import feature_config, speechlike, tiny_table

from serjax.features import extract, precompute, spec, store


def _count_shards(monkeypatch):
    calls = []
    original = extract.prepare_rows

    def counting(items, config):
        calls.append(len(items))
        return original(items, config)

    monkeypatch.setattr(extract, "prepare_rows", counting)
    return calls


def test_rows_fields_and_augmented_copies(tmp_path):
    table = tiny_table(4)
    fs = precompute.precompute(table, feature_config(), tmp_path, workers=1, progress=False)
    assert fs.num_rows == 8                       # each file + one augmented copy
    assert fs.acoustic.shape == (8, 162) and fs.acoustic.dtype == np.float32
    assert fs.statistical.shape == (8, 8) and fs.gender.dtype == np.int8
    np.testing.assert_array_equal(fs.copy, [0, 1] * 4)
    np.testing.assert_array_equal(fs.augmented, [False, True] * 4)
    for field in ("path", "actor", "label", "gender", "corpus"):
        column = getattr(fs, field)
        np.testing.assert_array_equal(column[0::2], column[1::2])   # copies keep their source
    np.testing.assert_array_equal(fs.path[0::2], table.path)
    np.testing.assert_array_equal(fs.gender[0::2], table.gender)
    assert not np.array_equal(fs.acoustic[0], fs.acoustic[1])
    assert fs.manifest["statistical_names"] == list(spec.AUTHORS8)
    assert fs.manifest["acoustic_blocks"]["mel"] == [34, 162]
    assert isinstance(fs.acoustic, np.memmap)
    picked = fs.select(fs.augmented)
    assert picked.num_rows == 4 and picked.augmented.all()


def test_cache_hit_miss_and_invalidation(tmp_path, monkeypatch):
    table = tiny_table(4)
    calls = _count_shards(monkeypatch)
    first = precompute.precompute(table, feature_config(), tmp_path, workers=1, progress=False)
    assert len(calls) == 2                               # 4 files, 2 per shard
    again = precompute.precompute(table, feature_config(shard_size=3, jax_batch_size=8), tmp_path,
                                  workers=1, progress=False)
    assert len(calls) == 2 and again.directory == first.directory      # hit: no work
    changed = precompute.precompute(table, feature_config(hop_length=256), tmp_path, workers=1,
                                    progress=False)
    assert len(calls) == 4 and changed.directory != first.directory    # miss
    other_data = tiny_table(4, fingerprint="rebuilt")
    precompute.precompute(other_data, feature_config(), tmp_path, workers=1, progress=False)
    assert len(calls) == 6
    assert len(list(tmp_path.glob("features-*[!l]"))) == 3
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".tmp-*"))


def test_resume_after_interruption_redoes_only_missing_shards(tmp_path, monkeypatch):
    table = tiny_table(6)
    clean = precompute.precompute(table, feature_config(), tmp_path / "clean", workers=1,
                                  progress=False)
    calls = _count_shards(monkeypatch)
    original_write = store.write_shard

    def crash_after_first(path, arrays, skipped):
        original_write(path, arrays, skipped)
        raise KeyboardInterrupt("simulated kill after the first shard")

    monkeypatch.setattr(store, "write_shard", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        precompute.precompute(table, feature_config(), tmp_path / "run", workers=1, progress=False)
    assert len(calls) == 1 and len(list((tmp_path / "run").glob("*.partial/shard-*.npz"))) == 1
    monkeypatch.setattr(store, "write_shard", original_write)
    resumed = precompute.precompute(table, feature_config(), tmp_path / "run", workers=1,
                                    progress=False)
    assert len(calls) == 3                     # 3 shards in all; the finished one not redone
    for name in clean.arrays:
        np.testing.assert_array_equal(resumed.arrays[name], clean.arrays[name])


def test_bad_rows_skipped_and_reported_with_path(tmp_path):
    nan_wave = speechlike(1.0, 22_050, f0=120.0, seed=9).astype(np.float32) / 32768
    nan_wave[100] = np.nan
    bad = {1: np.zeros(30_000, np.int16),                              # silence only
           3: speechlike(0.02, 16_000, f0=200.0, seed=4, silence_s=0.0),  # too short
           4: nan_wave}
    table = tiny_table(6, bad=bad)
    fs = precompute.precompute(table, feature_config(), tmp_path, workers=1, progress=False)
    skipped = fs.manifest["skipped"]
    reasons = {(s["path"], s["copy"]): s["reason"] for s in skipped}
    expected_reason = {0: "silence", 1: "too_short", 2: "non_finite"}
    bad_paths = [f"Actor_{i % 3 + 1:02d}/file_{i:03d}.wav" for i in (1, 3, 4)]
    for j, path in enumerate(bad_paths):
        assert reasons[(path, 0)] == reasons[(path, 1)] == expected_reason[j]
        assert path not in set(fs.path)
    assert all(path in s["detail"] for s in skipped for path in [s["path"]])
    assert fs.num_rows == 6 and np.all(np.isfinite(fs.acoustic))
    manifest = json.loads((fs.directory / "manifest.json").read_text())
    assert manifest["num_rows"] == 6 and len(manifest["skipped"]) == 6


def test_bit_identical_reruns_and_frames_kind(tmp_path):
    table = tiny_table(3)
    cfg = feature_config(acoustic="frames", max_frames=40, frames_dtype="float16")
    a = precompute.precompute(table, cfg, tmp_path / "a", workers=1, progress=False)
    b = precompute.precompute(table, cfg, tmp_path / "b", workers=1, progress=False)
    for name in a.arrays:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
    assert a.acoustic.shape == (6, 40, 162) and a.acoustic.dtype == np.float16
    assert a.frame_mask.shape == (6, 40)
    np.testing.assert_array_equal(a.frame_mask.sum(axis=1), np.minimum(a.num_frames, 40))
    assert np.all(a.acoustic[~a.frame_mask] == 0)


def test_jax_backend_matches_librosa_backend(tmp_path):
    table = tiny_table(3)
    ref = precompute.precompute(table, feature_config(), tmp_path, workers=1, progress=False)
    fast = precompute.precompute(table, feature_config(backend="jax", jax_batch_size=4), tmp_path,
                                 workers=1, progress=False)
    assert fast.directory != ref.directory and fast.manifest["backend"] == "jax"
    scale = np.abs(ref.acoustic).max(axis=1, keepdims=True)
    assert np.abs(fast.acoustic - ref.acoustic).max() / scale.min() < 1e-4
    np.testing.assert_allclose(fast.statistical, ref.statistical, rtol=2e-5, atol=1e-6)
    np.testing.assert_array_equal(fast.path, ref.path)


def test_process_pool_equals_in_process(tmp_path):
    table = tiny_table(4)
    inline = precompute.precompute(table, feature_config(), tmp_path / "one", workers=1,
                                   progress=False)
    pooled = precompute.precompute(table, feature_config(), tmp_path / "two", workers=2,
                                   progress=False)
    for name in inline.arrays:
        np.testing.assert_array_equal(pooled.arrays[name], inline.arrays[name])
