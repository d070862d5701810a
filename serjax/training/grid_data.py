"""Host-side views of the data for the model grid: checks, per-model row indices, batches.

The engine uploads the features once; model ``m`` reads them through index arrays built
here from row ``m`` of the role matrix. Index arrays are padded with ``-1`` to the largest
model, so folds of different sizes share one program (``-1`` rows are masked on device).
Data order is a pure function of ``(seed, phase, epoch)`` (``np.random.default_rng``), which
makes a resumed run repeat an uninterrupted one exactly.
"""

from __future__ import annotations

import numpy as np

from serjax.splits.roles import TEST, TRAIN, UNUSED, VAL

DATA_KEYS = ("acoustic", "statistical", "gender", "label")


def check_grid_inputs(data: dict, roles, seeds, num_classes: int | None = None):
    """Validates the engine's inputs and returns them as NumPy arrays.

    ``data`` may also hold ``frame_mask bool [N, T]`` (then ``acoustic`` is frames
    ``[N, T, F]``, float16 or float32, cropped here to the longest real sequence) and
    ``actor [N]`` (any ids; returned as int32 codes).
    Returns ``(data, roles int8 [M, N], seeds int64 [M], num_classes)``; raises ValueError
    naming the offending input and the fix.
    """
    missing = [k for k in DATA_KEYS if k not in data]
    if missing:
        raise ValueError(f"train_grid: data is missing {missing}; pass a dict with {DATA_KEYS}")
    acoustic = np.asarray(data["acoustic"])
    if acoustic.dtype != np.float16:  # frames may stay float16 (cast on device per batch)
        acoustic = acoustic.astype(np.float32, copy=False)  # a float32 memmap stays mapped
    statistical = np.asarray(data["statistical"], np.float32)
    gender = np.asarray(data["gender"]).astype(np.float32)
    label = np.asarray(data["label"])
    n = acoustic.shape[0]
    frame_mask = None
    if "frame_mask" in data:
        frame_mask = np.asarray(data["frame_mask"]).astype(bool)
        if acoustic.ndim != 3 or frame_mask.shape != acoustic.shape[:2]:
            raise ValueError(f"frames data: acoustic must be [N, T, F] and frame_mask [N, T]; "
                             f"got {acoustic.shape} and {frame_mask.shape}")
        acoustic, frame_mask = crop_frames(acoustic, frame_mask)
    elif acoustic.ndim != 2:
        raise ValueError(f"data['acoustic'] must be float32 [N, F] (or frames [N, T, F] with "
                         f"data['frame_mask']); got shape {acoustic.shape}")
    if statistical.ndim != 2 or statistical.shape[0] != n:
        raise ValueError(f"data['statistical'] must be [N={n}, S]; got {statistical.shape}")
    if gender.shape != (n,) or label.shape != (n,):
        raise ValueError(f"data['gender'] and data['label'] must be [N={n}]; "
                         f"got {gender.shape} and {label.shape}")
    if not np.issubdtype(label.dtype, np.integer) or label.min(initial=0) < 0:
        raise ValueError("data['label'] must hold class indices 0..C-1 (remap labels first)")
    if num_classes is None:
        num_classes = int(label.max()) + 1
    if label.max(initial=0) >= num_classes:
        raise ValueError(f"data['label'] has index {label.max()} but num_classes={num_classes}")
    for name, x in (("acoustic", acoustic), ("statistical", statistical)):
        bad = _non_finite_rows(x)
        if bad:
            raise ValueError(f"data[{name!r}] holds NaN/inf in rows {bad}; fix the features")
    roles = np.asarray(roles)
    if roles.ndim != 2 or roles.shape[1] != n:
        raise ValueError(f"roles must be int8 [M, N={n}]; got shape {roles.shape}")
    if not np.isin(roles, (UNUSED, TRAIN, VAL, TEST)).all():
        raise ValueError("roles may only hold UNUSED=0, TRAIN=1, VAL=2, TEST=3")
    empty = np.flatnonzero((roles == TRAIN).sum(1) == 0)
    if empty.size:
        raise ValueError(f"models {empty.tolist()} have an empty TRAIN set; check the fold "
                         "assignment (every model needs at least one TRAIN row)")
    seeds = np.asarray(seeds).astype(np.int64).reshape(-1)
    if seeds.shape != (roles.shape[0],):
        raise ValueError(f"seeds must have one entry per model (M={roles.shape[0]}); "
                         f"got {seeds.shape}")
    if (seeds < 0).any():
        raise ValueError("seeds must be non-negative integers")
    clean = dict(acoustic=acoustic, statistical=statistical, gender=gender,
                 label=label.astype(np.int32))
    if frame_mask is not None:
        clean["frame_mask"] = frame_mask
    if "actor" in data:
        actor = np.asarray(data["actor"])
        if actor.shape != (n,):
            raise ValueError(f"data['actor'] must be [N={n}]; got {actor.shape}")
        clean["actor"] = np.unique(actor, return_inverse=True)[1].astype(np.int32)
    return clean, roles.astype(np.int8), seeds, int(num_classes)


def _non_finite_rows(x: np.ndarray, limit: int = 5, chunk: int = 1024) -> list[int]:
    """Up to ``limit`` rows of ``x [N, ...]`` holding NaN/inf, checked in row chunks (frames
    can be GBs; no full-size temporary)."""
    bad: list[int] = []
    for start in range(0, x.shape[0], chunk):
        part = np.asarray(x[start:start + chunk])
        rows = ~np.isfinite(part.reshape(part.shape[0], -1)).all(1)
        bad.extend((start + np.flatnonzero(rows)).tolist())
        if len(bad) >= limit:
            break
    return bad[:limit]


def model_inputs(data: dict, model_config, train_config) -> dict:
    """Checks that the data suits ``model.kind`` and applies ``train.speaker_norm``."""
    frames = "frame_mask" in data
    kind = model_config.get("kind", "fusionnet")
    if frames != (kind == "frames_cnn"):
        have = "frames [N, T, F]" if frames else "summary vectors [N, F]"
        raise ValueError(
            f"model.kind={kind!r} does not read {have}: use model.kind='frames_cnn' with a "
            "frame kind (features.acoustic='frames', 'logmel_frames', 'egemaps_frames', …), or "
            "model.kind='fusionnet' with a vector kind ('summary', 'compare', …)")
    if train_config.get("speaker_norm", False):
        data = speaker_normalize(data)
    return data


def crop_frames(frames: np.ndarray, mask: np.ndarray, multiple: int = 16):
    """Drops trailing frames that are padding in every row (T rounded up to ``multiple``):
    ``FeatureSet``s pad to ``features.max_frames``, often far beyond the longest utterance."""
    real = np.flatnonzero(mask.any(0))
    t = int(real[-1]) + 1 if real.size else 1
    t = min(-(-t // multiple) * multiple, frames.shape[1])
    return frames[:, :t], mask[:, :t]


def speaker_normalize(data: dict) -> dict:
    """Standardises ``acoustic`` and ``statistical`` per speaker: each actor's rows by that
    actor's own mean and std (over its real frames for frames data; a constant column gets
    scale 1). Uses only the unlabeled features of the same speaker, so it applies to TEST
    speakers too (speaker-level normalisation at test time: it needs a batch of each test
    speaker's audio). Needs ``data["actor"]``; returns a new dict."""
    if "actor" not in data:
        raise ValueError("train.speaker_norm=True needs data['actor'] (the speaker of each row)")
    out = dict(data)
    actor, mask = data["actor"], data.get("frame_mask")
    out["statistical"] = _per_group_standardize(data["statistical"], actor, None)
    out["acoustic"] = _per_group_standardize(data["acoustic"], actor, mask)
    return out


def _per_group_standardize(x: np.ndarray, group: np.ndarray, mask) -> np.ndarray:
    """``x [N, F]`` or frames ``[N, T, F]`` (with ``mask [N, T]``; padded frames stay 0)
    standardised within each group of rows; returned in ``x``'s dtype."""
    out = np.zeros(x.shape, np.float32)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        xg = np.asarray(x[rows], np.float64)
        if mask is None:
            real = xg
        else:
            real = xg[mask[rows]]
        mean, std = real.mean(0), real.std(0)
        z = (xg - mean) / np.where(std > 0, std, 1.0)
        if mask is not None:
            z = z * mask[rows][..., None]
        out[rows] = z
    return out.astype(x.dtype)


def role_rows(roles: np.ndarray, code: int, multiple: int = 1) -> np.ndarray:
    """Row indices of ``code`` per model: ``int32 [M, R]`` padded with -1, in row order.

    ``R`` is the largest count rounded up to ``multiple`` (at least ``multiple``).
    """
    rows = [np.flatnonzero(r == code) for r in roles]
    width = max(max(len(r) for r in rows), 1)
    width = -(-width // multiple) * multiple
    out = np.full((len(rows), width), -1, np.int32)
    for m, r in enumerate(rows):
        out[m, :len(r)] = r
    return out


def steps_per_epoch(roles: np.ndarray, batch_size: int) -> int:
    """Batches per epoch of the largest TRAIN set (smaller folds get all-padding batches)."""
    return -(-int((roles == TRAIN).sum(1).max()) // batch_size)


def epoch_batches(train_rows: np.ndarray, seeds: np.ndarray, phase: int, epoch: int,
                  batch_size: int, steps: int) -> np.ndarray:
    """This epoch's shuffled batches: ``int32 [M, steps, batch_size]``, -1 = padding.

    Model ``m`` permutes its own TRAIN rows with ``default_rng([seed_m, phase, epoch])``.
    """
    out = np.full((len(seeds), steps * batch_size), -1, np.int32)
    for m, (rows, seed) in enumerate(zip(train_rows, seeds)):
        rows = rows[rows >= 0]
        order = np.random.default_rng([int(seed), phase, epoch]).permutation(len(rows))
        out[m, :len(rows)] = rows[order]
    return out.reshape(len(seeds), steps, batch_size)
