"""Two-step SER-FusionNet training of a whole grid of models (folds × seeds × arms) at once.

``train_grid(data, roles, seeds, model_config, train_config, runtime=...)`` trains model ``m``
on the rows that ``roles[m]`` marks TRAIN, early-stops on its VAL rows and predicts its TEST
rows, for every ``m`` in one compiled program (see ``serjax.training.programs``):

  step 1  Conv1D extractor + softmax head on the acoustic features (scaler fitted on TRAIN
          rows of that model only);
  step 2  extractor frozen at its best epoch; its 32 deep units, fused with the statistical
          and gender features (scaler again fitted on TRAIN rows only), train the MLP.

Both steps: Adam, batch 64, 25 epochs, reduce-on-plateau of the learning rate on the
monitored loss (floor 1e-7), early stopping on the VAL loss keeping the best parameters
(a model without VAL rows monitors its training loss). A non-finite training loss raises.
The recipe is ``config.train``; how it runs (model groups, streaming, checkpoint interval,
XLA level, ...) is ``config.runtime`` (``serjax.training.runtime``). The epochs run in the
shared loop of ``serjax.training.loop``. With ``workdir`` the grid state is checkpointed every
``runtime.checkpoint_every`` epochs and a rerun resumes from the last checkpoint, ending with
the same numbers as an uninterrupted run; the curves of every model are written live to
``<workdir>/tensorboard/`` (``serjax.training.curves``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import ml_collections
import numpy as np

from serjax import config as config_lib
from serjax.models import networks
from serjax.splits.roles import TEST, TRAIN, VAL
from serjax.training import (
    checkpoint,
    grid_data,
    hparams as hparams_lib,
    host_input,
    loop,
    model_step,
    programs,
    sharding,
)
from serjax.training import curves as curves_lib
from serjax.training import runtime as runtime_lib
from serjax.training.model_step import Scaler

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
    # Beyond the paper (all off by default; see serjax.training.model_step / grid_data):
    c.class_balanced = False  # loss weights n / (C * n_c) from each model's own TRAIN rows
    c.speaker_norm = False  # standardise each actor's rows by that actor's own statistics
    c.specaugment = ml_collections.ConfigDict(  # masks on the extractor's training batches
        {"time_masks": 0, "time_width": 20, "feature_masks": 0, "feature_width": 16})
    c.weight_decay = 0.0  # decoupled (AdamW); 0 = the paper's Adam
    c.classifier_weight_decay = ml_collections.config_dict.placeholder(float)  # None: as above
    c.label_smoothing = 0.0
    c.mixup_alpha = 0.0  # mixup's Beta(alpha, alpha); 0 = off
    c.schedule = "plateau"  # or "cosine": no plateau, lr follows a half cosine over the epochs
    c.classifier_augmented = True  # False: step 2 trains on the original TRAIN files only
    return c


def check_train_config(c: ml_collections.ConfigDict) -> None:
    """Raises ValueError naming the bad field of a train config (the one place epochs and
    batch size are checked; ``experiment.validate`` calls it)."""
    moved = sorted(f"train.{name}" for name in c.keys() if f"train.{name}" in config_lib.MOVED)
    if moved:  # a train config built in code with a field that moved (config_lib.MOVED)
        raise ValueError(f"{moved[0]} moved to {config_lib.MOVED[moved[0]]}; set it there")
    if int(c.epochs) < 1:
        raise ValueError(f"train.epochs={c.epochs}: need at least one epoch")
    if int(c.batch_size) < 1:
        raise ValueError(f"train.batch_size={c.batch_size}: need a batch size >= 1")
    if not c.learning_rate > 0 or not 0 <= c.min_lr <= c.learning_rate:
        raise ValueError("train.learning_rate must be > 0 and 0 <= train.min_lr <= learning_rate")
    if not 0 < c.plateau_factor < 1 or c.plateau_patience < 1:
        raise ValueError("train.plateau_factor must lie in (0, 1) and plateau_patience be >= 1")
    if c.get("schedule", "plateau") not in model_step.SCHEDULES:
        raise ValueError(f"train.schedule={c.schedule!r}; choose one of {model_step.SCHEDULES}")
    if c.get("weight_decay", 0.0) < 0 or c.get("mixup_alpha", 0.0) < 0 or (
            c.get("classifier_weight_decay") or 0.0) < 0:
        raise ValueError("train.weight_decay, classifier_weight_decay and mixup_alpha must be "
                         ">= 0")
    if not 0 <= c.get("label_smoothing", 0.0) < 1:
        raise ValueError(f"train.label_smoothing={c.label_smoothing}: must lie in [0, 1)")
    if c.early_stop_patience < 0:
        raise ValueError(f"train.early_stop_patience={c.early_stop_patience}: must be >= 0 "
                         "(0 = never stop early)")


@dataclasses.dataclass
class GridResult:
    """What ``train_grid`` returns; every per-model field is indexed by model ``m``.

    test_rows[m]: int [T_m] TEST row indices; test_probs[m]: float [T_m, C];
    test_pred[m]: int [T_m]; confusion: int [M, C, C] (true × predicted, TEST rows);
    curves[phase][name]: float [epochs, M] with phase in PHASES and name in CURVE_NAMES
    (NaN for epochs skipped because every model had stopped early);
    params / scalers: best parameters and scalers, host arrays with leading axis M;
    timing: {"compile_s", "train_s"}; arms / arm_values: set by a sweep (else None);
    val_acc: the accuracy on its VAL rows of what predicts TEST (for late fusion, the mean of
    both steps; otherwise the classifier at its kept epoch), what arms are chosen by;
    val_rows[m] / val_probs[m]: its VAL rows and their probabilities from the same predictor
    (what an ensemble of arms or programs is scored by on VAL, ``serjax.evaluation.ensembles``).
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
    arms: np.ndarray | None = None  # int [M]: each model's hyperparameter arm (sweeps)
    arm_values: list | None = None  # per arm, {name: value} (serjax.training.hparams)
    val_acc: np.ndarray | None = None  # float [M]: each final model's VAL accuracy
    val_rows: list | None = None  # per model, int [V_m]
    val_probs: list | None = None  # per model, float [V_m, C]

    @property
    def num_models(self) -> int:
        return len(self.seeds)


def train_grid(data: dict, roles, seeds, model_config=None, train_config=None, *,
               runtime=None, num_classes: int | None = None, labels=None, workdir=None,
               tags=None, hparams: dict | None = None, classifier_roles=None,
               progress: bool = True, devices=None) -> GridResult:
    """Trains every model of the grid; see the module docstring.

    Args:
      data: {"acoustic": float32 [N, F], "statistical": float32 [N, S], "gender": int [N],
        "label": int [N] class indices}.
      roles: int8 [M, N] with UNUSED=0, TRAIN=1, VAL=2, TEST=3; seeds: int [M].
      runtime: the ``config.runtime`` section (None: ``runtime.default_runtime_config()``).
      num_classes / labels: class count or names (default: max label + 1).
      workdir: folder for checkpoints (resume), TensorBoard curves and the final networks.
      tags: one name per model for its TensorBoard folder (default ``model{m}``), e.g.
        ``fold3_seed2``.
      hparams: ``{name: float [M]}`` hyperparameters that differ per model (the arms of a
        sweep, ``serjax.training.hparams``); each replaces its ``train`` / ``model`` value.
      classifier_roles: int8 [M, N] roles of step 2 (default ``roles``): the same VAL and
        TEST rows, TRAIN rows a subset of ``roles``' (e.g. without the augmented copies).
      devices: devices to shard the model axis over (default: all).
    """
    compile_start = programs.compile_seconds()
    model_config = model_config or networks.default_model_config()
    train_config = train_config or default_train_config()
    runtime = runtime_lib.runtime_or_default(runtime)
    networks.check_model_config(model_config)
    check_train_config(train_config)
    runtime_lib.check_runtime_config(runtime)
    if labels is not None:
        num_classes = len(labels)
    data, roles, seeds, num_classes = grid_data.check_grid_inputs(data, roles, seeds, num_classes)
    curves_lib.unique_tags(tags, roles.shape[0])  # a wrong count fails before training
    data = grid_data.model_inputs(data, model_config, train_config)
    labels = list(labels) if labels is not None else [str(c) for c in range(num_classes)]
    num_models, n = roles.shape
    epochs, batch_size = int(train_config.epochs), int(train_config.batch_size)
    chunk = int(runtime.eval_batch_size)

    mesh = sharding.model_mesh(devices)
    program = programs.get_program(model_config, train_config, runtime, num_classes, mesh)
    padded = sharding.padded_model_count(num_models, mesh, program.group)
    rows = loop.model_rows(roles, seeds, padded, batch_size, chunk)
    rows2 = rows if classifier_roles is None else loop.model_rows(
        check_classifier_roles(classifier_roles, roles), seeds, padded, batch_size, chunk)
    all_rows = np.arange(-(-n // chunk) * chunk, dtype=np.int32)
    all_rows[n:] = -1

    put_m = lambda x: sharding.put_per_model(x, mesh)
    hp = hparams_lib.check_per_model(hparams, num_models)
    hp_d = put_m({k: sharding.pad_models(v, padded) for k, v in hp.items()})
    stream, host_inputs, uploaded = None, programs.extractor_inputs(data), data
    if host_input.wants_streaming(runtime, host_inputs, mesh):
        if model_config.fusion == "late":
            raise ValueError("model.fusion='late' reads step 1's TEST predictions with its "
                             "inputs on the device: set --config.runtime.stream=resident")
        stream = host_input.streamed_step1(program)
        # host_inputs stay on the host (memory-mapped); the rest goes up as usual
        uploaded = {k: v for k, v in data.items() if k not in ("acoustic", "frame_mask")}
    dev = sharding.put_replicated(uploaded, mesh)  # one upload, in chunks; no host copy
    seeds_d = put_m(np.asarray(rows.seeds, np.int32))
    train_d, val_d, test_d = put_m(rows.train), put_m(rows.val), put_m(rows.test)
    train2_d = train_d if rows2 is rows else put_m(rows2.train)
    all_rows_d = sharding.put_replicated(all_rows, mesh)

    width = networks.fused_width(model_config, data["statistical"].shape[1])
    fused_example = np.zeros((1, width), np.float32)
    if stream is None:
        acoustic = programs.extractor_inputs(dev)
        state1, state2 = program.init(seeds_d, acoustic, fused_example)
        scaler1 = program.scaler1(acoustic, train_d)
    else:
        state1, state2 = program.init(seeds_d, host_input.example_rows(host_inputs, mesh),
                                      fused_example)
        scaler1 = stream.scaler1(host_inputs, n, train_d)
    scaler2 = put_m(Scaler(np.zeros((padded, width), np.float32),
                           np.ones((padded, width), np.float32)))

    fused: dict = {}  # the frozen extractors' fused features and scalers, made once

    def fused_inputs(state):
        if not fused:
            if stream is None:
                out = program.fused_inputs(state["phase1"], state["scaler1"], dev, all_rows_d,
                                           train2_d)
            else:
                deep = stream.deep_features(state["phase1"], state["scaler1"], host_inputs, n)
                out = program.late_columns(*program.fused_from_deep(deep, dev, train2_d))
            fused["inputs"], fused["scaler"] = out
        return fused["inputs"], fused["scaler"]

    def extractor_epoch(state, batches, epoch):
        if stream is not None:
            return stream.epoch(state["phase1"], state["scaler1"], host_inputs, dev["label"],
                                batches, rows.val, seeds_d, np.int32(epoch),
                                int(runtime.stream_steps), hp_d)
        return program.phase1.epoch(state["phase1"], state["scaler1"], acoustic, dev["label"],
                                    put_m(batches), val_d, seeds_d, np.int32(epoch), hp_d)

    shared = programs.shared_columns(dev, model_config.fusion)  # [N, S + 1], every model's

    def classifier_epoch(state, batches, epoch):
        inputs, fresh_scaler = fused_inputs(state)
        if epoch == 0:  # later epochs (and resumed runs) keep the one in the state
            state["scaler2"] = fresh_scaler
        return program.phase2.epoch(state["phase2"], state["scaler2"], inputs, dev["label"],
                                    put_m(batches), val_d, seeds_d, np.int32(epoch), hp_d,
                                    shared)

    phases = [loop.Phase(PHASES[0], "phase1", extractor_epoch),
              loop.Phase(PHASES[1], "phase2", classifier_epoch, rows2)]
    state = {"phase1": state1, "phase2": state2, "scaler1": scaler1, "scaler2": scaler2,
             "curves": loop.empty_curves(phases, epochs, padded)}
    manager, done, save = None, 0, None
    if workdir is not None:
        both = roles if rows2 is rows else np.stack([roles, classifier_roles])
        fingerprint = checkpoint.grid_fingerprint(data, both, seeds, model_config, train_config,
                                                  padded, runtime, hp)
        manager = checkpoint.progress_manager(workdir, fingerprint)
        done, state = checkpoint.restore_progress(manager, state)
        state["curves"] = loop.host_curves(state["curves"])

        def save(epochs_done, state):
            checkpoint.save_progress(manager, epochs_done, state)

    writer = curves_lib.writer_for(workdir, tags, num_models)
    if writer is not None:
        writer.history(state["curves"], PHASES, epochs, done)
    compile_before, start = programs.compile_seconds(), time.perf_counter()
    try:
        loop.run_epochs(phases, state, rows, epochs=epochs, batch_size=batch_size, first=done,
                        save=save, checkpoint_every=int(runtime.checkpoint_every),
                        writer=writer, progress=progress, desc=f"training {num_models} models")
    finally:
        if writer is not None:
            writer.close()
    inputs, _ = fused_inputs(state)
    probs, confusion = program.phase2.test(state["phase2"].best_params, state["scaler2"],
                                           inputs, dev["label"], test_d, shared)
    val_probs, val_confusion = program.phase2.test(state["phase2"].best_params,
                                                   state["scaler2"], inputs, dev["label"], val_d,
                                                   shared)
    if model_config.fusion == "late":  # mean with step 1's own class probabilities
        weight = programs.late_weight(model_config)
        probs, confusion = late_test(program, state, acoustic, dev["label"], test_d, probs,
                                     num_classes, weight)
        val_probs, val_confusion = late_test(program, state, acoustic, dev["label"], val_d,
                                             val_probs, num_classes, weight)
    jax.block_until_ready(confusion)
    train_s = time.perf_counter() - start - (programs.compile_seconds() - compile_before)

    result = _collect(state, probs, confusion, roles, seeds, rows.test, num_classes,
                      val_accuracy(sharding.to_host(val_confusion, num_models)),
                      {"compile_s": programs.compile_seconds() - compile_start,
                       "train_s": train_s})
    result.val_rows, result.val_probs, _ = per_model_predictions(val_probs, rows.val, num_models)
    if workdir is not None:
        checkpoint.save_models(workdir, result.params, result.scalers, model_config, labels, seeds)
    return result


def concat_results(results: list) -> GridResult:
    """One ``GridResult`` of several grids' models in order (the programs of a sweep's
    structural choices): per-model lists and arrays joined on the model axis. Curves need the
    same epoch count; parameters and scalers stay per grid (a list), since their shapes
    differ between programs."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    curves = {phase: {name: np.concatenate([r.curves[phase][name] for r in results], axis=1)
                      for name in first.curves[phase]} for phase in first.curves}
    cat = lambda name: np.concatenate([getattr(r, name) for r in results])  # noqa: E731

    def joined(name):  # a per-model list, or None when some grid lacks it
        parts = [getattr(r, name) for r in results]
        return None if any(p is None for p in parts) else [x for p in parts for x in p]
    return GridResult(
        num_classes=first.num_classes, seeds=cat("seeds"), n_train=cat("n_train"),
        n_val=cat("n_val"), n_test=cat("n_test"),
        test_rows=[x for r in results for x in r.test_rows],
        test_probs=[x for r in results for x in r.test_probs],
        test_pred=[x for r in results for x in r.test_pred], confusion=cat("confusion"),
        curves=curves, params=[r.params for r in results],
        scalers=[r.scalers for r in results],
        timing={k: float(sum(r.timing[k] for r in results)) for k in first.timing},
        val_acc=None if any(r.val_acc is None for r in results) else cat("val_acc"),
        val_rows=joined("val_rows"), val_probs=joined("val_probs"))


def late_test(program, state, acoustic, labels, rows_d, probs2, num_classes: int,
              weight: float):
    """``model.fusion='late'``: (probabilities, confusion) of ``rows_d`` as the weighted mean
    of step 1's softmax head (``weight``) and step 2's probabilities ``probs2``."""
    probs1, _ = program.phase1.test(state["phase1"].best_params, state["scaler1"], acoustic,
                                    labels, rows_d)
    return programs.late_fusion(probs1, probs2, labels, rows_d, num_classes, weight)


def val_accuracy(confusion: np.ndarray) -> np.ndarray:
    """float [M]: accuracy of each final model on its VAL rows (NaN without VAL rows)."""
    confusion = np.asarray(confusion, np.float64)
    total = confusion.sum((1, 2))
    correct = np.trace(confusion, axis1=1, axis2=2)
    return np.where(total > 0, correct / np.maximum(total, 1), np.nan)


def check_classifier_roles(classifier_roles, roles: np.ndarray) -> np.ndarray:
    """Step 2's roles, checked against step 1's: same shape, VAL and TEST rows; TRAIN rows a
    non-empty subset (step 2 never trains on a row step 1 did not)."""
    out = np.asarray(classifier_roles, np.int8)
    if out.shape != roles.shape:
        raise ValueError(f"classifier_roles: shape {out.shape}, need the roles' {roles.shape}")
    for code, name in ((VAL, "VAL"), (TEST, "TEST")):
        if not np.array_equal(out == code, roles == code):
            raise ValueError(f"classifier_roles: {name} rows differ from the roles'; only "
                             "TRAIN rows may be left out of step 2")
    if ((out == TRAIN) & (roles != TRAIN)).any():
        raise ValueError("classifier_roles: TRAIN rows that are not TRAIN in step 1")
    empty = np.flatnonzero(~(out == TRAIN).any(1))
    if empty.size:
        raise ValueError(f"classifier_roles: models {empty.tolist()} have no TRAIN rows")
    return out


def per_model_predictions(probs, test_rows: np.ndarray, num_models: int):
    """(TEST rows, class probabilities, predicted classes) per model from the padded device
    ``probs [M_padded, T, C]`` and ``test_rows [M_padded, T]`` (``-1`` = padding)."""
    probs = sharding.to_host(probs, num_models)
    rows, prob_list, pred_list = [], [], []
    for i in range(num_models):
        valid = test_rows[i] >= 0
        rows.append(test_rows[i][valid])
        prob_list.append(probs[i][valid])
        pred_list.append(probs[i][valid].argmax(-1))
    return rows, prob_list, pred_list


def _collect(state, probs, confusion, roles, seeds, test_rows, num_classes, val_acc,
             timing) -> GridResult:
    m = len(seeds)
    rows, prob_list, pred_list = per_model_predictions(probs, test_rows, m)
    curves = {name: {c: curve[:, :m] for c, curve in zip(metrics._fields, metrics)}
              for name, metrics in state["curves"].items()}
    params = sharding.to_host({"extractor": state["phase1"].best_params,
                               "classifier": state["phase2"].best_params}, m)
    scalers = {"acoustic": Scaler(*sharding.to_host(tuple(state["scaler1"]), m)),
               "fused": Scaler(*sharding.to_host(tuple(state["scaler2"]), m))}
    return GridResult(
        num_classes=num_classes, seeds=seeds, n_train=(roles == TRAIN).sum(1),
        n_val=(roles == VAL).sum(1), n_test=(roles == TEST).sum(1), test_rows=rows,
        test_probs=prob_list, test_pred=pred_list,
        confusion=sharding.to_host(confusion, m), curves=curves, params=params,
        scalers=scalers, timing=timing, val_acc=val_acc)
