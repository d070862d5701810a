"""The paper's four augmentations (pitch shift, noise, time stretch, low-pass) in NumPy/librosa.

Each augmented row is a pure function of (prepared waveform, corpus, file path, copy index,
``config.augment``): its random parameters come from ``np.random.default_rng(stable_seed(...))``,
a SHA-256 of ``(augment.seed, corpus, path, copy)``, so reruns, worker counts and row order never
change a result. Which rows are augmented (training only) is the folds' business: precompute
makes ``copies`` augmented rows per file, flagged ``augmented=True, copy=k`` (k >= 1), each keeping
its source's actor, label, gender and path.

Ops, in ``augment.ops`` order (default: pitch_shift, time_stretch, lowpass, noise; noise last so
the output sits exactly at the drawn SNR). ``mode="chain"`` applies every op; ``"one_of"`` one.

* ``pitch_shift``: ``librosa.effects.pitch_shift`` by ``n`` semitones (frequencies x 2^(n/12)),
  the duration kept; ``n`` uniform in ``augment.pitch_semitones``.
* ``time_stretch``: ``librosa.effects.time_stretch`` by ``rate`` (duration x 1/rate, pitch kept).
* ``lowpass``: a zero-phase linear-phase FIR (``scipy.signal.firwin``, Kaiser window designed for
  ``augment.lowpass_stopband_db`` of stopband attenuation, ``lowpass_numtaps`` taps) applied as a
  centred ("same") convolution. **Attenuation**: -6 dB at the cutoff and at least
  ``lowpass_stopband_db`` (default 60 dB) from ``cutoff + transition/2`` upward, where
  ``transition = (A - 7.95) / (2.285 pi (numtaps - 1)) * sr / 2`` (315 Hz for the defaults at
  22,050 Hz, so >= 60 dB from about cutoff + 160 Hz); see ``lowpass_stopband_edge_hz``.
* ``noise``: white Gaussian noise scaled so that 10 log10(P_signal / P_noise) equals the drawn
  SNR in dB exactly (powers measured on this waveform and this noise draw).
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.signal


def stable_seed(base_seed: int, corpus: str, path: str, copy: int) -> int:
    """A 64-bit seed from SHA-256 of (seed, corpus, path, copy); stable across runs and hosts."""
    digest = hashlib.sha256(f"{int(base_seed)}\x1f{corpus}\x1f{path}\x1f{int(copy)}".encode())
    return int.from_bytes(digest.digest()[:8], "little")


def draw_params(rng: np.random.Generator, augment_config) -> dict[str, float]:
    """One parameter per op in ``augment.ops`` (all drawn, in a fixed order, so that ``mode`` does
    not change the draws); ``one_of`` keeps one op picked by the same rng."""
    cfg = augment_config
    ranges = {"pitch_shift": cfg.pitch_semitones, "time_stretch": cfg.stretch_rate,
              "lowpass": cfg.lowpass_cutoff_hz, "noise": cfg.noise_snr_db}
    unknown = [op for op in cfg.ops if op not in ranges]
    if unknown:
        raise ValueError(f"augment.ops has unknown ops {unknown}; choose from {sorted(ranges)}")
    params = {}
    for op in cfg.ops:
        lo, hi = (float(v) for v in ranges[op])
        params[op] = float(rng.uniform(lo, hi)) if hi > lo else lo
    if cfg.mode == "one_of":
        keep = cfg.ops[int(rng.integers(len(cfg.ops)))]
        params = {keep: params[keep]}
    elif cfg.mode != "chain":
        raise ValueError(f"augment.mode={cfg.mode!r}; choose 'chain' or 'one_of'")
    return params


def pitch_shift(y: np.ndarray, sr: int, semitones: float, *, res_type: str, n_fft: int,
                hop_length: int) -> np.ndarray:
    """float32 [n] -> [n], every frequency multiplied by 2^(semitones/12)."""
    import librosa  # noqa: PLC0415
    out = librosa.effects.pitch_shift(y, sr=sr, n_steps=float(semitones), bins_per_octave=12,
                                      res_type=res_type, n_fft=n_fft, hop_length=hop_length)
    return out.astype(np.float32)


def time_stretch(y: np.ndarray, rate: float, *, n_fft: int, hop_length: int) -> np.ndarray:
    """float32 [n] -> [round(n / rate)], pitch kept."""
    import librosa  # noqa: PLC0415
    out = librosa.effects.time_stretch(y, rate=float(rate), n_fft=n_fft, hop_length=hop_length)
    return out.astype(np.float32)


def lowpass_taps(cutoff_hz: float, sr: int, numtaps: int, stopband_db: float) -> np.ndarray:
    """float32 [numtaps] Kaiser-window FIR low-pass, unit DC gain, -6 dB at ``cutoff_hz``."""
    if numtaps % 2 == 0:
        raise ValueError(f"augment.lowpass_numtaps={numtaps} must be odd (zero-phase centring)")
    beta = scipy.signal.kaiser_beta(float(stopband_db))
    taps = scipy.signal.firwin(numtaps, float(cutoff_hz), window=("kaiser", beta), fs=sr)
    return taps.astype(np.float32)


def lowpass_stopband_edge_hz(cutoff_hz: float, sr: int, numtaps: int,
                             stopband_db: float) -> float:
    """The frequency from which the low-pass attenuates by at least ``stopband_db`` dB."""
    transition = (stopband_db - 7.95) / (2.285 * np.pi * (numtaps - 1)) * sr / 2.0
    return float(cutoff_hz + transition / 2.0)


def lowpass(y: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """float32 [n] -> [n]: centred linear convolution (zeros beyond the ends)."""
    return scipy.signal.fftconvolve(y, taps, mode="same").astype(np.float32)


def add_noise(y: np.ndarray, snr_db: float, unit_noise: np.ndarray) -> np.ndarray:
    """float32 [n] + noise scaled to ``snr_db`` (exact for this draw). ``unit_noise`` [n]."""
    signal_power = np.mean(np.square(y, dtype=np.float64))
    noise_power = np.mean(np.square(unit_noise, dtype=np.float64))
    scale = np.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (y + scale * unit_noise).astype(np.float32)


def augment(y: np.ndarray, sr: int, augment_config, *, corpus: str, path: str, copy: int,
            res_type: str, n_fft: int, hop_length: int) -> tuple[np.ndarray, dict[str, float]]:
    """One augmented copy of a prepared float32 waveform [n] -> ([m], the drawn parameters)."""
    cfg = augment_config
    rng = np.random.default_rng(stable_seed(cfg.seed, corpus, path, copy))
    params = draw_params(rng, cfg)
    for op, value in params.items():
        if op == "pitch_shift":
            y = pitch_shift(y, sr, value, res_type=res_type, n_fft=n_fft, hop_length=hop_length)
        elif op == "time_stretch":
            y = time_stretch(y, value, n_fft=n_fft, hop_length=hop_length)
        elif op == "lowpass":
            y = lowpass(y, lowpass_taps(value, sr, cfg.lowpass_numtaps, cfg.lowpass_stopband_db))
        elif op == "noise":
            y = add_noise(y, value, rng.standard_normal(y.shape[0]).astype(np.float32))
    return y, params
