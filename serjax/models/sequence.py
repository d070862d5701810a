"""Sequence blocks and learned pooling over time for the frame-level extractor
(``model.frames_cnn``, ``networks.FramesExtractor``).

They sit between the conv blocks and the deep layer: ``[B, T, C]`` conv output + ``mask
[B, T]`` → optional sequence block (``sequence``) → pooling over time (``pooling``) → ``[B,
2D]``. The rule of the frames extractor holds throughout: a padded frame never changes a real
frame's output, so a row's result does not depend on how much padding it carries.

* ``sequence='gru'``: a bidirectional GRU (a CRNN). Each direction is a scan whose state only
  advances on real frames, so the backward direction starts at a row's last real frame
  whatever padding follows it (and padding anywhere is skipped, not only at the end).
* ``sequence='conformer'``: one conformer block (Gulati et al. 2020): half-step feed-forward,
  self-attention with padded frames masked out of the keys, the convolution module, half-step
  feed-forward, LayerNorm, each with its residual. No relative positional encoding: the
  depthwise convolution carries the order. Its normalisations are LayerNorms, not the paper's
  BatchNorm, whose batch statistics would mix the padded frames (and, under the training
  engine's ``vmap``, would be the wrong statistics).
* ``pooling='mean_max'`` (today's): masked mean and max; ``'mean_std'``: statistics pooling,
  masked mean and standard deviation; ``'attention'``: attentive statistics pooling (Okabe et
  al. 2018), a learned per-frame score softmaxed over the real frames, then the weighted mean
  and standard deviation.

Dropout layers come from ``make_dropout`` (the extractor's ``networks.Dropout`` with its own,
possibly traced per-model, rate): passed in, so this module need not import ``networks``.
Imports ``models.pooling``.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from serjax.models.pooling import (
    masked_mean_max,
    masked_mean_std,
    same_padding,
    weighted_mean_std,
)

SEQUENCES = ("none", "gru", "conformer")
POOLINGS = ("mean_max", "mean_std", "attention")

MakeDropout = Callable[[], nn.Module]


def _gru_step(cell: nn.GRUCell, carry: jax.Array, frame: tuple) -> tuple:
    """One frame of one direction: a padded frame leaves the state as it was, so the state a
    real frame sees comes from real frames only."""
    x, real = frame
    new, _ = cell(carry, x)
    carry = jnp.where(real[:, None] > 0, new, carry)
    return carry, carry


class BiGRU(nn.Module):
    """``[B, T, C]`` + mask → ``[B, T, 2 * width]``: forward and backward GRU states of each
    frame, concatenated (padded frames zero)."""
    width: int
    make_dropout: MakeDropout

    @nn.compact
    def __call__(self, h: jax.Array, mask: jax.Array) -> jax.Array:
        states = []
        for name, reverse in (("forward", False), ("backward", True)):
            scan = nn.scan(_gru_step, variable_broadcast="params", split_rngs={"params": False},
                           in_axes=1, out_axes=1, reverse=reverse)
            carry = jnp.zeros((h.shape[0], self.width), h.dtype)
            # lecun-normal recurrent kernels, not flax's orthogonal default: its QR, batched
            # by the engine's vmap over models, deadlocked XLA:CPU's thread pool on 2 cores
            cell = nn.GRUCell(self.width, recurrent_kernel_init=nn.initializers.lecun_normal(),
                              name=name)
            _, y = scan(cell, carry, (h, mask))
            states.append(y)
        return self.make_dropout()(jnp.concatenate(states, -1)) * mask[..., None]


class FeedForward(nn.Module):
    """The conformer's feed-forward module: LayerNorm → Dense(4C) → swish → Dense(C)."""
    make_dropout: MakeDropout
    expansion: int = 4

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        y = nn.swish(nn.Dense(self.expansion * h.shape[-1])(nn.LayerNorm()(h)))
        return self.make_dropout()(nn.Dense(h.shape[-1])(self.make_dropout()(y)))


class DepthwiseConv1D(nn.Module):
    """'SAME' depthwise convolution over time, one kernel per channel: ``[B, T, C]`` →
    ``[B, T, C]``, as a sum of shifted views (elementwise, cheap under ``vmap``)."""
    kernel_size: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, length = self.kernel_size, x.shape[-2]
        kernel = self.param("kernel", nn.initializers.lecun_normal(0, (), 1),  # fan-in k
                            (k, x.shape[-1]))
        bias = self.param("bias", nn.initializers.zeros_init(), (x.shape[-1],))
        left, right = same_padding(length, k, 1)
        xp = jnp.pad(x, [(0, 0), (left, right), (0, 0)])
        return sum(xp[:, i:i + length, :] * kernel[i] for i in range(k)) + bias


class ConvModule(nn.Module):
    """The conformer's convolution module: LayerNorm → pointwise conv + GLU → depthwise conv →
    LayerNorm → swish → pointwise conv."""
    kernel_size: int
    make_dropout: MakeDropout

    @nn.compact
    def __call__(self, h: jax.Array, mask: jax.Array) -> jax.Array:
        width = h.shape[-1]
        y = nn.glu(nn.Dense(2 * width, name="pointwise_in")(nn.LayerNorm()(h)), axis=-1)
        # zeroed so that padded frames add nothing to a real frame's window
        y = DepthwiseConv1D(self.kernel_size)(y * mask[..., None])
        y = nn.swish(nn.LayerNorm()(y))
        return self.make_dropout()(nn.Dense(width, name="pointwise_out")(y))


class ConformerBlock(nn.Module):
    """One conformer block at the input's width: ``[B, T, C]`` + mask → ``[B, T, C]`` (padded
    frames zero). ``num_heads`` must divide C."""
    num_heads: int
    kernel_size: int
    make_dropout: MakeDropout

    @nn.compact
    def __call__(self, h: jax.Array, mask: jax.Array) -> jax.Array:
        h = h + 0.5 * FeedForward(self.make_dropout, name="ff_in")(h)
        keys = (mask > 0)[:, None, None, :]  # [B, heads, queries, keys]: real keys only
        attended = nn.MultiHeadDotProductAttention(self.num_heads, deterministic=True,
                                                   name="attention")(nn.LayerNorm()(h), mask=keys)
        h = h + self.make_dropout()(attended)
        h = h + ConvModule(self.kernel_size, self.make_dropout, name="conv")(h, mask)
        h = h + 0.5 * FeedForward(self.make_dropout, name="ff_out")(h)
        return nn.LayerNorm()(h) * mask[..., None]


class AttentiveStatsPooling(nn.Module):
    """``[B, T, C]`` + mask → ``[B, 2C]``: Dense(width, tanh) → Dense(1) scores each frame, a
    softmax over the real frames weighs them; weighted mean and standard deviation."""
    width: int

    @nn.compact
    def __call__(self, h: jax.Array, mask: jax.Array) -> jax.Array:
        score = nn.Dense(1)(nn.tanh(nn.Dense(self.width)(h)))[..., 0]
        # finite, not -inf: a row without real frames gets uniform weights over zeros, not NaN
        score = jnp.where(mask > 0, score, jnp.finfo(score.dtype).min)
        return weighted_mean_std(h, jax.nn.softmax(score, axis=-1))


def sequence_block(f, make_dropout: MakeDropout) -> nn.Module:
    """The block ``f.sequence`` names (``f``: the full ``model.frames_cnn``; not 'none')."""
    if f.sequence == "gru":
        return BiGRU(f.sequence_width, make_dropout, name="sequence")
    return ConformerBlock(f.num_heads, f.conformer_kernel, make_dropout, name="sequence")


def pool_frames(h: jax.Array, mask: jax.Array, f, signed: bool) -> jax.Array:
    """``[B, T, C]`` (padded frames zero) → ``[B, 2C]`` by ``f.pooling``. ``signed``: the
    values may be negative (after a sequence block), so the max must skip padded frames by
    their mask; otherwise the conv blocks' ReLU outputs allow today's cheaper max."""
    if f.pooling == "mean_max":
        return masked_mean_max(h, mask, signed=signed)
    if f.pooling == "mean_std":
        return masked_mean_std(h, mask)
    return AttentiveStatsPooling(f.attention_width, name="attention_pool")(h, mask)
