"""Live training curves as TensorBoard event files: ``tensorboard --logdir <workdir>``.

While a grid trains, every model's epoch metrics go to its own event-file folder
``<workdir>/tensorboard/<tag>/`` (tag e.g. ``fold3_seed2``), one scalar per phase and metric
(``extractor/train_loss``, ``extractor/val_acc``, ``classifier/lr``, ...) with step = the
epoch within that phase. The curves grow while it runs: each writer's own thread writes the
epoch's event to disk within ``FLUSH_SECONDS`` (TensorBoard itself reloads every 5 s). Cost on
the training thread: one event per model and epoch, ~2.5 ms per epoch for the demo's 18
models on a loaded 2-core VM (<1 % of its ~0.4 s epochs). One ``add_scalar`` per value and a
flush after every epoch cost ~27 ms (the flushes fsync every model's file on this thread).

A resumed run rewrites each folder from the curves stored in its checkpoint, then continues:
epochs trained after the last checkpoint of the killed run are trained again, and writing
them twice would draw two points per step, so the folder's old event files are removed
first. Written with ``tensorboardX`` (no TensorFlow); only process 0 writes.
"""

from __future__ import annotations

import pathlib

import numpy as np
from tensorboardX import SummaryWriter
from tensorboardX.proto.summary_pb2 import Summary

from serjax.training import distributed
from serjax.training.model_step import CURVE_NAMES

FOLDER = "tensorboard"
FLUSH_SECONDS = 2


def unique_tags(tags, num_models: int) -> list[str]:
    """One folder name per model: ``tags`` (default ``model{m}``), with ``_m{m}`` appended to
    any that repeat, and ``/`` replaced (a tag is one folder)."""
    tags = [f"model{m}" for m in range(num_models)] if tags is None else [str(t) for t in tags]
    if len(tags) != num_models:
        raise ValueError(f"tags: need one per model (M={num_models}); got {len(tags)}")
    tags = [t.replace("/", "_").replace("\\", "_") or f"model{m}" for m, t in enumerate(tags)]
    return [t if tags.count(t) == 1 else f"{t}_m{m}" for m, t in enumerate(tags)]


class CurveWriter:
    """One ``SummaryWriter`` per model under ``<workdir>/tensorboard/``."""

    def __init__(self, workdir, tags, num_models: int):
        self.root = pathlib.Path(workdir) / FOLDER
        self.tags = unique_tags(tags, num_models)
        self.num_models = num_models
        self.writers = []
        for tag in self.tags:
            folder = self.root / tag
            for old in folder.glob("events.out.tfevents.*"):  # see the module docstring
                old.unlink()
            self.writers.append(SummaryWriter(str(folder), flush_secs=FLUSH_SECONDS))

    def epoch(self, phase: str, epoch: int, metrics) -> None:
        """Writes one epoch (``EpochMetrics`` of ``[>= M]`` host arrays); on disk within
        ``FLUSH_SECONDS``, and at ``close``."""
        values = np.stack([np.asarray(getattr(metrics, name), np.float64)[:self.num_models]
                           for name in CURVE_NAMES])
        for m, writer in enumerate(self.writers):
            summary = Summary(value=[  # no VAL rows: val_* are NaN, left out
                Summary.Value(tag=f"{phase}/{name}", simple_value=value)
                for name, value in zip(CURVE_NAMES, values[:, m].tolist())
                if np.isfinite(value)])
            writer.file_writer.add_summary(summary, epoch)

    def history(self, curves: dict, phases, epochs: int, epochs_done: int) -> None:
        """Rewrites the first ``epochs_done`` epochs (both phases counted, as checkpoints
        count them) from ``curves[phase]`` (``EpochMetrics`` of ``[epochs, >= M]``), skipping
        epochs no model ran (all NaN)."""
        for g in range(epochs_done):
            phase, epoch = phases[g // epochs], g % epochs
            row = type(curves[phase])(*(np.asarray(c)[epoch] for c in curves[phase]))
            if np.isfinite(np.asarray(row.train_loss)[:self.num_models]).any():
                self.epoch(phase, epoch, row)

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


def writer_for(workdir, tags, num_models: int) -> CurveWriter | None:
    """A ``CurveWriter`` when there is a workdir and this is process 0; else None."""
    if workdir is None or not distributed.is_main():
        return None
    return CurveWriter(workdir, tags, num_models)
