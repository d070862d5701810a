"""Orbax checkpoints: a killed run resumes to the same numbers; saved models predict."""

import jax
import numpy as np
import pytest
from _grid_fixtures import tiny_configs, tiny_grid

from serjax.training import checkpoint, train


class Killed(Exception):
    pass


def _kill_after(monkeypatch, epochs_done: int):
    """Makes the run die right after the checkpoint of ``epochs_done`` epochs is written."""
    real = checkpoint.save_progress

    def save_then_die(manager, done, state):
        real(manager, done, state)
        if done == epochs_done:
            raise Killed(done)
    monkeypatch.setattr(checkpoint, "save_progress", save_then_die)


def test_resume_after_kill_equals_uninterrupted_run(tmp_path, monkeypatch):
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs()
    full = train.train_grid(data, roles, seeds, model, config, runtime=run,
                            workdir=tmp_path / "full", progress=False)
    run_dir = tmp_path / "killed"
    for kill_at in (3, config.epochs + 2):  # once in each step of the two-step training
        with monkeypatch.context() as patch:
            _kill_after(patch, kill_at)
            with pytest.raises(Killed):
                train.train_grid(data, roles, seeds, model, config, runtime=run,
                                 workdir=run_dir, progress=False)
    resumed = train.train_grid(data, roles, seeds, model, config, runtime=run, workdir=run_dir,
                               progress=False)
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.confusion, resumed.confusion)
    for phase in train.PHASES:
        for name, curve in full.curves[phase].items():
            np.testing.assert_array_equal(curve, resumed.curves[phase][name], err_msg=name)

    # the saved models predict what the run predicted
    models = checkpoint.load_models(run_dir)
    assert models.labels == ["0", "1", "2", "3"] and models.config.fusion == "fusion"
    probs = checkpoint.predict_proba(models, data["acoustic"], data["statistical"],
                                     data["gender"])
    assert probs.shape == (3, len(data["label"]), 4)
    for m in range(3):
        np.testing.assert_allclose(probs[m][full.test_rows[m]], full.test_probs[m], atol=1e-5)

    # a different grid in the same workdir is refused, not mixed in
    with pytest.raises(ValueError, match="different grid"):
        train.train_grid(data, roles[:2], seeds[:2], model, config, runtime=run,
                         workdir=run_dir, progress=False)


def test_load_models_names_the_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="models.json"):
        checkpoint.load_models(tmp_path)


def test_fingerprint_covers_the_padded_model_axis():
    """A grid checkpointed with another padding of the model axis (more devices, a GPU's
    model groups) has differently shaped state: it must not be resumed."""
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs()
    prints = {checkpoint.grid_fingerprint(data, roles, seeds, model, config, padded, run)
              for padded in (3, 4, None)}
    assert len(prints) == 3
    # the checkpoint interval may change between a run and its resume; a runtime choice that
    # changes the compiled program may not
    other = run.copy_and_resolve_references()
    other.checkpoint_every = 7
    assert checkpoint.grid_fingerprint(data, roles, seeds, model, config, 3, other) \
        == checkpoint.grid_fingerprint(data, roles, seeds, model, config, 3, run)
    other.conv_impl = "lax"
    assert checkpoint.grid_fingerprint(data, roles, seeds, model, config, 3, other) \
        != checkpoint.grid_fingerprint(data, roles, seeds, model, config, 3, run)
