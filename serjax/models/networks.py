"""SER-FusionNet's Flax modules: the Conv1D deep-feature extractor and the MLP classifier.

The extractor reads the 162-d acoustic summary vector as a length-162 sequence with one
channel (as the authors' Keras code does): ``len(conv_features)`` blocks of
conv → ReLU → max-pool → dropout, then flatten → Dense(deep_width) → ReLU. These 32 units are
the "deep features"; a softmax head on top trains the extractor (step 1 of the paper's recipe).
The classifier is an MLP on ``[deep 32 | statistical 8 | gender 1]`` (41 inputs, ``fusion``) or
on the deep features alone (32 inputs, ``deep_only``); ``late`` (beyond the paper) trains the
MLP on [statistical | gender] alone and averages its class probabilities with the extractor's
own softmax head (late fusion of the two views).

``model.kind`` picks the extractor: ``'fusionnet'`` (the paper's, above; the default) or
``'frames_cnn'`` (beyond the paper): Conv1D blocks over the frame sequence ``[T, 162]`` (time is
the conv axis, the 162 features are channels) with padded frames masked out, then an optional
sequence block, pooling over time → Dense(deep_width); its own fields sit under
``model.frames_cnn``. Its deep features feed the same fusion MLP. ``model.frames_cnn.sequence``:
``'none'`` (default), ``'gru'`` (a bidirectional GRU of ``sequence_width`` units per direction:
a CRNN) or ``'conformer'`` (one conformer block at the last conv block's width, ``num_heads``
heads, depthwise kernel ``conformer_kernel``); ``model.frames_cnn.pooling``: ``'mean_max'``
(masked mean and max, default), ``'mean_std'`` (statistics pooling) or ``'attention'``
(attentive statistics pooling, a scoring layer of ``attention_width`` units). Both live in
``serjax/models/sequence.py``; padded frames never reach a real row's output. Optional 2-D
(time × band) conv blocks before the 1-D ones: ``.conv2d_features`` (``models/spectral.py``).

Every module is written for ONE model; the training engine adds the model axis with ``vmap``.
Three choices keep that fast on XLA:CPU (numbers in ``docs/benchmarks.md``, ``## Training``);
they are ``runtime.*`` fields (``serjax.training.runtime``), since they never change a result:

* ``runtime.conv_impl='im2col'`` (default): the convolution is a stack of shifted views
  followed by a matmul, so under ``vmap`` it becomes a batched matmul over the model axis.
  ``'lax'`` uses ``lax.conv_general_dilated``, which ``vmap`` turns into a grouped convolution
  with a slow backward pass on CPU. Both share the same parameters (``kernel [k, c_in,
  c_out]``, ``bias``).
* ``runtime.pool_impl='slices'`` (default): max-pooling as ``jnp.maximum`` over strided
  slices, and in training pool + dropout as one ``custom_vjp`` op whose gradient XLA cannot
  bloat (``serjax/models/pooling.py``: ~2.2× faster extractor steps); ``'flax'`` calls
  ``nn.max_pool`` then dropout (same maths, slower gradient on CPU).
* ``runtime.dropout_impl='hash'`` (default): dropout masks from a counter-based hash of one
  random word per layer and step; ``'jax'`` uses ``jax.random.bernoulli`` (threefry), whose
  many integer ops cost ~50 % more compile time of the extractor epoch and ~10 % more run time.
"""

from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from serjax.features import spec
from serjax.models.pooling import (
    max_pool_dropout,
    max_pool_slices,
    pool_time,
    pooled_length,
    same_padding,
)
from serjax.models.sequence import POOLINGS, SEQUENCES, pool_frames, sequence_block
from serjax.models.spectral import SpectralFront, check_spectral

KINDS = ("fusionnet", "frames_cnn")
FUSION_MODES = ("fusion", "deep_only", "late")
CONV_IMPLS = ("im2col", "lax")
DROPOUT_IMPLS = ("hash", "jax")
POOL_IMPLS = ("slices", "flax")


def default_model_config() -> ml_collections.ConfigDict:
    """Architecture defaults: two stacked Conv1D blocks (the paper's text), 32 deep units,
    MLP Dense(12) → Dense(C) (the authors' code)."""
    c = ml_collections.ConfigDict()
    c.conv_features = (32, 64)  # one entry per conv block (paper: two stacked Conv1D layers)
    c.kernel_sizes = (5, 5)
    c.pool_size = 5
    c.pool_stride = 2
    c.dropout = 0.2  # after each pooling and after the deep layer
    c.deep_width = 32
    c.mlp_hidden = (12,)
    c.mlp_dropout = 0.0
    c.fusion = "fusion"  # 'fusion': [deep | statistical | gender]; 'deep_only': deep features;
    #                      'late': [statistical | gender], probabilities averaged with step 1's
    c.input_dropout = 0.0  # dropout on step 2's input columns (0: none)
    c.late_weight = 0.5  # 'late': step 1's weight in the average (step 2's: 1 - late_weight)
    c.kind = "fusionnet"  # or "frames_cnn" (a frame kind of features.acoustic)
    c.frames_cnn = default_frames_cnn_config()
    return c


def default_frames_cnn_config() -> ml_collections.ConfigDict:
    """``model.frames_cnn``, the frame-level extractor's own fields: frames are first averaged
    in non-overlapping windows of ``input_pool`` (23 ms hop → 46 ms), then one conv block per
    entry of ``conv_features``, each followed by a max-pool over time of ``pool``."""
    c = ml_collections.ConfigDict()
    c.input_pool = 2
    c.conv2d_features = ()  # 2-D (time × band) blocks before the 1-D ones: models/spectral.py
    c.conv2d_kernel = 3
    c.conv_features = (64, 64)
    c.kernel_sizes = (5, 5)
    c.pool = 2
    c.sequence = "none"  # after the conv blocks: "none" | "gru" | "conformer"
    c.sequence_width = 64  # "gru": units per direction (outputs 2 × this)
    c.num_heads = 4  # "conformer": attention heads (divide the last conv_features entry)
    c.conformer_kernel = 7  # "conformer": depthwise conv kernel over time
    c.pooling = "mean_max"  # over time: "mean_max" | "mean_std" | "attention"
    c.attention_width = 64  # "attention": hidden units of the frame-scoring layer
    return c


def frames_cnn_fields(f: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``model.frames_cnn`` with every field: a model saved before a field existed gets its
    default, which is the behaviour it was trained with."""
    return ml_collections.ConfigDict({**default_frames_cnn_config().to_dict(), **f.to_dict()})


def authors_model_config() -> ml_collections.ConfigDict:
    """The authors' published extractor: one Conv1D(256, k=5) + MaxPool(5, s2) + Dense(32)."""
    c = default_model_config()
    c.conv_features = (256,)
    c.kernel_sizes = (5,)
    return c


def check_model_config(c: ml_collections.ConfigDict) -> None:
    """Raises ValueError naming the bad field of a model config."""
    if len(c.conv_features) == 0 or len(c.conv_features) != len(c.kernel_sizes):
        raise ValueError(
            f"model.conv_features {tuple(c.conv_features)} and model.kernel_sizes "
            f"{tuple(c.kernel_sizes)} must be non-empty and of equal length (one per conv block)")
    if min(c.conv_features) < 1 or min(c.kernel_sizes) < 1:
        raise ValueError("model.conv_features and model.kernel_sizes must be positive")
    if c.pool_size < 1 or c.pool_stride < 1 or c.deep_width < 1:
        raise ValueError("model.pool_size, model.pool_stride and model.deep_width must be >= 1")
    if not 0.0 <= c.dropout < 1.0 or not 0.0 <= c.mlp_dropout < 1.0:
        raise ValueError("model.dropout and model.mlp_dropout must lie in [0, 1)")
    if c.fusion not in FUSION_MODES:
        raise ValueError(f"model.fusion={c.fusion!r}; choose one of {FUSION_MODES}")
    if not 0.0 <= c.get("input_dropout", 0.0) < 1.0:
        raise ValueError(f"model.input_dropout={c.input_dropout}: must lie in [0, 1)")
    if not 0.0 <= c.get("late_weight", 0.5) <= 1.0:
        raise ValueError(f"model.late_weight={c.late_weight}: step 1's weight in late fusion "
                         "must lie in [0, 1]")
    kind = c.get("kind", "fusionnet")
    if kind not in KINDS:
        raise ValueError(f"model.kind={kind!r}; choose one of {KINDS}")
    if kind == "frames_cnn":
        f = c.frames_cnn
        if len(f.conv_features) == 0 or len(f.conv_features) != len(f.kernel_sizes):
            raise ValueError(
                f"model.frames_cnn.conv_features {tuple(f.conv_features)} and "
                f"model.frames_cnn.kernel_sizes {tuple(f.kernel_sizes)} must be non-empty and "
                "of equal length (one per conv block)")
        if min(*f.conv_features, *f.kernel_sizes) < 1:
            raise ValueError("model.frames_cnn.conv_features and kernel_sizes must be >= 1")
        if f.input_pool < 1 or f.pool < 1:
            raise ValueError("model.frames_cnn.input_pool and model.frames_cnn.pool must be >= 1")
        check_frames_options(frames_cnn_fields(f))


def check_frames_options(f: ml_collections.ConfigDict) -> None:
    """The sequence block, pooling and 2-D front fields of a full ``model.frames_cnn``."""
    for field, allowed in (("sequence", SEQUENCES), ("pooling", POOLINGS)):
        if f[field] not in allowed:
            raise ValueError(f"model.frames_cnn.{field}={f[field]!r}; choose one of {allowed}")
    for field in ("sequence_width", "num_heads", "conformer_kernel", "attention_width"):
        if f[field] < 1:
            raise ValueError(f"model.frames_cnn.{field}={f[field]} must be >= 1")
    check_spectral(f)
    if f.sequence == "conformer" and f.conv_features[-1] % f.num_heads:
        raise ValueError(
            f"model.frames_cnn.num_heads={f.num_heads} must divide the conformer's width, the "
            f"last entry of model.frames_cnn.conv_features ({f.conv_features[-1]})")


def hash_uniform(seed: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniform [0, 1) floats of ``shape`` from a counter-based hash (murmur3's 32-bit
    finaliser of ``element index + seed * golden ratio``): ~10 integer ops per element, where
    threefry needs ~100. Plenty random for dropout masks; not for anything cryptographic."""
    x = jax.lax.iota(jnp.uint32, math.prod(shape)).reshape(shape)
    x = x + seed.astype(jnp.uint32) * jnp.uint32(0x9E3779B9)
    x = (x ^ (x >> 16)) * jnp.uint32(0x85EBCA6B)
    x = (x ^ (x >> 13)) * jnp.uint32(0xC2B2AE35)
    x = x ^ (x >> 16)
    return (x >> 8).astype(jnp.float32) * (1.0 / (1 << 24))


class Dropout(nn.Module):
    """Inverted dropout like ``nn.Dropout``; ``impl='hash'`` draws its mask with
    ``hash_uniform`` from one 32-bit word of the ``dropout`` key, ``'jax'`` with
    ``jax.random.bernoulli`` (threefry). On XLA:CPU the threefry masks cost as much as the
    rest of the extractor's training step (docs/benchmarks.md)."""
    rate: float  # or a traced per-model scalar (a hyperparameter arm's rate)
    deterministic: bool
    impl: str = "hash"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        keep = self.keep_mask(x.shape)
        if keep is None:
            return x
        return x * (keep.astype(x.dtype) * (1.0 / (1.0 - self.rate)))

    @property
    def off(self) -> bool:
        """No dropout: not training, or a rate of exactly 0 known before tracing (a traced
        per-model rate, ``serjax.training.hparams``, always draws its mask)."""
        return self.deterministic or (isinstance(self.rate, (int, float)) and self.rate == 0.0)

    def keep_mask(self, shape: tuple[int, ...]) -> jax.Array | None:
        """The boolean mask ``__call__`` would apply to an input of ``shape`` (the same
        random draw), or None when dropout is off; for ops that fuse dropout in
        (``max_pool_dropout``)."""
        if self.off:
            return None
        key = self.make_rng("dropout")
        keep_prob = 1.0 - self.rate
        if self.impl == "jax":
            return jax.random.bernoulli(key, keep_prob, shape)
        seed = jax.random.bits(key, (), jnp.uint32)
        return hash_uniform(seed, shape) < keep_prob


class Conv1D(nn.Module):
    """'SAME' 1-D convolution, stride 1: ``[B, L, c_in] -> [B, L, features]``."""
    features: int
    kernel_size: int
    impl: str = "im2col"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c_in = x.shape[-1]
        k = self.kernel_size
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, c_in, self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        left, right = same_padding(x.shape[-2], k, 1)
        if self.impl == "lax":
            y = jax.lax.conv_general_dilated(
                x, kernel, window_strides=(1,), padding=[(left, right)],
                dimension_numbers=("NWC", "WIO", "NWC"))
            return y + bias
        length = x.shape[-2]
        xp = jnp.pad(x, [(0, 0), (left, right), (0, 0)])
        patches = jnp.concatenate([xp[:, i:i + length, :] for i in range(k)], axis=-1)
        return patches @ kernel.reshape(k * c_in, self.features) + bias


class Conv1DExtractor(nn.Module):
    """Acoustic vector ``[B, F]`` → ``(logits [B, C], deep features [B, deep_width])``.
    The ``*_impl`` fields are ``runtime.*`` choices (same maths; see the module docstring)."""
    config: ml_collections.ConfigDict
    num_classes: int
    conv_impl: str = "im2col"
    pool_impl: str = "slices"
    dropout_impl: str = "hash"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, dropout=None) -> tuple[jax.Array, jax.Array]:
        c = self.config
        rate = c.dropout if dropout is None else dropout  # a traced rate: an arm's own
        h = x[..., None]  # [B, F, 1]: the feature vector read as a sequence with one channel
        for features, kernel in zip(c.conv_features, c.kernel_sizes):
            h = nn.relu(Conv1D(features, kernel, impl=self.conv_impl)(h))
            drop = Dropout(rate, not train, self.dropout_impl)
            if self.pool_impl == "flax":
                h = nn.max_pool(h, (c.pool_size,), strides=(c.pool_stride,), padding="SAME")
                h = drop(h)
            elif not train:
                h = max_pool_slices(h, c.pool_size, c.pool_stride)
            else:  # pool + dropout as one op with a cheap gradient (serjax/models/pooling.py)
                pooled = (*h.shape[:-2], pooled_length(h.shape[-2], c.pool_stride), h.shape[-1])
                keep = drop.keep_mask(pooled)
                if keep is None:
                    keep = jnp.ones(pooled, bool)
                if isinstance(rate, (int, float)):
                    h = max_pool_dropout(h, keep, c.pool_size, c.pool_stride, 1.0 / (1.0 - rate))
                else:  # the op's scale is static: a traced rate scales outside (same maths)
                    h = max_pool_dropout(h, keep, c.pool_size, c.pool_stride, 1.0) / (1.0 - rate)
        h = h.reshape(h.shape[0], -1)
        deep = nn.relu(nn.Dense(c.deep_width, name="deep")(h))
        logits = nn.Dense(self.num_classes, name="head")(
            Dropout(rate, not train, self.dropout_impl)(deep))
        return logits, deep


class FramesExtractor(nn.Module):
    """Frames ``{"frames": [B, T, F], "mask": [B, T]}`` → ``(logits [B, C], deep [B, D])``.

    Conv1D over time with the F features as channels, then ``frames_cnn.sequence``'s block and
    ``frames_cnn.pooling`` (``serjax/models/sequence.py``). Padded frames are zeroed before
    every convolution (so they add nothing to a real frame's window), skipped by the GRU's
    state, masked out of attention keys and left out of every pooling, so a row's output does
    not depend on how much padding it carries.
    """
    config: ml_collections.ConfigDict
    num_classes: int
    conv_impl: str = "im2col"
    dropout_impl: str = "hash"

    @nn.compact
    def __call__(self, x: dict, *, train: bool, dropout=None) -> tuple[jax.Array, jax.Array]:
        c = self.config
        rate = c.dropout if dropout is None else dropout  # a traced rate: an arm's own
        mask = x["mask"].astype(jnp.float32)
        h = x["frames"].astype(jnp.float32) * mask[..., None]
        f = frames_cnn_fields(c.frames_cnn)
        h, mask = pool_time(h, mask, f.input_pool, "mean")
        make_dropout = functools.partial(Dropout, rate, not train, self.dropout_impl)
        if f.conv2d_features:
            front = SpectralFront(tuple(f.conv2d_features), f.conv2d_kernel, make_dropout)
            h, mask = front(h, mask)
        for features, kernel in zip(f.conv_features, f.kernel_sizes):
            h = nn.relu(Conv1D(features, kernel, impl=self.conv_impl)(h)) * mask[..., None]
            h, mask = pool_time(h, mask, f.pool, "max")
            h = make_dropout()(h)
        if f.sequence != "none":
            h = sequence_block(f, make_dropout)(h, mask)
        pooled = pool_frames(h, mask, f, signed=f.sequence != "none")
        deep = nn.relu(nn.Dense(c.deep_width, name="deep")(pooled))
        logits = nn.Dense(self.num_classes, name="head")(
            Dropout(rate, not train, self.dropout_impl)(deep))
        return logits, deep


def extractor_module(config: ml_collections.ConfigDict, num_classes: int,
                     runtime=None) -> nn.Module:
    """The step-1 extractor ``model.kind`` names (both return ``(logits, deep features)``),
    with the ``runtime.conv_impl / pool_impl / dropout_impl`` choices (None: the defaults)."""
    impl = impl_choices(runtime)
    if config.get("kind", "fusionnet") == "frames_cnn":
        return FramesExtractor(config, num_classes, impl["conv_impl"], impl["dropout_impl"])
    return Conv1DExtractor(config, num_classes, **impl)


def classifier_module(config: ml_collections.ConfigDict, num_classes: int,
                      runtime=None) -> nn.Module:
    """The step-2 MLP with ``runtime.dropout_impl`` (None: the default)."""
    return MLPClassifier(config, num_classes, impl_choices(runtime)["dropout_impl"])


def impl_choices(runtime=None) -> dict:
    """``{conv_impl, pool_impl, dropout_impl}`` from a ``config.runtime`` section (or any
    mapping with those keys; None or a missing key: the default). They change speed only."""
    runtime = runtime or {}
    choices = {"conv_impl": runtime.get("conv_impl", CONV_IMPLS[0]),
               "pool_impl": runtime.get("pool_impl", POOL_IMPLS[0]),
               "dropout_impl": runtime.get("dropout_impl", DROPOUT_IMPLS[0])}
    for field, allowed in (("conv_impl", CONV_IMPLS), ("pool_impl", POOL_IMPLS),
                           ("dropout_impl", DROPOUT_IMPLS)):
        if choices[field] not in allowed:
            raise ValueError(f"runtime.{field}={choices[field]!r}; choose one of {allowed}")
    return choices


def reads_frames(config: ml_collections.ConfigDict) -> bool:
    """True if the extractor reads ``frames [T, F]`` + ``frame_mask`` instead of ``[F]``."""
    return config.get("kind", "fusionnet") == "frames_cnn"


def check_features_suit_model(model: ml_collections.ConfigDict,
                              features: ml_collections.ConfigDict) -> None:
    """Frame-level features (``spec.FRAME_KINDS``: librosa, openSMILE LLD or external frames)
    need a frames model, and one-vector kinds (summary, egemaps, compare, external) a summary
    model; raises ValueError naming both fields otherwise. The one check of training
    (``experiment``) and of inference (``serve.model_bundle``)."""
    if spec.is_frames(features) != reads_frames(model):
        vectors = tuple(k for k in spec.ACOUSTIC_KINDS if k not in spec.FRAME_KINDS)
        raise ValueError(
            f"features.acoustic={features.acoustic!r} does not suit model.kind="
            f"{model.get('kind', 'fusionnet')!r}: use model.kind='frames_cnn' with "
            f"features.acoustic in {spec.FRAME_KINDS}, or 'fusionnet' with one of {vectors}")


class MLPClassifier(nn.Module):
    """Fused features ``[B, 41]`` (or deep only ``[B, 32]``) → logits ``[B, C]``."""
    config: ml_collections.ConfigDict
    num_classes: int
    dropout_impl: str = "hash"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, dropout=None) -> jax.Array:
        rate = self.config.mlp_dropout if dropout is None else dropout  # an arm's own
        if self.config.get("input_dropout", 0.0) > 0:  # drops fused columns (6,373 functionals)
            x = Dropout(self.config.input_dropout, not train, self.dropout_impl)(x)
        for width in self.config.mlp_hidden:
            x = nn.relu(nn.Dense(width)(x))
            x = Dropout(rate, not train, self.dropout_impl)(x)
        return nn.Dense(self.num_classes)(x)


def fused_width(config: ml_collections.ConfigDict, num_statistical: int) -> int:
    """Input width of the classifier: deep + statistical + gender, or deep alone."""
    if config.fusion == "deep_only":
        return config.deep_width
    if config.fusion == "late":
        return num_statistical + 1
    return config.deep_width + num_statistical + 1


def param_count(params) -> int:
    """Number of scalars in a parameter pytree (of one model, or of all models if stacked)."""
    return sum(int(p.size) for p in jax.tree.leaves(params))
