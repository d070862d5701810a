"""features.acoustic='logmel_frames': per frame the log-mel spectrogram [T, n_mels] in dB, for
the frames CNN. Its values against a direct librosa call, its FeatureSet (shape, mask,
frames_dtype, the statistical features, column names, cache key), the JAX backend's agreement,
and one ``serjax cv`` of the frames CNN on it whose workdir ``serjax predict`` serves with the
training rows' frames.

The CV run is a 21-file synthetic manifest corpus (3 speakers × 7 classes, 3 folds, 1 epoch), as
in tests/test_predict_opensmile.py."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from _feature_tables import feature_config, tiny_table
from _listed_corpora import trained_manifest_run

from serjax.features import acoustic, audio, precompute, spec
from serjax.models import networks
from serjax.serve import export, live, model_bundle, predict
from serjax.training import checkpoint

SR = 22_050
N_MELS = 128
#: Max |jax - librosa| over a row's log-mel, divided by that row's max |librosa| (measured
#: 1.1e-5 on the tiny table's voices, float32 on both sides): never loosen it to pass.
JAX_TOL = 2e-5


def _config(**features):
    """The librosa path on logmel_frames (unless ``features`` says another kind) without
    augmented copies (a row per file)."""
    config = feature_config(**{"acoustic": "logmel_frames", **features})
    config.augment.copies = 0
    return config


def _tone(seconds: float = 1.2) -> np.ndarray:
    """float32 [n] at SR: 440 Hz plus a quieter 1,500 Hz partial."""
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 440.0 * t)
            + 0.05 * np.sin(2 * np.pi * 1_500.0 * t)).astype(np.float32)


def _prepared(table, config) -> dict[str, np.ndarray]:
    """{path: the prepared waveform precompute reads} of every file of ``table``."""
    return {str(table.path[i]): audio.prepare(table.audio(i), int(table.sample_rate[i]),
                                              config.audio, min_samples=config.features.n_fft)
            for i in range(len(table.path))}


# ----------------------------------------------------------------------------- the values

def test_log_mel_frames_are_librosa_power_to_db_of_the_mel_spectrogram():
    f = _config().features
    y = _tone()
    got = acoustic.kind_frames(acoustic.acoustic_blocks(y, SR, f), f)
    assert got.shape == (1 + y.size // f.hop_length, N_MELS) and got.dtype == np.float32
    assert spec.acoustic_width(f) == N_MELS
    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=512, center=True,
                                pad_mode="constant")) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=SR, n_mels=128, fmin=0.0, fmax=None,
                                         htk=False, norm="slaney")
    expected = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0).T
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)  # dB
    # dB, not power: the top_db floor sits 80 dB below the loudest bin, which is 440 Hz's band.
    assert got.max() - got.min() == pytest.approx(80.0, abs=1e-4)
    centres = librosa.mel_frequencies(N_MELS + 2, fmin=0.0, fmax=SR / 2)[1:-1]
    assert int(np.argmax(got.mean(axis=0))) == int(np.argmin(np.abs(centres - 440.0)))
    # n_mels sets the width; the paper's frames keep their 162 columns.
    f64 = _config(n_mels=64).features
    narrow = acoustic.kind_frames(acoustic.acoustic_blocks(y, SR, f64), f64)
    assert narrow.shape == (got.shape[0], 64)
    assert spec.acoustic_width(f64) == 64 and spec.acoustic_width(feature_config().features) == 162


def test_frames_cnn_reads_logmel_frames_and_fusionnet_refuses_them():
    features = _config().features
    assert spec.is_frames(features) and spec.feature_backend(features) == "librosa"
    frames_cnn = networks.default_model_config()
    frames_cnn.kind = "frames_cnn"
    networks.check_features_suit_model(frames_cnn, features)
    with pytest.raises(ValueError, match="features.acoustic='logmel_frames' does not suit"):
        networks.check_features_suit_model(networks.default_model_config(), features)


# ----------------------------------------------------------------------------- the FeatureSet

def test_feature_set_rows_statistics_names_and_cache_key(tmp_path):
    table = tiny_table(2)
    config = _config(max_frames=64, frames_dtype="float16")
    fs = precompute.precompute(table, config, tmp_path, workers=1, progress=False)
    assert fs.acoustic.shape == (2, 64, N_MELS) and fs.acoustic.dtype == np.float16
    assert fs.frame_mask.shape == (2, 64) and fs.statistical.shape == (2, len(spec.AUTHORS8))
    waves = _prepared(table, config)
    for i, path in enumerate(fs.path):
        values = acoustic.kind_frames(acoustic.acoustic_blocks(waves[path], SR, config.features),
                                      config.features)
        count = 1 + waves[path].size // 512
        assert int(fs.num_frames[i]) == values.shape[0] == count < 64
        padded, _ = acoustic.pad_frames(values, 64)
        np.testing.assert_array_equal(fs.acoustic[i], padded.astype(np.float16))
        np.testing.assert_array_equal(fs.frame_mask[i], np.arange(64) < count)
        assert np.all(fs.acoustic[i, count:] == 0)
    # The statistical features are librosa's 8, whatever the acoustic set: the frames set's.
    frames_config = _config(max_frames=64, frames_dtype="float16", acoustic="frames")
    frames = precompute.precompute(table, frames_config, tmp_path, workers=1, progress=False)
    np.testing.assert_array_equal(fs.statistical, frames.statistical)
    np.testing.assert_array_equal(fs.path, frames.path)
    # Its own cache entry: the key hashes features.acoustic.
    key = precompute.cache_key(table, config, "librosa")
    assert key != precompute.cache_key(table, frames_config, "librosa")
    assert fs.directory.name == f"features-{key[:20]}" != frames.directory.name
    assert fs.manifest["acoustic_kind"] == "logmel_frames"
    assert fs.manifest["acoustic_blocks"] == {"log_mel": [0, N_MELS]}
    assert fs.manifest["acoustic_names"] == [f"logmel_{i}" for i in range(N_MELS)]
    assert "acoustic (64, 128), statistical (8,)" in precompute.describe(fs)


def test_jax_backend_log_mel_matches_librosa(tmp_path):
    table = tiny_table(3)
    ref = precompute.precompute(table, _config(max_frames=96), tmp_path, workers=1,
                                progress=False)
    fast = precompute.precompute(table, _config(max_frames=96, backend="jax", jax_batch_size=4),
                                 tmp_path, workers=1, progress=False)
    assert fast.directory != ref.directory and fast.manifest["backend"] == "jax"
    assert fast.acoustic.shape == ref.acoustic.shape == (3, 96, N_MELS)
    np.testing.assert_array_equal(fast.frame_mask, ref.frame_mask)
    np.testing.assert_array_equal(fast.path, ref.path)
    for i in range(3):
        err = np.abs(np.asarray(fast.acoustic[i]) - ref.acoustic[i]).max()
        assert err / np.abs(ref.acoustic[i]).max() <= JAX_TOL, (i, err)
    np.testing.assert_allclose(fast.statistical, ref.statistical, rtol=2e-5, atol=1e-6)


# ----------------------------------------------------------------------------- cv and serving

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(corpus root, workdir, the training FeatureSet) of a 3-fold frames CNN on log-mel
    frames stored in float16."""
    return trained_manifest_run(tmp_path_factory.mktemp("logmel_frames"), [
        "--config.features.acoustic=logmel_frames", "--config.features.max_frames=128",
        "--config.features.frames_dtype=float16", "--config.model.kind=frames_cnn",
        "--config.model.frames_cnn.conv_features=(4,)",
        "--config.model.frames_cnn.kernel_sizes=(3,)"])


def _rows(feature_set, count=3):
    """The first ``count`` rows (row index, path)."""
    return [(i, str(feature_set.path[i])) for i in range(count)]


def test_cv_trains_the_frames_cnn_on_log_mel_frames(trained):
    _, workdir, fs = trained
    assert fs.num_rows == 21 and fs.acoustic.shape == (21, 128, N_MELS)
    assert fs.acoustic.dtype == np.float16 and fs.manifest["acoustic_kind"] == "logmel_frames"
    models = checkpoint.load_models(workdir)
    assert networks.reads_frames(models.config)
    probs = checkpoint.predict_proba(
        models, {"frames": np.asarray(fs.acoustic, np.float32), "mask": fs.frame_mask},
        np.asarray(fs.statistical), np.asarray(fs.gender, np.float32))
    assert probs.shape == (3, 21, 7) and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_predict_serves_the_training_frames_and_probabilities(trained):
    root, workdir, fs = trained
    config = model_bundle.read_config(workdir)
    rows = _rows(fs)
    for row, path in rows:
        wave, _ = predict.prepare_file(root / path, config)
        (served, statistical), = predict.wave_features([wave], config)
        # float16-rounded as the FeatureSet stores them, then float32 for the model.
        assert served["frames"].dtype == np.float32 and served["frames"].shape == (128, N_MELS)
        np.testing.assert_array_equal(served["frames"], np.asarray(fs.acoustic[row], np.float32))
        np.testing.assert_array_equal(served["mask"], fs.frame_mask[row])
        np.testing.assert_array_equal(statistical, fs.statistical[row])
    bundle = model_bundle.load_bundle(workdir)
    results = predict.predict_files(bundle, [root / p for _, p in rows], gender="male")
    assert [r.error for r in results] == [""] * len(rows)
    by_file = {r.file: r for r in results}
    index = [i for i, _ in rows]
    reference = checkpoint.predict_proba(
        checkpoint.load_models(workdir),
        {"frames": np.asarray(fs.acoustic, np.float32)[index], "mask": fs.frame_mask[index]},
        np.asarray(fs.statistical)[index], np.ones(len(index))).mean(axis=0)
    probs = np.stack([by_file[str(root / p)].probs for _, p in rows])
    np.testing.assert_allclose(probs, reference, rtol=0, atol=1e-6)


def test_stream_uses_librosa_and_export_refuses(trained, tmp_path):
    root, workdir, fs = trained
    bundle = model_bundle.load_bundle(workdir)
    window = live.WindowClassifier(bundle, 2 * SR)
    assert window.features == "librosa"  # the JAX window function computes summaries only
    wave, _ = predict.prepare_file(root / str(fs.path[0]), bundle.config)
    probs = window.probs(wave[:2 * SR], 1)
    assert probs.shape == (7,) and abs(float(probs.sum()) - 1) < 1e-5
    with pytest.raises(ValueError, match="serjax predict"):
        export.export_artifact(workdir, tmp_path / "artifact")
    assert not (tmp_path / "artifact").exists()
