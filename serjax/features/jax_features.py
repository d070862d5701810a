"""Acoustic and statistical features in JAX on batches of padded waveforms (jit + vmap).

Same maths as the librosa path (``acoustic.py``, ``statistical.py``), with librosa's own filter
banks (mel, chroma), its periodic Hann window and its framing as constants:

* STFT/RMS frames: the signal zero-padded by ``n_fft // 2`` at both ends (``center=True``,
  ``pad_mode="constant"``); frame ``t`` covers padded samples ``[t*hop, t*hop + n_fft)``.
  Zeros after an example's end in the batch buffer *are* that padding, so padding is exact.
* ZCR frames: edge padding (the first/last real sample repeated), built per example by a
  clipped gather, so the buffer's zeros never count as crossings.
* Valid frames of an example with ``n`` samples: ``t < 1 + n // hop``; means, the dB ``top_db``
  floor (a max over the whole utterance) and the moments are masked to real frames/samples.

``batch_features(waves [B, L] float32, lengths [B] int, sr, features_config)`` returns
``{"frames": [B, T, 162], "log_mel": [B, T, n_mels], "frame_mask": bool [B, T],
"summary": [B, 162], "statistical": [B, S]}`` with ``T = 1 + L // hop`` (``log_mel``: the
dB of the mel power the MFCC starts from, the ``logmel_frames`` kind). ``pad_batch`` buckets
lengths to multiples of ``BUCKET`` samples so that a corpus compiles a handful of shapes, not
one per file.
Agreement with librosa (float32 on both sides; rtol/atol per feature) is pinned in
``tests/test_jax_features.py``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from serjax.features import spec

#: Batch buffers are padded to a multiple of this many samples (~0.74 s at 22,050 Hz).
BUCKET = 2 ** 14
_TINY32 = float(np.finfo(np.float32).tiny)
_STATIC_KEYS = ("n_fft", "hop_length", "n_mels", "n_mfcc", "stat_n_mfcc", "db_amin", "db_top_db",
                "n_chroma", "tuning", "chroma_power", "zcr_threshold", "fmin", "fmax",
                "mel_htk", "mel_norm", "window", "center", "pad_mode", "statistical")


def _static(f) -> tuple:
    return tuple((k, f[k]) for k in _STATIC_KEYS)


@functools.lru_cache(maxsize=8)
def constants(sr: int, static: tuple) -> dict[str, np.ndarray]:
    """librosa's window, mel and chroma banks, DCT-II (ortho) rows and bin frequencies."""
    import librosa  # noqa: PLC0415
    import scipy.fft  # noqa: PLC0415
    f = dict(static)
    n_fft = f["n_fft"]
    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=f["n_mels"], fmin=f["fmin"],
                              fmax=f["fmax"], htk=f["mel_htk"], norm=f["mel_norm"])
    chroma = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=f["tuning"],
                                    n_chroma=f["n_chroma"])
    n_dct = max(f["n_mfcc"], f["stat_n_mfcc"])
    dct = scipy.fft.dct(np.eye(f["n_mels"]), type=2, norm="ortho", axis=0)[:n_dct]
    return {
        "window": librosa.filters.get_window(f["window"], n_fft, fftbins=True).astype(np.float32),
        "mel": mel.astype(np.float32),
        "chroma": chroma.astype(np.float32),
        "dct": dct.astype(np.float32),
        "freqs": librosa.fft_frequencies(sr=sr, n_fft=n_fft).astype(np.float32),
    }


def _frames(padded: jnp.ndarray, num_frames: int, n_fft: int, hop: int) -> jnp.ndarray:
    """[P] -> [num_frames, n_fft], frame t = padded[t*hop : t*hop + n_fft]."""
    idx = hop * jnp.arange(num_frames)[:, None] + jnp.arange(n_fft)[None, :]
    return padded[idx]


def _masked_mean(x: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """x [T, ...], mask [T] -> mean over the masked rows [...]."""
    m = mask.reshape(mask.shape + (1,) * (x.ndim - 1)).astype(x.dtype)
    return jnp.sum(x * m, axis=0) / jnp.sum(m, axis=0)


def _one_example(y, n, consts, f):
    """y [L] (zeros beyond n), n scalar -> (frames [T, 162], log-mel [T, n_mels], mask [T],
    stats dict of scalars)."""
    n_fft, hop = f["n_fft"], f["hop_length"]
    pad = n_fft // 2
    length = y.shape[0]
    num_frames = 1 + length // hop
    valid = jnp.arange(num_frames) < 1 + n // hop

    frames = _frames(jnp.pad(y, (pad, pad)), num_frames, n_fft, hop)          # [T, n_fft]
    magnitude = jnp.abs(jnp.fft.rfft(frames * consts["window"], axis=-1))     # [T, F]
    power = magnitude ** 2
    mel = power @ consts["mel"].T                                             # [T, n_mels]
    log_mel = 10.0 * jnp.log10(jnp.maximum(f["db_amin"], mel)) \
        - 10.0 * jnp.log10(jnp.maximum(f["db_amin"], 1.0))
    peak = jnp.max(jnp.where(valid[:, None], log_mel, -jnp.inf))
    log_mel = jnp.maximum(log_mel, peak - f["db_top_db"])
    cepstra = log_mel @ consts["dct"].T                                       # [T, n_dct]
    raw_chroma = (magnitude ** f["chroma_power"]) @ consts["chroma"].T        # [T, 12]
    chroma_norm = jnp.max(jnp.abs(raw_chroma), axis=-1, keepdims=True)
    chroma = raw_chroma / jnp.where(chroma_norm < _TINY32, 1.0, chroma_norm)
    rms = jnp.sqrt(jnp.mean(frames ** 2, axis=-1, keepdims=True))           # [T, 1]

    edge = y[jnp.clip(jnp.arange(length + 2 * pad) - pad, 0, n - 1)]         # edge padding
    negative = _frames(edge, num_frames, n_fft, hop) < -f["zcr_threshold"]
    zcr = jnp.sum(negative[:, 1:] != negative[:, :-1], axis=-1, keepdims=True) / n_fft

    acoustic = jnp.concatenate([zcr, chroma, cepstra[:, :f["n_mfcc"]], rms, mel], axis=-1)

    norm1 = jnp.sum(magnitude, axis=-1, keepdims=True)
    weights = magnitude / jnp.where(norm1 < _TINY32, 1.0, norm1)
    centroid = jnp.sum(weights * consts["freqs"], axis=-1)                    # [T]
    bandwidth = jnp.sqrt(jnp.sum(weights * (consts["freqs"] - centroid[:, None]) ** 2, axis=-1))

    sample_mask = (jnp.arange(length) < n).astype(jnp.float32)
    count = n.astype(jnp.float32)
    mean = jnp.sum(y * sample_mask) / count
    centred = (y - mean) * sample_mask
    var = jnp.sum(centred ** 2) / count
    stats = {
        "mean": mean, "variance": var,
        "skewness": jnp.sum(centred ** 3) / count / var ** 1.5,
        "kurtosis": jnp.sum(centred ** 4) / count / var ** 2 - 3.0,
        "rms_mean": _masked_mean(rms[:, 0], valid),
        "centroid_mean": _masked_mean(centroid, valid),
        "bandwidth_mean": _masked_mean(bandwidth, valid),
        "mfcc13_mean": jnp.mean(_masked_mean(cepstra[:, :f["stat_n_mfcc"]], valid)),
    }
    return acoustic, log_mel, valid, stats


@functools.lru_cache(maxsize=8)
def _compiled(sr: int, static: tuple):
    f = dict(static)
    # NumPy, not jnp: a cached jnp constant created while tracing another jit would leak
    # that trace into every later call (seen when stream.py first called us under jit).
    consts = {k: np.asarray(v) for k, v in constants(sr, static).items()}
    names = spec.STATISTICAL_SUBSETS[f["statistical"]]
    if not (f["center"] and f["pad_mode"] == "constant"):
        raise ValueError("the JAX feature path implements center=True, pad_mode='constant' only;"
                         " set features.backend='librosa' for other framings")

    def batch(waves, lengths):
        frames, log_mel, mask, stats = jax.vmap(
            lambda y, n: _one_example(y, n, consts, f))(waves, lengths)
        summary = jax.vmap(_masked_mean)(frames, mask)
        statistical = jnp.stack([stats[k] for k in names], axis=-1)
        return {"frames": frames, "log_mel": log_mel, "frame_mask": mask, "summary": summary,
                "statistical": statistical}

    return jax.jit(batch)


def batch_features(waves, lengths, sr: int, features_config) -> dict[str, jax.Array]:
    """waves float32 [B, L] (zeros beyond each length), lengths int [B] (>= 1) -> features.

    Returns frames [B, T, 162], log_mel [B, T, n_mels], frame_mask bool [B, T], summary
    [B, 162], statistical [B, S], T = 1 + L // hop_length. Rows with length 0 are padding;
    their values are meaningless."""
    lengths = jnp.maximum(jnp.asarray(lengths, jnp.int32), 1)
    return _compiled(int(sr), _static(features_config))(jnp.asarray(waves, jnp.float32), lengths)


def pad_batch(waves: list[np.ndarray], batch_size: int | None = None,
              bucket: int = BUCKET) -> tuple[np.ndarray, np.ndarray]:
    """list of float32 [n_i] -> (float32 [B, L] zero-padded, int32 [B] lengths); L a multiple of
    ``bucket``; B = ``batch_size`` when given (extra rows have length 0)."""
    rows = batch_size or len(waves)
    longest = max(w.shape[0] for w in waves)
    length = -(-longest // bucket) * bucket
    out = np.zeros((rows, length), np.float32)
    lengths = np.zeros(rows, np.int32)
    for i, w in enumerate(waves):
        out[i, : w.shape[0]] = w
        lengths[i] = w.shape[0]
    return out, lengths
