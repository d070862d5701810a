"""The statistical and gender features (librosa/NumPy reference path).

Statistical vector [S] (``config.features.statistical``):

* ``authors8`` (default, the authors' code): waveform mean, variance, skewness, kurtosis (Fisher,
  i.e. excess, biased estimators as ``scipy.stats``), mean RMS, mean spectral centroid (Hz), mean
  spectral bandwidth (Hz, p = 2), mean of the 13-coefficient MFCC matrix (one scalar);
* ``paper6`` (the paper's text): mean, variance, skewness, kurtosis, mean centroid, mean
  bandwidth.

Moments are computed in float64 on the prepared (trimmed) waveform; spectral statistics use the
same STFT framing as the acoustic features. Gender: one bit, ``serjax.corpora.naming.MALE`` (1) for
male, as in the authors' code (the paper's text says female = 1; we follow the code).
"""

from __future__ import annotations

import numpy as np

from serjax.corpora import naming
from serjax.features import acoustic, spec


def waveform_moments(y: np.ndarray) -> dict[str, float]:
    """float [n] -> mean, variance, skewness, excess kurtosis (biased, float64)."""
    x = np.asarray(y, np.float64)
    mean = x.mean()
    centred = x - mean
    squared = centred * centred        # products, not ** 3 / ** 4: numpy's pow is ~10x slower
    var = np.mean(squared)
    skew = np.mean(squared * centred) / var ** 1.5
    kurt = np.mean(squared * squared) / var ** 2 - 3.0
    return {"mean": mean, "variance": var, "skewness": skew, "kurtosis": kurt}


def spectral_means(magnitude: np.ndarray, sr: int, f) -> dict[str, float]:
    """|STFT| [F, T] -> mean spectral centroid and bandwidth over frames (Hz).

    ``librosa.feature.spectral_centroid(S=|STFT|)`` and ``spectral_bandwidth(S=|STFT|, p=2,
    norm=True)`` written out (one L1 normalisation shared, frames of zeros left at zero as
    ``librosa.util.normalize`` does); ``tests/test_features.py`` pins them to the librosa calls."""
    import librosa  # noqa: PLC0415
    freqs = librosa.fft_frequencies(sr=sr, n_fft=f.n_fft).astype(np.float32)[:, None]
    total = magnitude.sum(axis=0, keepdims=True)
    weights = magnitude / np.where(total < np.finfo(np.float32).tiny, 1.0, total)
    centroid = np.sum(freqs * weights, axis=0, keepdims=True)
    bandwidth = np.sqrt(np.sum(weights * (freqs - centroid) ** 2, axis=0))
    return {"centroid_mean": float(centroid.mean()), "bandwidth_mean": float(bandwidth.mean())}


def statistical_from_blocks(y: np.ndarray, sr: int, f, blocks: dict[str, np.ndarray]
                            ) -> np.ndarray:
    """Prepared waveform [n] + the acoustic blocks -> float32 [S] in ``statistical_names`` order.
    Reuses the STFT, RMS and mel of ``acoustic.acoustic_blocks``; the 13-MFCC mean is taken from
    the same log-mel (the first 13 orthonormal DCT rows do not depend on n_mfcc)."""
    values = waveform_moments(y)
    values["rms_mean"] = float(blocks["rms"].mean(dtype=np.float64))
    values.update(spectral_means(blocks["_magnitude"], sr, f))
    if f.stat_n_mfcc <= f.n_mfcc:
        mfcc13 = blocks["mfcc"][: f.stat_n_mfcc]
    else:
        mfcc13 = acoustic.mfcc_from_mel(blocks["mel"], f.stat_n_mfcc, f)
    values["mfcc13_mean"] = float(mfcc13.mean(dtype=np.float64))
    return np.array([values[k] for k in spec.statistical_names(f)], np.float32)


def statistical(y: np.ndarray, sr: int, f) -> np.ndarray:
    """Prepared float32 waveform [n] -> float32 [S] (S = 8 for authors8, 6 for paper6)."""
    return statistical_from_blocks(y, sr, f, acoustic.acoustic_blocks(y, sr, f))


#: A speaker whose gender the corpus does not give (``serjax.corpora.manifest``).
UNKNOWN_GENDER = -1


def gender_bit(gender: int) -> np.int8:
    """MALE (1) -> 1, FEMALE (0) -> 0, UNKNOWN_GENDER (-1) -> -1 (a manifest without a gender
    column: the models' gender input is then the same constant for every row); anything else
    is an error."""
    if int(gender) == UNKNOWN_GENDER:
        return np.int8(UNKNOWN_GENDER)
    if int(gender) not in (naming.MALE, naming.FEMALE):
        raise ValueError(f"gender {gender!r} is neither MALE={naming.MALE}, "
                         f"FEMALE={naming.FEMALE} nor unknown={UNKNOWN_GENDER}")
    return np.int8(int(gender) == naming.MALE)
