"""Loading one example for feature extraction: resample to 22,050 Hz, trim silence, window.

``prepare(samples, sample_rate, audio_config, name=...)`` takes an int16 (or float) mono array at
its native rate and returns float32 at ``audio.sample_rate``. Files of every encoding reach it as
int16 through ``serjax.corpora.audio_file.read_int16`` (the TFDS records store that), or as
float32 in [-1, 1] through ``read_audio``:

1. int16 -> float32 in [-1, 1) (divide by 32,768);
2. resample with ``librosa.resample(res_type=audio.res_type)`` (the resampler is named, never a
   library default);
3. optional fixed window (``window_offset_s``, ``window_duration_s``), taken *before* trimming as
   ``librosa.load(offset=, duration=)`` does in the authors' code;
4. trim leading and trailing silence with ``librosa.effects.trim(top_db=audio.trim_top_db)``
   (``None`` keeps the signal whole).

Audio that cannot give features raises ``BadAudio`` naming the file and the reason: empty,
non-finite samples, silence only (peak below ``audio.silence_dbfs``), or shorter than
``min_samples`` after trimming. Precompute turns that into a skipped row.
"""

from __future__ import annotations

import numpy as np


class BadAudio(ValueError):
    """An example that cannot give finite features; ``reason`` is a short machine-readable tag."""

    def __init__(self, name: str, reason: str, detail: str):
        super().__init__(f"{name}: {detail} ({reason}); the row is skipped — check the file or "
                         "lower audio.trim_top_db / audio.silence_dbfs if it is real speech")
        self.name = name
        self.reason = reason


def to_float32(samples: np.ndarray) -> np.ndarray:
    """int16 PCM -> float32 in [-1, 1); float input is cast. Shape [n] kept."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / np.float32(32768.0)
    return samples.astype(np.float32)


def resample(y: np.ndarray, orig_sr: int, target_sr: int, res_type: str) -> np.ndarray:
    """float32 [n] at ``orig_sr`` -> float32 [m] at ``target_sr`` with the named resampler."""
    if int(orig_sr) == int(target_sr):
        return y
    import librosa  # noqa: PLC0415  (heavy import, only where needed)
    out = librosa.resample(y, orig_sr=int(orig_sr), target_sr=int(target_sr), res_type=res_type)
    return np.ascontiguousarray(out, dtype=np.float32)


def fixed_window(y: np.ndarray, sr: int, offset_s: float | None,
                 duration_s: float | None) -> np.ndarray:
    """``y[offset : offset + duration]`` in seconds (either may be ``None``); shorter files give
    what they have, as ``librosa.load(offset=, duration=)``."""
    start = 0 if offset_s is None else int(round(offset_s * sr))
    stop = None if duration_s is None else start + int(round(duration_s * sr))
    return y[start:stop]


def trim(y: np.ndarray, top_db: float | None, frame_length: int, hop_length: int) -> np.ndarray:
    """Drop leading/trailing frames quieter than ``top_db`` below the loudest frame."""
    if top_db is None:
        return y
    import librosa  # noqa: PLC0415
    trimmed, _ = librosa.effects.trim(y, top_db=float(top_db), ref=np.max,
                                      frame_length=int(frame_length), hop_length=int(hop_length))
    return trimmed


def check_audible(y: np.ndarray, silence_dbfs: float, name: str) -> None:
    """Raise ``BadAudio`` for empty, non-finite or silence-only audio."""
    if y.size == 0:
        raise BadAudio(name, "empty", "no samples")
    if not np.all(np.isfinite(y)):
        bad = int(y.size - np.count_nonzero(np.isfinite(y)))
        raise BadAudio(name, "non_finite", f"non-finite samples (NaN/Inf): {bad} of {y.size}")
    peak = float(np.max(np.abs(y)))
    if peak <= 10.0 ** (silence_dbfs / 20.0):
        raise BadAudio(name, "silence", f"silence only (peak {peak:.3g} <= {silence_dbfs} dBFS)")


def prepare(samples: np.ndarray, sample_rate: int, audio_config, *, name: str = "<array>",
            min_samples: int = 2048) -> np.ndarray:
    """int16/float [n] at ``sample_rate`` -> float32 [m] at ``audio.sample_rate``, windowed and
    trimmed. Raises ``BadAudio`` when the result has fewer than ``min_samples`` samples (use the
    feature ``n_fft``: shorter audio has no full analysis frame)."""
    cfg = audio_config
    y = to_float32(samples)
    if y.ndim != 1:
        raise BadAudio(name, "not_mono", f"expected a mono 1-D array, got shape {y.shape}")
    check_audible(y, cfg.silence_dbfs, name)
    y = resample(y, sample_rate, cfg.sample_rate, cfg.res_type)
    y = fixed_window(y, cfg.sample_rate, cfg.window_offset_s, cfg.window_duration_s)
    check_audible(y, cfg.silence_dbfs, name)
    y = trim(y, cfg.trim_top_db, cfg.trim_frame_length, cfg.trim_hop_length)
    if y.size < min_samples:
        raise BadAudio(name, "too_short",
                       f"{y.size} samples after trimming, fewer than one "
                       f"{min_samples}-sample frame")
    return np.ascontiguousarray(y, dtype=np.float32)
