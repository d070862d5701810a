"""The paper's acoustic features with librosa (the reference path): per frame and frame means.

Per frame ``t`` (``T = 1 + n // hop_length`` frames for ``center=True``), in the paper's order:

=========  =====  ==========================================================================
block      width  librosa call (every parameter from ``config.features``)
=========  =====  ==========================================================================
zcr        1      ``zero_crossing_rate(y, frame_length=n_fft, hop_length, center)`` (edge pad)
chroma     12     ``chroma_stft(S=|STFT|**chroma_power, tuning=0.0, n_chroma, norm=inf)``
mfcc       20     ``mfcc(S=power_to_db(mel, ref=1, amin, top_db), n_mfcc, dct_type=2, ortho)``
rms        1      ``rms(y, frame_length=n_fft, hop_length, center, pad_mode)``
mel        128    ``melspectrogram(S=|STFT|**2, n_mels, fmin, fmax, htk, norm)``
=========  =====  ==========================================================================

``STFT = librosa.stft(y, n_fft, hop_length, window, center, pad_mode)``, computed once and shared
(the authors' ``chroma_stft(S=np.abs(stft))`` is why ``chroma_power`` is 1 by default). The
``summary`` vector [162] is the mean over frames of each block, as in the authors' code.
"""

from __future__ import annotations

import numpy as np

from serjax.features import spec


def stft_magnitude(y: np.ndarray, f) -> np.ndarray:
    """float32 [n] -> |STFT| float32 [1 + n_fft // 2, T]."""
    import librosa  # noqa: PLC0415
    stft = librosa.stft(y, n_fft=f.n_fft, hop_length=f.hop_length, win_length=f.n_fft,
                        window=f.window, center=f.center, pad_mode=f.pad_mode)
    return np.abs(stft)


def mel_power(magnitude: np.ndarray, sr: int, f) -> np.ndarray:
    """|STFT| [F, T] -> mel power spectrogram [n_mels, T]."""
    import librosa  # noqa: PLC0415
    return librosa.feature.melspectrogram(
        S=magnitude ** 2, sr=sr, n_fft=f.n_fft, n_mels=f.n_mels, fmin=f.fmin, fmax=f.fmax,
        htk=f.mel_htk, norm=f.mel_norm)


def mfcc_from_mel(mel: np.ndarray, n_mfcc: int, f) -> np.ndarray:
    """mel power [n_mels, T] -> MFCC [n_mfcc, T] (dB with ref 1.0, then orthonormal DCT-II)."""
    import librosa  # noqa: PLC0415
    log_mel = librosa.power_to_db(mel, ref=1.0, amin=f.db_amin, top_db=f.db_top_db)
    return librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc, dct_type=2, norm="ortho", lifter=0)


def acoustic_blocks(y: np.ndarray, sr: int, f, magnitude: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """float32 [n] -> {block: float32 [width, T]} for zcr, chroma, mfcc, rms, mel (+ ``_mel``
    power and ``_magnitude`` for reuse by the statistical features)."""
    import librosa  # noqa: PLC0415
    if magnitude is None:
        magnitude = stft_magnitude(y, f)
    mel = mel_power(magnitude, sr, f)
    blocks = {
        "zcr": librosa.feature.zero_crossing_rate(
            y, frame_length=f.n_fft, hop_length=f.hop_length, center=f.center,
            threshold=f.zcr_threshold),
        "chroma": librosa.feature.chroma_stft(
            S=magnitude ** f.chroma_power, sr=sr, n_fft=f.n_fft, hop_length=f.hop_length,
            tuning=f.tuning, n_chroma=f.n_chroma, norm=np.inf),
        "mfcc": mfcc_from_mel(mel, f.n_mfcc, f),
        "rms": librosa.feature.rms(y=y, frame_length=f.n_fft, hop_length=f.hop_length,
                                   center=f.center, pad_mode=f.pad_mode),
        "mel": mel,
    }
    blocks = {k: v.astype(np.float32) for k, v in blocks.items()}
    blocks["_magnitude"] = magnitude
    return blocks


def frames_from_blocks(blocks: dict[str, np.ndarray]) -> np.ndarray:
    """{block: [width, T]} -> float32 [T, 162] in the order zcr, chroma, mfcc, rms, mel."""
    return np.concatenate([blocks[k] for k in spec.ACOUSTIC_BLOCKS], axis=0).T.copy()


def acoustic_frames(y: np.ndarray, sr: int, f) -> np.ndarray:
    """float32 [n] -> float32 [T, 162], T = 1 + n // hop_length (all frames, not padded)."""
    return frames_from_blocks(acoustic_blocks(y, sr, f))


def acoustic_summary(y: np.ndarray, sr: int, f) -> np.ndarray:
    """float32 [n] -> float32 [162]: the frame mean of each block (the paper's vector)."""
    return summary_from_frames(acoustic_frames(y, sr, f))


def summary_from_frames(frames: np.ndarray) -> np.ndarray:
    """[T, D] -> float32 [D]: mean over frames."""
    return frames.mean(axis=0, dtype=np.float32)


def pad_frames(frames: np.ndarray, max_frames: int) -> tuple[np.ndarray, int]:
    """[T, D] -> ([max_frames, D] zero-padded or cut, number of real frames kept)."""
    kept = min(frames.shape[0], max_frames)
    out = np.zeros((max_frames, frames.shape[1]), np.float32)
    out[:kept] = frames[:kept]
    return out, kept
