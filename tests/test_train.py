"""The grid engine on tiny synthetic data: learning, no leakage, one compile, M=1 == grid."""

import ml_collections
import numpy as np
import pytest

from serjax.models import networks
from serjax.training import grid_data, model_step, programs, train


def tiny_configs(epochs: int = 8):
    model = networks.default_model_config()
    model.conv_features = (4, 8)
    model.dropout = 0.1
    config = train.default_train_config()
    config.epochs = epochs
    config.batch_size = 32
    config.eval_batch_size = 64
    config.scan_unroll = 2
    config.learning_rate = 1e-2
    config.xla_opt_level = 0  # tiny grids: compile time dominates
    config.checkpoint_every = 1  # test_checkpoint kills runs after given epochs
    return model, config


def tiny_grid(seeds_per_fold: int = 1):
    """240 rows, 24 features, 4 classes, 6 actors in 3 actor folds (unequal sizes), 1 seed
    (or ``seeds_per_fold``)."""
    data = grid_data.synthetic_arrays(240, num_features=24, num_classes=4, num_actors=6,
                                      separation=1.5, seed=0)
    roles, folds, seeds = grid_data.actor_fold_roles(data["actor"], 3, seeds_per_fold)
    arrays = {k: data[k] for k in grid_data.DATA_KEYS}
    return arrays, roles, folds, seeds


@pytest.fixture(scope="module")
def baseline():
    programs.clear_programs()
    model_step.TRACE_COUNTS.clear()
    data, roles, folds, seeds = tiny_grid()
    model, config = tiny_configs()
    result = train.train_grid(data, roles, seeds, model, config, progress=False)
    traces = dict(model_step.TRACE_COUNTS)
    return data, roles, seeds, model, config, result, traces


def test_learns_easy_data(baseline):
    *_, result, _ = baseline
    accuracy = np.trace(result.confusion, axis1=1, axis2=2) / result.n_test
    assert accuracy.min() > 0.6  # chance is 0.25
    assert result.confusion.sum() == result.n_test.sum()
    assert [len(r) for r in result.test_rows] == result.n_test.tolist()
    assert result.curves["extractor"]["train_loss"].shape == (8, 3)


def test_each_epoch_function_traced_once(baseline):
    *_, traces = baseline
    # 8 epochs × 3 folds × 2 steps, but one trace per step function
    assert traces == {"extractor": 1, "classifier": 1}


def test_scalers_are_fitted_on_train_rows_only(baseline):
    data, roles, _, _, _, result, _ = baseline
    for m in range(len(roles)):
        rows = data["acoustic"][roles[m] == grid_data.TRAIN]
        np.testing.assert_allclose(result.scalers["acoustic"].mean[m], rows.mean(0), atol=1e-5)
        np.testing.assert_allclose(result.scalers["acoustic"].scale[m], rows.std(0), rtol=1e-4)
        assert not np.allclose(rows.mean(0), data["acoustic"].mean(0), atol=1e-3)


def test_test_rows_never_touch_training(baseline):
    data, roles, seeds, model, config, result, _ = baseline
    corrupt = {k: v.copy() for k, v in data.items()}
    is_test = (roles == grid_data.TEST).any(0)
    # rows that are TEST for some model are TRAIN/VAL for others; corrupt model 0's only
    only_test = (roles[0] == grid_data.TEST)
    corrupt["acoustic"][only_test] = 1e6
    corrupt["statistical"][only_test] = -1e6
    corrupt["label"][only_test] = (corrupt["label"][only_test] + 1) % 4
    assert is_test.any()
    again = train.train_grid(corrupt, roles[:1], seeds[:1], model, config, progress=False)
    lone = train.train_grid(data, roles[:1], seeds[:1], model, config, progress=False)
    for a, b in zip(_leaves(again.params), _leaves(lone.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.curves["classifier"]["val_loss"],
                                  lone.curves["classifier"]["val_loss"])


def test_val_rows_drive_model_selection(baseline):
    data, roles, seeds, model, config, result, _ = baseline
    shuffled = {k: v.copy() for k, v in data.items()}
    is_val = roles[0] == grid_data.VAL
    shuffled["label"][is_val] = (shuffled["label"][is_val] + 1) % 4
    again = train.train_grid(shuffled, roles[:1], seeds[:1], model, config, progress=False)
    ext, ext2 = result.curves["extractor"], again.curves["extractor"]
    assert ext2["train_loss"][0, 0] == pytest.approx(ext["train_loss"][0, 0], abs=1e-6)
    assert not np.allclose(ext2["val_loss"][:, 0], ext["val_loss"][:, 0])


def test_grid_model_equals_lone_run(baseline):
    data, roles, seeds, model, config, result, _ = baseline
    lone = train.train_grid(data, roles[1:2], seeds[1:2], model, config, progress=False)
    for a, b in zip(_leaves(lone.params), _leaves(result.params)):
        np.testing.assert_allclose(a[0], b[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(lone.confusion[0], result.confusion[1])
    np.testing.assert_allclose(lone.test_probs[0], result.test_probs[1], atol=1e-5)


def test_model_groups_equal_all_models_at_once():
    """train.model_chunk trains the models of an epoch in groups (CPU default: 2); 6 models in
    groups of 4 (padded to 8: two groups) end where one vmap over all 6 ends, with one trace
    of each epoch function."""
    data, roles, _, seeds = tiny_grid(2)
    model, config = tiny_configs(epochs=4)
    results = {}
    for chunk in ("all", "4"):
        config.model_chunk = chunk
        model_step.TRACE_COUNTS.clear()
        results[chunk] = train.train_grid(data, roles, seeds, model, config, progress=False)
        assert dict(model_step.TRACE_COUNTS) == {"extractor": 1, "classifier": 1}
    together, grouped = results["all"], results["4"]
    for a, b in zip(_leaves(together.params), _leaves(grouped.params)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(together.confusion, grouped.confusion)
    for a, b in zip(together.test_probs, grouped.test_probs):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_inputs_get_clear_errors():
    data, roles, _, seeds = tiny_grid()
    model, config = tiny_configs()
    bad = ml_collections.ConfigDict(config)
    bad.epochs = 0
    with pytest.raises(ValueError, match="train.epochs"):
        train.train_grid(data, roles, seeds, model, bad, progress=False)
    bad = ml_collections.ConfigDict(config)
    bad.model_chunk = "0"
    with pytest.raises(ValueError, match="train.model_chunk='0'"):
        train.train_grid(data, roles, seeds, model, bad, progress=False)
    bad = ml_collections.ConfigDict(config)
    bad.batch_size = 0
    with pytest.raises(ValueError, match="train.batch_size"):
        train.train_grid(data, roles, seeds, model, bad, progress=False)
    empty = roles.copy()
    empty[1][empty[1] == grid_data.TRAIN] = grid_data.UNUSED
    with pytest.raises(ValueError, match=r"models \[1\] have an empty TRAIN set"):
        train.train_grid(data, empty, seeds, model, config, progress=False)
    with pytest.raises(ValueError, match="seeds must have one entry per model"):
        train.train_grid(data, roles, seeds[:1], model, config, progress=False)


def test_non_finite_loss_raises():
    metrics = np.zeros((2, len(model_step.CURVE_NAMES)), np.float32)
    metrics[1, 0] = np.nan
    with pytest.raises(FloatingPointError, match=r"models \[1\]"):
        train._check_finite(metrics, 2, "extractor", 3)


def _leaves(tree):
    import jax
    return jax.tree.leaves(tree)


def test_scan_unroll_divides_the_steps():
    assert model_step.scan_unroll(30, 8) == 6
    assert model_step.scan_unroll(8, 8) == 8
    assert model_step.scan_unroll(5, 8) == 5
    assert model_step.scan_unroll(29, 8) == 1
    assert model_step.scan_unroll(30, 1) == 1


def test_classifier_scan_is_not_unrolled():
    model, config = tiny_configs()
    *_, spec1, spec2 = programs.phase_specs(model, config, 4)
    assert (spec1.unroll, spec2.unroll) == (2, 1)
    assert not spec1.augment.active and not spec1.class_balanced


def test_compilation_cache_folder(tmp_path):
    import jax
    before = jax.config.jax_compilation_cache_dir
    try:
        path = programs.enable_compilation_cache(tmp_path / "xla")
        assert path.is_dir() and jax.config.jax_compilation_cache_dir == str(path)
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
        from jax.experimental.compilation_cache import compilation_cache
        compilation_cache.reset_cache()


def test_bad_specaugment_names_the_field():
    model, config = tiny_configs()
    config.specaugment.time_masks = -1
    with pytest.raises(ValueError, match="train.specaugment"):
        programs.phase_specs(model, config, 4)
