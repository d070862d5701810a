"""Spreading the model axis ``M`` over every device with ``jit`` + ``NamedSharding``.

Per-model arrays (leading axis ``M``) are split along a one-axis ``Mesh`` named ``models``;
data shared by every model (features, labels) is replicated. ``M`` is padded to a multiple
of the device count with copies of the last model (real work whose results are dropped), so
one device or N devices run the same per-model computation and give the same metrics.
The mesh is built with ``Mesh(...)`` directly: ``jax.make_mesh`` now defaults to explicit axis
types, under which sharding constraints raise.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

MODEL_AXIS = "models"


def model_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: all of them) whose axis carries the models."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (MODEL_AXIS,))


def padded_model_count(num_models: int, mesh: Mesh) -> int:
    """Smallest multiple of the device count that is >= num_models."""
    n = mesh.size
    return -(-num_models // n) * n


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


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def put_per_model(tree, mesh: Mesh):
    """Places every leaf of a pytree with leading axis ``M`` split over the mesh."""
    sharding = per_model(mesh)
    return jax.tree.map(lambda a: jax.device_put(a, sharding), tree)


def put_replicated(tree, mesh: Mesh):
    sharding = replicated(mesh)
    return jax.tree.map(lambda a: jax.device_put(a, sharding), tree)
