"""Spreading the model axis ``M`` over every device, of one process or of many.

Per-model arrays (leading axis ``M``) are split along a one-axis ``Mesh`` named ``models``
over the *global* device list (all processes' devices under ``jax.distributed``); data shared
by every model (features, labels) is replicated. ``M`` is padded to a multiple of the device
count with copies of the last model (real work whose results are dropped), so one device or
N devices in any number of processes run the same per-model computation and give the same
metrics. The mesh is built with ``Mesh(...)`` directly: ``jax.make_mesh`` now defaults to
explicit axis types, under which sharding constraints raise.

Host → device: every process holds the same host arrays, and
``jax.make_array_from_callback`` hands each local device only its own slice, so the same
code runs with one process or many. Large replicated arrays (frame features) are uploaded
in row chunks into a preallocated device buffer (:func:`put_replicated`), so the host never
holds more than one chunk beyond the (memory-mapped) source, whatever its dtype.
Device → host: :func:`to_host` gathers sharded arrays from every process.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

MODEL_AXIS = "models"
#: Replicated arrays larger than this are uploaded in row chunks of about this size.
UPLOAD_CHUNK_BYTES = 64 << 20


def model_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: every device of every process) for the models."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (MODEL_AXIS,))


def padded_model_count(num_models: int, mesh: Mesh, group: int = 0) -> int:
    """Smallest multiple of the device count that is >= num_models; with ``group`` (models
    per group, ``map_models``) and more than ``group`` models per device, each device's count
    is also a multiple of ``group``, so every group has the same shape (one trace, no
    remainder group)."""
    per_device = -(-num_models // mesh.size)
    if group > 0 and per_device > group:
        per_device = -(-per_device // group) * group
    return per_device * mesh.size


def pad_models(x: np.ndarray, total: int) -> np.ndarray:
    """Pads the leading axis of a host array to ``total`` by repeating its last entry."""
    extra = total - x.shape[0]
    if extra < 0:
        raise ValueError(f"cannot pad {x.shape[0]} models down to {total}")
    if extra == 0:
        return x
    return np.concatenate([x, np.repeat(x[-1:], extra, axis=0)], axis=0)


def per_model(mesh: Mesh) -> NamedSharding:
    """Sharding of arrays whose leading axis is the model axis."""
    return NamedSharding(mesh, PartitionSpec(MODEL_AXIS))


def map_models(fn, in_axes, chunk: int, mesh: Mesh):
    """``jax.vmap(fn, in_axes)`` over the model axis, or, with ``chunk > 0``, the same maths
    run ``chunk`` models at a time on each device, one group after another (``lax.map``).

    Why: on a CPU one model's batch already keeps every core busy, and vmapping all M models
    at once makes the working set (M × im2col patches, parameters, Adam moments) fall out of
    cache: a model-step costs ~5.6 ms at M = 30 against ~4.0 ms in groups of 2
    (docs/benchmarks.md, ``## Training``). On an accelerator, where width is what pays, use
    ``chunk = 0``. ``in_axes`` as for ``vmap`` (0 = per-model argument, None = shared); the
    leading axis of per-model arguments must be a multiple of the mesh size (it is padded
    so). Each device's models form one row of a ``[devices, M / devices]`` view, so the
    groups never cross devices and no model moves.
    """
    if any(ax not in (0, None) for ax in in_axes):
        raise ValueError(f"map_models takes in_axes of 0 or None, not {in_axes}")
    if chunk <= 0:
        return jax.vmap(fn, in_axes=in_axes)
    devices = mesh.size
    rows = per_model(mesh)  # on the [devices, M / devices] view: one row per device

    def local(shared, per_model_args):  # the models of one device, `chunk` at a time
        def one(xs):
            it = iter(xs)
            return fn(*[next(it) if ax == 0 else a for a, ax in zip(shared, in_axes)])
        if jax.tree.leaves(per_model_args)[0].shape[0] <= chunk:
            return jax.vmap(one)(per_model_args)
        if chunk == 1:  # a plain loop: no model axis at all inside (a vmap of 1 is slower)
            return jax.lax.map(one, per_model_args)
        return jax.lax.map(one, per_model_args, batch_size=chunk)

    def run(*args):
        mapped = tuple(a for a, ax in zip(args, in_axes) if ax == 0)
        shared = tuple(None if ax == 0 else a for a, ax in zip(args, in_axes))
        if devices == 1:
            return local(shared, mapped)

        def split(a):  # [M, ...] -> [devices, M / devices, ...]: a device's models in a row
            a = a.reshape(devices, a.shape[0] // devices, *a.shape[1:])
            return jax.lax.with_sharding_constraint(a, rows)
        out = jax.vmap(local, in_axes=(None, 0))(shared, jax.tree.map(split, mapped))
        return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:]), out)
    return run


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def _host(a) -> np.ndarray:
    """A host view of ``a`` (no copy for NumPy arrays and memmaps)."""
    if isinstance(a, jax.Array):
        return np.asarray(to_host(a))
    return np.asarray(a)


def _from_host(a: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array whose local shards are cut from the host array ``a`` (same everywhere)."""
    if a.ndim == 0:
        a = a.reshape(())
    return jax.make_array_from_callback(a.shape, sharding, lambda index: np.asarray(a[index]))


def put_per_model(tree, mesh: Mesh):
    """Places every leaf of a pytree with leading axis ``M`` split over the mesh.

    Leaves are host arrays (identical in every process); each device receives only its models.
    """
    sharding = per_model(mesh)
    return jax.tree.map(lambda a: _from_host(_host(a), sharding), tree)


def put_replicated(tree, mesh: Mesh, dtype=None, chunk_bytes: int | None = None):
    """Places every leaf of a pytree on every device of the mesh, optionally cast to ``dtype``.

    A leaf larger than ``chunk_bytes`` (default ``UPLOAD_CHUNK_BYTES``; or one that needs a
    cast) goes up in row chunks into a preallocated device buffer, so a float16 memmap of
    frames becomes a float32 device array without a float32 (or any full) copy on the host.
    """
    sharding = replicated(mesh)
    chunk_bytes = chunk_bytes or UPLOAD_CHUNK_BYTES

    def one(a):
        a = _host(a)
        target = np.dtype(dtype or a.dtype)
        if a.ndim == 0 or (a.nbytes <= chunk_bytes and a.dtype == target):
            return _from_host(a, sharding)
        return upload_in_chunks(a, sharding, target, chunk_bytes)
    return jax.tree.map(one, tree)


def chunk_rows(shape, dtype, chunk_bytes: int) -> int:
    """Rows per upload chunk so that one chunk holds at most ``chunk_bytes`` (at least 1)."""
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize
    return max(1, chunk_bytes // max(row_bytes, 1))


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _zeros(shape, dtype, sharding):
    return jax.lax.with_sharding_constraint(jnp.zeros(shape, dtype), sharding)


@functools.partial(jax.jit, donate_argnums=0)
def _write_rows(buffer, rows, start):
    """buffer[start:start + len(rows)] = rows, in place (the buffer is donated)."""
    index = (start,) + (0,) * (buffer.ndim - 1)
    return jax.lax.dynamic_update_slice(buffer, rows, index)


def upload_in_chunks(host: np.ndarray, sharding: NamedSharding, dtype=None,
                     chunk_bytes: int | None = None) -> jax.Array:
    """``host [N, ...]`` (e.g. a memmap) as a device array with ``sharding``, built chunk by chunk.

    Host memory beyond the source: one chunk of ``chunk_bytes`` (cast to ``dtype``). Device
    memory: the result plus one chunk. At most two chunk shapes compile (full and last).
    """
    dtype = np.dtype(dtype or host.dtype)
    chunk_bytes = chunk_bytes or UPLOAD_CHUNK_BYTES
    if host.ndim == 0:
        return _from_host(np.asarray(host, dtype), sharding)
    n = host.shape[0]
    out = _zeros(tuple(host.shape), dtype, sharding)
    step = chunk_rows(host.shape, dtype, chunk_bytes)
    for start in range(0, n, step):
        chunk = np.asarray(host[start:start + step], dtype)
        out = _write_rows(out, _from_host(chunk, sharding), np.int32(start))
    return out


def to_host(tree, num_models: int | None = None):
    """Device pytree → NumPy pytree, gathering shards held by other processes.

    With ``num_models`` only the first ``num_models`` entries of the leading (model) axis are
    kept (dropping the mesh padding). Every process gets the whole array.
    """
    def one(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            from jax.experimental import multihost_utils  # noqa: PLC0415
            a = multihost_utils.process_allgather(a, tiled=True)
        a = np.asarray(a)
        return a if num_models is None else a[:num_models]
    return jax.tree.map(one, tree)
