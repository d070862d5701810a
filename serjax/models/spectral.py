"""A 2-D convolutional front end for the frame-level extractor (``model.frames_cnn.
conv2d_features``): time × band convolutions over a spectrogram, before the 1-D conv blocks.

The 1-D blocks of ``networks.FramesExtractor`` read every feature of a frame as its own
channel, so they cannot share a filter across neighbouring bands: a pitch or formant shift
moves energy to other channels. A 2-D front (the usual first layers of a spectrogram CNN)
convolves over time *and* band with one small kernel, so a pattern is recognised wherever it
sits on the frequency axis. It suits band-ordered frames (``features.acoustic='logmel_frames'``);
on eGeMAPS' or ComParE's LLDs, whose columns are unrelated descriptors, a neighbourhood of
columns means nothing.

Each entry of ``conv2d_features`` is one block: 'SAME' ``conv2d_kernel`` × ``conv2d_kernel``
convolution → ReLU → padded frames zeroed → 2 × 2 max-pool (time and band) → dropout. The
output ``[B, T', F', C]`` is read as ``[B, T', F' * C]`` frames by the 1-D blocks that follow.
As everywhere in the frames extractor, a padded frame never changes a real frame's output: the
input's padded frames are zero (as a 'SAME' convolution's border is), and every block zeroes
them again before the next one.

The convolution is shifted views + one matmul (as ``Conv1D``'s ``'im2col'``), which the
model-axis ``vmap`` turns into a batched matmul. Imports ``models.pooling``; dropout layers come
from ``make_dropout`` (as in ``models.sequence``), so this module need not import ``networks``.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from serjax.models.pooling import pool_time, same_padding


class Conv2D(nn.Module):
    """'SAME' 2-D convolution, stride 1: ``[B, T, F, c_in] -> [B, T, F, features]``."""
    features: int
    kernel_size: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        _, t, f, c_in = x.shape
        k = self.kernel_size
        kernel = self.param("kernel", nn.initializers.lecun_normal(),
                            (k, k, c_in, self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        (top, bottom), (low, high) = same_padding(t, k, 1), same_padding(f, k, 1)
        xp = jnp.pad(x, [(0, 0), (top, bottom), (low, high), (0, 0)])
        patches = jnp.concatenate([xp[:, i:i + t, j:j + f, :]
                                   for i in range(k) for j in range(k)], axis=-1)
        return patches @ kernel.reshape(k * k * c_in, self.features) + bias


def pool_bands(x: jax.Array) -> jax.Array:
    """Max over pairs of neighbouring bands: ``[B, T, F, C] -> [B, T, ceil(F / 2), C]`` (an odd
    last band pairs with a zero, which never wins after a ReLU)."""
    b, t, f, c = x.shape
    x = jnp.pad(x, [(0, 0), (0, 0), (0, f % 2), (0, 0)])
    return x.reshape(b, t, -1, 2, c).max(3)


class SpectralFront(nn.Module):
    """Frames ``[B, T, F]`` + mask ``[B, T]`` → ``([B, T', F' * C], mask [B, T'])``."""
    features: tuple[int, ...]
    kernel_size: int
    make_dropout: Callable[[], nn.Module]

    @nn.compact
    def __call__(self, h: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = h[..., None]  # one input channel: the spectrogram itself
        for width in self.features:
            x = nn.relu(Conv2D(width, self.kernel_size)(x)) * mask[:, :, None, None]
            b, t, f, c = x.shape
            pooled, mask = pool_time(x.reshape(b, t, f * c), mask, 2, "max")
            x = self.make_dropout()(pool_bands(pooled.reshape(b, -1, f, c)))
        b, t, f, c = x.shape
        return x.reshape(b, t, f * c), mask


def check_spectral(f) -> None:
    """Raises ValueError naming the bad ``model.frames_cnn.conv2d_*`` field."""
    if any(width < 1 for width in f.conv2d_features) or f.conv2d_kernel < 1:
        raise ValueError(f"model.frames_cnn.conv2d_features {tuple(f.conv2d_features)} and "
                         f"conv2d_kernel {f.conv2d_kernel} must be >= 1")
