"""Step 1 of the grid with its inputs left in host memory and streamed to the devices.

By default ``serjax.training.train`` uploads the extractor's inputs once and every compiled epoch
gathers its batches on the device. Frame features of a large corpus need not fit there
(``[N, T, 162]``: 3.7 GB in float32 for the Superset with its augmented copies, far more for
longer clips or bigger corpora), so with ``runtime.stream`` the inputs stay on the host (a
memory-mapped FeatureSet: only the rows read are paged in) and the same per-model functions
run on chunks the host gathers:

* the acoustic scaler from per-row statistics, computed ``runtime.eval_batch_size`` rows at a
  time (for summary vectors: count 1, mean = the row, no spread);
* each extractor epoch as ``epoch_begin``, then ``runtime.stream_steps`` training steps at a
  time on the batches ``[M, K, B, ...]`` gathered for every model (each device receives only
  its own models' rows), then the VAL rows in chunks, then ``epoch_end``;
* the frozen extractor's deep features of every row, one replicated row chunk at a time.

The batch plan (``grid_data.epoch_batches``) and every per-step function are the ones the
device-resident epoch uses, so a streamed run gives the resident run's numbers (tested);
the last chunk of an epoch is padded with all-padding batches, which change nothing.
JAX dispatches asynchronously, so the host gathers chunk ``k + 1`` while the devices train
on chunk ``k``; before dispatching it waits for chunk ``k - 1`` to finish, so at most two
chunks are in flight (without that wait the host would queue a whole epoch of chunks and
hold them all in memory). Device memory: the model grid, two chunks of batches and the fused
features.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from serjax.training import model_step, programs, sharding
from serjax.training.model_step import EpochMetrics, PhaseState, Scaler


def wants_streaming(runtime, inputs, mesh) -> bool:
    """Whether step 1 streams its inputs: ``runtime.stream`` = 'stream' always, 'resident'
    never, 'auto' when they would take more than ``runtime.stream_fraction`` of the smallest
    device memory JAX reports (a CPU reports none: there device memory is host memory, and
    the inputs already sit in it, so 'auto' keeps them resident)."""
    mode = runtime.get("stream", "auto")  # checked by runtime.check_runtime_config
    if mode != "auto":
        return mode == "stream"
    limits = []
    for device in mesh.devices.flat:  # this process's devices (hosts are alike)
        if getattr(device, "process_index", 0) != jax.process_index():
            continue
        stats = device.memory_stats() if hasattr(device, "memory_stats") else None
        if stats and stats.get("bytes_limit"):
            limits.append(int(stats["bytes_limit"]))
    if not limits:
        return False
    need = sum(np.asarray(a).nbytes for a in jax.tree.leaves(inputs))
    return need > float(runtime.get("stream_fraction", 0.5)) * min(limits)


def host_rows(inputs, idx: np.ndarray):
    """Rows ``idx [...]`` (``-1`` = padding, reads row 0) of every leaf of the host inputs,
    shaped ``[*idx.shape, ...]``; a memmap pages in only those rows."""
    flat = np.maximum(idx, 0).reshape(-1)
    return jax.tree.map(lambda a: np.take(a, flat, axis=0).reshape(*idx.shape, *a.shape[1:]),
                        inputs)


def example_rows(inputs, mesh):
    """The first row of every leaf, on the devices: what ``PhaseProgram.init`` reads shapes from."""
    return sharding.put_replicated(jax.tree.map(lambda a: np.asarray(a[:1]), inputs), mesh)


def streamed_step1(program) -> StreamedStep1:
    """The cached ``StreamedStep1`` of a ``GridProgram`` (built once, like the program)."""
    return programs.cached(("stream",) + program.key, lambda: StreamedStep1(program))


class StreamedStep1:
    """Jitted pieces of the streamed extractor step for one ``GridProgram``."""

    def __init__(self, program):
        self.program = program
        spec = program.spec1
        eval_chunk = spec.eval_chunk
        standardize = program.standardize
        group, mesh = program.group, program.mesh

        def row_stats(raw):
            if isinstance(raw, dict):
                return model_step.frame_row_stats(raw["frames"], raw["mask"])
            return (jnp.ones(raw.shape[0], jnp.float32), raw.astype(jnp.float32),
                    jnp.zeros(raw.shape, jnp.float32))

        def scaler(stats, train_rows):
            return jax.vmap(model_step.fit_scaler_from_row_stats, in_axes=(None, 0, None))(
                stats, train_rows, standardize)

        def begin(state, labels, batches, seeds, epoch_index):
            return jax.vmap(
                lambda st, b, k: model_step.epoch_begin(spec, st, labels, b, k, epoch_index)
            )(state, batches, programs.seed_keys(seeds, 2))

        def steps(state, carry, scaler_, labels, batches, raw, first_step, epoch_key, weights,
                  hp):
            def one(st, c, sc, b, r, k, w, h):
                return model_step.train_steps(spec, st, c, sc, labels, b, first_step, k, w,
                                              raw=r, hp=h)
            w_axis = None if weights is None else 0
            return sharding.map_models(  # in model groups, as resident epochs
                one, (0, 0, 0, 0, 0, 0, w_axis, 0), group, mesh)(
                state, carry, scaler_, batches, raw, epoch_key, weights, hp)

        def val(carry, scaler_, labels, rows, raw, weights, sums):
            def one(c, sc, r, x, w):
                return model_step.eval_chunk_sums(spec, c[0], sc, x, labels, r, w)
            w_axis = None if weights is None else 0
            return sums + jax.vmap(one, in_axes=(0, 0, 0, 0, w_axis))(
                carry, scaler_, rows, raw, weights)

        def end(state, carry, val_sums, hp):
            return jax.vmap(lambda st, c, v, h: model_step.epoch_end(spec, st, c[0], c[1], c[2],
                                                                     v, h)
                            )(state, carry, val_sums, hp)

        def deep(params, scaler_, raw):
            def one(p, sc):
                x = model_step.standardize(raw, sc)
                return program.extractor.apply(p, x, train=False)[1]
            return jax.vmap(one)(params, scaler_)

        heavy = program.opt_level  # the training steps and VAL sums run as long as epochs do
        self._row_stats = programs.jit(row_stats, mesh, replicated=True)
        self._scaler = programs.jit(scaler, mesh)
        self._begin = programs.jit(begin, mesh)
        # no donation of the carry / sums: the host keeps the previous one to wait on it
        self._steps = programs.jit(steps, mesh, opt_level=heavy)
        self._val = programs.jit(val, mesh, opt_level=heavy)
        self._end = programs.jit(end, mesh, donate=True)
        self._deep = programs.jit(deep, mesh)
        self.eval_chunk = eval_chunk

    def _over_row_chunks(self, fn, host_inputs, num_rows: int, *args) -> list:
        """``fn(*args, rows)`` for consecutive chunks of ``eval_batch_size`` rows, each chunk
        uploaded to every device (the last padded with row 0); the list of results."""
        parts = []
        for start in range(0, num_rows, self.eval_chunk):
            idx = np.arange(start, start + self.eval_chunk)
            idx[idx >= num_rows] = -1
            raw = sharding.put_replicated(host_rows(host_inputs, idx), self.program.mesh)
            parts.append(fn(*args, raw))
            if len(parts) > 1:  # at most two chunks in flight
                jax.block_until_ready(parts[-2])
        return parts

    def scaler1(self, host_inputs, num_rows: int, train_rows_d) -> Scaler:
        """Per-model acoustic scalers from per-row statistics of row chunks."""
        parts = self._over_row_chunks(self._row_stats, host_inputs, num_rows)
        stats = jax.tree.map(lambda *a: jnp.concatenate(a)[:num_rows], *parts)
        return self._scaler(stats, train_rows_d)

    def epoch(self, state: PhaseState, scaler_: Scaler, host_inputs, labels_d,
              batches: np.ndarray, val_rows: np.ndarray, seeds_d, epoch_index,
              chunk_steps: int, hp=None) -> tuple[PhaseState, EpochMetrics]:
        """One extractor epoch of every model: ``(new state, metrics [M])`` as
        ``PhaseProgram.epoch`` returns them, training ``chunk_steps`` batches per upload.
        ``batches [M, S, B]`` and ``val_rows [M, V]`` are host arrays (V a multiple of
        ``runtime.eval_batch_size``); ``hp``: the arms' per-model hyperparameters."""
        mesh, k = self.program.mesh, max(1, int(chunk_steps))
        hp = {} if hp is None else hp
        put_m = functools.partial(sharding.put_per_model, mesh=mesh)
        num_steps = batches.shape[1]
        padded = -(-num_steps // k) * k
        if padded != num_steps:  # all-padding batches: no update, nothing summed
            pad = np.full((batches.shape[0], padded - num_steps, batches.shape[2]), -1,
                          batches.dtype)
            batches = np.concatenate([batches, pad], axis=1)
        carry, epoch_key, weights = self._begin(state, labels_d, put_m(batches), seeds_d,
                                                epoch_index)
        for first in range(0, padded, k):
            idx = batches[:, first:first + k]
            previous, carry = carry, self._steps(
                state, carry, scaler_, labels_d, put_m(idx), put_m(host_rows(host_inputs, idx)),
                np.int32(first), epoch_key, weights, hp)
            jax.block_until_ready(previous)  # chunk k - 1 done; chunk k runs while we gather
        sums = put_m(np.zeros((batches.shape[0], 3), np.float32))
        for first in range(0, val_rows.shape[1], self.eval_chunk):
            idx = val_rows[:, first:first + self.eval_chunk]
            previous, sums = sums, self._val(carry, scaler_, labels_d, put_m(idx),
                                             put_m(host_rows(host_inputs, idx)), weights, sums)
            jax.block_until_ready(previous)
        return self._end(state, carry, sums, hp)

    def deep_features(self, state1: PhaseState, scaler_: Scaler, host_inputs,
                      num_rows: int) -> jax.Array:
        """``[M, N, deep_width]``: the frozen extractors' deep units of every row."""
        parts = self._over_row_chunks(self._deep, host_inputs, num_rows, state1.best_params,
                                      scaler_)
        return jnp.concatenate(parts, axis=1)[:, :num_rows]
