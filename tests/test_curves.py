"""Live TensorBoard curves: one event-file folder per model, one curve per phase and metric
with a point per epoch, equal to the run's curves; a resumed run rewrites them without
duplicate steps; the raw-waveform baseline writes its curves through the same loop."""

import pathlib
import struct

import numpy as np
import pytest
from _grid_fixtures import actor_fold_roles, tiny_configs, tiny_grid

from serjax.paper import baselines, raw_waveform
from serjax.training import checkpoint, curves, model_step, train

TAGS = ["fold0_seed0", "fold1_seed0", "fold2_seed0"]


def _records(path: pathlib.Path):
    """The payloads of a TFRecord file (length, crc, data, crc), as TensorBoard writes them."""
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        yield data[pos + 12:pos + 12 + length]
        pos += 12 + length + 4


def read_scalars_raw(folder: pathlib.Path) -> dict:
    """``{tag: [(step, value), ...]}`` of a folder's event files, parsed with tensorboardX's
    protobufs (no TensorBoard needed)."""
    from tensorboardX.proto import event_pb2

    out: dict = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for payload in _records(path):
            event = event_pb2.Event.FromString(payload)
            for value in event.summary.value:
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def read_scalars(folder: pathlib.Path) -> dict:
    """The same through TensorBoard's own reader when it is installed."""
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        return read_scalars_raw(folder)
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _assert_curves_match(workdir, result, epochs):
    folders = sorted((workdir / curves.FOLDER).iterdir())
    assert [f.name for f in folders] == sorted(TAGS)
    for m, tag in enumerate(TAGS):
        scalars = read_scalars(workdir / curves.FOLDER / tag)
        assert scalars == read_scalars_raw(workdir / curves.FOLDER / tag)
        assert sorted(scalars) == sorted(f"{phase}/{name}" for phase in train.PHASES
                                         for name in model_step.CURVE_NAMES)
        for phase in train.PHASES:
            for name in model_step.CURVE_NAMES:
                points = scalars[f"{phase}/{name}"]
                assert [s for s, _ in points] == list(range(epochs)), (tag, phase, name)
                np.testing.assert_allclose([v for _, v in points],
                                           result.curves[phase][name][:, m], rtol=1e-6)


def test_every_model_gets_live_curves_and_a_resume_rewrites_them(tmp_path, monkeypatch):
    data, roles, _, seeds = tiny_grid()
    model, config, run = tiny_configs(epochs=4)
    config.early_stop_patience = 0  # every epoch runs: 4 points per curve
    full = train.train_grid(data, roles, seeds, model, config, runtime=run, tags=TAGS,
                            workdir=tmp_path / "full", progress=False)
    _assert_curves_match(tmp_path / "full", full, 4)

    # killed after 6 of 8 epochs, with epochs 5 and 6 written but checkpoint 6 lost: the
    # resumed run trains epochs 5.. again and must not draw them twice
    real = checkpoint.save_progress

    def lose_checkpoint_6(manager, done, state):
        if done == 6:
            raise KeyboardInterrupt
        real(manager, done, state)
    with monkeypatch.context() as patch:
        patch.setattr(checkpoint, "save_progress", lose_checkpoint_6)
        with pytest.raises(KeyboardInterrupt):
            train.train_grid(data, roles, seeds, model, config, runtime=run, tags=TAGS,
                             workdir=tmp_path / "resumed", progress=False)
    written = read_scalars(tmp_path / "resumed" / curves.FOLDER / TAGS[0])
    assert [s for s, _ in written["classifier/train_loss"]] == [0, 1]  # live, before the kill
    resumed = train.train_grid(data, roles, seeds, model, config, runtime=run, tags=TAGS,
                               workdir=tmp_path / "resumed", progress=False)
    _assert_curves_match(tmp_path / "resumed", resumed, 4)
    for name in model_step.CURVE_NAMES:
        np.testing.assert_array_equal(resumed.curves["classifier"][name],
                                      full.curves["classifier"][name])


def test_tags_are_one_folder_per_model():
    assert curves.unique_tags(None, 2) == ["model0", "model1"]
    assert curves.unique_tags(["a", "a", "b/c"], 3) == ["a_m0", "a_m1", "b_c"]
    with pytest.raises(ValueError, match="one per model"):
        curves.unique_tags(["a"], 2)


def test_raw_waveform_writes_its_curves_through_the_shared_loop(tmp_path):
    rng = np.random.default_rng(0)
    n, length = 96, 80
    label = np.arange(n) % 2
    waves = rng.standard_normal((n, length)).astype(np.float32)
    roles, _, seeds = actor_fold_roles(np.arange(n) % 6, 3, 1)
    cfg = baselines.default_baseline_config("raw_waveform")
    cfg.raw_channels = (4,)
    _, config, run = tiny_configs(epochs=3)
    config.early_stop_patience = 0
    _, _, out = raw_waveform.train_models(waves, label, roles, seeds, cfg, config, 2,
                                          progress=False, runtime=run, workdir=tmp_path,
                                          tags=TAGS)
    for m, tag in enumerate(TAGS):
        scalars = read_scalars(tmp_path / curves.FOLDER / tag)
        assert sorted(scalars) == sorted(f"{raw_waveform.PHASE}/{name}"
                                         for name in model_step.CURVE_NAMES)
        points = scalars[f"{raw_waveform.PHASE}/val_loss"]
        assert [s for s, _ in points] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in points],
                                   out[raw_waveform.PHASE]["val_loss"][:, m], rtol=1e-6)
