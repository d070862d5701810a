"""Hyperparameter arms in the model axis (serjax.training.hparams) and the per-model recipe
options they vary (serjax.training.model_step / regularizers): an arm trains exactly as the same
values set for every model would, arms share one program, and a sweep with nested selection runs
end to end on the synthetic corpus."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _grid_fixtures import count_epoch_traces, tiny_configs, tiny_grid

from serjax import config as config_lib
from serjax import experiment
from serjax.config import ConfigError
from serjax.training import hparams, regularizers, train


def _sweep_config(method="grid", **values):
    config = config_lib.load_config("ravdess_cv", [])
    config.sweep.method = method
    section = config.sweep.grid if method == "grid" else config.sweep.random
    for name, value in values.items():
        section[name] = value
    return config


def test_grid_arms_are_every_combination_in_order():
    config = _sweep_config(learning_rate=(1e-3, 3e-3), weight_decay=(0.0, 1e-4))
    assert hparams.arms(config) == [
        {"learning_rate": 1e-3, "weight_decay": 0.0}, {"learning_rate": 1e-3, "weight_decay": 1e-4},
        {"learning_rate": 3e-3, "weight_decay": 0.0}, {"learning_rate": 3e-3, "weight_decay": 1e-4}]


def test_random_arms_are_reproducible_and_in_range():
    config = _sweep_config("random", learning_rate=("log_uniform", 1e-4, 1e-2),
                           dropout=("uniform", 0.1, 0.5), mixup_alpha=("choice", 0.0, 0.4))
    config.sweep.num_arms = 6
    arms = hparams.arms(config)
    assert arms == hparams.arms(config) and len(arms) == 6
    assert all(1e-4 <= a["learning_rate"] <= 1e-2 and 0.1 <= a["dropout"] <= 0.5
               and a["mixup_alpha"] in (0.0, 0.4) for a in arms)
    config.sweep.seed = 1
    assert hparams.arms(config) != arms


def test_sweep_values_on_the_command_line():
    config = config_lib.load_config("ravdess_cv", [
        "--config.sweep.method=grid", "--config.sweep.grid.label_smoothing=(0.0,0.1,0.2)"])
    assert [a["label_smoothing"] for a in hparams.arms(config)] == [0.0, 0.1, 0.2]


@pytest.mark.parametrize("method, values, message", [
    ("grid", {}, "lists no values"),
    ("grid", {"dropout": (0.2, 1.5)}, "dropout=1.5 is out of range"),
    ("grid", {"time_width": (4, 8)}, "specaugment.time_masks=0"),
    ("random", {"learning_rate": ("normal", 0, 1)}, "kind one of"),
    ("bayes", {}, "sweep.method='bayes'"),
])
def test_bad_sweeps_name_the_field(method, values, message):
    config = _sweep_config(method, **values)
    with pytest.raises(ConfigError, match=message):
        experiment.validate(config)


def test_expand_grid_repeats_each_model_once_per_arm():
    class Split:
        def __init__(self, fold, seed):
            self.fold, self.seed = fold, seed

    @dataclasses.dataclass
    class G:  # the fields expand_grid reads and replaces
        roles: np.ndarray
        splits: list
    grid = G(np.arange(6, dtype=np.int8).reshape(2, 3), [Split(0, 0), Split(1, 0)])
    out, arm_of = hparams.expand_grid(grid, 3)
    assert out.roles.shape == (6, 3) and np.array_equal(out.roles[3], grid.roles[1])
    assert arm_of.tolist() == [0, 1, 2, 0, 1, 2]
    assert hparams.tags(out.splits, arm_of)[4] == "fold1_seed0_arm1"
    values = hparams.per_model_values([{"dropout": 0.1}, {"dropout": 0.2}, {"dropout": 0.3}],
                                      arm_of)
    np.testing.assert_allclose(values["dropout"], [0.1, 0.2, 0.3] * 2)


def _train(data, roles, seeds, model, config, run, hp=None):
    return train.train_grid(data, roles, seeds, model, config, runtime=run, hparams=hp,
                            progress=False)


@pytest.fixture(scope="module")
def arm_runs():
    """One fold × 2 arms (weight decay, dropout, label smoothing, mixup, learning rate) in one
    program, and each arm's values trained alone as the static recipe."""
    data, roles, _, seeds = tiny_grid()
    roles, seeds = roles[:1], seeds[:1]
    model, config, run = tiny_configs(epochs=3)
    arms = [{"learning_rate": 1e-2, "weight_decay": 0.0, "dropout": 0.1,
             "label_smoothing": 0.0, "mixup_alpha": 0.0},
            {"learning_rate": 3e-3, "weight_decay": 1e-2, "dropout": 0.3,
             "label_smoothing": 0.1, "mixup_alpha": 0.4}]
    arm_of = np.array([0, 1])
    with count_epoch_traces() as traces:
        swept = _train(data, np.repeat(roles, 2, 0), np.repeat(seeds, 2), model, config, run,
                       hparams.per_model_values(arms, arm_of))
    alone = []
    for arm in arms:
        m, c = model.copy_and_resolve_references(), config.copy_and_resolve_references()
        m.dropout = arm["dropout"]
        c.learning_rate, c.weight_decay = arm["learning_rate"], arm["weight_decay"]
        c.label_smoothing, c.mixup_alpha = arm["label_smoothing"], arm["mixup_alpha"]
        alone.append(_train(data, roles, seeds, m, c, run))
    return swept, alone, dict(traces)


def test_an_arm_trains_as_its_values_set_for_every_model(arm_runs):
    swept, alone, _ = arm_runs
    for m in range(2):
        for name in ("train_loss", "val_loss", "lr"):
            np.testing.assert_allclose(swept.curves["extractor"][name][:, m],
                                       alone[m].curves["extractor"][name][:, 0],
                                       rtol=2e-4, atol=1e-5, err_msg=f"arm {m} {name}")
        np.testing.assert_allclose(swept.test_probs[m], alone[m].test_probs[0], atol=2e-4)


def test_arms_differ_and_share_one_program(arm_runs):
    swept, _, traces = arm_runs
    assert not np.allclose(swept.curves["extractor"]["train_loss"][:, 0],
                           swept.curves["extractor"]["train_loss"][:, 1])
    np.testing.assert_allclose(swept.curves["extractor"]["lr"][0], [1e-2, 3e-3], rtol=1e-6)
    assert traces == {"extractor": 1, "classifier": 1}


def test_hparams_are_checked():
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=1)
    with pytest.raises(ValueError, match="cannot differ per model"):
        _train(data, roles, seeds, model, config, run, {"batch_size": [1, 2, 3]})
    with pytest.raises(ValueError, match="one value per model"):
        _train(data, roles, seeds, model, config, run, {"dropout": [0.1, 0.2]})


def test_mixup_never_pairs_a_padding_row():
    valid = jnp.arange(16) < 11
    for seed in range(20):
        lam, partner = regularizers.mixup_partners(jax.random.key(seed), valid, 0.4)
        assert 0 <= float(lam) <= 1
        assert bool(jnp.all(valid[partner] | (partner == jnp.arange(16))))
    lam, partner = regularizers.mixup_partners(jax.random.key(0), valid, 0.0)
    assert float(lam) == 1.0  # alpha 0: no mixup


def test_label_smoothing_matches_the_smoothed_target():
    logits = jnp.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = jnp.array([0, 2])
    target = 0.9 * jax.nn.one_hot(labels, 3) + 0.1 / 3
    expected = -(target * jax.nn.log_softmax(logits)).sum(-1)
    np.testing.assert_allclose(regularizers.cross_entropy(logits, labels, 0.1), expected,
                               rtol=1e-6)


def test_cosine_schedule_decays_by_epoch():
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=4)
    config.schedule, config.early_stop_patience = "cosine", 0
    result = _train(data, roles[:1], seeds[:1], model, config, run)
    expected = 1e-2 * 0.5 * (1 + np.cos(np.pi * np.arange(4) / 4))
    np.testing.assert_allclose(result.curves["extractor"]["lr"][:, 0], expected, rtol=1e-5)


@pytest.fixture(scope="module")
def sweep_cache(tmp_path_factory):
    """One cache for this module's runs: the features are computed once."""
    return tmp_path_factory.mktemp("sweep_cache")


@pytest.fixture(scope="module")
def sweep_run(synth_root, sweep_cache, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sweep")
    config = config_lib.load_config("ravdess_cv", [
        f"--config.data.root={synth_root}", f"--config.data.cache_dir={sweep_cache}",
        "--config.seeds=1", "--config.features.workers=1", "--config.train.epochs=6",
        "--config.folds.scheme=actor_folds", "--config.folds.n_folds=3",
        "--config.model.mlp_hidden=(32,)", "--config.train.speaker_norm=true",
        "--config.sweep.method=grid", "--config.sweep.grid.learning_rate=(1e-3,1e-2)",
        "--config.sweep.grid.mlp_dropout=(0.0,0.3)"])
    summary = experiment.run_cv(config, workdir, progress=False)
    return workdir, summary


def test_sweep_runs_end_to_end_with_nested_selection(sweep_run):
    workdir, summary = sweep_run
    assert len(summary["models"]) == 3 * 4  # folds × seeds × arms
    assert [m["arm"] for m in summary["models"][:4]] == [0, 1, 2, 3]
    assert summary["sweep"]["arms"][3] == {"learning_rate": 1e-2, "mlp_dropout": 0.3}
    picked = summary["selection"]
    assert len(picked["chosen"]) == 3 and len(picked["arms"]) == 4
    assert picked["headline"]["over_folds"]["accuracy"]["mean"] > 0.25  # chance: 0.125
    assert picked["top_k_ensemble"]["k"] == 2
    # the top-2 ensemble's VAL score: every (fold, seed)'s two arms share its VAL speakers
    assert picked["top_k_ensemble"]["val"]["accuracy"]["n"] == 3
    assert 0.0 < picked["top_k_ensemble"]["val"]["accuracy"]["mean"] <= 1.0
    saved = json.loads((workdir / "metrics.json").read_text())
    assert saved["selection"]["chosen"] == picked["chosen"]
    assert "nested selection" in (workdir / "report.md").read_text()
    assert len(list((workdir / "tensorboard").glob("fold*_seed*_arm*"))) == 12


def test_structural_programs_train_one_after_another_and_are_selected_among(
        synth_root, sweep_cache, tmp_path):
    config = config_lib.load_config("ravdess_cv", [
        f"--config.data.root={synth_root}", f"--config.data.cache_dir={sweep_cache}",
        "--config.seeds=1", "--config.features.workers=1", "--config.train.epochs=3",
        "--config.folds.scheme=actor_folds", "--config.folds.n_folds=3",
        "--config.sweep.programs=('model.mlp_hidden=(8,)', 'model.mlp_hidden=(32,);"
        "model.deep_width=16')"])
    summary = experiment.run_cv(config, tmp_path / "w", progress=False)
    assert len(summary["models"]) == 6 and [m["arm"] for m in summary["models"]] == [0] * 3 + [1] * 3
    assert summary["sweep"]["arms"][1] == {"program": "model.mlp_hidden=(32,);model.deep_width=16"}
    assert len(summary["selection"]["chosen"]) == 3
    # the programs' ensemble is scored on VAL too (their models share each seed's VAL rows)
    assert summary["selection"]["top_k_ensemble"]["val"]["accuracy"]["n"] == 3
    assert (tmp_path / "w" / "programs" / "program1" / "models").is_dir()


def test_bad_program_overrides_name_the_entry():
    config = _sweep_config("", )
    config.sweep.programs = ("folds.n_folds=3",)
    with pytest.raises(ConfigError, match="shared by every program"):
        experiment.validate(config)
    config.sweep.programs = ("model.no_such_field=3",)
    with pytest.raises(ConfigError, match="no_such_field"):
        experiment.validate(config)


def test_classifier_roles_change_step_2_only():
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=2)
    roles, seeds = roles[:1], seeds[:1]
    fewer = roles.copy()
    train_rows = np.flatnonzero(roles[0] == 1)
    fewer[0, train_rows[::2]] = 0  # half the TRAIN rows leave step 2
    full = _train(data, roles, seeds, model, config, run)
    half = train.train_grid(data, roles, seeds, model, config, runtime=run,
                            classifier_roles=fewer, progress=False)
    np.testing.assert_array_equal(full.curves["extractor"]["train_loss"],
                                  half.curves["extractor"]["train_loss"])
    assert not np.allclose(full.curves["classifier"]["train_loss"][0],
                           half.curves["classifier"]["train_loss"][0])
    bad = fewer.copy()
    bad[0, np.flatnonzero(roles[0] == 3)[0]] = 1
    with pytest.raises(ValueError, match="TEST rows differ"):
        train.train_grid(data, roles, seeds, model, config, runtime=run, classifier_roles=bad,
                         progress=False)


def test_classifier_weight_decay_decays_step_2_only_and_an_arm_equals_the_static_value():
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=2)
    roles, seeds = roles[:1], seeds[:1]
    plain = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
    config.classifier_weight_decay = 5.0
    static = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
    config.classifier_weight_decay = None
    arm = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False,
                           hparams={"classifier_weight_decay": np.array([5.0], np.float32)})
    step1 = lambda r: r.curves["extractor"]["train_loss"]  # noqa: E731
    assert np.array_equal(step1(plain), step1(static))  # step 1 never decays
    assert np.allclose(step1(arm), step1(static), atol=1e-5, equal_nan=True)
    step2 = lambda r: r.curves["classifier"]["train_loss"]  # noqa: E731
    assert not np.allclose(step2(plain), step2(static), equal_nan=True)
    assert np.allclose(step2(arm), step2(static), atol=1e-4, equal_nan=True)
    assert np.allclose(arm.test_probs[0], static.test_probs[0], atol=1e-4)


def test_a_swept_weight_decay_with_a_fixed_classifier_decay_is_refused():
    config = _sweep_config(weight_decay=(0.0, 1.0))
    config.train.classifier_weight_decay = 10.0
    with pytest.raises(ConfigError, match="classifier_weight_decay fixes step 2"):
        experiment.validate(config)
