"""The compiled programs of the model grid: vmapped over models, sharded over devices.

One way to compile: every function the grid runs is ``jit(fn)`` from :func:`jit` (out
shardings on the ``models`` mesh axis, the XLA optimisation level, buffer donation), and
``jax.jit``'s own cache keeps one executable per argument shape. A program (the jitted
functions of one model, recipe, runtime and mesh) is built once per process by
:func:`cached`, so a second grid of the same kind reuses the first one's executables; the
persistent XLA cache (:func:`enable_compilation_cache`) carries them over to new processes.

``PhaseProgram`` holds one training phase (init, one epoch, the TEST predictions) of any
``PhaseSpec``: SER-FusionNet's extractor and classifier steps and the raw-waveform baseline
all train through it and through the epoch loop of ``serjax.training.loop``. ``GridProgram``
adds what the two-step recipe needs between the phases: the acoustic scalers and the frozen
extractors' fused features. Compile time is read from JAX's own compile events
(:func:`compile_seconds`), so no function is compiled ahead of time by hand.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections

from serjax.evaluation import metrics
from serjax.models import networks
from serjax.training import model_step, sharding
from serjax.training import runtime as runtime_lib
from serjax.training.model_step import PhaseSpec, PhaseState, Scaler

# ------------------------------------------------------------------ compiling and caching

_PROGRAMS: dict = {}
_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
                   "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")  # incl. persistent-cache reads
_COMPILE_SECONDS = [0.0]


def _on_duration(event: str, seconds: float, **_) -> None:
    if event in _COMPILE_EVENTS:
        _COMPILE_SECONDS[0] += seconds


jax.monitoring.register_event_duration_secs_listener(_on_duration)


def compile_seconds() -> float:
    """Seconds this process has spent tracing, lowering and compiling (or loading from the
    persistent cache) jitted functions; differences of it time one stage's compiles."""
    return _COMPILE_SECONDS[0]


def jit(fn, mesh, *, opt_level: int = 0, donate: bool = False, replicated: bool = False):
    """``jax.jit(fn)`` whose outputs are split over the mesh's model axis (or ``replicated``
    on every device), compiled at XLA's backend optimisation level ``opt_level`` (-1 = XLA's
    default). Functions that run once per grid (init, scalers, tests) compile at 0: 5-8x
    faster to compile, a tiny share of the run; the epochs and the deep features run at
    ``runtime.xla_opt_level``. ``donate``: the first argument's buffers are reused for the
    output (the epoch's state)."""
    options = {} if opt_level < 0 else {"xla_backend_optimization_level": opt_level}
    out = sharding.replicated(mesh) if replicated else sharding.per_model(mesh)
    return jax.jit(fn, out_shardings=out, compiler_options=options,
                   donate_argnums=(0,) if donate else ())


def cached(key, build):
    """``build()`` once per ``key`` in this process: the one cache of programs (their jitted
    functions then keep their executables in ``jax.jit``'s cache)."""
    if key not in _PROGRAMS:
        _PROGRAMS[key] = build()
    return _PROGRAMS[key]


def clear_programs() -> None:
    """Forgets every cached program (and so its executables): the next grid compiles
    afresh, as in a new process (benchmarks; tests that count traces)."""
    _PROGRAMS.clear()


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


# ------------------------------------------------------------------ the phases

def apply_with_dropout(module, pick_logits: bool):
    """``apply_fn(params, x, train, dropout_key)`` of a ``PhaseSpec`` for a Flax module (the
    extractors return ``(logits, deep)``: ``pick_logits`` keeps the logits)."""
    def apply_fn(params, x, train, key, dropout=None):
        rngs = {"dropout": key} if train else None
        rate = {} if dropout is None else {"dropout": dropout}  # an arm's own rate
        out = module.apply(params, x, train=train, rngs=rngs, **rate)
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


def recipe(train_config, runtime, num_classes: int = 0) -> dict:
    """The ``PhaseSpec`` fields every phase shares: the optimiser and callbacks of the recipe
    (``config.train``) and the scan / evaluation chunking (``config.runtime``)."""
    schedule = str(train_config.get("schedule", "plateau"))
    return dict(
        learning_rate=float(train_config.learning_rate),
        plateau_factor=float(train_config.plateau_factor),
        plateau_patience=int(train_config.plateau_patience),
        min_lr=float(train_config.min_lr),
        early_stop_patience=int(train_config.early_stop_patience),
        unroll=int(runtime.scan_unroll),
        eval_chunk=int(runtime.eval_batch_size),
        num_classes=num_classes,
        class_balanced=bool(train_config.get("class_balanced", False)),
        weight_decay=float(train_config.get("weight_decay", 0.0)),
        label_smoothing=float(train_config.get("label_smoothing", 0.0)),
        mixup_alpha=float(train_config.get("mixup_alpha", 0.0)),
        schedule=schedule,
        # only the cosine schedule compiles in the epoch count (programs are shared otherwise)
        epochs=int(train_config.epochs) if schedule == "cosine" else 0)


def phase_specs(model_config, train_config, runtime, num_classes: int):
    """(extractor module, classifier module, spec of step 1, spec of step 2)."""
    extractor = networks.extractor_module(model_config, num_classes, runtime)
    classifier = networks.classifier_module(model_config, num_classes, runtime)
    common = recipe(train_config, runtime, num_classes)
    spec1 = PhaseSpec("extractor", apply_with_dropout(extractor, True),
                      augment=spec_augment_config(train_config), dropout_name="dropout",
                      **common)
    # The classifier's scan is never unrolled: its step is an MLP of ~600 parameters, so
    # unrolling only multiplies compile time (8x: ~13 s at 30 steps) without running faster.
    # Step 2 may decay its own weights (train.classifier_weight_decay): a linear model on
    # 6,373 functionals and a CNN need regularisation of different strengths.
    own = train_config.get("classifier_weight_decay")
    spec2 = PhaseSpec("classifier", apply_with_dropout(classifier, False),
                      dropout_name="mlp_dropout", decay_name="classifier_weight_decay",
                      **dict(common, unroll=1, **({} if own is None else
                                                  {"weight_decay": float(own)})))
    return extractor, classifier, spec1, spec2


def seed_keys(seeds: jax.Array, stream: int) -> jax.Array:
    """Each model's key for one random stream: ``fold_in(key(seed), stream)``."""
    return jax.vmap(lambda s: jax.random.fold_in(jax.random.key(s), stream))(seeds)


class PhaseProgram:
    """One training phase of every model: jitted init, epoch and TEST predictions (class
    probabilities and confusion counts).

    ``inputs_axis``: None when every model reads the same inputs (the acoustic features, the
    waveforms), 0 when each has its own (the fused features of its own extractor). Models
    get parameters from ``fold_in(key(seed), init_stream)`` and dropout keys from
    ``key_stream``; an epoch trains them in groups of ``group`` per device
    (``sharding.map_models``).
    """

    def __init__(self, module, spec: PhaseSpec, mesh, *, group: int, opt_level: int,
                 inputs_axis, init_stream: int, key_stream: int, num_classes: int):
        self.spec, self.mesh, self.group = spec, mesh, group
        per_model_epoch = functools.partial(model_step.train_epoch, spec)

        def init(seeds, example):  # example: the inputs (or one row); only shapes are read
            one_row = jax.tree.map(lambda a: jnp.ones((1, *a.shape[1:]), jnp.float32), example)
            params = jax.vmap(lambda s: module.init(
                {"params": jax.random.fold_in(jax.random.key(s), init_stream)}, one_row,
                train=False))(seeds)
            return jax.vmap(functools.partial(model_step.init_phase_state, spec))(params)

        def epoch(state, scaler, inputs, labels, batches, val_rows, seeds, epoch_index, hp,
                  shared=None):
            # hp: {name: [M]} the arms' per-model hyperparameters ({} without arms); shared:
            # columns every model reads beside its own inputs (``with_shared``)
            def one(st, sc, x, sh, *rest):
                return per_model_epoch(st, sc, with_shared(x, sh), *rest)
            run = sharding.map_models(one, (0, 0, inputs_axis, None, None, 0, 0, 0, None, 0),
                                      group, mesh)
            return run(state, scaler, inputs, shared, labels, batches, val_rows,
                       seed_keys(seeds, key_stream), epoch_index, hp)

        def test(params, scaler, inputs, labels, test_rows, shared=None):
            def one(p, sc, x, rows):
                logits = model_step.predict_logits(spec, p, sc, with_shared(x, shared), rows)
                return (jax.nn.softmax(logits, -1),
                        metrics.confusion_counts(logits, labels, rows, num_classes))
            # in model groups, as the epochs: all M at once would hold M chunks' activations
            return sharding.map_models(one, (0, 0, inputs_axis, 0), group, mesh)(
                params, scaler, inputs, test_rows)

        # named after the phase: JAX's compile logs and events (and tests counting traces)
        # tell "extractor_epoch" from "classifier_epoch"
        for fn, what in ((init, "init"), (epoch, "epoch"), (test, "test")):
            fn.__name__ = fn.__qualname__ = f"{spec.name}_{what}"
        self.init_states = init  # pure, for programs that initialise several phases in one jit
        self.init = jit(init, mesh)
        self.epoch = jit(epoch, mesh, opt_level=opt_level, donate=True)
        self.test = jit(test, mesh)


# ------------------------------------------------------------------ SER-FusionNet's grid

def extractor_inputs(data: dict):
    """What step 1 reads: ``data["acoustic"] [N, F]``, or for frames FeatureSets
    ``{"frames": acoustic [N, T, F], "mask": frame_mask [N, T]}``."""
    if "frame_mask" in data:
        return {"frames": data["acoustic"], "mask": data["frame_mask"]}
    return data["acoustic"]


def with_shared(x, shared):
    """A model's inputs with the shared columns: ``(x, shared)``, which ``model_step`` gathers
    and concatenates per batch, or ``x`` alone (``shared`` None)."""
    return x if shared is None else (x, shared)


def late_weight(model_config) -> float:
    """Step 1's weight in late fusion, ``model.late_weight`` (models saved before it: 0.5)."""
    return float(model_config.get("late_weight", 0.5))


def late_mean(probs1: jax.Array, probs2: jax.Array, weight: float = 0.5) -> jax.Array:
    """``model.fusion='late'``'s prediction: the extractor's class probabilities weighted
    ``weight`` (``model.late_weight``), the classifier's ``1 - weight``; training and serving
    (``checkpoint.forward_fn``) both call it."""
    return weight * probs1 + (1.0 - weight) * probs2


def late_fusion(probs1: jax.Array, probs2: jax.Array, labels, test_rows, num_classes: int,
                weight: float = 0.5):
    """``late_mean`` of the extractor's and the classifier's class probabilities ``[M, T, C]``,
    and its TEST confusion counts ``[M, C, C]``."""
    probs = late_mean(probs1, probs2, weight)
    logits = jnp.log(jnp.maximum(probs, 1e-30))
    return probs, jax.vmap(lambda lg, rows: metrics.confusion_counts(lg, labels, rows,
                                                                     num_classes))(logits,
                                                                                   test_rows)


def shared_columns(data: dict, fusion: str):
    """The classifier's columns that are the same for every model, ``[N, S + 1]`` =
    [statistical S | gender 1] (None for ``deep_only``). Each model's fused input is
    [its deep features | these]: kept apart, the grid holds ``M × N × deep_width`` floats
    instead of ``M × N × (deep_width + S + 1)`` (S = 6,381 with ComParE fused in)."""
    if fusion == "deep_only":
        return None
    return jnp.concatenate([jnp.asarray(data["statistical"], jnp.float32),
                            jnp.asarray(data["gender"], jnp.float32)[:, None]], axis=-1)


def deep_features(extractor, params, scaler: Scaler, acoustic, rows, chunk: int):
    """The frozen extractor's 32 deep units for ``rows [R]`` (R a multiple of chunk);
    ``acoustic`` is ``[N, F]`` or the frames dict of ``extractor_inputs``."""
    def one(idx):
        x = model_step.standardize(model_step.gather_rows(acoustic, idx), scaler)
        return extractor.apply(params, x, train=False)[1]
    out = jax.lax.map(one, rows.reshape(-1, chunk))
    return out.reshape(rows.shape[0], -1)


class GridProgram:
    """SER-FusionNet's two phases for ``M`` models (padded to the mesh) and what joins them."""

    def __init__(self, model_config: ml_collections.ConfigDict,
                 train_config: ml_collections.ConfigDict, runtime: ml_collections.ConfigDict,
                 num_classes: int, mesh: jax.sharding.Mesh, key: tuple = ()):
        self.key = key  # its ``program_key``: what programs built on it are cached under
        self.model_config, self.train_config, self.runtime = model_config, train_config, runtime
        self.num_classes, self.mesh = num_classes, mesh
        self.extractor, self.classifier, self.spec1, self.spec2 = phase_specs(
            model_config, train_config, runtime, num_classes)
        self.standardize = bool(train_config.standardize)
        self.group = runtime_lib.models_per_group(
            runtime.models_per_group, mesh.devices.flat[0].platform,
            model_config.get("kind", "fusionnet"))
        self.opt_level = int(runtime.xla_opt_level)
        common = dict(group=self.group, opt_level=self.opt_level, num_classes=num_classes)
        self.phase1 = PhaseProgram(self.extractor, self.spec1, mesh, inputs_axis=None,
                                   init_stream=1, key_stream=2, **common)
        self.phase2 = PhaseProgram(self.classifier, self.spec2, mesh, inputs_axis=0,
                                   init_stream=3, key_stream=4, **common)
        standardize, chunk, fusion = self.standardize, int(runtime.eval_batch_size), \
            model_config.fusion

        def scaler1(acoustic, train_rows):
            if not isinstance(acoustic, dict):
                return jax.vmap(model_step.fit_scaler, in_axes=(None, 0, None))(
                    acoustic, train_rows, standardize)
            # frames: per-row statistics once, then each model pools its TRAIN rows' own
            stats = model_step.frame_row_stats(acoustic["frames"], acoustic["mask"])
            return jax.vmap(model_step.fit_scaler_from_row_stats, in_axes=(None, 0, None))(
                stats, train_rows, standardize)

        def fuse_and_fit(deep, data, rows):
            """(deep features, the scaler of [deep | shared columns] on ``rows``); the
            columns are standardised one by one, so the blocks are fitted apart. Late fusion
            keeps no deep column (its classifier reads the shared columns alone)."""
            own = deep[:, :0] if fusion == "late" else deep  # (sliced after the model map)
            scaler = model_step.fit_scaler(own, rows, standardize)
            shared = shared_columns(data, fusion)
            if shared is not None:
                other = model_step.fit_scaler(shared, rows, standardize)
                scaler = Scaler(*(jnp.concatenate(pair) for pair in zip(scaler, other)))
            return deep, scaler

        def fused_inputs(params1, scaler, data, all_rows, train_rows):
            def one(params, sc, rows):
                deep = deep_features(self.extractor, params, sc, extractor_inputs(data),
                                     all_rows, chunk)[:data["label"].shape[0]]
                return fuse_and_fit(deep, data, rows)
            # every row through every frozen extractor: as heavy as an epoch, so grouped too
            return sharding.map_models(one, (0, 0, 0), self.group, mesh)(
                params1, scaler, train_rows)

        def fused_from_deep(deep, data, train_rows):  # deep [M, N, D] (training.host_input)
            return jax.vmap(fuse_and_fit, in_axes=(0, None, 0))(deep, data, train_rows)

        def init(seeds, example1, example2):  # both phases in one program: one compile
            return self.phase1.init_states(seeds, example1), self.phase2.init_states(seeds,
                                                                                  example2)

        self.init = jit(init, mesh)
        self.scaler1 = jit(scaler1, mesh)
        self._fused = jit(fused_inputs, mesh, opt_level=self.opt_level)
        self.fused_from_deep = jit(fused_from_deep, mesh, opt_level=self.opt_level)

    def fused_inputs(self, state1: PhaseState, scaler, data, all_rows, train_rows):
        """(deep features ``[M, N, deep_width]``, the scalers of the fused inputs [deep |
        ``shared_columns``] fitted on each model's TRAIN rows) from the frozen extractors'
        best parameters."""
        return self.late_columns(*self._fused(state1.best_params, scaler, data, all_rows,
                                              train_rows))

    def late_columns(self, deep, scaler):
        """Late fusion's classifier reads no deep column: ``deep[..., :0]`` (sliced outside
        the model map, which cannot stack zero-width outputs)."""
        return (deep[..., :0] if self.model_config.fusion == "late" else deep), scaler


def program_key(model_config, train_config, runtime, num_classes: int, mesh) -> tuple:
    """What a ``GridProgram`` depends on: everything but the epoch count (unless the cosine
    schedule reads it) and the checkpoint interval (which change how long it runs, not what
    it compiles)."""
    cosine = train_config.get("schedule", "plateau") == "cosine"  # compiles the epoch count in
    recipe_fields = {k: v for k, v in train_config.items() if k != "epochs" or cosine}
    runtime_fields = {k: v for k, v in runtime.items() if k != "checkpoint_every"}
    return ("grid", model_config.to_json(sort_keys=True), repr(sorted(recipe_fields.items())),
            repr(sorted(runtime_fields.items())), num_classes,
            tuple(d.id for d in mesh.devices.flat))


def get_program(model_config, train_config, runtime, num_classes: int, mesh) -> GridProgram:
    """The cached ``GridProgram``, so grids of the same kind in one process compile once."""
    key = program_key(model_config, train_config, runtime, num_classes, mesh)
    return cached(key, lambda: GridProgram(model_config, train_config, runtime, num_classes,
                                           mesh, key))
