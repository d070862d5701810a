"""From a FeatureSet and the config to what the training grid needs: per-row arrays with labels
mapped to 0..C-1, one ``Split`` per model (fold-major, then seed) and the leak-checked role matrix.
"""

from __future__ import annotations

import dataclasses

import ml_collections
import numpy as np

from serjax.corpora import naming
from serjax.splits import folds, schemes


def seed_values(config: ml_collections.ConfigDict) -> tuple[int, ...]:
    return tuple(range(config.seed_offset, config.seed_offset + config.seeds))



@dataclasses.dataclass
class GridInputs:
    """What the engine trains on: arrays over FeatureSet rows plus the role matrix."""

    data: dict            # acoustic [N, F], statistical [N, S], gender [N], label [N] (0..C-1)
    roles: np.ndarray     # int8 [M, N]
    splits: list          # serjax.splits.folds.Split per model (fold, seed, actors of each role)
    labels: tuple         # class names, index = class id
    files: np.ndarray     # str [N] "corpus/path" of each row's source file
    actors: np.ndarray    # str [N]


def grid_inputs(config: ml_collections.ConfigDict, feature_set) -> GridInputs:
    """Maps labels to 0..C-1, builds every model's split and the (leak-checked) role matrix.

    Rows whose emotion is not in ``config.labels`` (e.g. calm/surprise for the Superset) are
    UNUSED for every model.
    """
    labels = tuple(config.labels)
    names = np.asarray(naming.LABELS)[np.asarray(feature_set.label, dtype=np.int64)]
    keep = np.isin(names, labels)
    class_of = {name: i for i, name in enumerate(labels)}
    y = np.array([class_of.get(n, 0) for n in names], dtype=np.int32)
    actor = np.asarray(feature_set.actor)
    augmented = np.asarray(feature_set.augmented, dtype=bool)
    files = np.char.add(np.char.add(np.asarray(feature_set.corpus), "/"),
                        np.asarray(feature_set.path))
    actors = sorted(set(actor[keep]))
    rows = {"source": files[keep], "label": y[keep], "actor": actor[keep],
            "augmented": augmented[keep]}
    splits = schemes.from_config(config.folds, actors, seeds=seed_values(config), rows=rows)
    roles = np.zeros((len(splits), len(y)), np.int8)
    roles[:, keep] = folds.role_matrix(actor[keep], augmented[keep], splits,
                                       row_source=files[keep])
    # Memory-mapped views, not copies (frames can be GBs); the engine uploads them once.
    data = {"acoustic": np.asarray(feature_set.acoustic),
            "statistical": np.asarray(feature_set.statistical),
            "gender": np.asarray(feature_set.gender, np.int32), "label": y, "actor": actor}
    if "frame_mask" in feature_set.arrays:  # frames [N, T, F]: the frames_cnn extractor
        data["frame_mask"] = np.asarray(feature_set.frame_mask)
    return GridInputs(data, roles, splits, labels, files, actor)
