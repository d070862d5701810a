"""``config.runtime``: how a grid runs, never what it computes.

Every field here is an implementation or speed choice: changing one changes the wall-clock time
(and the floating-point rounding at most), never the recipe, the splits or the models. The
recipe lives in ``config.train`` (``serjax.training.train.default_train_config``) and the
architecture in ``config.model`` (``serjax.models.networks.default_model_config``). Measured
effects of each choice: docs/benchmarks.md, Training.
"""

from __future__ import annotations

import ml_collections

from serjax.models import networks

STREAM_MODES = ("auto", "resident", "stream")

#: ``runtime.models_per_group='auto'`` on a CPU: models per group. Each model's im2col patches
#: (3.3 MB for the paper's extractor at batch 64, ~17 MB for frames_cnn) should stay in the
#: core's 2 MB L2 / the shared cache; measured by ``scripts/bench_train.py --groups``.
CPU_GROUP = {"fusionnet": 2, "frames_cnn": 1}


def default_runtime_config() -> ml_collections.ConfigDict:
    """The fastest choices measured on a 2-core CPU (and right on GPU/TPU)."""
    c = ml_collections.ConfigDict()
    # Flax modules (serjax.models.networks): im2col conv = a batched matmul under vmap;
    # 'slices' pool = pool + dropout fused in one custom_vjp op (serjax.models.pooling);
    # 'hash' dropout masks = a counter hash (threefry, 'jax', costs ~50 % more compile time).
    c.conv_impl = "im2col"
    c.pool_impl = "slices"
    c.dropout_impl = "hash"
    c.scan_unroll = 8  # steps unrolled inside the extractor epoch's lax.scan
    c.eval_batch_size = 256  # rows per chunk when scoring VAL / TEST rows and deep features
    # Model groups: models per device trained side by side in an epoch; the groups run one
    # after another. 'auto': on CPU CPU_GROUP[model.kind], so a group's working set stays in
    # cache; on GPU/TPU all at once. Or 'all', or a number. Same maths whatever the value
    # (serjax.training.sharding.map_models).
    c.models_per_group = "auto"
    # Step 1's inputs on the devices ('resident'), in host memory streamed in chunks of
    # stream_steps batches ('stream'), or 'auto': stream when they would fill more than
    # stream_fraction of a device's memory (never on CPU). See serjax.training.host_input.
    c.stream = "auto"
    c.stream_steps = 8
    c.stream_fraction = 0.5
    # Epochs between checkpoints when a workdir is given (and the last one); a save costs
    # ~0.5 s, about one demo epoch of 18 models on 2 CPU cores.
    c.checkpoint_every = 5
    # XLA backend optimisation level of the epochs and deep features; -1 = XLA's default,
    # 0 = compile fast, run slower (tests, tiny grids). Everything else compiles at 0.
    c.xla_opt_level = -1
    return c


def runtime_or_default(runtime) -> ml_collections.ConfigDict:
    """``runtime`` with every missing field filled from the defaults (None = the defaults)."""
    full = default_runtime_config()
    if runtime is not None:
        for key, value in runtime.items():
            if key not in full:
                raise ValueError(f"runtime.{key}: no such field; fields are: "
                                 f"{', '.join(sorted(full.keys()))}")
            full[key] = value
    return full


def models_per_group(value, platform: str, kind: str = "fusionnet") -> int:
    """Models trained side by side per device in an epoch (0 = all of them) for
    ``runtime.models_per_group=value``: ``'auto'`` is ``CPU_GROUP[kind]`` on a CPU (groups whose
    working set stays in cache, ``sharding.map_models``) and all models at once on a GPU or
    TPU; ``'all'``; or a positive number. Raises ValueError for anything else."""
    value = str(value)
    if value == "auto":
        return CPU_GROUP.get(kind, 1) if platform == "cpu" else 0
    if value == "all":
        return 0
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"runtime.models_per_group={value!r}: use 'auto', 'all' or a positive "
                         "number of models per group")
    return int(value)


def check_runtime_config(c: ml_collections.ConfigDict) -> None:
    """Raises ValueError naming the bad field of a runtime config."""
    networks.impl_choices(c)  # raises for a bad conv_impl, pool_impl or dropout_impl
    if c.stream not in STREAM_MODES:
        raise ValueError(f"runtime.stream={c.stream!r}; choose one of {STREAM_MODES}")
    for field in ("scan_unroll", "eval_batch_size", "stream_steps", "checkpoint_every"):
        if int(c[field]) < 1:
            raise ValueError(f"runtime.{field}={c[field]}: must be >= 1")
    if not float(c.stream_fraction) > 0:
        raise ValueError(f"runtime.stream_fraction={c.stream_fraction}: must be > 0")
    if int(c.xla_opt_level) < -1:
        raise ValueError(f"runtime.xla_opt_level={c.xla_opt_level}: use -1 (XLA's default) or "
                         "a level >= 0")
    models_per_group(c.models_per_group, "cpu")  # raises for a bad value
