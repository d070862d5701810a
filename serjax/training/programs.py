"""The compiled programs of the model grid: vmapped over models, sharded over devices.

``GridProgram`` holds, for one grid shape, the jitted functions that ``serjax.training.train`` drives:
init, the two scalers, one epoch of each phase, the frozen extractor's fused features and
the test predictions with their confusion counts. Each is ``jit(vmap(per-model function))``
with the model axis split over the ``models`` mesh axis, and is compiled ahead of time once
(``compile()``), so an epoch is one call of one executable whatever the number of folds,
seeds or epochs.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from serjax.evaluation import metrics
from serjax.models import networks
from serjax.training import model_step, sharding
from serjax.training.model_step import PhaseSpec, PhaseState, Scaler


def _apply_with_dropout(module, pick_logits: bool):
    def apply_fn(params, x, train, key):
        rngs = {"dropout": key} if train else None
        out = module.apply(params, x, train=train, rngs=rngs)
        return out[0] if pick_logits else out
    return apply_fn


def spec_augment_config(train_config) -> model_step.SpecAugment:
    """``train.specaugment`` as the static ``SpecAugment`` of the extractor step (off if the
    config has no such section)."""
    c = train_config.get("specaugment")
    if c is None:
        return model_step.SpecAugment()
    aug = model_step.SpecAugment(int(c.time_masks), int(c.time_width), int(c.feature_masks),
                                 int(c.feature_width))
    if min(aug.time_masks, aug.time_width, aug.feature_masks, aug.feature_width) < 0:
        raise ValueError(f"train.specaugment {aug} has a negative field; use 0 to turn a mask off")
    return aug


def phase_specs(model_config, train_config, num_classes: int):
    """(extractor module, classifier module, spec of step 1, spec of step 2)."""
    extractor = networks.extractor_module(model_config, num_classes)
    classifier = networks.MLPClassifier(model_config, num_classes)
    common = dict(
        learning_rate=float(train_config.learning_rate),
        plateau_factor=float(train_config.plateau_factor),
        plateau_patience=int(train_config.plateau_patience),
        min_lr=float(train_config.min_lr),
        early_stop_patience=int(train_config.early_stop_patience),
        unroll=int(train_config.scan_unroll),
        eval_chunk=int(train_config.eval_batch_size),
        num_classes=num_classes,
        class_balanced=bool(train_config.get("class_balanced", False)))
    spec1 = PhaseSpec("extractor", _apply_with_dropout(extractor, True),
                      augment=spec_augment_config(train_config), **common)
    # The classifier's scan is never unrolled: its step is an MLP of ~600 parameters, so
    # unrolling only multiplies compile time (8x: ~13 s at 30 steps) without running faster.
    spec2 = PhaseSpec("classifier", _apply_with_dropout(classifier, False),
                      **dict(common, unroll=1))
    return extractor, classifier, spec1, spec2


def fuse(deep: jax.Array, statistical: jax.Array, gender: jax.Array, fusion: str) -> jax.Array:
    """Classifier input ``[N, 41]`` = [deep 32 | statistical 8 | gender 1] (or deep alone)."""
    if fusion == "deep_only":
        return deep
    return jnp.concatenate([deep, statistical, gender[:, None]], axis=-1)


def extractor_inputs(data: dict):
    """What step 1 reads: ``data["acoustic"] [N, F]``, or for frames FeatureSets
    ``{"frames": acoustic [N, T, F], "mask": frame_mask [N, T]}``."""
    if "frame_mask" in data:
        return {"frames": data["acoustic"], "mask": data["frame_mask"]}
    return data["acoustic"]


def deep_features(extractor, params, scaler: Scaler, acoustic, rows, chunk: int):
    """The frozen extractor's 32 deep units for ``rows [R]`` (R a multiple of chunk);
    ``acoustic`` is ``[N, F]`` or the frames dict of ``extractor_inputs``."""
    def one(idx):
        x = model_step.standardize(model_step.gather_rows(acoustic, idx), scaler)
        return extractor.apply(params, x, train=False)[1]
    out = jax.lax.map(one, rows.reshape(-1, chunk))
    return out.reshape(rows.shape[0], -1)


#: ``train.model_chunk='auto'`` on a CPU: models per group. Each model's im2col patches
#: (3.3 MB for the paper's extractor at batch 64, ~17 MB for frames_cnn) should stay in the
#: core's 2 MB L2 / the shared cache; measured by ``scripts/bench_train.py --groups``.
CPU_GROUP = {"fusionnet": 2, "frames_cnn": 1}


def model_chunk(value, platform: str, kind: str = "fusionnet") -> int:
    """Models trained side by side per device in an epoch (0 = all of them) for
    ``train.model_chunk=value``: ``'auto'`` is ``CPU_GROUP[kind]`` on a CPU (groups whose
    working set stays in cache, ``sharding.map_models``) and all models at once on a GPU or
    TPU; ``'all'``; or a positive number. Raises ValueError for anything else."""
    value = str(value)
    if value == "auto":
        return CPU_GROUP.get(kind, 1) if platform == "cpu" else 0
    if value == "all":
        return 0
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"train.model_chunk={value!r}: use 'auto', 'all' or a positive number "
                         "of models per group")
    return int(value)


#: Compiled at ``train.xla_opt_level`` (XLA's full optimisation by default): the epochs and
#: the deep features of every row, which run long enough for it to pay; the rest at level 0.
HEAVY = ("epoch", "fused")


class GridProgram:
    """Compiled functions for ``M`` models (padded to the mesh) over ``N`` rows."""

    def __init__(self, model_config: ml_collections.ConfigDict,
                 train_config: ml_collections.ConfigDict, num_classes: int,
                 mesh: jax.sharding.Mesh):
        self.model_config = model_config
        self.train_config = train_config
        self.num_classes = num_classes
        self.mesh = mesh
        self.extractor, self.classifier, self.spec1, self.spec2 = phase_specs(
            model_config, train_config, num_classes)
        per_model = sharding.per_model(mesh)
        standardize = bool(train_config.standardize)
        chunk = int(train_config.eval_batch_size)
        fusion = model_config.fusion

        def init(seeds, acoustic, fused_example):
            keys = jax.vmap(jax.random.key)(seeds)
            x1 = jax.tree.map(lambda a: jnp.ones((1, *a.shape[1:]), jnp.float32), acoustic)
            x2 = jnp.zeros_like(fused_example)
            p1 = jax.vmap(lambda k: self.extractor.init(
                {"params": jax.random.fold_in(k, 1)}, x1, train=False))(keys)
            p2 = jax.vmap(lambda k: self.classifier.init(
                {"params": jax.random.fold_in(k, 3)}, x2, train=False))(keys)
            s1 = jax.vmap(functools.partial(model_step.init_phase_state, self.spec1))(p1)
            s2 = jax.vmap(functools.partial(model_step.init_phase_state, self.spec2))(p2)
            return s1, s2

        def scaler1(acoustic, train_rows):
            if not isinstance(acoustic, dict):
                return jax.vmap(model_step.fit_scaler, in_axes=(None, 0, None))(
                    acoustic, train_rows, standardize)
            # frames: per-row statistics once, then each model pools its TRAIN rows' own
            stats = model_step.frame_row_stats(acoustic["frames"], acoustic["mask"])
            return jax.vmap(model_step.fit_scaler_from_row_stats, in_axes=(None, 0, None))(
                stats, train_rows, standardize)

        def fuse_and_fit(deep, data, rows):
            fused = fuse(deep, data["statistical"], data["gender"], fusion)
            return fused, model_step.fit_scaler(fused, rows, standardize)

        def fused_inputs(state1, scaler, data, all_rows, train_rows):
            def one(params, sc, rows):
                deep = deep_features(self.extractor, params, sc, extractor_inputs(data),
                                     all_rows, chunk)[:data["label"].shape[0]]
                return fuse_and_fit(deep, data, rows)
            # every row through every frozen extractor: as heavy as an epoch, so grouped too
            return sharding.map_models(one, (0, 0, 0), self.model_chunk, mesh)(
                state1.best_params, scaler, train_rows)

        def fused_from_deep(deep, data, train_rows):  # deep [M, N, D] (serjax.training.host_input)
            return jax.vmap(fuse_and_fit, in_axes=(0, None, 0))(deep, data, train_rows)

        self.model_chunk = model_chunk(train_config.get("model_chunk", "auto"),
                                       mesh.devices.flat[0].platform,
                                       model_config.get("kind", "fusionnet"))

        def epoch(spec, inputs_axis):
            return sharding.map_models(functools.partial(model_step.train_epoch, spec),
                                       (0, 0, inputs_axis, None, 0, 0, 0, None),
                                       self.model_chunk, mesh)

        def seed_keys(seeds, stream):
            return jax.vmap(lambda s: jax.random.fold_in(jax.random.key(s), stream))(seeds)

        def epoch1(state, scaler, acoustic, labels, batches, val_rows, seeds, epoch_index):
            return epoch(self.spec1, None)(state, scaler, acoustic, labels, batches, val_rows,
                                           seed_keys(seeds, 2), epoch_index)

        def epoch2(state, scaler, fused, labels, batches, val_rows, seeds, epoch_index):
            return epoch(self.spec2, 0)(state, scaler, fused, labels, batches, val_rows,
                                        seed_keys(seeds, 4), epoch_index)

        def test(state2, scaler, fused, labels, test_rows):
            def one(params, sc, inputs, rows):
                logits = model_step.predict_logits(self.spec2, params, sc, inputs, rows)
                return logits, metrics.confusion_counts(logits, labels, rows, num_classes)
            return jax.vmap(one)(state2.best_params, scaler, fused, test_rows)

        self._init = jax.jit(init, out_shardings=per_model)
        self._scaler1 = jax.jit(scaler1, out_shardings=per_model)
        self._fused = jax.jit(fused_inputs, out_shardings=per_model)
        self._fused_from_deep = jax.jit(fused_from_deep, out_shardings=per_model)
        self._epoch1 = jax.jit(epoch1, out_shardings=per_model, donate_argnums=0)
        self._epoch2 = jax.jit(epoch2, out_shardings=per_model, donate_argnums=0)
        self._test = jax.jit(test, out_shardings=per_model)
        self._executables: dict = {}
        # Functions that run once per grid (init, scalers, fused features, test) compile at XLA's
        # backend optimisation level 0: 5-8x faster to compile, and they are a tiny share of the
        # run. The epochs use train.xla_opt_level (-1 = XLA's default).
        self.epoch_opt_level = int(train_config.xla_opt_level)
        self.reset_timing()

    def compiled_call(self, name: str, fn, *args):
        """AOT-compiles the jitted ``fn`` for these argument shapes on first use (timed, at the
        epochs' optimisation level if ``name`` starts with 'epoch'), then reuses it."""
        leaves, treedef = jax.tree.flatten(args)
        signature = (name, treedef, tuple(
            (np.shape(a), getattr(a, "dtype", None) or np.result_type(a),
             getattr(a, "sharding", None)) for a in leaves))
        if signature not in self._executables:
            start = time.perf_counter()
            level = self.epoch_opt_level if name.startswith(HEAVY) else 0
            options = {} if level < 0 else {"xla_backend_optimization_level": level}
            self._executables[signature] = fn.lower(*args).compile(compiler_options=options)
            self.compile_times[name] = time.perf_counter() - start
            self.compile_s += self.compile_times[name]
        self.compiled[name] = self._executables[signature]
        return self.compiled[name]

    def reset_timing(self) -> None:
        self.compiled, self.compile_times, self.compile_s = {}, {}, 0.0

    def init(self, seeds, acoustic, fused_width: int) -> tuple[PhaseState, PhaseState]:
        """Vmapped init of both phases from each model's seed: (state1, state2)."""
        args = (seeds, acoustic, jnp.zeros((1, fused_width), jnp.float32))
        return self.compiled_call("init", self._init, *args)(*args)

    def scaler1(self, acoustic, train_rows) -> Scaler:
        args = (acoustic, train_rows)
        return self.compiled_call("scaler1", self._scaler1, *args)(*args)

    def fused_inputs(self, state1: PhaseState, scaler, data, all_rows, train_rows):
        args = (state1, scaler, data, all_rows, train_rows)
        return self.compiled_call("fused", self._fused, *args)(*args)

    def fused_from_deep(self, deep, data, train_rows):
        """(fused inputs, their scalers) from precomputed deep features ``[M, N, D]``."""
        args = (deep, data, train_rows)
        return self.compiled_call("fused", self._fused_from_deep, *args)(*args)

    def epoch1(self, *args):
        return self.compiled_call("epoch1", self._epoch1, *args)(*args)

    def epoch2(self, *args):
        return self.compiled_call("epoch2", self._epoch2, *args)(*args)

    def test(self, *args):
        return self.compiled_call("test", self._test, *args)(*args)

    def flops(self, name: str) -> float:
        """XLA's FLOP estimate of one call of a compiled function (0 if unknown)."""
        analysis = self.compiled[name].cost_analysis()
        if isinstance(analysis, (list, tuple)):
            analysis = analysis[0] if analysis else {}
        return float((analysis or {}).get("flops", 0.0))


def enable_compilation_cache(directory) -> Path:
    """Turns on JAX's persistent compilation cache in ``directory``: a later run of the same
    grid shape and config (another process, e.g. a rerun of ``serjax cv``) loads the compiled
    epochs from disk instead of compiling them again (tens of seconds on a 2-core CPU).
    The cache is trusted code: keep it in a folder only you can write."""
    from jax.experimental.compilation_cache import compilation_cache

    path = Path(directory).expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    if jax.config.jax_compilation_cache_dir != str(path):
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
        compilation_cache.reset_cache()  # re-initialise if another folder was in use
    return path


_PROGRAMS: dict = {}
RUNTIME_FIELDS = ("epochs", "checkpoint_every")  # train fields that do not change the program


def clear_programs() -> None:
    """Forgets every cached ``GridProgram`` (and so its executables): the next grid compiles
    afresh, as in a new process (benchmarks; tests that count traces)."""
    _PROGRAMS.clear()


def get_program(model_config, train_config, num_classes: int, mesh) -> GridProgram:
    """A cached ``GridProgram``, so grids of the same shape in one process compile once."""
    compiled_fields = {k: v for k, v in train_config.items() if k not in RUNTIME_FIELDS}
    key = (model_config.to_json(sort_keys=True), repr(sorted(compiled_fields.items())),
           num_classes, tuple(d.id for d in mesh.devices.flat))
    if key not in _PROGRAMS:
        _PROGRAMS[key] = GridProgram(model_config, train_config, num_classes, mesh)
    program = _PROGRAMS[key]
    program.reset_timing()
    return program


def to_host(tree, num_models: int):
    """Device pytree with a padded model axis → NumPy pytree of the first ``num_models``."""
    return jax.tree.map(lambda a: np.asarray(a)[:num_models], jax.device_get(tree))
