"""The augmentations that vectorise, in JAX on padded batches: low-pass and additive noise.

Both match ``serjax.features.augment`` on the same inputs (the FIR taps from ``augment.lowpass_taps``;
the same unit-noise draw) and keep the buffer's padding at zero. Pitch shift and time stretch
(phase vocoder + resampling) stay on the librosa path. ``unit_noise`` draws the noise on device
from a ``jax.random`` key when no NumPy draw is supplied (a different, equally seeded draw).

Shapes: waves [B, L] float32 with zeros beyond ``lengths`` [B]; taps [B, K] (K odd);
snr_db [B]; noise [B, L].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _mask(lengths: jnp.ndarray, length: int) -> jnp.ndarray:
    return (jnp.arange(length)[None, :] < jnp.asarray(lengths)[:, None]).astype(jnp.float32)


@jax.jit
def lowpass(waves: jnp.ndarray, lengths: jnp.ndarray, taps: jnp.ndarray) -> jnp.ndarray:
    """[B, L] -> [B, L]: centred ("same") linear convolution with each row's taps [B, K]."""
    same = jax.vmap(lambda y, h: jax.scipy.signal.fftconvolve(y, h, mode="same"))(waves, taps)
    return same * _mask(lengths, waves.shape[1])


@jax.jit
def add_noise(waves: jnp.ndarray, lengths: jnp.ndarray, snr_db: jnp.ndarray,
              noise: jnp.ndarray) -> jnp.ndarray:
    """[B, L] + noise [B, L] scaled per row so 10 log10(P_signal / P_noise) = snr_db [B] over
    the row's real samples."""
    mask = _mask(lengths, waves.shape[1])
    noise = noise * mask
    signal_power = jnp.sum(waves ** 2, axis=1) / lengths
    noise_power = jnp.sum(noise ** 2, axis=1) / lengths
    scale = jnp.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return waves + scale[:, None] * noise


def unit_noise(key: jax.Array, shape: tuple[int, int]) -> jnp.ndarray:
    """Standard normal noise [B, L] from a ``jax.random`` key."""
    return jax.random.normal(key, shape, jnp.float32)
