"""The paper's raw-waveform model ("about 13 %", Section V-B): a small Conv1D on audio samples.

Each original file is loaded as SER-FusionNet's features are (``serjax.features.audio.prepare``: trim
silence), but resampled to ``baseline.raw_rate`` (4 kHz) instead of 22,050 Hz, centre-cropped
or zero-padded to ``baseline.raw_seconds`` and scaled to unit RMS. The network reads the
waveform in frames of ``baseline.raw_frame`` samples (a strided first convolution, written as a
per-frame Dense), then ``baseline.raw_channels`` conv → ReLU → max-pool blocks, a mean over
time and a softmax head.

It trains over the experiment's role matrix with SER-FusionNet's per-model recipe
(``serjax.training.model_step.train_epoch``: Adam, batch 64, reduce-on-plateau, early stopping
on VAL loss keeping the best parameters) through the same compiled phase
(``programs.PhaseProgram``) and epoch loop (``serjax.training.loop``), every (fold, seed) model
at once.
Augmented copies have no waveform stored, so they are UNUSED here: the raw model trains on the
original files of its TRAIN actors only.
"""

from __future__ import annotations

import copy
import time

import flax.linen as nn
import jax
import numpy as np
import tqdm

from serjax.corpora import sources
from serjax.features import audio
from serjax.models import networks, pooling
from serjax.splits.roles import TRAIN, UNUSED
from serjax.training import curves, loop, model_step, programs, sharding, train
from serjax.training import runtime as runtime_lib

PHASE = "raw_waveform"


class RawWaveformNet(nn.Module):
    """Waveform ``[B, L]`` → logits ``[B, C]`` (``L`` a multiple of ``frame``)."""
    frame: int
    channels: tuple
    num_classes: int
    dropout: float = 0.2

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        h = x.reshape(x.shape[0], -1, self.frame)  # [B, L / frame, frame]
        h = nn.relu(nn.Dense(self.channels[0], name="frames")(h))
        for width in self.channels:
            h = nn.relu(networks.Conv1D(width, 5)(h))
            h = pooling.max_pool_slices(h, 3, 2)
            h = nn.Dropout(self.dropout, deterministic=not train)(h)
        return nn.Dense(self.num_classes, name="head")(h.mean(axis=1))


def waveform_length(baseline) -> int:
    """Samples per example: ``raw_seconds * raw_rate`` rounded down to whole frames."""
    n = int(round(float(baseline.raw_seconds) * int(baseline.raw_rate)))
    return max(n // int(baseline.raw_frame), 1) * int(baseline.raw_frame)


def fit_length(y: np.ndarray, length: int) -> np.ndarray:
    """Centre crop or symmetric zero pad of ``y [n]`` to ``[length]``, then unit RMS."""
    if len(y) >= length:
        start = (len(y) - length) // 2
        y = y[start:start + length]
    else:
        left = (length - len(y)) // 2
        y = np.pad(y, (left, length - len(y) - left))
    rms = float(np.sqrt(np.mean(np.square(y))))
    return (y / rms if rms > 0 else y).astype(np.float32)


def load_waveforms(config, feature_set, rows: np.ndarray, progress: bool) -> np.ndarray:
    """float32 ``[len(rows), L]``: the source audio of FeatureSet ``rows`` (original rows)."""
    table = sources.load_tables(config, progress=False)
    index = {(c, p): i for i, (c, p) in enumerate(zip(table.corpus, table.path))}
    audio_config = copy.deepcopy(config.audio)
    audio_config.sample_rate = int(config.baseline.raw_rate)
    length = waveform_length(config.baseline)
    out = np.zeros((len(rows), length), np.float32)
    corpus, path = np.asarray(feature_set.corpus), np.asarray(feature_set.path)
    for k, r in enumerate(tqdm.tqdm(rows, disable=not progress, desc="raw waveforms")):
        i = index[(str(corpus[r]), str(path[r]))]
        y = audio.prepare(table.audio(i), int(table.sample_rate[i]), audio_config,
                          name=f"{corpus[r]}/{path[r]}", min_samples=1)
        out[k] = fit_length(y, length)
    return out


def _program(frame: int, channels: tuple, num_classes: int, train_config, runtime, mesh):
    """The ``PhaseProgram`` of one network and recipe, built once per process (by
    ``programs.cached``, as SER-FusionNet's are)."""
    recipe = programs.recipe(train_config, runtime, num_classes)
    group = runtime_lib.models_per_group(runtime.models_per_group,
                                         mesh.devices.flat[0].platform)

    def build():
        net = RawWaveformNet(frame, channels, num_classes)

        def apply_fn(params, x, train, key, dropout=None):  # no per-model rate: no arms
            return net.apply(params, x, train=train, rngs={"dropout": key} if train else None)
        spec = model_step.PhaseSpec(PHASE, apply_fn, **recipe)
        # seeds → parameters and dropout keys as SER-FusionNet's extractor (streams 1 and 2)
        return programs.PhaseProgram(net, spec, mesh, group=group,
                                     opt_level=int(runtime.xla_opt_level), inputs_axis=None,
                                     init_stream=1, key_stream=2, num_classes=num_classes)
    key = (PHASE, frame, channels, num_classes, repr(sorted(recipe.items())), group,
           int(runtime.xla_opt_level), tuple(d.id for d in mesh.devices.flat))
    return programs.cached(key, build)


def train_models(waves: np.ndarray, labels: np.ndarray, roles: np.ndarray, seeds, baseline,
                 train_config, num_classes: int, progress: bool = True, *, runtime=None,
                 workdir=None, tags=None):
    """Trains one RawWaveformNet per row of ``roles [M, N]`` over ``waves [N, L]``, every model
    at once through the shared epoch loop (``serjax.training.loop``), as SER-FusionNet's
    extractor trains; with ``workdir`` its curves go to ``<workdir>/tensorboard/<tag>/``.

    Returns ``(test predictions per model, timing, curves {PHASE: {name: [epochs, M]}})``.
    """
    empty = np.flatnonzero(~(roles == TRAIN).any(1))
    if empty.size:
        raise ValueError(f"raw waveform: models {empty.tolist()} have no TRAIN rows; check the "
                         "folds (augmented rows are not used by this model)")
    compile_start = programs.compile_seconds()
    runtime = runtime_lib.runtime_or_default(runtime)
    runtime_lib.check_runtime_config(runtime)
    mesh = sharding.model_mesh()
    program = _program(int(baseline.raw_frame), tuple(baseline.raw_channels), num_classes,
                       train_config, runtime, mesh)
    m, length = len(seeds), waves.shape[1]
    epochs, batch = int(train_config.epochs), int(train_config.batch_size)
    padded = sharding.padded_model_count(m, mesh, program.group)
    rows = loop.model_rows(roles, seeds, padded, batch, int(runtime.eval_batch_size))
    put_m = lambda a: sharding.put_per_model(a, mesh)
    x = sharding.put_replicated(np.asarray(waves, np.float32), mesh)
    y = sharding.put_replicated(np.asarray(labels, np.int32), mesh)
    seeds_d = put_m(np.asarray(rows.seeds, np.int32))
    val_d, test_d = put_m(rows.val), put_m(rows.test)
    scaler = put_m(model_step.Scaler(np.zeros((padded, length), np.float32),  # unit RMS already
                                     np.ones((padded, length), np.float32)))

    def raw_epoch(state, batches, epoch):
        return program.epoch(state["raw"], scaler, x, y, put_m(batches), val_d, seeds_d,
                             np.int32(epoch), {})

    phase = loop.Phase(PHASE, "raw", raw_epoch)
    state = {"raw": program.init(seeds_d, x), "curves": loop.empty_curves([phase], epochs, padded)}
    writer = curves.writer_for(workdir, tags, m)
    compile_before, start = programs.compile_seconds(), time.perf_counter()
    try:
        loop.run_epochs([phase], state, rows, epochs=epochs, batch_size=batch, writer=writer,
                        progress=progress, desc=f"raw waveform × {m}")
    finally:
        if writer is not None:
            writer.close()
    probs, _ = program.test(state["raw"].best_params, scaler, x, y, test_d)
    _, _, preds = train.per_model_predictions(probs, rows.test, m)
    timing = {"compile_s": programs.compile_seconds() - compile_start,
              "train_s": time.perf_counter() - start - (programs.compile_seconds()
                                                        - compile_before)}
    named = {name: curve[:, :m] for name, curve in zip(model_step.CURVE_NAMES,
                                                       state["curves"][PHASE])}
    return preds, timing, {PHASE: named}


def train_and_predict(config, feature_set, grid, progress: bool = True, workdir=None):
    """The raw-waveform baseline over ``grid`` (``splits.grid_inputs.GridInputs``): returns
    ``(predictions per model, timing, curves, roles)`` where ``roles`` is the grid's role
    matrix with augmented rows UNUSED (they have no waveform). ``workdir``: where its
    TensorBoard curves go (one folder per fold and seed)."""
    augmented = np.asarray(feature_set.augmented, bool)
    roles = np.where(augmented[None, :], UNUSED, grid.roles).astype(np.int8)
    used = np.flatnonzero((roles != UNUSED).any(0))
    waves = load_waveforms(config, feature_set, used, progress)
    seeds = [s.seed for s in grid.splits]
    tags = [f"fold{s.fold}_seed{s.seed}" for s in grid.splits]
    preds, timing, curves = train_models(waves, grid.data["label"][used], roles[:, used], seeds,
                                         config.baseline, config.train, len(grid.labels),
                                         progress, runtime=config.get("runtime"),
                                         workdir=workdir, tags=tags)
    return preds, timing, curves, roles

