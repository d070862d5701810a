"""The grid engine on tiny synthetic data: learning, no leakage, one compile, M=1 == grid."""

import ml_collections
import numpy as np
import pytest
from _grid_fixtures import count_epoch_traces, tiny_configs, tiny_grid

from serjax.splits import roles as roles_lib
from serjax.training import loop, model_step, programs, runtime, train


@pytest.fixture(scope="module")
def baseline():
    programs.clear_programs()
    data, roles, folds, seeds = tiny_grid()
    model, config, run = tiny_configs()
    with count_epoch_traces() as counts:
        result = train.train_grid(data, roles, seeds, model, config, runtime=run,
                                  progress=False)
    traces = dict(counts)
    return data, roles, seeds, model, (config, run), result, traces


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
        rows = data["acoustic"][roles[m] == roles_lib.TRAIN]
        np.testing.assert_allclose(result.scalers["acoustic"].mean[m], rows.mean(0), atol=1e-5)
        np.testing.assert_allclose(result.scalers["acoustic"].scale[m], rows.std(0), rtol=1e-4)
        assert not np.allclose(rows.mean(0), data["acoustic"].mean(0), atol=1e-3)


def test_test_rows_never_touch_training(baseline):
    data, roles, seeds, model, (config, run), result, _ = baseline
    corrupt = {k: v.copy() for k, v in data.items()}
    is_test = (roles == roles_lib.TEST).any(0)
    # rows that are TEST for some model are TRAIN/VAL for others; corrupt model 0's only
    only_test = (roles[0] == roles_lib.TEST)
    corrupt["acoustic"][only_test] = 1e6
    corrupt["statistical"][only_test] = -1e6
    corrupt["label"][only_test] = (corrupt["label"][only_test] + 1) % 4
    assert is_test.any()
    again = train.train_grid(corrupt, roles[:1], seeds[:1], model, config, runtime=run,
                             progress=False)
    lone = train.train_grid(data, roles[:1], seeds[:1], model, config, runtime=run,
                            progress=False)
    for a, b in zip(_leaves(again.params), _leaves(lone.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.curves["classifier"]["val_loss"],
                                  lone.curves["classifier"]["val_loss"])


def test_val_rows_drive_model_selection(baseline):
    data, roles, seeds, model, (config, run), result, _ = baseline
    shuffled = {k: v.copy() for k, v in data.items()}
    is_val = roles[0] == roles_lib.VAL
    shuffled["label"][is_val] = (shuffled["label"][is_val] + 1) % 4
    again = train.train_grid(shuffled, roles[:1], seeds[:1], model, config, runtime=run,
                             progress=False)
    ext, ext2 = result.curves["extractor"], again.curves["extractor"]
    assert ext2["train_loss"][0, 0] == pytest.approx(ext["train_loss"][0, 0], abs=1e-6)
    assert not np.allclose(ext2["val_loss"][:, 0], ext["val_loss"][:, 0])


def test_grid_model_equals_lone_run(baseline):
    data, roles, seeds, model, (config, run), result, _ = baseline
    lone = train.train_grid(data, roles[1:2], seeds[1:2], model, config, runtime=run,
                            progress=False)
    for a, b in zip(_leaves(lone.params), _leaves(result.params)):
        np.testing.assert_allclose(a[0], b[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(lone.confusion[0], result.confusion[1])
    np.testing.assert_allclose(lone.test_probs[0], result.test_probs[1], atol=1e-5)


def test_model_groups_equal_all_models_at_once():
    """runtime.models_per_group trains the models of an epoch in groups (CPU default: 2); 6
    models in groups of 4 (padded to 8: two groups) end where one vmap over all 6 ends, with
    one trace of each epoch function."""
    data, roles, _, seeds = tiny_grid(2)
    model, config, run = tiny_configs(epochs=4)
    results = {}
    for chunk in ("all", "4"):
        run.models_per_group = chunk
        with count_epoch_traces() as counts:
            results[chunk] = train.train_grid(data, roles, seeds, model, config, runtime=run,
                                              progress=False)
        assert dict(counts) == {"extractor": 1, "classifier": 1}
    together, grouped = results["all"], results["4"]
    for a, b in zip(_leaves(together.params), _leaves(grouped.params)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(together.confusion, grouped.confusion)
    for a, b in zip(together.test_probs, grouped.test_probs):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_inputs_get_clear_errors():
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs()
    bad = ml_collections.ConfigDict(config)
    bad.epochs = 0
    with pytest.raises(ValueError, match="train.epochs"):
        train.train_grid(data, roles, seeds, model, bad, runtime=run, progress=False)
    bad = ml_collections.ConfigDict(run)
    bad.models_per_group = "0"
    with pytest.raises(ValueError, match="runtime.models_per_group='0'"):
        train.train_grid(data, roles, seeds, model, config, runtime=bad, progress=False)
    bad = ml_collections.ConfigDict(config)
    bad.batch_size = 0
    with pytest.raises(ValueError, match="train.batch_size"):
        train.train_grid(data, roles, seeds, model, bad, runtime=run, progress=False)
    empty = roles.copy()
    empty[1][empty[1] == roles_lib.TRAIN] = roles_lib.UNUSED
    with pytest.raises(ValueError, match=r"models \[1\] have an empty TRAIN set"):
        train.train_grid(data, empty, seeds, model, config, runtime=run, progress=False)
    with pytest.raises(ValueError, match="seeds must have one entry per model"):
        train.train_grid(data, roles, seeds[:1], model, config, runtime=run, progress=False)
    with pytest.raises(ValueError, match="tags: need one per model"):
        train.train_grid(data, roles, seeds, model, config, runtime=run, tags=["a"],
                         progress=False)


def test_runtime_fields_left_in_the_train_config_name_their_new_place():
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs()
    old = ml_collections.ConfigDict(config)
    old.model_chunk = "auto"
    with pytest.raises(ValueError, match="train.model_chunk moved to runtime.models_per_group"):
        train.train_grid(data, roles, seeds, model, old, runtime=run, progress=False)
    bad = ml_collections.ConfigDict(run)
    bad.conv_impl = "fft"
    with pytest.raises(ValueError, match="runtime.conv_impl='fft'"):
        runtime.check_runtime_config(bad)
    with pytest.raises(ValueError, match="runtime.nope: no such field"):
        runtime.runtime_or_default({"nope": 1})
    assert runtime.models_per_group("auto", "cpu", "frames_cnn") == 1
    assert runtime.models_per_group("auto", "gpu") == 0
    assert runtime.models_per_group("all", "cpu") == 0
    assert runtime.models_per_group("3", "cpu") == 3


def test_non_finite_loss_raises():
    metrics = model_step.EpochMetrics(*np.zeros((len(model_step.CURVE_NAMES), 2), np.float32))
    metrics.train_loss[1] = np.nan
    with pytest.raises(FloatingPointError, match=r"models \[1\]"):
        loop.check_finite(metrics, 2, "extractor", 3)


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
    model, config, run = tiny_configs()
    *_, spec1, spec2 = programs.phase_specs(model, config, run, 4)
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
    model, config, run = tiny_configs()
    config.specaugment.time_masks = -1
    with pytest.raises(ValueError, match="train.specaugment"):
        programs.phase_specs(model, config, run, 4)
