"""The on-disk FeatureSet: a directory of ``.npy`` arrays (memory-mappable) + ``manifest.json``.

On-disk schema (``<cache_dir>/features-<key[:20]>/``), every array row-aligned (N rows):

==============  ====================  =====================================================
file            dtype / shape         meaning
==============  ====================  =====================================================
acoustic.npy    float32 [N, 162]      ``summary``: frame means (zcr 1, chroma 12, mfcc 20,
                or float16/32          rms 1, mel 128); ``frames``: per frame, zero-padded
                [N, T, 162]            to ``T = features.max_frames``
frame_mask.npy  bool [N, T]           (``frames`` only) True on real frames
num_frames.npy  int32 [N]             frames of the whole utterance (before any cut to T)
statistical.npy float32 [N, S]        ``manifest["statistical_names"]`` order (S = 8 or 6)
gender.npy      int8 [N]              MALE = 1, FEMALE = 0
label.npy       int8 [N]              index into ``serjax.corpora.LABELS``
actor.npy       <U [N]                global actor id, e.g. ``ravdess/01``
corpus.npy      <U [N]                corpus name
path.npy        <U [N]                source file id (path inside its corpus folder)
augmented.npy   bool [N]              True for augmented copies
copy.npy        int8 [N]              0 = original, k >= 1 = k-th augmented copy
==============  ====================  =====================================================

``manifest.json``: ``format``, ``key`` (the cache key), ``config`` (audio / augment / features
sections), ``backend`` (resolved), ``tables`` (corpus, fingerprint, files), ``num_rows``,
``acoustic_kind``, ``acoustic_blocks`` (name -> [start, stop) columns), ``statistical_names``,
``fields`` (name -> dtype, shape) and ``skipped`` (``corpus``, ``path``, ``copy``, ``reason``,
``detail`` for every row that could not give finite features).

Writes are atomic: a FeatureSet is written into a temporary sibling directory that is renamed
into place; a shard is a ``.npz`` written to a temporary name and ``os.replace``-d.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

FORMAT = "serjax-featureset-1"
MANIFEST = "manifest.json"
ROW_FIELDS = ("acoustic", "frame_mask", "num_frames", "statistical", "gender", "label", "actor",
              "corpus", "path", "augmented", "copy")


@dataclasses.dataclass(frozen=True)
class FeatureSet:
    """Row-aligned feature arrays (see the module docstring) and their manifest."""

    arrays: dict[str, np.ndarray]
    manifest: dict
    directory: Path | None = None

    @classmethod
    def load(cls, directory: str | os.PathLike, mmap: bool = True) -> "FeatureSet":
        """Open a FeatureSet directory; numeric arrays are memory-mapped when ``mmap``."""
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{manifest_path} is missing: {directory} is not a finished "
                                    "FeatureSet; rerun `serjax features` to (re)build it")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{manifest_path} has format {manifest.get('format')!r}, expected "
                             f"{FORMAT!r}; delete {directory} and rerun precompute")
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r" if mmap else None)
                  for name in manifest["fields"]}
        return cls(arrays, manifest, directory)

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(f"FeatureSet has no field {name!r}; fields: {sorted(arrays)}")

    @property
    def num_rows(self) -> int:
        return int(self.arrays["label"].shape[0])

    def select(self, rows) -> "FeatureSet":
        """A FeatureSet of the given rows (int indices or a bool mask [N]), in memory."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        arrays = {k: np.asarray(v[rows]) for k, v in self.arrays.items()}
        manifest = dict(self.manifest, num_rows=int(rows.shape[0]))
        return FeatureSet(arrays, manifest, None)


def _fields(arrays: dict[str, np.ndarray]) -> dict[str, dict]:
    return {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in arrays.items()}


def write_feature_set(directory: Path, arrays: dict[str, np.ndarray], manifest: dict) -> Path:
    """Write arrays + manifest into a temporary sibling, then rename it to ``directory``."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    manifest = dict(manifest, format=FORMAT, fields=_fields(arrays))
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{directory.name}-", dir=directory.parent))
    try:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        try:
            os.rename(tmp, directory)
        except OSError:
            if not (directory / MANIFEST).is_file():
                raise
            shutil.rmtree(tmp)  # another process finished the same key first: keep theirs
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def write_shard(path: Path, arrays: dict[str, np.ndarray], skipped: list[dict]) -> None:
    """One finished shard: arrays + its skipped rows (as JSON) in an ``.npz``, atomically."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(tmp, "wb") as fh:
        np.savez(fh, _skipped=np.array(json.dumps(skipped)), **arrays)
    os.replace(tmp, path)


def read_shard(path: Path) -> tuple[dict[str, np.ndarray], list[dict]]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "_skipped"}
        skipped = json.loads(str(data["_skipped"]))
    return arrays, skipped


def concatenate_shards(shards: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Row-concatenate shard arrays; string fields are re-typed to the widest shard's width."""
    names = [k for k in ROW_FIELDS if k in shards[0]]
    return {k: np.concatenate([s[k] for s in shards], axis=0) for k in names}
