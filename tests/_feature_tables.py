"""A tiny in-memory CorpusTable (the docs/architecture.md contract) for the feature tests."""

from __future__ import annotations

import numpy as np

from serjax.corpora import naming
from serjax.corpora.dataset import InMemoryTable
from serjax.features import spec


def speechlike(seconds: float, sr: int, f0: float, seed: int, *, silence_s: float = 0.3,
               noise_dbfs: float = -60.0) -> np.ndarray:
    """int16 [n]: a vibrato harmonic tone (8 partials, 1/k amplitudes, syllable-like envelope)
    with a white noise floor and ``silence_s`` of near-silence at both ends."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 9) if k * f0 < sr / 2)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t) ** 2
    voiced = 0.4 * voiced * envelope / np.max(np.abs(voiced))
    pad = np.zeros(int(silence_s * sr))
    y = np.concatenate([pad, voiced, pad])
    y += 10 ** (noise_dbfs / 20) * rng.standard_normal(y.shape[0])
    return np.clip(np.round(y * 32767), -32768, 32767).astype(np.int16)


def tiny_table(n: int = 6, *, corpus: str = "ravdess", seed: int = 0, bad: dict | None = None,
               fingerprint: str | None = None) -> InMemoryTable:
    """``n`` files (1.0-1.6 s of voice, native rates 16/22.05/48 kHz, alternating gender);
    ``bad`` maps a row index to an int16 array replacing its audio."""
    rates = (16_000, 22_050, 48_000)
    waves, rows = [], []
    for i in range(n):
        sr = rates[i % 3]
        wave = speechlike(1.0 + 0.1 * i, sr, f0=110.0 + 35.0 * i, seed=seed + i)
        if bad and i in bad:
            wave = bad[i]
        waves.append(wave)
        rows.append((f"Actor_{i % 3 + 1:02d}/file_{i:03d}.wav", f"{corpus}/{i % 3 + 1:02d}",
                     naming.MALE if i % 2 == 0 else naming.FEMALE, i % 6, sr, wave.shape[0]))
    rows_sorted = sorted(range(n), key=lambda i: rows[i][0])
    col = lambda j, dtype: np.array([rows[i][j] for i in rows_sorted], dtype)  # noqa: E731
    return InMemoryTable(
        corpus=np.array([corpus] * n), path=col(0, str), actor=col(1, str),
        gender=col(2, np.int8), label=col(3, np.int8), sample_rate=col(4, np.int32),
        waves=[waves[i] for i in rows_sorted],
        fingerprint=fingerprint or f"tiny-{corpus}-{n}-{seed}")


def feature_config(**features):
    """spec's defaults on the librosa path in shards of 2 files, with ``features`` overrides."""
    cfg = spec.default_config()
    cfg.features.backend = "librosa"
    cfg.features.shard_size = 2
    for k, v in features.items():
        cfg.features[k] = v
    return cfg
