"""Two-step SER-FusionNet training of a whole grid of models (folds × seeds × arms) at once.

``train_grid(data, roles, seeds, model_config, train_config)`` trains model ``m`` on the rows
that ``roles[m]`` marks TRAIN, early-stops on its VAL rows and predicts its TEST rows, for
every ``m`` in one compiled program (see ``serjax.training.programs``):

  step 1  Conv1D extractor + softmax head on the acoustic features (scaler fitted on TRAIN
          rows of that model only);
  step 2  extractor frozen at its best epoch; its 32 deep units, fused with the statistical
          and gender features (scaler again fitted on TRAIN rows only), train the MLP.

Both steps: Adam, batch 64, 25 epochs, reduce-on-plateau of the learning rate on the
monitored loss (floor 1e-7), early stopping on the VAL loss keeping the best parameters
(a model without VAL rows monitors its training loss). A non-finite training loss raises.
With ``workdir`` the grid state is checkpointed every epoch and a rerun resumes from the last
checkpoint, ending with the same numbers as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import tqdm

from serjax.models import networks
from serjax.training import checkpoint, grid_data, host_input, programs, sharding
from serjax.training.grid_data import TEST, TRAIN, VAL
from serjax.training.model_step import CURVE_NAMES, Scaler

PHASES = ("extractor", "classifier")


def default_train_config() -> ml_collections.ConfigDict:
    """The paper's training recipe (Section IV) with the authors' Keras callback settings."""
    c = ml_collections.ConfigDict()
    c.epochs = 25  # per step (extractor, then classifier)
    c.batch_size = 64
    c.learning_rate = 1e-3  # Adam
    c.plateau_factor = 0.4  # ReduceLROnPlateau(factor=0.4, patience=2, min_lr=1e-7)
    c.plateau_patience = 2
    c.min_lr = 1e-7
    c.early_stop_patience = 5  # epochs without a better VAL loss; 0 = never stop early
    c.standardize = True  # per-model StandardScaler fitted on TRAIN rows
    c.scan_unroll = 8  # steps unrolled inside the epoch's lax.scan (see docs/benchmarks.md)
    c.eval_batch_size = 256
    # Models per device trained side by side in an epoch; the groups run one after another.
    # 'auto': on CPU 2 (1 for frames_cnn), so a group's working set stays in cache; on
    # GPU/TPU all at once. Or 'all', or a number. Same maths whatever the value
    # (serjax.training.sharding.map_models; docs/benchmarks.md, Training).
    c.model_chunk = "auto"
    # Step 1's inputs on the devices ('resident'), in host memory streamed in chunks of
    # stream_steps batches ('stream'), or 'auto': stream when they would fill more than
    # stream_fraction of a device's memory (never on CPU). See serjax.training.host_input.
    c.stream = "auto"
    c.stream_steps = 8
    c.stream_fraction = 0.5
    c.checkpoint_every = 5  # epochs between checkpoints when a workdir is given (and the
    # last); a save costs ~0.5 s, about one demo epoch of 18 models on 2 CPU cores
    c.xla_opt_level = -1  # XLA backend optimisation level of the epochs; -1 = default, 0 =
    # compile fast, run slower (tests, tiny grids)
    # Beyond the paper (all off by default; see serjax.training.model_step / serjax.training.grid_data):
    c.class_balanced = False  # loss weights n / (C * n_c) from each model's own TRAIN rows
    c.speaker_norm = False  # standardise each actor's rows by that actor's own statistics
    c.specaugment = ml_collections.ConfigDict(  # masks on the extractor's training batches
        {"time_masks": 0, "time_width": 20, "feature_masks": 0, "feature_width": 16})
    return c


def check_train_config(c: ml_collections.ConfigDict) -> None:
    """Raises ValueError naming the bad field of a train config."""
    if int(c.epochs) < 1:
        raise ValueError(f"train.epochs={c.epochs}: need at least one epoch")
    if int(c.batch_size) < 1:
        raise ValueError(f"train.batch_size={c.batch_size}: need a batch size >= 1")
    if not c.learning_rate > 0 or not 0 <= c.min_lr <= c.learning_rate:
        raise ValueError("train.learning_rate must be > 0 and 0 <= train.min_lr <= learning_rate")
    if not 0 < c.plateau_factor < 1 or c.plateau_patience < 1:
        raise ValueError("train.plateau_factor must lie in (0, 1) and plateau_patience be >= 1")
    if c.early_stop_patience < 0 or c.scan_unroll < 1 or c.eval_batch_size < 1:
        raise ValueError("train.early_stop_patience >= 0, scan_unroll >= 1, eval_batch_size >= 1")
    if c.checkpoint_every < 1:
        raise ValueError("train.checkpoint_every must be >= 1")
    if c.get("stream", "auto") not in host_input.STREAM_MODES:
        raise ValueError(f"train.stream={c.stream!r}; choose one of {host_input.STREAM_MODES}")
    programs.model_chunk(c.get("model_chunk", "auto"), "cpu")  # raises for a bad value
    if int(c.get("stream_steps", 1)) < 1 or not 0 < float(c.get("stream_fraction", 0.5)):
        raise ValueError("train.stream_steps must be >= 1 and train.stream_fraction > 0")


@dataclasses.dataclass
class GridResult:
    """What ``train_grid`` returns; every per-model field is indexed by model ``m``.

    test_rows[m]: int [T_m] TEST row indices; test_probs[m]: float [T_m, C];
    test_pred[m]: int [T_m]; confusion: int [M, C, C] (true × predicted, TEST rows);
    curves[phase][name]: float [epochs, M] with phase in PHASES and name in CURVE_NAMES
    (NaN for epochs skipped because every model had stopped early);
    params / scalers: best parameters and scalers, host arrays with leading axis M;
    timing: {"compile_s", "train_s"}.
    """
    num_classes: int
    seeds: np.ndarray
    n_train: np.ndarray
    n_val: np.ndarray
    n_test: np.ndarray
    test_rows: list
    test_probs: list
    test_pred: list
    confusion: np.ndarray
    curves: dict
    params: Any
    scalers: dict
    timing: dict
    flops: dict = dataclasses.field(default_factory=dict)

    @property
    def num_models(self) -> int:
        return len(self.seeds)


def _grid_state(state1, state2, scaler1, scaler2, curves):
    return {"phase1": state1, "phase2": state2, "scaler1": scaler1, "scaler2": scaler2,
            "curves": curves}


def train_grid(data: dict, roles, seeds, model_config=None, train_config=None, *,
               num_classes: int | None = None, labels=None, workdir=None,
               progress: bool = True, devices=None) -> GridResult:
    """Trains every model of the grid; see the module docstring.

    Args:
      data: {"acoustic": float32 [N, F], "statistical": float32 [N, S], "gender": int [N],
        "label": int [N] class indices}.
      roles: int8 [M, N] with UNUSED=0, TRAIN=1, VAL=2, TEST=3; seeds: int [M].
      num_classes / labels: class count or names (default: max label + 1).
      workdir: folder for per-epoch checkpoints (resume) and the final networks.
      devices: devices to shard the model axis over (default: all).
    """
    model_config = model_config or networks.default_model_config()
    train_config = train_config or default_train_config()
    networks.check_model_config(model_config)
    check_train_config(train_config)
    if labels is not None:
        num_classes = len(labels)
    data, roles, seeds, num_classes = grid_data.check_grid_inputs(data, roles, seeds, num_classes)
    data = grid_data.model_inputs(data, model_config, train_config)
    labels = list(labels) if labels is not None else [str(c) for c in range(num_classes)]
    num_models, n = roles.shape
    epochs, batch_size = int(train_config.epochs), int(train_config.batch_size)
    chunk = int(train_config.eval_batch_size)

    mesh = sharding.model_mesh(devices)
    program = programs.get_program(model_config, train_config, num_classes, mesh)
    padded = sharding.padded_model_count(num_models, mesh, program.model_chunk)
    roles_p, seeds_p = sharding.pad_models(roles, padded), sharding.pad_models(seeds, padded)
    train_rows = grid_data.role_rows(roles_p, TRAIN)
    val_rows = grid_data.role_rows(roles_p, VAL, chunk)
    test_rows = grid_data.role_rows(roles_p, TEST, chunk)
    all_rows = np.arange(-(-n // chunk) * chunk, dtype=np.int32)
    all_rows[n:] = -1
    steps = grid_data.steps_per_epoch(roles, batch_size)

    put_m = lambda x: sharding.put_per_model(x, mesh)  # noqa: E731
    stream, host_inputs, uploaded = None, programs.extractor_inputs(data), data
    if host_input.wants_streaming(train_config, host_inputs, mesh):
        stream = host_input.StreamedStep1(program, int(train_config.get("stream_steps", 8)))
        # host_inputs stay on the host (memory-mapped); the rest goes up as usual
        uploaded = {k: v for k, v in data.items() if k not in ("acoustic", "frame_mask")}
    dev = sharding.put_replicated(uploaded, mesh)  # one upload, in chunks; no host copy
    seeds_d = put_m(np.asarray(seeds_p, np.int32))
    train_d, val_d, test_d = put_m(train_rows), put_m(val_rows), put_m(test_rows)
    all_rows_d = sharding.put_replicated(all_rows, mesh)

    width = networks.fused_width(model_config, data["statistical"].shape[1])
    if stream is None:
        acoustic = programs.extractor_inputs(dev)
        state1, state2 = program.init(seeds_d, acoustic, width)
        scaler1 = program.scaler1(acoustic, train_d)
    else:
        state1, state2 = program.init(seeds_d, host_input.example_rows(host_inputs, mesh), width)
        scaler1 = stream.scaler1(host_inputs, n, train_d)
    scaler2 = put_m(Scaler(np.zeros((padded, width), np.float32),
                           np.ones((padded, width), np.float32)))
    curves = np.full((2, epochs, padded, len(CURVE_NAMES)), np.nan, np.float32)
    state = _grid_state(state1, state2, scaler1, scaler2, curves)

    manager, done = None, 0
    if workdir is not None:
        fingerprint = checkpoint.grid_fingerprint(data, roles, seeds, model_config, train_config,
                                                  padded)
        manager = checkpoint.progress_manager(workdir, fingerprint)
        done, state = checkpoint.restore_progress(manager, state)
        state["curves"] = np.asarray(state["curves"])

    def fused_inputs():  # the frozen extractors' fused features and their fresh scalers
        if stream is None:
            return program.fused_inputs(state["phase1"], state["scaler1"], dev, all_rows_d,
                                        train_d)
        deep = stream.deep_features(state["phase1"], state["scaler1"], host_inputs, n)
        return program.fused_from_deep(deep, dev, train_d)

    fused = None
    bar = tqdm.tqdm(total=2 * epochs, initial=done, disable=not progress, unit="epoch",
                    desc=f"training {num_models} models")
    compile_before, start = program.compile_s, time.perf_counter()
    for g in range(done, 2 * epochs):
        phase, epoch = divmod(g, epochs)
        key = f"phase{phase + 1}"
        if phase == 1 and fused is None:
            fused, fresh_scaler = fused_inputs()
            if g == epochs:
                state["scaler2"] = fresh_scaler
        if not bool(np.all(sharding.to_host(state[key].stopped))):
            batches = grid_data.epoch_batches(train_rows, seeds_p, phase, epoch, batch_size,
                                              steps)
            if phase == 0 and stream is not None:
                state[key], metrics = stream.epoch(state[key], state["scaler1"], host_inputs,
                                                   dev["label"], batches, val_rows, seeds_d,
                                                   np.int32(epoch))
            else:
                run = program.epoch1 if phase == 0 else program.epoch2
                inputs = acoustic if phase == 0 else fused
                state[key], metrics = run(state[key], state[f"scaler{phase + 1}"], inputs,
                                          dev["label"], put_m(batches), val_d, seeds_d,
                                          np.int32(epoch))
            metrics = sharding.to_host(metrics)  # gathered from every process
            _check_finite(metrics, num_models, PHASES[phase], epoch)
            state["curves"][phase, epoch] = metrics
            bar.set_postfix(step=PHASES[phase],
                            val_acc=f"{np.nanmean(metrics[:num_models, 3]):.3f}")
        if manager is not None and ((g + 1) % int(train_config.checkpoint_every) == 0
                                    or g + 1 == 2 * epochs):
            checkpoint.save_progress(manager, g + 1, state)
        bar.update(1)
    bar.close()
    if fused is None:  # resumed after the last epoch
        fused, _ = fused_inputs()
    logits, confusion = program.test(state["phase2"], state["scaler2"], fused, dev["label"],
                                     test_d)
    jax.block_until_ready(confusion)
    train_s = time.perf_counter() - start - (program.compile_s - compile_before)

    result = _collect(program, state, logits, confusion, roles, seeds, test_rows, num_classes,
                      train_s)
    if workdir is not None:
        checkpoint.save_models(workdir, result.params, result.scalers, model_config, labels, seeds)
    return result


def _check_finite(metrics: np.ndarray, num_models: int, phase: str, epoch: int) -> None:
    bad = np.flatnonzero(~np.isfinite(metrics[:num_models, 0]))
    if bad.size:
        raise FloatingPointError(
            f"non-finite training loss in the {phase} step, epoch {epoch}, models "
            f"{bad.tolist()}: lower train.learning_rate or check the features for extreme values")


def _collect(program, state, logits, confusion, roles, seeds, test_rows, num_classes,
             train_s) -> GridResult:
    m = len(seeds)
    logits, confusion = sharding.to_host((logits, confusion), m)
    probs = np.asarray(jax.nn.softmax(jnp.asarray(logits), -1))
    rows, prob_list, pred_list = [], [], []
    for i in range(m):
        valid = test_rows[i] >= 0
        rows.append(test_rows[i][valid])
        prob_list.append(probs[i][valid])
        pred_list.append(probs[i][valid].argmax(-1))
    curves = {name: {c: state["curves"][p, :, :m, j] for j, c in enumerate(CURVE_NAMES)}
              for p, name in enumerate(PHASES)}
    params = sharding.to_host({"extractor": state["phase1"].best_params,
                               "classifier": state["phase2"].best_params}, m)
    scalers = {"acoustic": Scaler(*sharding.to_host(tuple(state["scaler1"]), m)),
               "fused": Scaler(*sharding.to_host(tuple(state["scaler2"]), m))}
    flops = {name: program.flops(name) for name in ("epoch1", "epoch2")
             if name in program.compiled}
    return GridResult(
        num_classes=num_classes, seeds=seeds, n_train=(roles == TRAIN).sum(1),
        n_val=(roles == VAL).sum(1), n_test=(roles == TEST).sum(1), test_rows=rows,
        test_probs=prob_list, test_pred=pred_list, confusion=confusion,
        curves=curves, params=params, scalers=scalers,
        timing={"compile_s": program.compile_s, "train_s": train_s,
                "compile_by_function": dict(program.compile_times)}, flops=flops)
