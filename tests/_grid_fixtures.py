"""Synthetic grids for the training tests (and scripts/ benchmarks): random engine inputs
shaped like RAVDESS features, a simple actor-fold role matrix, tiny configs, and a counter of
the traces of the compiled epochs."""

from __future__ import annotations

import collections
import contextlib
import socket

import jax
import numpy as np

from serjax.models import networks
from serjax.splits.roles import TEST, TRAIN, VAL
from serjax.training import grid_data, runtime, train

TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"


def synthetic_arrays(num_rows: int, num_features: int = 162, num_classes: int = 8,
                     num_actors: int = 24, separation: float = 1.0, seed: int = 0) -> dict:
    """Random engine inputs shaped like RAVDESS features (for tests and benchmarks).

    Class-dependent Gaussian acoustic features (class means ``separation`` apart in units of
    the noise), 8 statistical features, gender = actor parity, ``actor`` ids 0..A-1.
    """
    rng = np.random.default_rng(seed)
    label = rng.integers(0, num_classes, num_rows).astype(np.int32)
    actor = rng.integers(0, num_actors, num_rows)
    centers = rng.normal(size=(num_classes, num_features)) * separation
    acoustic = centers[label] + rng.normal(size=(num_rows, num_features))
    statistical = rng.normal(size=(num_rows, 8)) + 0.5 * separation * label[:, None] / num_classes
    return {"acoustic": acoustic.astype(np.float32), "statistical": statistical.astype(np.float32),
            "gender": (actor % 2).astype(np.int8), "label": label, "actor": actor}


def synthetic_frames(num_rows: int, num_frames: int = 32, num_features: int = 24,
                     num_classes: int = 4, num_actors: int = 6, separation: float = 1.0,
                     seed: int = 0) -> dict:
    """``synthetic_arrays`` with frames: ``acoustic [N, T, F]`` (class mean + per-actor offset +
    noise on each real frame, zero padding) and ``frame_mask [N, T]`` with lengths T/2..T."""
    base = synthetic_arrays(num_rows, num_features, num_classes, num_actors, separation, seed)
    rng = np.random.default_rng(seed + 1)
    offset = rng.normal(size=(num_actors, num_features))  # a per-speaker shift
    mean = base["acoustic"] + offset[base["actor"]]
    frames = mean[:, None, :] + rng.normal(size=(num_rows, num_frames, num_features))
    lengths = rng.integers(num_frames // 2, num_frames + 1, num_rows)
    mask = np.arange(num_frames) < lengths[:, None]
    return dict(base, acoustic=(frames * mask[..., None]).astype(np.float32), frame_mask=mask)


def actor_fold_roles(actor: np.ndarray, num_folds: int, num_seeds: int = 1):
    """A simple speaker-independent grid (``serjax.splits`` builds the real ones): actors split
    round-robin into folds; fold f tests on fold f, validates on fold f+1 and trains on the
    rest. Returns ``(roles int8 [F*S, N], folds [F*S], seeds [F*S])``."""
    actor_fold = np.unique(actor, return_inverse=True)[1] % num_folds
    roles, folds, seeds = [], [], []
    for seed in range(num_seeds):
        for fold in range(num_folds):
            r = np.full(actor.shape, TRAIN, np.int8)
            r[actor_fold == (fold + 1) % num_folds] = VAL
            r[actor_fold == fold] = TEST
            roles.append(r)
            folds.append(fold)
            seeds.append(seed)
    return np.stack(roles), np.asarray(folds), np.asarray(seeds)


def tiny_configs(epochs: int = 8):
    """(model, train, runtime) configs of a small, fast-compiling grid."""
    model = networks.default_model_config()
    model.conv_features = (4, 8)
    model.dropout = 0.1
    config = train.default_train_config()
    config.epochs = epochs
    config.batch_size = 32
    config.learning_rate = 1e-2
    run = runtime.default_runtime_config()
    run.eval_batch_size = 64
    run.scan_unroll = 2
    run.xla_opt_level = 0  # tiny grids: compile time dominates
    run.checkpoint_every = 1  # test_checkpoint kills runs after given epochs
    return model, config, run


def tiny_grid(seeds_per_fold: int = 1):
    """240 rows, 24 features, 4 classes, 6 actors in 3 actor folds (unequal sizes), 1 seed
    (or ``seeds_per_fold``)."""
    data = synthetic_arrays(240, num_features=24, num_classes=4, num_actors=6,
                            separation=1.5, seed=0)
    roles, folds, seeds = actor_fold_roles(data["actor"], 3, seeds_per_fold)
    arrays = {k: data[k] for k in grid_data.DATA_KEYS}
    return arrays, roles, folds, seeds


@contextlib.contextmanager
def count_epoch_traces():
    """Counts the traces of every compiled epoch while the block runs, by phase name:
    ``{"extractor": 1, "classifier": 1}`` when each epoch function traced once. Reads JAX's
    own trace events (``PhaseProgram`` names its epoch ``<phase>_epoch``)."""
    counts: collections.Counter = collections.Counter()

    def listener(event, seconds, **kwargs):
        name = str(kwargs.get("fun_name", ""))
        if event == TRACE_EVENT and name.endswith("_epoch"):
            counts[name.removesuffix("_epoch")] += 1
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counts
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def free_port() -> int:
    """A free TCP port on this host (for a local ``jax.distributed`` coordinator)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
