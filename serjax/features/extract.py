"""Rows of one precompute shard: prepare audio, make augmented copies, compute features.

A shard is a list of ``Item`` (one source file each). ``prepare_rows`` turns it into ``Row``s
(the original, copy 0, then ``augment.copies`` augmented copies, each a prepared float32
waveform at ``audio.sample_rate``) plus skipped-row records. ``librosa_features`` /
``jax_features`` turn rows into feature arrays; ``assemble`` makes the shard's row-aligned arrays
(schema in ``store.py``). Everything here is a pure function of its inputs and the config.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from serjax.features import acoustic, audio, augment, spec, statistical


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
    """Rows -> per row (frames float32 [T, 162], statistical float32 [S])."""
    sr, f = config.audio.sample_rate, config.features
    out = []
    with single_thread_blas():
        for row in rows:
            blocks = acoustic.acoustic_blocks(row.wave, sr, f)
            out.append((acoustic.frames_from_blocks(blocks),
                        statistical.statistical_from_blocks(row.wave, sr, f, blocks)))
    return out


def jax_features(rows: list[Row], config) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows -> per row (frames [T, 162], statistical [S]) with the batched JAX path; rows are
    grouped by length so each batch pads little, and batches have a fixed size."""
    from serjax.features import jax_features as jf  # noqa: PLC0415  (JAX only when asked)
    sr, f = config.audio.sample_rate, config.features
    order = np.argsort([r.wave.shape[0] for r in rows], kind="stable")
    out: list = [None] * len(rows)
    for start in range(0, len(order), f.jax_batch_size):
        chunk = order[start:start + f.jax_batch_size]
        waves, lengths = jf.pad_batch([rows[i].wave for i in chunk], f.jax_batch_size)
        result = jf.batch_features(waves, lengths, sr, f)
        frames, mask = np.asarray(result["frames"]), np.asarray(result["frame_mask"])
        stats = np.asarray(result["statistical"])
        for j, i in enumerate(chunk):
            out[i] = (frames[j, : int(mask[j].sum())], stats[j])
    return out


def assemble(rows: list[Row], features: list[tuple[np.ndarray, np.ndarray]], skipped: list[dict],
             config) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Rows + features -> the shard's row-aligned arrays; non-finite rows join ``skipped``."""
    f = config.features
    width, stat_width = spec.acoustic_width(f), len(spec.statistical_names(f))
    kept: dict[str, list] = {k: [] for k in ("acoustic", "frame_mask", "num_frames",
                                             "statistical", "row")}
    for row, (frames, stats) in zip(rows, features):
        if not (np.all(np.isfinite(frames)) and np.all(np.isfinite(stats))):
            skipped.append(skip_record(row.item, row.copy, "non_finite_features",
                                       "features contain NaN or inf"))
            continue
        if f.acoustic == "frames":
            padded, count = acoustic.pad_frames(frames, f.max_frames)
            kept["acoustic"].append(padded.astype(f.frames_dtype))
            kept["frame_mask"].append(np.arange(f.max_frames) < count)
        else:
            kept["acoustic"].append(acoustic.summary_from_frames(frames))
        kept["num_frames"].append(frames.shape[0])
        kept["statistical"].append(stats)
        kept["row"].append(row)
    return _arrays(kept, f, width, stat_width), skipped


def _arrays(kept: dict[str, list], f, width: int, stat_width: int) -> dict[str, np.ndarray]:
    frames = f.acoustic == "frames"
    if f.acoustic not in ("summary", "frames"):
        raise ValueError(f"features.acoustic={f.acoustic!r}; choose 'summary' or 'frames'")
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
    """Run one tiny example end to end so librosa/numba compile before the first real shard."""
    sr = config.audio.sample_rate
    t = np.arange(int(0.5 * sr)) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220.0 * t) * 32767).astype(np.int16)
    item = Item("warmup", "warmup.wav", "warmup/0", 1, 0, tone, sr)
    rows, _ = prepare_rows([item], config)
    librosa_features(rows, config)
