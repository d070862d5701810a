"""Orbax checkpoints: periodic grid state for resume, and the final models for prediction.

Layout inside a workdir::

  checkpoints/<epoch>/   grid state after that many epochs (orbax CheckpointManager: written
                         to a temporary folder and renamed, so a kill leaves the last one whole)
  checkpoints/grid.json  fingerprint of (data shapes, roles, seeds, config): resuming a
                         different grid from the same workdir raises instead of mixing runs
  models/state/          every model's best parameters and scalers (StandardCheckpointer)
  models/models.json     model config, label names, number of models, seeds

Restores always pass the target pytree, so optax states come back as their NamedTuples.

Multi-process runs (``serjax.training.distributed``): every process calls every save and restore with
its own shards of the global arrays (orbax writes each shard once and lets process 0 write
the metadata and finalise); the small JSON files are written by process 0 only. The workdir
must then be one shared filesystem (NFS, GCS via gcsfuse, ...) seen by all processes.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Any, NamedTuple

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from serjax import atomic
from serjax.models import networks as model_lib
from serjax.training import distributed, model_step, programs

MODELS_DIR = "models"
PROGRESS_DIR = "checkpoints"


class Models(NamedTuple):
    """Trained models, as returned by ``load_models``; leaves carry the model axis ``M``.

    params: {"extractor": flax params, "classifier": flax params}
    scalers: {"acoustic": Scaler [M, F], "fused": Scaler [M, D]}
    """
    params: Any
    scalers: Any
    config: ml_collections.ConfigDict  # the model config
    labels: list


# ---------------------------------------------------------------- periodic grid checkpoints

#: The layout of a phase's saved state: Adam's moments alone (the step scales them by each
#: model's learning rate) and the phase's epoch count (the cosine schedule's clock).
STATE_LAYOUT = "phase state v2"


def grid_fingerprint(data: dict, roles: np.ndarray, seeds: np.ndarray, model_config,
                     train_config, padded_models: int | None = None, runtime=None,
                     hparams: dict | None = None) -> str:
    """Hash of everything that must match for a checkpoint to be resumed. ``padded_models``:
    the model axis after padding to the devices and model groups, which shapes the saved
    state (a run checkpointed on 4 devices, or on a GPU, pads differently from 1 CPU).
    ``runtime``: the choices that change the compiled program and so the rounding (all but
    ``checkpoint_every``, which a resumed run may change); ``hparams``: the arms' per-model
    values. ``STATE_LAYOUT`` changes when the saved state's structure does."""
    h = hashlib.sha256(STATE_LAYOUT.encode())
    for name in sorted(hparams or {}):
        h.update(f"hparam {name}".encode())
        _hash_rows(h, np.asarray(hparams[name], np.float32))
    if padded_models is not None:
        h.update(f"padded models {padded_models}".encode())
    for name in sorted(data):
        h.update(f"{name}{np.asarray(data[name]).shape}".encode())
        _hash_rows(h, data[name])
    _hash_rows(h, roles)
    _hash_rows(h, seeds)
    h.update(model_config.to_json(sort_keys=True).encode())
    h.update(train_config.to_json(sort_keys=True).encode())
    if runtime is not None:
        h.update(repr(sorted((k, v) for k, v in runtime.items()
                             if k != "checkpoint_every")).encode())
    return h.hexdigest()


def _hash_rows(h, x, chunk_bytes: int = 16 << 20) -> None:
    """Feeds ``x``'s bytes to ``h`` a block of rows at a time: a memory-mapped [N, T, F] array
    is never copied whole (the digest equals that of ``x.tobytes()``)."""
    x = np.asarray(x)
    if x.ndim == 0:
        h.update(x.tobytes())
        return
    rows = max(1, chunk_bytes // max(x[:1].nbytes, 1))
    for start in range(0, x.shape[0], rows):
        h.update(np.ascontiguousarray(x[start:start + rows]).tobytes())


def progress_manager(workdir, fingerprint: str) -> ocp.CheckpointManager:
    """CheckpointManager under ``workdir/checkpoints`` for this grid; raises on a mismatch."""
    root = pathlib.Path(workdir).absolute() / PROGRESS_DIR
    root.mkdir(parents=True, exist_ok=True)
    stamp = root / "grid.json"
    if stamp.exists():
        found = json.loads(stamp.read_text()).get("fingerprint")
        if found != fingerprint:
            raise ValueError(
                f"{root} holds checkpoints of a different grid (data, roles, seeds or config "
                "changed, or the device count or model groups, which pad the model axis "
                "differently); use a fresh --workdir or delete that folder to start over")
    elif distributed.is_main():
        atomic.write_json(stamp, {"fingerprint": fingerprint})
    options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
    return ocp.CheckpointManager(root, options=options)


def save_progress(manager: ocp.CheckpointManager, epochs_done: int, state) -> None:
    """Saves the grid state after ``epochs_done`` epochs (both phases counted)."""
    manager.save(epochs_done, args=ocp.args.StandardSave(state))
    manager.wait_until_finished()


def restore_progress(manager: ocp.CheckpointManager, target):
    """(epochs_done, state) of the latest checkpoint, or (0, target) when there is none."""
    step = manager.latest_step()
    if step is None:
        return 0, target
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    return step, manager.restore(step, args=ocp.args.StandardRestore(abstract))


# ---------------------------------------------------------------- final models

def save_models(directory, params, scalers, model_config, labels, seeds=None) -> pathlib.Path:
    """Writes the models (host arrays with a leading model axis) under ``directory/models``."""
    root = pathlib.Path(directory).absolute() / MODELS_DIR
    root.mkdir(parents=True, exist_ok=True)
    state_dir = root / "state"
    tree = {"params": params, "scalers": {k: dict(v._asdict()) for k, v in scalers.items()}}
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(state_dir, tree, force=True)
        ckptr.wait_until_finished()
    if not distributed.is_main():
        return root
    meta = {"model_config": json.loads(model_config.to_json()), "labels": list(labels),
            "num_models": int(jax.tree.leaves(params)[0].shape[0]),
            "seeds": None if seeds is None else [int(s) for s in seeds]}
    atomic.write_json(root / "models.json", meta, indent=1)
    return root


def load_models(directory) -> Models:
    """Reads what ``save_models`` wrote: ``(params, scalers, config, labels)``."""
    root = pathlib.Path(directory).absolute()
    if (root / MODELS_DIR).is_dir():
        root = root / MODELS_DIR
    meta_path = root / "models.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path} not found: point load_models at a training workdir "
                                "(or its models/ folder) written by serjax train")
    meta = json.loads(meta_path.read_text())
    config = ml_collections.ConfigDict(meta["model_config"])
    for key in ("conv_features", "kernel_sizes", "mlp_hidden"):
        config[key] = tuple(config[key])
    with ocp.StandardCheckpointer() as ckptr:
        tree = ckptr.restore(root / "state")
    tree = jax.tree.map(np.asarray, tree)
    scalers = {k: model_step.Scaler(**v) for k, v in tree["scalers"].items()}
    return Models(tree["params"], scalers, config, meta["labels"])


def forward_fn(models: Models):
    """The one inference forward pass of saved models: ``(params, scalers, acoustic,
    statistical [N, S], gender [N]) -> probabilities float32 [M, N, C]`` (extractor on the
    standardised acoustic features -> fusion -> MLP, every model at once). ``acoustic`` is
    ``[N, F]``, or ``{"frames": [N, T, F], "mask": [N, T]}`` for frames models. A pure function
    of arrays: ``predict_proba`` batches it, ``serjax.serve`` jits and exports it."""
    num_classes = len(models.labels)
    extractor = model_lib.extractor_module(models.config, num_classes)
    classifier = model_lib.classifier_module(models.config, num_classes)
    fusion = models.config.fusion
    weight = programs.late_weight(models.config)

    def one(params, s_acoustic, s_fused, acoustic, statistical, gender):
        head, deep = extractor.apply(params["extractor"],
                                     model_step.standardize(acoustic, s_acoustic), train=False)
        shared = programs.shared_columns({"statistical": statistical, "gender": gender}, fusion)
        fused = programs.with_shared(deep[:, :0] if fusion == "late" else deep, shared)
        logits = classifier.apply(params["classifier"], model_step.standardize(fused, s_fused),
                                  train=False)
        if fusion == "late":  # as training scored it: both steps' weighted mean
            return programs.late_mean(jax.nn.softmax(head, -1), jax.nn.softmax(logits, -1),
                                      weight)
        return jax.nn.softmax(logits, -1)

    def forward(params, scalers, acoustic, statistical, gender):
        return jax.vmap(one, in_axes=(0, 0, 0, None, None, None))(
            params, scalers["acoustic"], scalers["fused"], acoustic, statistical, gender)
    return forward


def predict_proba(models: Models, acoustic, statistical, gender, batch_size: int = 256):
    """Class probabilities ``float32 [M, N, C]`` of every saved model for rows ``[N, ...]``
    (``acoustic`` ``[N, F]``, or ``{"frames": [N, T, F], "mask": [N, T]}`` for frames models),
    ``batch_size`` rows at a time through ``forward_fn``. Every batch has the same shape (the
    last one repeats the final row), so it compiles once."""
    forward = jax.jit(forward_fn(models))
    n = len(statistical)
    chunks = []
    for start in range(0, n, batch_size):
        idx = np.minimum(np.arange(start, start + batch_size), n - 1)
        if isinstance(acoustic, dict):
            batch = {"frames": np.asarray(acoustic["frames"])[idx].astype(np.float32),
                     "mask": np.asarray(acoustic["mask"])[idx].astype(bool)}
        else:
            batch = np.asarray(acoustic)[idx].astype(np.float32)
        probs = forward(models.params, models.scalers, batch,
                        np.asarray(statistical)[idx].astype(np.float32),
                        np.asarray(gender)[idx].astype(np.float32))
        chunks.append(np.asarray(probs)[:, :min(batch_size, n - start)])
    return np.concatenate(chunks, axis=1)
