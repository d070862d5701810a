"""Per-model TEST predictions of a model that is not trained by the grid engine (the baselines,
the linear SVM), in the shape ``serjax.evaluation.report`` reads from a ``GridResult``, so that
``report.write_grid_report`` writes the same workdir files for them as for every model.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from serjax.evaluation import metrics
from serjax.splits.roles import TEST, TRAIN, VAL


@dataclasses.dataclass
class Predictions:
    """Per-model TEST predictions in the shape ``serjax.evaluation.report`` reads from a GridResult.

    test_rows[m]: int [T_m]; test_pred[m]: int [T_m]; confusion: int [M, C, C];
    curves: {phase: {name: float [epochs, M]}} or {} when the model has no epochs.
    """
    seeds: np.ndarray
    n_train: np.ndarray
    n_val: np.ndarray
    n_test: np.ndarray
    test_rows: list
    test_pred: list
    confusion: np.ndarray
    timing: dict
    curves: dict = dataclasses.field(default_factory=dict)

    @property
    def num_models(self) -> int:
        return len(self.seeds)


def predictions(roles: np.ndarray, seeds, true: np.ndarray, test_pred: list, num_classes: int,
                timing: dict, curves: dict | None = None) -> Predictions:
    """Bundles per-model predictions of each model's TEST rows (in row order) with counts."""
    test_rows = [np.flatnonzero(r == TEST) for r in roles]
    confusion = np.stack([metrics.confusion_from_labels(true[rows], pred, num_classes)
                          for rows, pred in zip(test_rows, test_pred)])
    return Predictions(np.asarray(seeds), (roles == TRAIN).sum(1), (roles == VAL).sum(1),
                       (roles == TEST).sum(1), test_rows, [np.asarray(p) for p in test_pred],
                       confusion, dict(timing), curves or {})
