"""The epoch loop every grid trains with, whatever its phases.

SER-FusionNet's two steps (``serjax.training.train``) and the raw-waveform baseline
(``serjax.paper.raw_waveform``) are lists of ``Phase``s run one after another, each for
``epochs`` epochs, by :func:`run_epochs`: per epoch it draws every model's batches
(``grid_data.epoch_batches``, a pure function of seed, phase and epoch), runs the phase's
compiled epoch unless every model has stopped early, checks the training loss is finite,
stores the epoch's ``EpochMetrics`` in the grid state's curves, writes them to TensorBoard
(``serjax.training.curves``) and saves a checkpoint every ``runtime.checkpoint_every`` epochs.
Epochs are counted over all phases (``g = phase * epochs + epoch``), as checkpoints count them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tqdm

from serjax.splits.roles import TEST, TRAIN, VAL
from serjax.training import grid_data, sharding
from serjax.training.model_step import CURVE_NAMES, EpochMetrics


@dataclasses.dataclass
class Phase:
    """One phase of a grid: ``run_epoch(state, batches, epoch) -> (PhaseState, EpochMetrics)``
    trains every model for one epoch on host batches ``int32 [M_padded, S, B]``; its
    ``PhaseState`` sits at ``state[state_key]``; curves are filed under ``name``."""
    name: str
    state_key: str
    run_epoch: Callable
    rows: "ModelRows | None" = None  # this phase's own TRAIN rows (default: the grid's)


@dataclasses.dataclass
class ModelRows:
    """Host index arrays of a grid whose model axis is padded to ``padded`` models (copies of
    the last model, ``sharding.pad_models``): rows per model and role (``-1`` = padding;
    VAL and TEST rows in whole evaluation chunks) and batches per epoch."""
    num_models: int
    padded: int
    seeds: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    steps: int


def model_rows(roles: np.ndarray, seeds, padded: int, batch_size: int,
               eval_chunk: int) -> ModelRows:
    roles_p = sharding.pad_models(roles, padded)
    return ModelRows(
        num_models=roles.shape[0], padded=padded,
        seeds=sharding.pad_models(np.asarray(seeds), padded),
        train=grid_data.role_rows(roles_p, TRAIN),
        val=grid_data.role_rows(roles_p, VAL, eval_chunk),
        test=grid_data.role_rows(roles_p, TEST, eval_chunk),
        steps=grid_data.steps_per_epoch(roles, batch_size))


def empty_curves(phases, epochs: int, padded: int) -> dict:
    """``{phase name: EpochMetrics of float32 [epochs, padded]}``, NaN until an epoch runs."""
    return {p.name: EpochMetrics(*(np.full((epochs, padded), np.nan, np.float32)
                                   for _ in CURVE_NAMES)) for p in phases}


def host_curves(curves: dict) -> dict:
    """Writable host copies of checkpointed curves (a restore returns device arrays)."""
    return {name: EpochMetrics(*(np.array(c) for c in m)) for name, m in curves.items()}


def check_finite(metrics: EpochMetrics, num_models: int, phase: str, epoch: int) -> None:
    """Raises FloatingPointError naming the models whose training loss is NaN or inf."""
    bad = np.flatnonzero(~np.isfinite(np.asarray(metrics.train_loss)[:num_models]))
    if bad.size:
        raise FloatingPointError(
            f"non-finite training loss in the {phase} step, epoch {epoch}, models "
            f"{bad.tolist()}: lower train.learning_rate or check the features for extreme values")


def run_epochs(phases: list, state: dict, rows: ModelRows, *, epochs: int, batch_size: int,
               first: int = 0, save: Callable | None = None, checkpoint_every: int = 1,
               writer=None, progress: bool = True, desc: str = "training") -> dict:
    """Trains ``phases`` one after another from epoch ``first`` (over all phases) to the end.

    ``state`` holds each phase's ``PhaseState`` and ``"curves"`` (``empty_curves``); it is
    updated in place and returned. ``save(epochs_done, state)`` runs every
    ``checkpoint_every`` epochs and after the last; ``writer``: a ``curves.CurveWriter``.
    """
    total = len(phases) * epochs
    bar = tqdm.tqdm(total=total, initial=first, disable=not progress, unit="epoch", desc=desc)
    for g in range(first, total):
        p, epoch = divmod(g, epochs)
        phase = phases[p]
        if not bool(np.all(sharding.to_host(state[phase.state_key].stopped))):
            own = phase.rows or rows
            batches = grid_data.epoch_batches(own.train, own.seeds, p, epoch, batch_size,
                                              own.steps)
            state[phase.state_key], metrics = phase.run_epoch(state, batches, epoch)
            metrics = sharding.to_host(metrics)  # gathered from every process
            check_finite(metrics, rows.num_models, phase.name, epoch)
            for curve, value in zip(state["curves"][phase.name], metrics):
                curve[epoch] = value
            if writer is not None:
                writer.epoch(phase.name, epoch, metrics)
            bar.set_postfix(step=phase.name,
                            val_acc=f"{np.nanmean(metrics.val_acc[:rows.num_models]):.3f}")
        if save is not None and ((g + 1) % checkpoint_every == 0 or g + 1 == total):
            save(g + 1, state)
        bar.update(1)
    bar.close()
    return state
