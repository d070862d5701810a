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
(the authors' ``chroma_stft(S=np.abs(stft))`` is why ``chroma_power`` is 1 by default). The mel
and chroma calls are written out as librosa's own (cached) filter banks times the spectrogram:
librosa rebuilds the banks on every call, which cost more than the rest of the features;
``tests/test_features.py`` pins the result to the plain librosa calls. The ``summary`` vector
[162] is the mean over frames of each block, as in the authors' code. ``logmel_frames`` stores
the mel block in dB instead (``log_mel_frames``: [T, n_mels], the dB the MFCC starts from),
since raw mel power spans many decades and a CNN reading it sees mostly its loudest bins.
"""

from __future__ import annotations

import functools

import numpy as np

from serjax.features import spec


def stft_magnitude(y: np.ndarray, f) -> np.ndarray:
    """float32 [n] -> |STFT| float32 [1 + n_fft // 2, T]."""
    import librosa  # noqa: PLC0415
    stft = librosa.stft(y, n_fft=f.n_fft, hop_length=f.hop_length, win_length=f.n_fft,
                        window=f.window, center=f.center, pad_mode=f.pad_mode)
    return np.abs(stft)


@functools.lru_cache(maxsize=16)
def mel_bank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None, htk: bool,
             norm: str) -> np.ndarray:
    """librosa's mel filter bank float32 [n_mels, 1 + n_fft // 2] (built once per setting)."""
    import librosa  # noqa: PLC0415
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               htk=htk, norm=norm, dtype=np.float32)


@functools.lru_cache(maxsize=16)
def chroma_bank(sr: int, n_fft: int, tuning: float, n_chroma: int) -> np.ndarray:
    """librosa's chroma filter bank float32 [n_chroma, 1 + n_fft // 2]."""
    import librosa  # noqa: PLC0415
    return librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning, n_chroma=n_chroma,
                                  dtype=np.float32)


def mel_power(magnitude: np.ndarray, sr: int, f) -> np.ndarray:
    """|STFT| [F, T] -> mel power spectrogram [n_mels, T]: ``melspectrogram(S=|STFT|**2)`` with a
    cached bank and a BLAS matmul (librosa rebuilds the bank and uses einsum on every call)."""
    bank = mel_bank(sr, f.n_fft, f.n_mels, f.fmin, f.fmax, f.mel_htk, f.mel_norm)
    return bank @ (magnitude ** 2)


def chroma(magnitude: np.ndarray, sr: int, f) -> np.ndarray:
    """|STFT| [F, T] -> chroma [n_chroma, T]: ``chroma_stft(S=|STFT|**chroma_power,
    tuning, norm=inf)``, i.e. the bank applied, then each frame divided by its max (frames whose
    max is below float32's smallest normal are left as they are, as ``librosa.util.normalize``)."""
    raw = chroma_bank(sr, f.n_fft, f.tuning, f.n_chroma) @ (magnitude ** f.chroma_power)
    peak = np.max(np.abs(raw), axis=0, keepdims=True)
    return raw / np.where(peak < np.finfo(np.float32).tiny, 1.0, peak)


def mel_db(mel: np.ndarray, f) -> np.ndarray:
    """mel power [n_mels, T] -> dB [n_mels, T]: ``power_to_db(ref=1.0, amin, top_db)``, the
    floor ``top_db`` below the utterance's loudest bin (one dB for the MFCC and log-mel)."""
    import librosa  # noqa: PLC0415
    return librosa.power_to_db(mel, ref=1.0, amin=f.db_amin, top_db=f.db_top_db)


def mfcc_from_mel(mel: np.ndarray, n_mfcc: int, f) -> np.ndarray:
    """mel power [n_mels, T] -> MFCC [n_mfcc, T] (dB with ref 1.0, then orthonormal DCT-II)."""
    import librosa  # noqa: PLC0415
    return librosa.feature.mfcc(S=mel_db(mel, f), n_mfcc=n_mfcc, dct_type=2, norm="ortho",
                                lifter=0)


def acoustic_blocks(y: np.ndarray, sr: int, f, magnitude: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """float32 [n] -> {block: float32 [width, T]} for zcr, chroma, mfcc, rms, mel (mel is the
    power spectrogram), plus ``_magnitude`` (|STFT| [F, T]) for the statistical features."""
    import librosa  # noqa: PLC0415
    if magnitude is None:
        magnitude = stft_magnitude(y, f)
    mel = mel_power(magnitude, sr, f)
    blocks = {
        "zcr": librosa.feature.zero_crossing_rate(
            y, frame_length=f.n_fft, hop_length=f.hop_length, center=f.center,
            threshold=f.zcr_threshold),
        "chroma": chroma(magnitude, sr, f),
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


def log_mel_frames(blocks: dict[str, np.ndarray], f) -> np.ndarray:
    """{block: [width, T]} -> float32 [T, n_mels]: the mel power block in dB (``mel_db``), the
    ``logmel_frames`` kind."""
    return mel_db(blocks["mel"], f).astype(np.float32).T.copy()


def kind_frames(blocks: dict[str, np.ndarray], f) -> np.ndarray:
    """{block: [width, T]} -> the frames a librosa kind stores: [T, n_mels] log-mel for
    ``logmel_frames``, else the paper's [T, 162] (``summary`` averages them later)."""
    if spec.acoustic_kind(f) == "logmel_frames":
        return log_mel_frames(blocks, f)
    return frames_from_blocks(blocks)


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
