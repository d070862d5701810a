"""Shapes, parameter counts and equivalence of the fast and reference conv/pool forms."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from serjax.features import spec
from serjax.models import networks, pooling


def _count(config, num_features=162, num_classes=8):
    module = networks.Conv1DExtractor(config, num_classes)
    params = module.init(jax.random.key(0), jnp.zeros((2, num_features)), train=False)
    logits, deep = module.apply(params, jnp.zeros((3, num_features)), train=False)
    return networks.param_count(params), logits.shape, deep.shape


def test_default_extractor_shapes_and_parameter_count():
    count, logits, deep = _count(networks.default_model_config())
    assert logits == (3, 8) and deep == (3, 32)
    # conv(k5, 1→32) + conv(k5, 32→64) + Dense(41*64 → 32) + head Dense(32 → 8)
    expected = (5 * 1 * 32 + 32) + (5 * 32 * 64 + 64) + (41 * 64 * 32 + 32) + (32 * 8 + 8)
    assert count == expected == 94_760


def test_authors_extractor_parameter_count():
    count, _, deep = _count(networks.authors_model_config())
    # Conv1D(256, k=5) on 1 channel, MaxPool(5, s2) → 81 × 256, Dense(32), head Dense(8)
    assert deep == (3, 32)
    assert count == (5 * 256 + 256) + (81 * 256 * 32 + 32) + (32 * 8 + 8)


@pytest.mark.parametrize("fusion,width", [("fusion", 41), ("deep_only", 32)])
def test_classifier_widths(fusion, width):
    config = networks.default_model_config()
    config.fusion = fusion
    assert networks.fused_width(config, 8) == width
    module = networks.MLPClassifier(config, 8)
    params = module.init(jax.random.key(0), jnp.zeros((1, width)), train=False)
    assert module.apply(params, jnp.zeros((5, width)), train=False).shape == (5, 8)
    assert networks.param_count(params) == width * 12 + 12 + 12 * 8 + 8


def test_im2col_conv_equals_lax_conv():
    x = jax.random.normal(jax.random.key(1), (4, 19, 3))
    fast = networks.Conv1D(7, 5, impl="im2col")
    ref = networks.Conv1D(7, 5, impl="lax")
    params = fast.init(jax.random.key(2), x)
    np.testing.assert_allclose(fast.apply(params, x), ref.apply(params, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("length,size,stride", [(162, 5, 2), (81, 5, 2), (10, 3, 3), (7, 2, 1)])
def test_slice_pool_equals_flax_max_pool(length, size, stride):
    x = jax.random.normal(jax.random.key(3), (2, length, 4))
    ours = networks.max_pool_slices(x, size, stride)
    ref = nn.max_pool(x, (size,), strides=(stride,), padding="SAME")
    np.testing.assert_array_equal(ours, ref)
    # and the same gradient
    g1 = jax.grad(lambda v: networks.max_pool_slices(v, size, stride).sum())(x)
    g2 = jax.grad(lambda v: nn.max_pool(v, (size,), strides=(stride,), padding="SAME").sum())(x)
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("length,size,stride", [(162, 5, 2), (81, 5, 2), (10, 3, 3), (7, 2, 1)])
@pytest.mark.parametrize("rate", [0.0, 0.2])
def test_fused_pool_dropout_equals_pool_then_dropout(length, size, stride, rate):
    # The custom-gradient op must give the values and gradients of plain autodiff through
    # max-pool-then-mask (random floats: no ties between maxima).
    x = jax.random.normal(jax.random.key(3), (2, length, 4))
    pooled_shape = (2, pooling.pooled_length(length, stride), 4)
    keep = jax.random.bernoulli(jax.random.key(4), 1.0 - rate, pooled_shape)
    scale = 1.0 / (1.0 - rate)
    weights = jax.random.normal(jax.random.key(5), pooled_shape)

    def reference(v):
        return pooling.max_pool_slices(v, size, stride) * keep * scale

    def fused(v):
        return pooling.max_pool_dropout(v, keep, size, stride, scale)

    np.testing.assert_allclose(fused(x), reference(x), rtol=1e-6)
    g_ref = jax.grad(lambda v: (reference(v) * weights).sum())(x)
    g_fused = jax.grad(lambda v: (fused(v) * weights).sum())(x)
    np.testing.assert_allclose(g_fused, g_ref, rtol=1e-6, atol=1e-6)
    # under vmap too (the engine's model axis)
    xs = jnp.stack([x, -x])
    g_vmapped = jax.vmap(jax.grad(lambda v: (fused(v) * weights).sum()))(xs)
    np.testing.assert_allclose(g_vmapped[0], g_ref, rtol=1e-6, atol=1e-6)


def test_extractor_training_output_equals_unfused_pool_and_dropout():
    # Same parameters, same dropout key: the fused pool + dropout of pool_impl='slices' gives
    # the outputs and gradients of pool_impl='flax' (nn.max_pool, then the Dropout module).
    config = networks.default_model_config()
    x = jax.random.normal(jax.random.key(6), (8, 162))
    fast = networks.Conv1DExtractor(config, 8)
    params = fast.init(jax.random.key(7), x, train=False)
    slow = networks.Conv1DExtractor(config, 8, pool_impl="flax")  # runtime.pool_impl

    def loss(module, p):
        logits, _ = module.apply(p, x, train=True, rngs={"dropout": jax.random.key(8)})
        return jnp.sum(logits ** 2)

    np.testing.assert_allclose(loss(fast, params), loss(slow, params), rtol=1e-5)
    g_fast = jax.grad(lambda p: loss(fast, p))(params)
    g_slow = jax.grad(lambda p: loss(slow, p))(params)
    for a, b in zip(jax.tree.leaves(g_fast), jax.tree.leaves(g_slow)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_input_dropout_drops_classifier_inputs_in_training_only():
    config = networks.default_model_config()
    config.mlp_hidden = ()  # a linear classifier; with an identity kernel, logits = its input
    config.input_dropout = 0.5
    module = networks.MLPClassifier(config, 400)
    x = 1.0 + jnp.abs(jax.random.normal(jax.random.key(1), (4, 400)))
    params = {"params": {"Dense_0": {"kernel": jnp.eye(400), "bias": jnp.zeros(400)}}}
    np.testing.assert_allclose(module.apply(params, x, train=False), x, rtol=1e-6)  # eval: off
    out = np.asarray(module.apply(params, x, train=True, rngs={"dropout": jax.random.key(2)}))
    kept = out != 0
    assert 0.45 < kept.mean() < 0.55
    np.testing.assert_allclose(out[kept], 2 * np.asarray(x)[kept], rtol=1e-6)
    config.input_dropout = 1.0
    with pytest.raises(ValueError, match="model.input_dropout=1.0"):
        networks.check_model_config(config)


def test_bad_model_config_names_the_field():
    config = networks.default_model_config()
    config.fusion = "early"
    with pytest.raises(ValueError, match="model.fusion"):
        networks.check_model_config(config)
    config = networks.default_model_config()
    config.kernel_sizes = (5,)
    with pytest.raises(ValueError, match="model.conv_features"):
        networks.check_model_config(config)


@pytest.mark.parametrize("impl", ["hash", "jax"])
def test_dropout_rate_scale_and_key(impl):
    module = networks.Dropout(0.2, deterministic=False, impl=impl)
    x = jnp.ones((64, 1000))
    out = np.asarray(module.apply({}, x, rngs={"dropout": jax.random.key(0)}))
    kept = out != 0
    assert abs(kept.mean() - 0.8) < 0.01
    np.testing.assert_allclose(out[kept], 1.25, rtol=1e-6)
    same = module.apply({}, x, rngs={"dropout": jax.random.key(0)})
    other = module.apply({}, x, rngs={"dropout": jax.random.key(1)})
    np.testing.assert_array_equal(out, same)
    assert (np.asarray(other) != out).mean() > 0.2
    off = networks.Dropout(0.2, deterministic=True, impl=impl).apply({}, x)
    np.testing.assert_array_equal(off, x)


def test_hash_uniform_is_uniform():
    u = np.asarray(networks.hash_uniform(jnp.uint32(7), (100_000,)))
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.abs(counts - 10_000).max() < 500  # ~5 sigma of a binomial bin


def test_bad_kind_names_the_field():
    config = networks.default_model_config()
    config.kind = "transformer"
    with pytest.raises(ValueError, match="model.kind"):
        networks.check_model_config(config)
    config.kind = "frames_cnn"
    config.frames_cnn.kernel_sizes = (5,)
    with pytest.raises(ValueError, match="model.frames_cnn.conv_features"):
        networks.check_model_config(config)


def test_features_must_suit_the_model_kind():
    """The one check of training and inference: frame-level features need the frames model,
    one vector per row needs SER-FusionNet's extractor."""
    model, features = networks.default_model_config(), spec.default_config().features
    networks.check_features_suit_model(model, features)  # summary + fusionnet
    features.acoustic = "frames"
    with pytest.raises(ValueError, match="features.acoustic='frames' does not suit "
                                         "model.kind='fusionnet'"):
        networks.check_features_suit_model(model, features)
    model.kind = "frames_cnn"
    networks.check_features_suit_model(model, features)
    features.acoustic = "summary"
    with pytest.raises(ValueError, match="does not suit model.kind='frames_cnn'"):
        networks.check_features_suit_model(model, features)


def test_frames_model_fields_nest_under_the_kind():
    config = networks.default_model_config()
    assert not any(k.startswith("frames_") and k != "frames_cnn" for k in config.keys())
    assert config.frames_cnn.to_dict() == {
        "input_pool": 2, "conv_features": (64, 64), "kernel_sizes": (5, 5), "pool": 2,
        "sequence": "none", "sequence_width": 64, "num_heads": 4, "conformer_kernel": 7,
        "pooling": "mean_max", "attention_width": 64, "conv2d_features": (), "conv2d_kernel": 3}
    config.kind = "frames_cnn"
    config.frames_cnn.pool = 0
    with pytest.raises(ValueError, match="model.frames_cnn.input_pool and "
                                         "model.frames_cnn.pool must be >= 1"):
        networks.check_model_config(config)
