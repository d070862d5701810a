"""``model.frames_cnn.sequence`` (BiGRU, conformer) and ``model.frames_cnn.pooling`` (mean and
std, attentive statistics): the pooling maths by hand, the config checks, old saved configs,
and each option trained in a vmapped grid with a per-model dropout rate, then served from its
checkpoint. Padding invariance: ``test_frames_model.test_frames_extractor_ignores_padding``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _grid_fixtures import actor_fold_roles, synthetic_frames

from serjax.models import networks, pooling
from serjax.training import checkpoint, hparams, runtime, train


def _frames_model(pool="mean_max", sequence="none", conv2d=()):
    """A tiny frames_cnn config with the given options."""
    model = networks.default_model_config()
    model.kind = "frames_cnn"
    model.deep_width = 8
    f = model.frames_cnn
    f.conv_features, f.kernel_sizes, f.pooling, f.sequence = (8, 8), (3, 3), pool, sequence
    f.sequence_width, f.attention_width, f.num_heads, f.conformer_kernel = 4, 4, 2, 3
    f.conv2d_features = conv2d
    return model


def test_pooling_by_hand():
    h = jnp.asarray([[-3.0, -1.0, 0.0], [2.0, 4.0, 0.0]])[..., None]  # the last frame padding
    mask = jnp.asarray([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    # signed: padding's zero must not win the max of a row whose real values are negative
    np.testing.assert_allclose(pooling.masked_mean_max(h, mask, signed=True)[:, 1], [-1.0, 4.0])
    np.testing.assert_allclose(pooling.masked_mean_max(h, mask)[:, 1], [0.0, 4.0])  # ReLU-only
    stats = pooling.masked_mean_std(h, mask)
    np.testing.assert_allclose(stats[:, 0], [-2.0, 3.0])
    np.testing.assert_allclose(stats[:, 1], np.sqrt(1.0 + 1e-5), rtol=1e-6)
    weights = jnp.asarray([[0.25, 0.75, 0.0], [1.0, 0.0, 0.0]])
    stats = pooling.weighted_mean_std(h, weights)
    np.testing.assert_allclose(stats[:, 0], [-1.5, 2.0])
    np.testing.assert_allclose(stats[:, 1], np.sqrt([0.75 + 1e-5, 1e-5]), rtol=1e-6)
    # a row without real frames: zeros, not -inf or NaN
    empty = jnp.zeros((1, 3))
    assert np.isfinite(pooling.masked_mean_max(h[:1], empty, signed=True)).all()
    np.testing.assert_allclose(pooling.masked_mean_std(h[:1] * 0, empty)[0, 0], 0.0)


@pytest.mark.parametrize("field, value, message", [
    ("pooling", "max", r"model.frames_cnn.pooling='max'; choose one of \('mean_max', "),
    ("sequence", "lstm", r"model.frames_cnn.sequence='lstm'; choose one of \('none', 'gru'"),
    ("sequence_width", 0, "model.frames_cnn.sequence_width=0 must be >= 1"),
    ("num_heads", 3, "num_heads=3 must divide the conformer's width"),
    ("conv2d_features", (4, 0), r"conv2d_features \(4, 0\) and conv2d_kernel 3 must be >= 1"),
])
def test_options_are_checked(field, value, message):
    model = _frames_model(sequence="conformer")
    model.frames_cnn[field] = value
    with pytest.raises(ValueError, match=message):
        networks.check_model_config(model)


def test_a_config_saved_before_the_options_gets_todays_extractor():
    model = _frames_model()
    old = model.copy_and_resolve_references()
    for field in ("pooling", "attention_width", "sequence", "sequence_width", "num_heads",
                  "conformer_kernel", "conv2d_features", "conv2d_kernel"):
        del old.frames_cnn[field]
    networks.check_model_config(old)
    x = {"frames": jax.random.normal(jax.random.key(0), (2, 12, 5)),
         "mask": jnp.arange(12)[None] < jnp.asarray([[12], [7]])}
    new_module, old_module = networks.extractor_module(model, 4), networks.extractor_module(old, 4)
    params = new_module.init(jax.random.key(1), x, train=False)
    for a, b in zip(new_module.apply(params, x, train=False),
                    old_module.apply(params, x, train=False)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("pool, sequence, conv2d", [("attention", "gru", ()),
                                                     ("mean_std", "conformer", (4,))])
def test_option_trains_in_a_grid_and_serves_the_same(tmp_path, pool, sequence, conv2d):
    """Two models of one fold in one vmapped program, each with its own (traced) dropout rate;
    the saved models give the run's TEST probabilities."""
    data = synthetic_frames(96, 16, 10, 4, 6, seed=3)
    roles, _, seeds = actor_fold_roles(data["actor"], 3)
    roles, seeds = np.repeat(roles[:1], 2, 0), np.repeat(seeds[:1], 2)
    model = _frames_model(pool, sequence, conv2d)  # conv2d: a 2-D front (models/spectral.py)
    config = train.default_train_config()
    config.epochs, config.batch_size, config.learning_rate = 2, 32, 1e-2
    run = runtime.default_runtime_config()
    run.eval_batch_size, run.xla_opt_level = 64, 0
    rates = hparams.per_model_values([{"dropout": 0.1}, {"dropout": 0.4}], np.array([0, 1]))
    result = train.train_grid(data, roles, seeds, model, config, runtime=run, hparams=rates,
                              workdir=tmp_path, progress=False)
    for name in ("train_loss", "val_loss"):
        curve = result.curves["extractor"][name]
        assert curve.shape == (2, 2) and np.isfinite(curve).all()
    assert not np.allclose(result.curves["extractor"]["train_loss"][:, 0],
                           result.curves["extractor"]["train_loss"][:, 1])  # rates differ
    sequence_params = result.params["extractor"]["params"]["sequence"]
    assert all(leaf.shape[0] == 2 for leaf in jax.tree.leaves(sequence_params))
    assert result.params["extractor"]["params"]["deep"]["kernel"].shape == (
        2, 2 * 8 if sequence == "conformer" else 2 * 2 * 4, 8)

    saved = checkpoint.load_models(tmp_path)
    assert (saved.config.frames_cnn.pooling, saved.config.frames_cnn.sequence) == (pool, sequence)
    assert tuple(saved.config.frames_cnn.conv2d_features) == conv2d
    probs = checkpoint.predict_proba(
        saved, {"frames": data["acoustic"], "mask": data["frame_mask"]}, data["statistical"],
        data["gender"], batch_size=64)
    assert probs.shape == (2, 96, 4) and np.isfinite(probs).all()
    for m in range(2):
        assert result.test_probs[m].shape == (len(result.test_rows[m]), 4)
        np.testing.assert_allclose(probs[m][result.test_rows[m]], result.test_probs[m],
                                   atol=1e-5)
