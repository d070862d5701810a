"""What a training step does to one model's batch beyond the paper: SpecAugment masks, mixup,
label smoothing and class-balanced loss weights (``serjax.training.model_step`` calls them).

Each is a pure function of the batch and a key. Their strengths may be per-model traced
scalars (a hyperparameter arm's values, ``serjax.training.hparams``) or Python numbers; only
whether a regulariser runs at all is static, so arms that differ in strength share one
compiled program. None of them reads a row outside the model's own TRAIN batch: mixup pairs a
row only with another real row of the same batch (padding rows, index ``-1``, read row 0,
which may belong to another role, so they are never a partner).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

AUGMENT_STREAM = 0x5A  # folded into a step's dropout key to get its SpecAugment key
MIXUP_STREAM = 0x3C    # ... and its mixup key


@dataclasses.dataclass(frozen=True)
class SpecAugment:
    """SpecAugment-style masking of training batches (after standardisation, so a masked
    value is the TRAIN mean). Each row gets ``time_masks`` spans of 0..``time_width`` frames
    (frames inputs only) and ``feature_masks`` bands of 0..``feature_width`` adjacent features
    (both inputs), placed uniformly at random."""
    time_masks: int = 0
    time_width: int = 0
    feature_masks: int = 0
    feature_width: int = 0

    @property
    def active(self) -> bool:
        return (self.time_masks > 0 and self.time_width > 0) or (
            self.feature_masks > 0 and self.feature_width > 0)


def band_mask(key, rows: int, length: jax.Array, size: int, count: int, max_width):
    """``bool [rows, size]``: True inside ``count`` random spans of 0..max_width positions,
    each starting uniformly in ``[0, length - width]`` (``length [rows]``: usable length;
    ``max_width`` an int or a traced scalar)."""
    k_width, k_start = jax.random.split(key)
    width = jax.random.randint(k_width, (rows, count, 1), 0, max_width + 1)
    room = jnp.maximum(length[:, None, None] - width, 0) + 1
    start = jnp.floor(jax.random.uniform(k_start, (rows, count, 1)) * room).astype(jnp.int32)
    pos = jnp.arange(size)
    return ((pos >= start) & (pos < start + width)).any(1)


def spec_augment(x, key: jax.Array, aug: SpecAugment, time_width=None, feature_width=None):
    """Masks a standardised batch (``[B, F]`` or ``{"frames": [B, T, F], "mask"}``) with zeros:
    feature bands for both, time spans (within each row's real frames) for frames.
    ``time_width`` / ``feature_width`` (traced per-model scalars) replace ``aug``'s widths."""
    time_width = aug.time_width if time_width is None else time_width
    feature_width = aug.feature_width if feature_width is None else feature_width
    frames = x["frames"] if isinstance(x, dict) else x[:, None, :]
    b, t, f = frames.shape
    k_time, k_feat = jax.random.split(key)
    keep = jnp.ones((b, t, f), jnp.float32)
    if aug.feature_masks > 0:
        band = band_mask(k_feat, b, jnp.full((b,), f), f, aug.feature_masks, feature_width)
        keep = keep * (~band)[:, None, :]
    if isinstance(x, dict) and aug.time_masks > 0:
        length = x["mask"].sum(1).astype(jnp.int32)
        span = band_mask(k_time, b, length, t, aug.time_masks, time_width)
        keep = keep * (~span)[:, :, None]
    if isinstance(x, dict):
        return {"frames": frames * keep, "mask": x["mask"]}
    return (frames * keep)[:, 0, :]


def mixup_partners(key: jax.Array, valid: jax.Array, alpha) -> tuple[jax.Array, jax.Array]:
    """(``lam`` scalar, ``partner int [B]``) of mixup (Zhang et al., 2018): one
    ``lam ~ Beta(alpha, alpha)`` per batch and a random permutation of the batch. A row whose
    partner is padding (``valid`` false) is its own partner, so it stays unmixed. ``alpha``
    <= 0 gives ``lam = 1`` (no mixup), so an arm can turn it off."""
    k_lam, k_perm = jax.random.split(key)
    alpha = jnp.asarray(alpha, jnp.float32)
    lam = jax.random.beta(k_lam, jnp.maximum(alpha, 1e-3), jnp.maximum(alpha, 1e-3))
    lam = jnp.where(alpha > 0, lam, 1.0)
    own = jnp.arange(valid.shape[0])
    perm = jax.random.permutation(k_perm, own)
    return lam, jnp.where(valid[perm], perm, own)


def mix(x, lam: jax.Array, partner: jax.Array):
    """``lam * x + (1 - lam) * x[partner]``; frames inputs mix their frames and keep the
    union of both rows' real frames."""
    if isinstance(x, dict):
        frames = lam * x["frames"] + (1.0 - lam) * x["frames"][partner]
        return {"frames": frames, "mask": jnp.maximum(x["mask"], x["mask"][partner])}
    return lam * x + (1.0 - lam) * x[partner]


def cross_entropy(logits: jax.Array, labels: jax.Array, smoothing=0.0) -> jax.Array:
    """Per-row cross-entropy ``[B]`` against labels smoothed by ``smoothing`` (the target puts
    ``1 - smoothing`` on the label and spreads ``smoothing`` over every class; 0 = plain)."""
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    if isinstance(smoothing, (int, float)) and smoothing == 0:
        return ce
    uniform = -jax.nn.log_softmax(logits, -1).mean(-1)
    return (1.0 - smoothing) * ce + smoothing * uniform


def class_weights(labels: jax.Array, batches: jax.Array, num_classes: int) -> jax.Array:
    """``[C]`` balanced weights ``n / (C_present * n_c)`` (sklearn's ``'balanced'``) from the
    labels of the rows in ``batches`` (a model's TRAIN rows, ``-1`` = padding); absent
    classes get weight 0."""
    idx = batches.reshape(-1)
    y = jnp.where(idx >= 0, labels[jnp.maximum(idx, 0)], -1)
    counts = jax.nn.one_hot(y, num_classes, dtype=jnp.float32).sum(0)
    present = jnp.maximum((counts > 0).sum(), 1)
    return jnp.where(counts > 0, counts.sum() / (present * jnp.maximum(counts, 1.0)), 0.0)
