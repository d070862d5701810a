"""Max-pooling over a sequence axis, with a gradient that stays cheap on XLA:CPU.

Why this module exists: SER-FusionNet applies dropout right after each max-pool. Written as
``jnp.maximum`` over strided slices followed by ``x * mask``, the gradient of the pool is a
sum of strided pads of the incoming gradient, and XLA:CPU fuses everything that produced that
gradient (the dropout mask's hash, the max chain that picks each window's winner) into the
pad fusion, so it is recomputed once per window position: that single fusion was half of the
extractor's training step (docs/benchmarks.md, ``## Training``). ``max_pool_dropout`` computes
the pool and the dropout together under a ``custom_vjp`` whose only residual is one int8 per
pooled value, "which position of the window won, or 'dropped'", produced by a reduction (an
``argmax``), which XLA materialises instead of recomputing. The backward pass then reads just
that index and the gradient. Same values and the same gradients as pool-then-dropout (ties
between equal positive maxima, a measure-zero event for float activations, send the whole
gradient to the first of them rather than splitting it); the extractor step is ~2.4× faster.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def same_padding(length: int, size: int, stride: int) -> tuple[int, int]:
    """(left, right) padding of XLA's 'SAME' rule: output length ceil(length / stride)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + size - length, 0)
    return total // 2, total - total // 2


def _window_views(x: jax.Array, size: int, stride: int) -> list[jax.Array]:
    """The ``size`` strided slices of ``x [..., L, C]`` ('SAME', -inf padded) whose
    elementwise max is the pooled output; view ``i`` holds position ``i`` of every window."""
    length = x.shape[-2]
    left, right = same_padding(length, size, stride)
    pad = [(0, 0)] * (x.ndim - 2) + [(left, right), (0, 0)]
    xp = jnp.pad(x, pad, constant_values=-jnp.inf)
    out_len = -(-length // stride)
    span = (out_len - 1) * stride + 1
    return [jax.lax.slice_in_dim(xp, i, i + span, stride, axis=x.ndim - 2) for i in range(size)]


def max_pool_slices(x: jax.Array, size: int, stride: int) -> jax.Array:
    """'SAME' max-pool over axis -2 of ``x [..., L, C]`` as a max of strided slices (plain
    autodiff; the reference ``max_pool_dropout`` is tested against)."""
    return functools.reduce(jnp.maximum, _window_views(x, size, stride))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def max_pool_dropout(x: jax.Array, keep: jax.Array, size: int, stride: int,
                     scale: float) -> jax.Array:
    """``max_pool_slices(x, size, stride) * keep * scale`` with a cheap gradient.

    ``x [..., L, C]``; ``keep`` a boolean dropout mask of the pooled shape
    ``[..., ceil(L / stride), C]`` (all True for no dropout); ``scale`` = 1 / keep probability.
    Not differentiable in ``keep``.
    """
    return _pool_dropout_fwd(x, keep, size, stride, scale)[0]


def _pool_dropout_fwd(x, keep, size, stride, scale):
    views = _window_views(x, size, stride)
    best = functools.reduce(jnp.maximum, views)
    # One argmax over [view 0 .. view size-1, sentinel]: the sentinel is +inf where the value is
    # dropped (index `size` wins) and -inf where it is kept. Being a reduction, XLA writes the
    # index out once instead of re-deriving it (hash and max chain) inside the backward fusion.
    sentinel = jnp.where(keep, -jnp.inf, jnp.inf).astype(x.dtype)
    winner = jnp.argmax(jnp.stack(views + [sentinel], axis=-1), axis=-1).astype(jnp.int8)
    out = jnp.where(keep, best * jnp.asarray(scale, x.dtype), jnp.zeros((), x.dtype))
    return out, (winner, x.shape[-2])


def _pool_dropout_bwd(size, stride, scale, residuals, grad):
    winner, length = residuals
    left, right = same_padding(length, size, stride)
    axis = grad.ndim - 2
    span = (grad.shape[axis] - 1) * stride + 1
    padded = length + left + right
    zero = jnp.zeros((), grad.dtype)
    total = None
    for i in range(size):  # window position i of output j sits at padded input i + stride * j
        config = [(0, 0, 0)] * grad.ndim
        config[axis] = (i, padded - i - span, stride - 1)
        part = jax.lax.pad(jnp.where(winner == i, grad, zero), zero, config)
        total = part if total is None else total + part
    grad_x = jax.lax.slice_in_dim(total, left, left + length, axis=axis)
    return grad_x * jnp.asarray(scale, grad.dtype), None


max_pool_dropout.defvjp(_pool_dropout_fwd, _pool_dropout_bwd)


def pooled_length(length: int, stride: int) -> int:
    """Length after a 'SAME' pool of stride ``stride``."""
    return -(-length // stride)


def pool_time(h: jax.Array, mask: jax.Array, size: int, reduce: str):
    """Non-overlapping pooling over time of ``h [B, T, C]`` (padded frames zero) in windows of
    ``size`` → ``([B, ceil(T / size), C], mask [B, ceil(T / size)])``. ``reduce='mean'``
    averages the real frames of a window; ``'max'`` takes their max (``h`` must be >= 0, as
    after a ReLU, so the zeros of padded frames never win). A window is real if any frame is."""
    if size == 1:
        return h, mask
    b, t, c = h.shape
    extra = -t % size
    h = jnp.pad(h, [(0, 0), (0, extra), (0, 0)]).reshape(b, -1, size, c)
    m = jnp.pad(mask, [(0, 0), (0, extra)]).reshape(b, -1, size)
    if reduce == "mean":
        out = h.sum(2) / jnp.maximum(m.sum(2), 1.0)[..., None]
    else:
        out = h.max(2)
    return out, m.max(2)


def masked_mean_max(h: jax.Array, mask: jax.Array, signed: bool = False) -> jax.Array:
    """``[B, T, C]`` (padded frames zero) → ``[B, 2C]``: mean and max over the real frames of
    each row (a row without real frames gives zeros). Values must be >= 0 (the zeros of padded
    frames then never win the max) unless ``signed``, which leaves padded frames out of the
    max by their mask (one select more)."""
    count = jnp.maximum(mask.sum(1), 1.0)[:, None]
    if not signed:
        return jnp.concatenate([h.sum(1) / count, h.max(1)], axis=-1)
    real = mask[..., None] > 0
    top = jnp.where(real, h, jnp.finfo(h.dtype).min).max(1)
    top = jnp.where(real.any(1), top, 0.0)
    return jnp.concatenate([h.sum(1) / count, top], axis=-1)


def weighted_mean_std(h: jax.Array, weights: jax.Array, eps: float = 1e-5) -> jax.Array:
    """``h [B, T, C]`` (finite), ``weights [B, T]`` (>= 0, summing to 1 or 0 per row) → ``[B,
    2C]``: the weighted mean and standard deviation over time. The variance is the weighted
    mean of squared deviations (not E[h²] - mean², which cancels badly), and ``eps`` keeps the
    square root's gradient finite where it is 0."""
    w = weights[..., None]
    mean = (w * h).sum(1)
    var = (w * jnp.square(h - mean[:, None, :])).sum(1)
    return jnp.concatenate([mean, jnp.sqrt(var + eps)], axis=-1)


def masked_mean_std(h: jax.Array, mask: jax.Array) -> jax.Array:
    """``[B, T, C]`` → ``[B, 2C]``: statistics pooling, mean and standard deviation over the
    real frames of each row (a row without real frames gives mean 0, std sqrt(eps))."""
    count = jnp.maximum(mask.sum(1, keepdims=True), 1.0)
    return weighted_mean_std(h, mask / count)
