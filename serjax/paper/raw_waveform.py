"""The paper's raw-waveform model ("about 13 %", Section V-B): a small Conv1D on audio samples.

Each original file is loaded as SER-FusionNet's features are (``serjax.features.audio.prepare``: trim
silence), but resampled to ``baseline.raw_rate`` (4 kHz) instead of 22,050 Hz, centre-cropped
or zero-padded to ``baseline.raw_seconds`` and scaled to unit RMS. The network reads the
waveform in frames of ``baseline.raw_frame`` samples (a strided first convolution, written as a
per-frame Dense), then ``baseline.raw_channels`` conv → ReLU → max-pool blocks, a mean over
time and a softmax head.

It trains over the experiment's role matrix with the same per-model recipe as SER-FusionNet's
steps (``serjax.training.model_step.train_epoch``: Adam, batch 64, reduce-on-plateau, early stopping on
VAL loss keeping the best parameters), every (fold, seed) model at once under ``vmap``.
Augmented copies have no waveform stored, so they are UNUSED here: the raw model trains on the
original files of its TRAIN actors only.
"""

from __future__ import annotations

import copy
import functools
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import tqdm

from serjax.corpora import sources
from serjax.features import audio
from serjax.models import networks, pooling
from serjax.training import grid_data, model_step
from serjax.training.grid_data import TEST, TRAIN, UNUSED, VAL

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


def _spec(net: RawWaveformNet, train_config) -> model_step.PhaseSpec:
    def apply_fn(params, x, train, key):
        return net.apply(params, x, train=train, rngs={"dropout": key} if train else None)
    return model_step.PhaseSpec(
        PHASE, apply_fn, learning_rate=float(train_config.learning_rate),
        plateau_factor=float(train_config.plateau_factor),
        plateau_patience=int(train_config.plateau_patience), min_lr=float(train_config.min_lr),
        early_stop_patience=int(train_config.early_stop_patience),
        unroll=int(train_config.scan_unroll), eval_chunk=int(train_config.eval_batch_size))


TRAIN_FIELDS = ("learning_rate", "plateau_factor", "plateau_patience", "min_lr",
                "early_stop_patience", "scan_unroll", "eval_batch_size")


def _train_key(train_config) -> tuple:
    return tuple((k, train_config[k]) for k in TRAIN_FIELDS)


@functools.lru_cache(maxsize=8)
def _program(frame: int, channels: tuple, num_classes: int, length: int, train_key: tuple):
    """Jitted (init, vmapped epoch, vmapped predict) for one network and recipe, built once
    per process so repeated grids of the same shape do not retrace."""
    net = RawWaveformNet(frame, channels, num_classes)
    spec = _spec(net, ml_collections.ConfigDict(dict(train_key)))

    @jax.jit
    def init(keys):
        params = jax.vmap(lambda k: net.init({"params": jax.random.fold_in(k, 1)},
                                             jnp.zeros((1, length)), train=False))(keys)
        return jax.vmap(functools.partial(model_step.init_phase_state, spec))(params)

    epoch_fn = jax.jit(jax.vmap(functools.partial(model_step.train_epoch, spec),
                                in_axes=(0, 0, None, None, 0, 0, 0, None)), donate_argnums=0)
    predict = jax.jit(jax.vmap(functools.partial(model_step.predict_logits, spec),
                               in_axes=(0, 0, None, 0)))
    return init, epoch_fn, predict


def train_models(waves: np.ndarray, labels: np.ndarray, roles: np.ndarray, seeds, baseline,
                 train_config, num_classes: int, progress: bool = True):
    """Trains one RawWaveformNet per row of ``roles [M, N]`` over ``waves [N, L]``.

    Returns ``(test predictions per model, timing, curves {PHASE: {name: [epochs, M]}})``.
    """
    empty = np.flatnonzero(~(roles == TRAIN).any(1))
    if empty.size:
        raise ValueError(f"raw waveform: models {empty.tolist()} have no TRAIN rows; check the "
                         "folds (augmented rows are not used by this model)")
    length = waves.shape[1]
    fns = _program(int(baseline.raw_frame), tuple(baseline.raw_channels), num_classes, length,
                   _train_key(train_config))
    seeds = np.asarray(seeds, np.int64)
    m = len(seeds)
    chunk, batch = int(train_config.eval_batch_size), int(train_config.batch_size)
    train_rows = grid_data.role_rows(roles, TRAIN)
    val_rows = jnp.asarray(grid_data.role_rows(roles, VAL, chunk))
    test_rows = grid_data.role_rows(roles, TEST, chunk)
    steps = grid_data.steps_per_epoch(roles, batch)
    x, y = jnp.asarray(waves), jnp.asarray(labels, jnp.int32)
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds))
    scaler = model_step.Scaler(jnp.zeros((m, length)), jnp.ones((m, length)))  # unit RMS already
    init, epoch_fn, predict = fns
    start = time.perf_counter()
    state = init(keys)
    dropout_keys = jax.vmap(lambda k: jax.random.fold_in(k, 2))(keys)
    epochs = int(train_config.epochs)
    curves = np.full((epochs, m, len(model_step.CURVE_NAMES)), np.nan, np.float32)
    for epoch in tqdm.trange(epochs, disable=not progress, desc=f"raw waveform × {m}"):
        if bool(np.all(np.asarray(state.stopped))):
            break
        batches = grid_data.epoch_batches(train_rows, seeds, 0, epoch, batch, steps)
        state, out = epoch_fn(state, scaler, x, y, jnp.asarray(batches), val_rows,
                              dropout_keys, np.int32(epoch))
        curves[epoch] = np.asarray(out)
        if not np.isfinite(curves[epoch, :, 0]).all():
            raise FloatingPointError(f"raw waveform: non-finite training loss at epoch {epoch}; "
                                     "lower train.learning_rate")
    logits = np.asarray(predict(state.best_params, scaler, x, jnp.asarray(test_rows)))
    preds = [logits[i][test_rows[i] >= 0].argmax(-1) for i in range(m)]
    timing = {"compile_s": 0.0, "train_s": time.perf_counter() - start}
    named = {name: curves[:, :, j] for j, name in enumerate(model_step.CURVE_NAMES)}
    return preds, timing, {PHASE: named}


def train_and_predict(config, feature_set, grid, progress: bool = True):
    """The raw-waveform baseline over ``grid`` (``splits.grid_inputs.GridInputs``): returns
    ``(predictions per model, timing, curves, roles)`` where ``roles`` is the grid's role
    matrix with augmented rows UNUSED (they have no waveform)."""
    augmented = np.asarray(feature_set.augmented, bool)
    roles = np.where(augmented[None, :], UNUSED, grid.roles).astype(np.int8)
    used = np.flatnonzero((roles != UNUSED).any(0))
    waves = load_waveforms(config, feature_set, used, progress)
    seeds = [s.seed for s in grid.splits]
    preds, timing, curves = train_models(waves, grid.data["label"][used], roles[:, used], seeds,
                                         config.baseline, config.train, len(grid.labels),
                                         progress)
    return preds, timing, curves, roles

