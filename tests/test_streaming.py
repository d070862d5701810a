"""Step 1 with its inputs streamed from host memory gives the numbers of the device-resident
run, never holds more than a chunk of them on the device, and is chosen as configured."""

import types

import numpy as np
import pytest
from _grid_fixtures import actor_fold_roles, synthetic_frames, tiny_configs, tiny_grid
from test_frames_model import frames_configs

from serjax.training import host_input, runtime, sharding, train


def _assert_same_results(resident, streamed):
    for phase in train.PHASES:
        for name in ("train_loss", "train_acc", "val_loss", "val_acc", "stopped"):
            np.testing.assert_allclose(streamed.curves[phase][name],
                                       resident.curves[phase][name], rtol=2e-4, atol=2e-5,
                                       err_msg=f"{phase} {name}")
    for a, b in zip(streamed.test_probs, resident.test_probs):
        np.testing.assert_allclose(a, b, atol=2e-4)
    np.testing.assert_array_equal(streamed.confusion, resident.confusion)


def _uploads(monkeypatch):
    """Records the row counts of every replicated upload of a float array with >= 2 dims."""
    shapes = []
    original = sharding.put_replicated

    def recording(tree, mesh, *args, **kwargs):
        for leaf in __import__("jax").tree.leaves(tree):
            a = np.asarray(leaf)
            if a.ndim >= 2 and a.dtype.kind == "f":
                shapes.append(a.shape)
        return original(tree, mesh, *args, **kwargs)
    monkeypatch.setattr(sharding, "put_replicated", recording)
    monkeypatch.setattr(host_input.sharding, "put_replicated", recording)
    return shapes


def test_streamed_summary_grid_equals_resident(monkeypatch):
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=4)
    run.stream = "resident"
    resident = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
    uploads = _uploads(monkeypatch)
    run.stream = "stream"
    run.stream_steps = 3  # 5 steps per epoch: the second chunk is padded
    streamed = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
    _assert_same_results(resident, streamed)
    # the acoustic rows went up one eval chunk (64 rows) at a time, never the whole [240, 24]
    acoustic_uploads = [s for s in uploads if s[-1] == data["acoustic"].shape[1]]
    assert acoustic_uploads and max(s[0] for s in acoustic_uploads) <= 64


def test_streamed_frames_grid_equals_resident():
    # frames, with the class-balanced loss, SpecAugment and speaker normalisation on
    data = synthetic_frames(160, 16, 12, 4, 6, separation=1.0, seed=3)
    roles, _, seeds = actor_fold_roles(data["actor"], 3)
    model, config, run = frames_configs()
    config.epochs = 3
    run.stream = "resident"
    resident = train.train_grid(data, roles[:2], seeds[:2], model, config, runtime=run,
                                progress=False)
    run.stream = "stream"
    run.stream_steps = 2
    streamed = train.train_grid(data, roles[:2], seeds[:2], model, config, runtime=run,
                                progress=False)
    _assert_same_results(resident, streamed)


class _Device:
    def __init__(self, limit):
        self.limit = limit

    def memory_stats(self):
        return None if self.limit is None else {"bytes_limit": self.limit}


def _mesh(*limits):
    return types.SimpleNamespace(devices=np.array([_Device(x) for x in limits]))


def test_auto_streams_only_when_the_inputs_would_fill_the_device():
    config = runtime.default_runtime_config()
    inputs = {"frames": np.zeros((100, 10, 10), np.float32), "mask": np.zeros((100, 10), bool)}
    need = 40_000 + 1_000
    assert not host_input.wants_streaming(config, inputs, _mesh(None))  # a CPU: never
    assert not host_input.wants_streaming(config, inputs, _mesh(4 * need))
    assert host_input.wants_streaming(config, inputs, _mesh(4 * need, need))  # smallest counts
    config.stream_fraction = 0.2
    assert host_input.wants_streaming(config, inputs, _mesh(4 * need))
    config.stream = "stream"
    assert host_input.wants_streaming(config, inputs, _mesh(None))
    config.stream = "resident"
    assert not host_input.wants_streaming(config, inputs, _mesh(need // 10))


def test_bad_stream_settings_name_the_field():
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=1)
    run.stream = "sometimes"
    with pytest.raises(ValueError, match="runtime.stream="):
        train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
    run.stream = "stream"
    run.stream_steps = 0
    with pytest.raises(ValueError, match="runtime.stream_steps"):
        train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)


def test_host_rows_reads_padding_as_row_zero():
    frames = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    out = host_input.host_rows({"frames": frames, "mask": frames[..., 0] > 0},
                              np.array([[4, -1], [1, 2]]))
    assert out["frames"].shape == (2, 2, 2, 3) and out["mask"].shape == (2, 2, 2)
    np.testing.assert_array_equal(out["frames"][0, 1], frames[0])
    np.testing.assert_array_equal(out["frames"][1, 0], frames[1])


def test_streamed_checkpoints_are_fingerprinted_with_their_acoustic_features(tmp_path):
    """Streaming keeps the acoustic features off the devices, not out of the checkpoint's
    fingerprint: other features in the same workdir are refused, not resumed."""
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=1)
    run.stream = "stream"
    train.train_grid(data, roles, seeds, model, config, runtime=run, workdir=tmp_path,
                     progress=False)
    changed = dict(data, acoustic=data["acoustic"] + 1.0)
    with pytest.raises(ValueError, match="different grid"):
        train.train_grid(changed, roles, seeds, model, config, runtime=run, workdir=tmp_path,
                         progress=False)
