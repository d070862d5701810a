"""Features computed elsewhere (e.g. a self-supervised model's embeddings), read per row.

``features.acoustic="external"`` reads one vector ``[D]`` per utterance (stored as acoustic
``[N, D]``); ``"external_frames"`` one sequence ``[T, D]`` (stored as frames
``[N, max_frames, D]`` + ``frame_mask``, cut or zero-padded like the librosa frames).
``features.external_path`` is one of:

* a ``.npz`` whose array names are row keys (``np.savez(path, **{key: array})``);
* a ``.npy`` holding a ``{key: array}`` dict (``np.save(path, dict)``; pickled, so read only
  files you made: it is loaded with ``allow_pickle=True``);
* a folder of per-file ``.npy``, each named like the audio file with ``.npy`` for its suffix:
  ``<folder>/<corpus>/<path>`` or ``<folder>/<path>`` (e.g. ``emb/ravdess/Actor_01/03-01-….npy``
  for ``ravdess/Actor_01/03-01-….wav``).

A row's key is ``"<corpus>/<path>"`` (e.g. ``ravdess/Actor_01/03-01-01-01-01-01-01.wav``,
``predictions.csv``'s ``file`` column); a keyed file may also use the bare ``path``. A missing
key, a vector where a sequence is expected (or the reverse) and a width that differs from the
reference entry's (the first key / file in sorted order) raise ``ExternalError`` naming the key
and the fix.

Augmented copies: an embedding of the original audio is not an embedding of the augmented audio,
so ``augment.copies`` must be 0 with external features (``check_config`` says so) rather than
silently duplicating rows. The statistical and gender features are still computed from the audio,
so SER-FusionNet's fusion works unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path, PurePosixPath

import numpy as np

from serjax.features import spec


class ExternalError(ValueError):
    """External features that cannot be used; the message names the key/file and the fix."""


def row_key(corpus: str, path: str) -> str:
    return f"{corpus}/{path}"


def check_config(config) -> None:
    """Refuses augmentation with external features (module doc) before any work is done."""
    kind = spec.acoustic_kind(config.features)
    if kind in spec.EXTERNAL_KINDS and int(config.augment.copies) > 0:
        raise ExternalError(
            f"features.acoustic={kind!r} cannot embed augmented audio (augment.copies="
            f"{config.augment.copies}): compute embeddings of augmented copies yourself, or set "
            "--config.augment.copies=0")


class _Keyed:
    """A ``.npz`` / ``.npy`` dict: key -> array, read lazily (``.npz`` members on demand)."""

    def __init__(self, path: Path):
        self.path = path
        if path.suffix == ".npz":
            self._data = np.load(path, allow_pickle=False)
            self._keys = set(self._data.files)
        else:
            loaded = np.load(path, allow_pickle=True)
            if loaded.dtype != object or loaded.shape != ():
                raise ExternalError(f"{path} holds one array {loaded.shape}, not a {{key: array}} "
                                    "dict; save one with np.save(path, {key: array}) or use .npz")
            self._data = loaded.item()
            self._keys = set(self._data)

    def first(self) -> str:
        if not self._keys:
            raise ExternalError(f"{self.path} holds no arrays; save one per utterance key")
        return min(self._keys)

    def read(self, key: str) -> np.ndarray:
        return np.asarray(self._data[key])

    def get(self, corpus: str, path: str) -> np.ndarray:
        for key in (row_key(corpus, path), path):
            if key in self._keys:
                return np.asarray(self._data[key])
        sample = ", ".join(sorted(self._keys)[:3])
        raise ExternalError(f"{self.path} has no entry for key {row_key(corpus, path)!r} (nor "
                            f"{path!r}); its keys look like: {sample}. Add that utterance's "
                            "features, or drop the file from the corpus")


class _Folder:
    """A folder of per-file ``.npy`` named like the audio files (module doc)."""

    def __init__(self, path: Path):
        self.path = path

    def first(self) -> str:
        first = min((str(p.relative_to(self.path)) for p in self.path.rglob("*.npy")),
                    default=None)
        if first is None:
            raise ExternalError(f"{self.path} holds no .npy files; write one per audio file")
        return first

    def read(self, name: str) -> np.ndarray:
        return np.load(self.path / name, allow_pickle=False)

    def candidates(self, corpus: str, path: str) -> list[Path]:
        stem = PurePosixPath(path).with_suffix(".npy")
        return [self.path / corpus / stem, self.path / stem]

    def get(self, corpus: str, path: str) -> np.ndarray:
        tried = self.candidates(corpus, path)
        for file in tried:
            if file.is_file():
                return np.load(file, allow_pickle=False)
        raise ExternalError(f"no features for key {row_key(corpus, path)!r}: none of "
                            f"{', '.join(map(str, tried))} exists; write that file, or drop the "
                            "utterance from the corpus")


def _stamp(external_path: str) -> int:
    """The file's mtime: a rewritten file gets a fresh reader (folders are read per row)."""
    path = Path(external_path).expanduser()
    return path.stat().st_mtime_ns if path.is_file() else 0


def source(external_path: str):
    """The reader for ``features.external_path`` (one per process, reused across rows)."""
    return _source(external_path, _stamp(external_path))


@functools.lru_cache(maxsize=4)
def _source(external_path: str, stamp: int):
    path = Path(external_path).expanduser()
    if path.is_dir():
        return _Folder(path)
    if path.is_file() and path.suffix in (".npz", ".npy"):
        return _Keyed(path)
    raise ExternalError(f"features.external_path={external_path!r} is neither a folder of .npy "
                        "nor a .npz/.npy file; point it at the embeddings you computed")


def features(corpus: str, path: str, features_config) -> np.ndarray:
    """One row's external features, float32 [D] (``external``) or [T, D] (``external_frames``),
    shape-checked against the kind."""
    kind = spec.acoustic_kind(features_config)
    value = np.asarray(source(str(features_config.external_path)).get(corpus, path), np.float32)
    want = 2 if kind == "external_frames" else 1
    if value.ndim != want:
        other = "external" if want == 2 else "external_frames"
        shape = "a sequence [T, D]" if want == 2 else "a vector [D]"
        raise ExternalError(f"{features_config.external_path}: key {row_key(corpus, path)!r} "
                            f"has shape {value.shape}, but features.acoustic={kind!r} needs "
                            f"{shape}; use features.acoustic={other!r} or re-save the features")
    if value.shape[-1] == 0 or (want == 2 and value.shape[0] == 0):
        raise ExternalError(f"{features_config.external_path}: key {row_key(corpus, path)!r} is "
                            f"empty (shape {value.shape}); recompute that utterance's features")
    check_width(corpus, path, value, str(features_config.external_path))
    return value


def reference(external_path: str) -> tuple[str, int]:
    """(name, width) of the first entry in sorted order: every row must have its width. Read
    the same way in every process, so shards computed apart agree."""
    return _reference(external_path, _stamp(external_path))


@functools.lru_cache(maxsize=4)
def _reference(external_path: str, stamp: int) -> tuple[str, int]:
    reader = source(external_path)
    name = reader.first()
    return name, int(np.shape(reader.read(name))[-1])


def width(features_config) -> int:
    """The feature width D of ``features.external_path`` (its first entry's)."""
    return reference(str(features_config.external_path))[1]


def check_width(corpus: str, path: str, value: np.ndarray, external_path: str) -> None:
    """Every row's width must be the reference entry's; a row with another is named."""
    name, expected = reference(external_path)
    if value.shape[-1] != expected:
        raise ExternalError(f"{external_path}: key {row_key(corpus, path)!r} has "
                            f"{value.shape[-1]} features per vector, {name!r} has {expected}; "
                            "every utterance needs the same width (same model and layer)")


def fingerprint(external_path: str) -> str:
    """Changes when the external features change (names, sizes and mtimes of the file or of the
    folder's ``.npy``), so the FeatureSet cache key tracks the files, not only their path."""
    path = Path(external_path).expanduser()
    files = sorted(path.rglob("*.npy")) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        stat = os.stat(file) if file.exists() else None
        digest.update(f"{file.relative_to(path) if path.is_dir() else file.name}:"
                      f"{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else -1}\n"
                      .encode())
    return digest.hexdigest()
