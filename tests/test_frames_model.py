"""The frame-level extractor and the training options beyond the paper, on tiny frames data:
learning, TEST rows never touching training (also with speaker-level normalisation), the
frames scaler, and the options' pure functions (SpecAugment, class weights, speaker norm)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _grid_fixtures import actor_fold_roles, synthetic_frames

from serjax.models import networks, pooling
from serjax.training import grid_data, regularizers, runtime, train


def frames_configs():
    model = networks.default_model_config()
    model.kind = "frames_cnn"
    model.frames_cnn.conv_features = (8, 8)
    model.dropout = 0.1
    config = train.default_train_config()
    config.epochs = 6
    config.batch_size = 32
    config.learning_rate = 1e-2
    config.class_balanced = True
    config.speaker_norm = True
    config.specaugment.time_masks = 1
    config.specaugment.time_width = 4
    config.specaugment.feature_masks = 1
    config.specaugment.feature_width = 3
    run = runtime.default_runtime_config()
    run.eval_batch_size = 64
    run.scan_unroll = 2
    run.xla_opt_level = 0
    return model, config, run


@pytest.fixture(scope="module")
def frames_grid():
    """240 rows of 32 frames × 24 features, 4 classes, 6 actors; model 0 of 3 actor folds."""
    data = synthetic_frames(240, 32, 24, 4, 6, separation=1.0, seed=0)
    roles, _, seeds = actor_fold_roles(data["actor"], 3)
    model, config, run = frames_configs()
    result = train.train_grid(data, roles[:1], seeds[:1], model, config, runtime=run,
                              progress=False)
    return data, roles[:1], seeds[:1], model, (config, run), result


def test_frames_model_learns(frames_grid):
    *_, result = frames_grid
    accuracy = np.trace(result.confusion[0]) / result.n_test[0]
    assert accuracy > 0.6  # chance 0.25
    assert np.isfinite(result.curves["extractor"]["train_loss"]).all()


def test_frames_scaler_uses_train_frames_of_speaker_normalised_data(frames_grid):
    data, roles, *_, result = frames_grid
    clean, *_ = grid_data.check_grid_inputs(data, roles, [0])
    normalised = grid_data.speaker_normalize(clean)
    train_rows = roles[0] == grid_data.TRAIN
    real = normalised["acoustic"][train_rows][normalised["frame_mask"][train_rows]]
    np.testing.assert_allclose(result.scalers["acoustic"].mean[0], real.mean(0), atol=1e-4)
    np.testing.assert_allclose(result.scalers["acoustic"].scale[0], real.std(0), rtol=1e-3)


def test_test_speakers_never_touch_training(frames_grid):
    """Corrupting every TEST row (frames, statistics, labels) leaves the trained model and its
    VAL curve unchanged, although speaker normalisation also reads the TEST speakers."""
    data, roles, seeds, model, (config, run), result = frames_grid
    corrupt = {k: v.copy() for k, v in data.items()}
    test = roles[0] == grid_data.TEST
    corrupt["acoustic"][test] = corrupt["acoustic"][test] * 50 + 7
    corrupt["statistical"][test] = -1e3
    corrupt["label"][test] = (corrupt["label"][test] + 1) % 4
    again = train.train_grid(corrupt, roles, seeds, model, config, runtime=run, progress=False)
    for a, b in zip(jax.tree.leaves(again.params), jax.tree.leaves(result.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.curves["extractor"]["val_loss"],
                                  result.curves["extractor"]["val_loss"])


def _perturbed(params, scale=0.3):
    """``params`` plus noise: non-zero biases, so a zero padded frame would move a GRU's state
    or a LayerNorm's output (with freshly initialised zero biases it might not)."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(5), len(leaves))
    return jax.tree.unflatten(
        tree, [p + scale * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])


@pytest.mark.parametrize("pool, sequence, deep_in", [
    ("mean_max", "none", 2 * 4), ("mean_std", "none", 2 * 4), ("attention", "none", 2 * 4),
    ("mean_max", "gru", 2 * 2 * 3), ("attention", "gru", 2 * 2 * 3),
    ("mean_max", "conformer", 2 * 4), ("mean_std", "conformer", 2 * 4),
    ("mean_max", "conv2d", 2 * 4)])
def test_frames_extractor_ignores_padding(pool, sequence, deep_in):
    """Padding appended to every row (with junk in the padded frames) changes no output, for
    every pooling and sequence block."""
    config = networks.default_model_config()
    config.kind = "frames_cnn"
    f = config.frames_cnn
    f.conv_features, f.pooling, f.sequence = (6, 4), pool, sequence
    if sequence == "conv2d":  # two 2-D blocks (3 × 3) before the 1-D ones, no sequence block
        f.conv2d_features, f.sequence = (3, 2), "none"
    f.sequence_width, f.attention_width, f.num_heads, f.conformer_kernel = 3, 5, 2, 3
    networks.check_model_config(config)
    module = networks.extractor_module(config, 4)
    frames = jax.random.normal(jax.random.key(0), (2, 19, 7))
    short = {"frames": frames, "mask": jnp.ones((2, 19), bool)}
    padded = {"frames": jnp.pad(frames, [(0, 0), (0, 13), (0, 0)]) + 0.0,
              "mask": jnp.arange(32)[None, :] < 19 * jnp.ones((2, 1), int)}
    padded["frames"] = padded["frames"].at[:, 19:].set(99.0)  # junk in padded frames
    params = module.init(jax.random.key(1), short, train=False)
    assert params["params"]["deep"]["kernel"].shape == (deep_in, 32)
    if sequence == "none" and pool == "mean_max":
        # conv(k5, 7→6) + conv(k5, 6→4) + Dense(2*4 → 32) + head Dense(32 → 4)
        assert networks.param_count(params) == (5 * 7 * 6 + 6) + (5 * 6 * 4 + 4) + (
            8 * 32 + 32) + (32 * 4 + 4)
    if sequence == "conv2d":
        # 7 bands → 4 → 2 after two band pools, 2 channels: the 1-D blocks read 2 × 2 features
        front = params["params"]["SpectralFront_0"]
        assert front["Conv2D_0"]["kernel"].shape == (3, 3, 1, 3)
        assert front["Conv2D_1"]["kernel"].shape == (3, 3, 3, 2)
        assert params["params"]["Conv1D_0"]["kernel"].shape == (5, 2 * 2, 6)
    params = _perturbed(params)
    a_logits, a_deep = module.apply(params, short, train=False)
    b_logits, b_deep = module.apply(params, padded, train=False)
    np.testing.assert_allclose(a_deep, b_deep, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a_logits, b_logits, rtol=1e-5, atol=1e-6)


def test_pool_time_and_masked_pooling():
    h = jnp.arange(1.0, 8.0)[None, :, None]  # 7 frames, the last 2 padding
    mask = (jnp.arange(7) < 5)[None].astype(jnp.float32)
    h = h * mask[..., None]
    mean, m = networks.pool_time(h, mask, 2, "mean")
    np.testing.assert_allclose(mean[0, :, 0], [1.5, 3.5, 5.0, 0.0])
    np.testing.assert_array_equal(m[0], [1, 1, 1, 0])
    top, _ = networks.pool_time(h, mask, 3, "max")
    np.testing.assert_allclose(top[0, :, 0], [3.0, 5.0, 0.0])
    np.testing.assert_allclose(pooling.masked_mean_max(h, mask)[0], [3.0, 5.0])


def test_spec_augment_masks_spans_within_real_frames():
    aug = regularizers.SpecAugment(time_masks=1, time_width=3, feature_masks=1, feature_width=2)
    x = {"frames": jnp.ones((64, 10, 6)), "mask": jnp.arange(10)[None] < jnp.full((64, 1), 7)}
    out = regularizers.spec_augment(x, jax.random.key(0), aug)
    frames = np.asarray(out["frames"])
    again = regularizers.spec_augment(x, jax.random.key(0), aug)["frames"]
    np.testing.assert_array_equal(frames, again)  # a pure function of the key
    zero_time = (frames == 0).all(2)  # whole frames masked
    zero_feat = (frames == 0).all(1)  # whole feature bands masked
    assert not zero_time[:, 7:].any()  # time masks stay inside the 7 real frames
    assert zero_time.sum(1).max() <= 3 and zero_feat.sum(1).max() <= 2
    assert zero_time.any() and zero_feat.any()
    for row in zero_feat:  # one contiguous band per row
        idx = np.flatnonzero(row)
        assert idx.size == 0 or idx[-1] - idx[0] + 1 == idx.size
    summary = regularizers.spec_augment(jnp.ones((64, 6)), jax.random.key(1), aug)
    assert summary.shape == (64, 6) and ((summary == 0).sum(1) <= 2).all()


def test_class_weights_from_train_rows():
    labels = jnp.asarray([0, 0, 0, 1, 2, 2, 3, 3], jnp.int32)
    batches = jnp.asarray([[0, 1, 2], [3, 4, 5], [-1, -1, -1]], jnp.int32)  # rows 6, 7 unused
    weights = regularizers.class_weights(labels, batches, 4)
    # 6 rows, 3 classes present: 6 / (3 * n_c); class 3 (no TRAIN rows) gets 0
    np.testing.assert_allclose(weights, [6 / 9, 2.0, 1.0, 0.0], rtol=1e-6)


def test_speaker_normalize_per_actor():
    data = synthetic_frames(60, 8, 5, 4, 3, seed=2)
    clean, *_ = grid_data.check_grid_inputs(data, np.ones((1, 60), np.int8), [0])
    out = grid_data.speaker_normalize(clean)
    for a in range(3):
        rows = clean["actor"] == a
        real = out["acoustic"][rows][clean["frame_mask"][rows]]
        np.testing.assert_allclose(real.mean(0), 0.0, atol=1e-5)
        np.testing.assert_allclose(real.std(0), 1.0, rtol=1e-4)
        np.testing.assert_allclose(out["statistical"][rows].mean(0), 0.0, atol=1e-5)
    assert (out["acoustic"][~clean["frame_mask"]] == 0).all()
    with pytest.raises(ValueError, match="needs data\\['actor'\\]"):
        grid_data.speaker_normalize({k: v for k, v in clean.items() if k != "actor"})


def test_speaker_normalize_ignores_row_order():
    # Corpora list files sorted by name, and names carry the label (RAVDESS: 03-01-EMO-...), so
    # anything that depends on row order (an ordinal rank that breaks ties by position) leaks
    # labels (docs/results.md, third round: an ordinal per-speaker rank gained 8 pp VAL so).
    data = synthetic_frames(60, 8, 5, 4, 3, seed=3)
    clean, *_ = grid_data.check_grid_inputs(data, np.ones((1, 60), np.int8), [0])
    clean["statistical"][:, 0] = 1.0  # a column constant within every speaker: ties everywhere
    perm = np.random.default_rng(0).permutation(60)
    shuffled = grid_data.speaker_normalize({k: v[perm] for k, v in clean.items()})
    out = grid_data.speaker_normalize(clean)
    for key in ("acoustic", "statistical"):
        np.testing.assert_allclose(shuffled[key], out[key][perm], rtol=1e-5, atol=1e-6)


def test_kind_must_match_the_data():
    data = synthetic_frames(24, 8, 5, 4, 3)
    roles = np.ones((1, 24), np.int8)
    model, config, run = frames_configs()
    model.kind = "fusionnet"
    with pytest.raises(ValueError, match="model.kind='fusionnet' does not read frames"):
        train.train_grid(data, roles, [0], model, config, runtime=run, progress=False)
