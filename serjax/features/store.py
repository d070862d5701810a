"""The on-disk FeatureSet: a directory of ``.npy`` arrays (memory-mappable) + ``manifest.json``.

On-disk schema (``<cache_dir>/features-<key[:20]>/``), every array row-aligned (N rows):

==============  ====================  =====================================================
file            dtype / shape         meaning
==============  ====================  =====================================================
acoustic.npy    float32 [N, 162]      ``summary``: frame means (zcr 1, chroma 12, mfcc 20,
                or float16/32          rms 1, mel 128); ``frames``: per frame, zero-padded
                [N, T, 162]            to ``T = features.max_frames``; openSMILE ``egemaps``
                                      [N, 88], ``compare`` [N, 6373], ``egemaps_frames``
                                      [N, T, 25], ``compare_frames`` [N, T, 65];
                                      ``logmel_frames`` [N, T, n_mels]; ``external``
                                      [N, D], ``external_frames`` [N, T, D]
frame_mask.npy  bool [N, T]           (frame kinds only) True on real frames
num_frames.npy  int32 [N]             frames of the whole utterance (before any cut to T);
                                      0 for one-vector kinds (openSMILE functionals, external)
statistical.npy float32 [N, S]        ``manifest["statistical_names"]`` order (S = 8 or 6)
gender.npy      int8 [N]              MALE = 1, FEMALE = 0
label.npy       int8 [N]              index into ``manifest["label_names"]`` (the corpus's
                                      names; ``serjax.corpora.naming.LABELS`` when absent)
actor.npy       <U [N]                global actor id, e.g. ``ravdess/01``
corpus.npy      <U [N]                corpus name
path.npy        <U [N]                source file id (path inside its corpus folder)
augmented.npy   bool [N]              True for augmented copies
copy.npy        int8 [N]              0 = original, k >= 1 = k-th augmented copy
==============  ====================  =====================================================

``manifest.json``: ``format``, ``key`` (the cache key), ``config`` (audio / augment / features
sections), ``backend`` (resolved), ``tables`` (corpus, fingerprint, files), ``num_rows``,
``acoustic_kind``, ``acoustic_blocks`` (librosa kinds: name -> [start, stop) columns),
``acoustic_names`` (openSMILE kinds and ``logmel_frames``: one name per column),
``statistical_names``,
``label_names`` (what ``label`` indexes),
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


def _shard_layout(shard_paths) -> tuple[int, dict, list[dict]]:
    """Pass 1, one shard in memory at a time: (rows, {field: (dtype, row shape)}, skipped)."""
    rows, layout, skipped = 0, {}, []
    for path in shard_paths:
        arrays, shard_skipped = read_shard(path)
        skipped += shard_skipped
        rows += int(arrays["label"].shape[0])
        for name in (k for k in ROW_FIELDS if k in arrays):
            dtype = arrays[name].dtype
            if name in layout:  # strings: the widest shard's width, as np.concatenate does
                dtype = np.promote_types(layout[name][0], dtype)
            layout[name] = (dtype, arrays[name].shape[1:])
    return rows, layout, skipped


def write_feature_set(directory: Path, shard_paths: list[Path], make_manifest) -> Path:
    """Row-concatenates shard files into a FeatureSet directory, one shard in memory at a time.

    Each ``.npy`` is opened at its final shape (``open_memmap``) and filled shard by shard, so
    a frames FeatureSet of the full Superset (~2 GB) never sits in host memory twice.
    ``make_manifest(num_rows, skipped) -> dict`` builds the manifest (``format`` and ``fields``
    are added here). Atomic: written into a temporary sibling, then renamed to ``directory``.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    rows, layout, skipped = _shard_layout(shard_paths)
    fields = {k: {"dtype": str(d), "shape": [rows, *s]} for k, (d, s) in layout.items()}
    manifest = dict(make_manifest(rows, skipped), format=FORMAT, fields=fields)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{directory.name}-", dir=directory.parent))
    try:
        outs = {k: np.lib.format.open_memmap(tmp / f"{k}.npy", "w+", d, (rows, *s))
                for k, (d, s) in layout.items()}
        start = 0
        for path in shard_paths:  # pass 2: each shard written straight into its rows
            arrays, _ = read_shard(path)
            stop = start + int(arrays["label"].shape[0])
            for name, out in outs.items():
                out[start:stop] = arrays[name]
            start = stop
        for out in outs.values():
            out.flush()
        del outs
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
