"""Rows of one precompute shard: prepare audio, make augmented copies, compute features.

A shard is a list of ``Item`` (one source file each). ``prepare_rows`` turns it into ``Row``s
(the original, copy 0, then ``augment.copies`` augmented copies, each a prepared float32
waveform at ``audio.sample_rate``) plus skipped-row records. ``row_features`` (CPU: librosa,
plus openSMILE or external features when ``features.acoustic`` asks for them) /
``jax_features`` turn rows into feature arrays; ``assemble`` makes the shard's row-aligned arrays
(schema in ``store.py``). Everything here is a pure function of its inputs and the config.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from serjax.features import acoustic, audio, augment, external, opensmile_sets, spec, statistical


@dataclasses.dataclass
class Item:
    """One source file as read from a CorpusTable."""

    corpus: str
    path: str
    actor: str
    gender: int
    label: int
    samples: np.ndarray   # int16 [n] mono at sample_rate
    sample_rate: int


@dataclasses.dataclass
class Row:
    item: Item
    copy: int
    wave: np.ndarray      # float32 [m] at audio.sample_rate


def skip_record(item: Item, copy: int, reason: str, detail: str) -> dict:
    return {"corpus": item.corpus, "path": item.path, "copy": int(copy), "reason": reason,
            "detail": detail}


def prepare_rows(items: list[Item], config) -> tuple[list[Row], list[dict]]:
    """Items -> (rows: originals and augmented copies, skipped records)."""
    a, f = config.audio, config.features
    rows, skipped = [], []
    for item in items:
        try:
            wave = audio.prepare(item.samples, item.sample_rate, a,
                                 name=f"{item.corpus}/{item.path}", min_samples=f.n_fft)
        except audio.BadAudio as err:
            skipped += [skip_record(item, k, err.reason, str(err))
                        for k in range(config.augment.copies + 1)]
            continue
        rows.append(Row(item, 0, wave))
        for k in range(1, config.augment.copies + 1):
            aug, _ = augment.augment(wave, a.sample_rate, config.augment, corpus=item.corpus,
                                     path=item.path, copy=k, res_type=a.res_type,
                                     n_fft=f.n_fft, hop_length=f.hop_length)
            if aug.shape[0] < f.n_fft:
                skipped.append(skip_record(item, k, "too_short", f"{aug.shape[0]} samples "
                                           "after augmentation"))
                continue
            rows.append(Row(item, k, aug))
    return rows, skipped


def single_thread_blas():
    """A context with one BLAS thread. OpenBLAS rounds differently with other thread counts, so
    features are always computed single-threaded: bit-identical in-process, in any worker pool
    and on any machine's core count (processes, not threads, are the parallelism)."""
    import threadpoolctl  # noqa: PLC0415  (installed with scikit-learn)
    return threadpoolctl.threadpool_limits(1, user_api="blas")


def librosa_features(rows: list[Row], config) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows -> per row (frames float32 [T, 162], or [T, n_mels] log-mel for
    ``logmel_frames``; statistical float32 [S])."""
    sr, f = config.audio.sample_rate, config.features
    out = []
    with single_thread_blas():
        for row in rows:
            blocks = acoustic.acoustic_blocks(row.wave, sr, f)
            out.append((acoustic.kind_frames(blocks, f),
                        statistical.statistical_from_blocks(row.wave, sr, f, blocks)))
    return out


def row_features(rows: list[Row], config) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows -> per row (acoustic values, statistical float32 [S]) on the CPU, for any
    ``features.acoustic``: librosa frames [T, 162] (``summary`` / ``frames``) or log-mel
    [T, n_mels] (``logmel_frames``), an openSMILE set
    (``serjax.features.opensmile_sets``: [D] functionals or [T, D] descriptors) or external
    features (``serjax.features.external``). The statistical features are librosa's in every
    case, so the fusion model gets the same statistical inputs whatever the acoustic set."""
    kind = spec.acoustic_kind(config.features)
    if kind in spec.LIBROSA_KINDS:
        return librosa_features(rows, config)
    sr, f = config.audio.sample_rate, config.features
    out = []
    with single_thread_blas():
        for row in rows:
            blocks = acoustic.acoustic_blocks(row.wave, sr, f)
            stats = statistical.statistical_from_blocks(row.wave, sr, f, blocks)
            if kind in spec.OPENSMILE_KINDS:
                values = opensmile_sets.compute(row.wave, sr, kind)
            else:
                values = external.features(row.item.corpus, row.item.path, f)
            out.append((values, stats))
    return out


def jax_features(rows: list[Row], config) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows -> per row (frames [T, 162], or log-mel [T, n_mels] for ``logmel_frames``;
    statistical [S]) with the batched JAX path; rows are grouped by length so each batch pads
    little, and batches have a fixed size."""
    from serjax.features import jax_features as jf  # noqa: PLC0415  (JAX only when asked)
    sr, f = config.audio.sample_rate, config.features
    values = "log_mel" if spec.acoustic_kind(f) == "logmel_frames" else "frames"
    order = np.argsort([r.wave.shape[0] for r in rows], kind="stable")
    out: list = [None] * len(rows)
    for start in range(0, len(order), f.jax_batch_size):
        chunk = order[start:start + f.jax_batch_size]
        waves, lengths = jf.pad_batch([rows[i].wave for i in chunk], f.jax_batch_size)
        result = jf.batch_features(waves, lengths, sr, f)
        frames, mask = np.asarray(result[values]), np.asarray(result["frame_mask"])
        stats = np.asarray(result["statistical"])
        for j, i in enumerate(chunk):
            out[i] = (frames[j, : int(mask[j].sum())], stats[j])
    return out


def _acoustic_width(f) -> int:
    if spec.acoustic_kind(f) in spec.EXTERNAL_KINDS:
        return external.width(f)
    return spec.acoustic_width(f)


def _row_acoustic(values: np.ndarray, f) -> tuple[np.ndarray, np.ndarray | None, int, str]:
    """One row's values -> (stored acoustic, frame mask or None, num_frames, skip detail or "").

    Frame kinds: [T, D] cut/zero-padded to ``max_frames`` in ``frames_dtype``; ``summary``: the
    frame mean of the librosa frames; vector kinds (openSMILE functionals, ``external``): as
    they are, with ``num_frames`` 0 (the row holds no frames)."""
    kind = spec.acoustic_kind(f)
    if kind in spec.FRAME_KINDS:
        if values.shape[0] == 0:
            return values, None, 0, "no frames (clip shorter than one analysis window)"
        padded, count = acoustic.pad_frames(values, f.max_frames)
        stored = padded.astype(f.frames_dtype)
        if not np.all(np.isfinite(stored)):
            return values, None, 0, f"features overflow frames_dtype={f.frames_dtype}"
        return stored, np.arange(f.max_frames) < count, values.shape[0], ""
    if kind == "summary":
        return acoustic.summary_from_frames(values), None, values.shape[0], ""
    return np.asarray(values, np.float32), None, 0, ""


def assemble(rows: list[Row], features: list[tuple[np.ndarray, np.ndarray]], skipped: list[dict],
             config) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Rows + features -> the shard's row-aligned arrays; non-finite rows join ``skipped``."""
    f = config.features
    width, stat_width = _acoustic_width(f), len(spec.statistical_names(f))
    kept: dict[str, list] = {k: [] for k in ("acoustic", "frame_mask", "num_frames",
                                             "statistical", "row")}
    for row, (values, stats) in zip(rows, features):
        if not (np.all(np.isfinite(values)) and np.all(np.isfinite(stats))):
            skipped.append(skip_record(row.item, row.copy, "non_finite_features",
                                       "features contain NaN or inf"))
            continue
        stored, mask, count, problem = _row_acoustic(values, f)
        if problem:
            skipped.append(skip_record(row.item, row.copy, "non_finite_features", problem))
            continue
        kept["acoustic"].append(stored)
        kept["frame_mask"].append(mask)
        kept["num_frames"].append(count)
        kept["statistical"].append(stats)
        kept["row"].append(row)
    return _arrays(kept, f, width, stat_width), skipped


def _arrays(kept: dict[str, list], f, width: int, stat_width: int) -> dict[str, np.ndarray]:
    frames = spec.is_frames(f)
    shape = (0, f.max_frames, width) if frames else (0, width)
    items = [r.item for r in kept["row"]]
    arrays = {
        "acoustic": np.stack(kept["acoustic"]) if items else
        np.zeros(shape, f.frames_dtype if frames else np.float32),
        "num_frames": np.array(kept["num_frames"], np.int32),
        "statistical": np.stack(kept["statistical"]).astype(np.float32) if items else
        np.zeros((0, stat_width), np.float32),
        "gender": np.array([statistical.gender_bit(i.gender) for i in items], np.int8),
        "label": np.array([i.label for i in items], np.int8),
        "actor": np.array([i.actor for i in items], dtype=str),
        "corpus": np.array([i.corpus for i in items], dtype=str),
        "path": np.array([i.path for i in items], dtype=str),
        "augmented": np.array([r.copy > 0 for r in kept["row"]], bool),
        "copy": np.array([r.copy for r in kept["row"]], np.int8),
    }
    if frames:
        arrays["frame_mask"] = (np.stack(kept["frame_mask"]) if items else
                                np.zeros((0, f.max_frames), bool))
    return arrays


def warm_up(config) -> None:
    """Run one tiny example end to end so librosa/numba compile (and openSMILE parses its
    config) before the first real shard."""
    sr = config.audio.sample_rate
    t = np.arange(int(0.5 * sr)) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220.0 * t) * 32767).astype(np.int16)
    item = Item("warmup", "warmup.wav", "warmup/0", 1, 0, tone, sr)
    rows, _ = prepare_rows([item], config)
    librosa_features(rows, config)
    kind = spec.acoustic_kind(config.features)
    if kind in spec.OPENSMILE_KINDS:
        opensmile_sets.compute(rows[0].wave, sr, kind)
