"""From a FeatureSet and the config to what the training grid needs: per-row arrays with labels
mapped to 0..C-1, one ``Split`` per model (fold-major, then seed) and the leak-checked role matrix.
"""

from __future__ import annotations

import dataclasses
import logging

import ml_collections
import numpy as np

from serjax.corpora import naming, sources
from serjax.splits import classes, folds, schemes
from serjax.splits.roles import UNUSED

log = logging.getLogger("serjax.splits")


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
    protocol: str = ""    # what the splits are, for the report (speaker-independent, ...)
    keys: np.ndarray | None = None   # str [N] each row's key (``path``: a manifest's ``key``)


def label_names(feature_set) -> tuple[str, ...]:
    """What the FeatureSet's ``label`` indexes (its corpus's names; naming.LABELS if unsaid)."""
    return tuple(feature_set.manifest.get("label_names", naming.LABELS))


def speakers_of(config, actor: np.ndarray, gender: np.ndarray) -> dict | None:
    """{actor: gender} from the rows, for listed (manifest, EmoBox) corpora; None for the Kaggle
    corpora, whose genders come from serjax.corpora.naming (as they always have)."""
    if not sources.is_listed(config):
        return None
    return dict(zip(actor.tolist(), np.asarray(gender, np.int64).tolist()))


def protocol_of(splits) -> str:
    return ", ".join(sorted({s.protocol for s in splits}))


def grid_inputs(config: ml_collections.ConfigDict, feature_set) -> GridInputs:
    """Maps labels to 0..C-1, builds every model's split and the (leak-checked) role matrix.

    Rows whose emotion is not in ``config.labels`` (e.g. calm/surprise for the Superset) are
    UNUSED for every model; ``config.labels`` (or ``data.labels``) may also merge names
    (``serjax.splits.classes``).
    """
    labels, class_of = classes.resolve(classes.spec_of(config), label_names(feature_set))
    names = np.asarray(label_names(feature_set))[np.asarray(feature_set.label, dtype=np.int64)]
    keep = np.isin(names, list(class_of))
    y = np.array([class_of.get(n, 0) for n in names], dtype=np.int32)
    actor = np.asarray(feature_set.actor)
    augmented = np.asarray(feature_set.augmented, dtype=bool)
    keys = np.asarray(feature_set.path)
    files = np.char.add(np.char.add(np.asarray(feature_set.corpus), "/"), keys)
    actors = sorted(set(actor[keep]))
    speakers = speakers_of(config, actor[keep], np.asarray(feature_set.gender)[keep])
    rows = {"source": files[keep], "label": y[keep], "actor": actor[keep],
            "augmented": augmented[keep], "key": keys[keep]}
    seeds = seed_values(config)
    listed = None
    if config.folds.scheme == "given":
        given = schemes.given_from_config(config.folds, sources.given_folds(config), rows,
                                          seeds=seeds, speakers=speakers)
        splits, listed, protocol = given.splits, given.listed, given.protocol
        if given.dropped:
            log.warning("given folds: %d listed row(s) have no features (skipped when the "
                        "corpus was built; see its build_manifest.json)", given.dropped)
    else:
        splits = schemes.from_config(config.folds, actors, seeds=seeds, rows=rows,
                                     speakers=speakers)
        protocol = protocol_of(splits)
    roles = np.zeros((len(splits), len(y)), np.int8)
    roles[:, keep] = folds.role_matrix(actor[keep], augmented[keep], splits,
                                       row_source=files[keep])
    if listed is not None:   # rows a given fold does not list take no part in it
        for m, sources_m in enumerate(listed):
            roles[m, ~np.isin(files, list(sources_m))] = UNUSED
    # Memory-mapped views, not copies (frames can be GBs); the engine uploads them once.
    data = {"acoustic": np.asarray(feature_set.acoustic),
            "statistical": np.asarray(feature_set.statistical),
            "gender": np.asarray(feature_set.gender, np.int32), "label": y, "actor": actor}
    if "frame_mask" in feature_set.arrays:  # frames [N, T, F]: the frames_cnn extractor
        data["frame_mask"] = np.asarray(feature_set.frame_mask)
    return GridInputs(data, roles, splits, labels, files, actor, protocol, keys)
