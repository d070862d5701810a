"""The librosa reference features: shapes, block order, and agreement with plain librosa calls
written the way the authors' code writes them."""

import librosa
import numpy as np
import pytest
import scipy.stats
from _feature_tables import speechlike

from serjax.corpora import naming
from serjax.features import acoustic, audio, spec, statistical

SR = 22_050


@pytest.fixture(scope="module")
def wave():
    cfg = spec.default_config()
    return audio.prepare(speechlike(1.2, 48_000, f0=140.0, seed=7), 48_000, cfg.audio)


def test_default_config_is_explicit():
    cfg = spec.default_config()
    assert cfg.audio.sample_rate == 22_050 and cfg.audio.res_type == "soxr_hq"
    assert (cfg.features.n_fft, cfg.features.hop_length, cfg.features.n_mels,
            cfg.features.n_mfcc, cfg.features.center) == (2048, 512, 128, 20, True)
    assert cfg.features.tuning == 0.0 and cfg.augment.copies == 1
    assert spec.acoustic_width(cfg.features) == 162
    assert spec.resolve_backend("auto") in ("librosa", "jax")


def test_shapes_and_block_order(wave):
    f = spec.default_config().features
    frames = acoustic.acoustic_frames(wave, SR, f)
    n_frames = 1 + wave.shape[0] // f.hop_length
    assert frames.shape == (n_frames, 162) and frames.dtype == np.float32
    summary = acoustic.acoustic_summary(wave, SR, f)
    assert summary.shape == (162,)
    np.testing.assert_allclose(summary, frames.mean(axis=0), rtol=1e-6)
    zcr, chroma, mfcc, rms, mel = (frames[:, 0], frames[:, 1:13], frames[:, 13:33],
                                   frames[:, 33], frames[:, 34:])
    assert np.all((zcr >= 0) & (zcr <= 1))
    np.testing.assert_allclose(chroma.max(axis=1), 1.0, rtol=1e-6)   # inf-norm per frame
    assert np.all(mfcc[:, 0] < 0) and np.all(rms > 0) and np.all(mel >= 0)
    padded, kept = acoustic.pad_frames(frames, 256)
    assert padded.shape == (256, 162) and kept == n_frames and np.all(padded[kept:] == 0)


def test_acoustic_matches_authors_style_librosa_calls(wave):
    """The shared-STFT implementation equals separate librosa calls on y."""
    f = spec.default_config().features
    kw = dict(n_fft=2048, hop_length=512)
    expected = np.hstack([
        np.mean(librosa.feature.zero_crossing_rate(y=wave, frame_length=2048, hop_length=512),
                axis=1),
        np.mean(librosa.feature.chroma_stft(S=np.abs(librosa.stft(wave, **kw)), sr=SR,
                                            tuning=0.0, **kw), axis=1),
        np.mean(librosa.feature.mfcc(y=wave, sr=SR, n_mfcc=20, n_mels=128, **kw), axis=1),
        np.mean(librosa.feature.rms(y=wave, frame_length=2048, hop_length=512), axis=1),
        np.mean(librosa.feature.melspectrogram(y=wave, sr=SR, n_mels=128, **kw), axis=1),
    ])
    np.testing.assert_allclose(acoustic.acoustic_summary(wave, SR, f), expected,
                               rtol=2e-5, atol=1e-7)


def test_statistical_matches_scipy_and_librosa(wave):
    f = spec.default_config().features
    got = statistical.statistical(wave, SR, f)
    kw = dict(sr=SR, n_fft=2048, hop_length=512)
    w64 = wave.astype(np.float64)
    expected = [w64.mean(), w64.var(), scipy.stats.skew(w64), scipy.stats.kurtosis(w64),
                librosa.feature.rms(y=wave, frame_length=2048, hop_length=512).mean(),
                librosa.feature.spectral_centroid(y=wave, **kw).mean(),
                librosa.feature.spectral_bandwidth(y=wave, **kw).mean(),
                librosa.feature.mfcc(y=wave, n_mfcc=13, n_mels=128, **kw).mean()]
    assert got.shape == (8,) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=2e-5)
    f.statistical = "paper6"
    six = statistical.statistical(wave, SR, f)
    np.testing.assert_array_equal(six, got[[0, 1, 2, 3, 5, 6]])


def test_gender_bit_male_is_one():
    assert statistical.gender_bit(naming.MALE) == 1
    assert statistical.gender_bit(naming.FEMALE) == 0
    with pytest.raises(ValueError, match="neither"):
        statistical.gender_bit(2)


def test_features_bit_identical_on_rerun(wave):
    f = spec.default_config().features
    a = acoustic.acoustic_blocks(wave, SR, f)
    b = acoustic.acoustic_blocks(wave, SR, f)
    np.testing.assert_array_equal(acoustic.frames_from_blocks(a), acoustic.frames_from_blocks(b))
    np.testing.assert_array_equal(statistical.statistical_from_blocks(wave, SR, f, a),
                                  statistical.statistical_from_blocks(wave, SR, f, b))
