"""Building and reading prepared datasets; the SER Superset merge.

* :func:`build` runs a corpus's TFDS builder (``datasets/<corpus>/``) on a manual directory and
  writes ``<data_dir>/serjax_<corpus>/<version>/`` (array_record + ``build_manifest.json``).
* :func:`load` reads one prepared corpus into a :class:`CorpusTable` (columnar NumPy metadata
  sorted by ``path``; audio read on demand through TFDS's random-access data source).
* :func:`load_superset` merges the four corpora and drops *calm* and *surprise* (too few files),
  leaving six classes. Labels stay indices into the shared 8-label space ``naming.LABELS``
  (so a Superset label is never 1 or 7); map them with ``naming.SUPERSET_LABELS`` if you need
  0..5. On the full corpora: 12,162 files → 11,318, 121 actors (57 female, 64 male).
* :func:`ensure_built` builds what is missing or stale under a root holding one folder per corpus.
* :func:`build_manifest_corpus` / :func:`load_manifest_corpus` do the same for a manifest corpus
  (``serjax.corpora.manifest``, ``serjax.corpora.emobox``): one builder config per manifest
  content, built once; its table's labels index its own ``label_names``.

The data dir defaults to ``$SERJAX_DATA_DIR`` or ``~/tensorflow_datasets``. Nothing here needs
TensorFlow. Bad-input policy: see :mod:`serjax.corpora.tfds_base`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from serjax.corpora import manifest_builder, naming
from serjax.corpora.discover import DatasetError, discover, manual_dir_fingerprint
from serjax.corpora.manifest import Manifest
from serjax.corpora.tfds_base import (
    GENDER_NAMES,
    MANIFEST_NAME,
    STRING_COLUMNS,
    builder_name,
    read_record_index,
    scan_records,
)

__all__ = ["DatasetError", "BuildResult", "CorpusTable", "build", "load", "load_superset",
           "ensure_built", "default_data_dir", "version_dir"]

_BUILDER_CLASSES = {"ravdess": "Ravdess", "crema_d": "CremaD", "savee": "Savee", "tess": "Tess",
                    "manifest": "Manifest"}


def default_data_dir() -> Path:
    return Path(os.environ.get("SERJAX_DATA_DIR") or "~/tensorflow_datasets").expanduser()


def builder_class(corpus: str):
    """The TFDS builder class of a corpus (imported on first use)."""
    if corpus not in _BUILDER_CLASSES:
        raise DatasetError(f"unknown corpus {corpus!r}; choose one of {', '.join(naming.CORPORA)}")
    module = importlib.import_module(f"serjax_datasets.{corpus}")
    return getattr(module, _BUILDER_CLASSES[corpus])


def version_dir(corpus: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Where the current builder version of ``corpus`` is (or would be) prepared."""
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    return data_dir / builder_name(corpus) / str(builder_class(corpus).VERSION)


# --------------------------------------------------------------------------- building


@dataclasses.dataclass
class BuildResult:
    """A prepared corpus: where it is and what its manifest says."""

    corpus: str
    version_dir: Path
    num_examples: int
    manifest: dict

    def summary(self) -> str:
        """A small table: files, actors, genders, per-label counts, skipped files."""
        counts = self.manifest["counts"]
        genders = counts["gender_actors"]
        unknown = f", {genders['unknown']} unknown" if genders.get("unknown") else ""
        lines = [f"{self.corpus}: {self.num_examples} files from {len(counts['actor'])} actors "
                 f"({genders.get('male', 0)} male, {genders.get('female', 0)} female{unknown})",
                 f"  prepared in {self.version_dir}"]
        for name in (*GENDER_NAMES, "unknown"):
            if name != "unknown" or name in counts["gender_files"]:
                lines.append(f"  {name + ' files':<14}{counts['gender_files'].get(name, 0):>7}")
        for label in self.manifest.get("label_names", naming.LABELS):
            if label in counts["label"]:
                lines.append(f"  {label:<14}{counts['label'][label]:>7}")
        lines.append(f"  {'skipped':<14}{counts['skipped']:>7}"
                     + (f"  (reasons in {MANIFEST_NAME})" if counts["skipped"] else ""))
        lines.append(f"  {'duplicates':<14}{counts['duplicates']:>7}")
        lines.append(f"  sex table: {self.manifest['sex_table']}")
        return "\n".join(lines)


def read_manifest(vdir: str | os.PathLike) -> dict:
    path = Path(vdir) / MANIFEST_NAME
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: cannot read the build manifest ({err}); rebuild with "
                           "`serjax build CORPUS --manual-dir DIR`") from err


def build(corpus: str, manual_dir: str | os.PathLike,
          data_dir: str | os.PathLike | None = None, *, overwrite: bool = True) -> BuildResult:
    """Prepares ``corpus`` from ``manual_dir`` into ``data_dir``; replaces an older build unless
    ``overwrite`` is False (then an existing build is returned as is)."""
    import tensorflow_datasets as tfds  # TFDS import costs ~1 s: only when building

    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    cls = builder_class(corpus)
    builder = cls(data_dir=os.fspath(data_dir))
    vdir = Path(builder.data_path)
    if vdir.exists() and not overwrite:
        manifest = read_manifest(vdir)
        return BuildResult(corpus, vdir, manifest["num_examples"], manifest)
    # Discovered before TFDS starts, so a bad folder fails with our message and nothing else.
    builder.discovery = discover(corpus, manual_dir)
    manual_dir = builder.discovery.manual_dir
    mode = (tfds.download.GenerateMode.FORCE_REDOWNLOAD if vdir.exists()
            else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
    config = tfds.download.DownloadConfig(
        manual_dir=os.fspath(manual_dir), download_mode=mode,
        compute_stats=tfds.download.ComputeStatsMode.SKIP)
    # Nothing is downloaded; a throwaway download dir keeps TFDS's empty folders out of data_dir.
    with tempfile.TemporaryDirectory(prefix="serjax_tfds_") as download_dir:
        builder.download_and_prepare(download_config=config, download_dir=download_dir)
    return BuildResult(corpus, vdir, builder.manifest["num_examples"], builder.manifest)


def manifest_version_dir(corpus: Manifest, data_dir: str | os.PathLike | None = None,
                         fingerprint: str | None = None) -> Path:
    """Where a manifest corpus's current content is (or would be) prepared."""
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    name = manifest_builder.config_name(corpus, fingerprint or corpus.fingerprint())
    return data_dir / manifest_builder.NAME / name / str(builder_class("manifest").VERSION)


def build_manifest_corpus(corpus: Manifest,
                          data_dir: str | os.PathLike | None = None) -> BuildResult:
    """Prepares a manifest corpus into ``data_dir`` unless this content is prepared already
    (the builder config is keyed by content, so an existing build is current)."""
    import tensorflow_datasets as tfds

    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    builder = builder_class("manifest")(corpus=corpus, data_dir=os.fspath(data_dir))
    vdir = Path(builder.data_path)
    if (vdir / MANIFEST_NAME).exists() and (vdir / "dataset_info.json").exists():
        manifest = read_manifest(vdir)
        return BuildResult(corpus.name, vdir, manifest["num_examples"], manifest)
    mode = (tfds.download.GenerateMode.FORCE_REDOWNLOAD if vdir.exists()
            else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
    config = tfds.download.DownloadConfig(
        download_mode=mode, compute_stats=tfds.download.ComputeStatsMode.SKIP)
    with tempfile.TemporaryDirectory(prefix="serjax_tfds_") as download_dir:
        builder.download_and_prepare(download_config=config, download_dir=download_dir)
    return BuildResult(corpus.name, vdir, builder.manifest["num_examples"], builder.manifest)


def load_manifest_corpus(corpus: Manifest,
                         data_dir: str | os.PathLike | None = None) -> CorpusTable:
    """A manifest corpus's CorpusTable, built first if this content is not prepared yet."""
    vdir = build_manifest_corpus(corpus, data_dir).version_dir
    source, columns, fingerprint, manifest = _open_version_dir(vdir, manifest_builder.NAME)
    columns["_source"] = np.zeros(len(source), np.int16)
    columns["_record"] = np.arange(len(source), dtype=np.int64)
    order = np.argsort(columns["path"], kind="stable")
    columns = {name: values[order] for name, values in columns.items()}
    return CorpusTable(**columns, fingerprint=fingerprint, _sources=[source],
                       label_names=tuple(manifest["label_names"]))


def ensure_built(root: str | os.PathLike, corpora_: tuple[str, ...] | list[str] = naming.CORPORA,
                 data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Builds each corpus under ``root/<corpus>/`` that is not prepared yet, or whose folder
    changed since (file list, sizes, mtimes); returns {corpus: version_dir}."""
    root = Path(root).expanduser()
    out = {}
    for corpus in corpora_:
        manual_dir = find_corpus_folder(root, corpus)
        vdir = version_dir(corpus, data_dir)
        if not _is_current(vdir, manual_dir):
            # build() deletes the stale version folder (TFDS's FORCE_REDOWNLOAD) and rebuilds.
            vdir = build(corpus, manual_dir, data_dir).version_dir
        out[corpus] = vdir
    return out


def find_corpus_folder(root: Path, corpus: str) -> Path:
    """``root/<corpus>/`` (also ``crema-d``, any letter case), or DatasetError with the fix."""
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if child.is_dir() and child.name.lower() in (corpus, corpus.replace("_", "-")):
                return child
    raise DatasetError(f"no folder {corpus}/ under {root}: put the unpacked {corpus} download "
                       f"there (or run `serjax synth all {root}` for synthetic data)")


def _is_current(vdir: Path, manual_dir: Path) -> bool:
    if not (vdir / MANIFEST_NAME).exists():
        return False
    manifest = read_manifest(vdir)
    return (manifest.get("manual_dir") == str(manual_dir.resolve())
            and manifest.get("fingerprint") == manual_dir_fingerprint(manual_dir))


# --------------------------------------------------------------------------- reading


@dataclasses.dataclass(eq=False)
class CorpusTable:
    """Columnar metadata of prepared examples, one row each, sorted by ``path`` (within a
    corpus; a merged table is sorted by (corpus, path)). ``audio(i)`` reads row i's int16 mono
    samples at ``sample_rate[i]``."""

    corpus: np.ndarray        # str [N]
    path: np.ndarray          # str [N] relative path inside the corpus folder (stable id)
    actor: np.ndarray         # str [N] globally unique, e.g. "ravdess/01"
    gender: np.ndarray        # int8 [N], MALE = 1
    label: np.ndarray         # int8 [N], index into naming.LABELS
    statement: np.ndarray     # str [N]
    intensity: np.ndarray     # str [N]
    sample_rate: np.ndarray   # int32 [N]
    num_samples: np.ndarray   # int64 [N]
    fingerprint: str          # identifies the prepared data (builder, version, input files)
    _sources: list            # TFDS data sources, one per corpus
    _source: np.ndarray       # int16 [N] which source holds row i
    _record: np.ndarray       # int64 [N] record index of row i in its source
    label_names: tuple = naming.LABELS   # what ``label`` indexes (a manifest's own names)

    def __len__(self) -> int:
        return len(self.path)

    def audio(self, i: int) -> np.ndarray:
        """Row i's samples: int16 [num_samples[i]], mono, at sample_rate[i]."""
        record = self._sources[self._source[i]][int(self._record[i])]
        return np.asarray(record["audio"], dtype=np.int16)

    def select(self, rows: np.ndarray) -> CorpusTable:
        """A table of the given rows (indices or a boolean mask), same order rules."""
        columns = {f.name: getattr(self, f.name)[rows] for f in dataclasses.fields(self)
                   if isinstance(getattr(self, f.name), np.ndarray)}
        return CorpusTable(**columns, fingerprint=self.fingerprint, _sources=self._sources,
                           label_names=self.label_names)


@dataclasses.dataclass(eq=False)
class InMemoryTable:
    """The CorpusTable contract over clips already in memory (notebooks, tests, benchmarks):
    what ``serjax.features.precompute`` needs, without a prepared TFDS dataset. ``waves[i]`` is
    row i's int16 mono audio at ``sample_rate[i]``; ``fingerprint`` keys the feature cache, so
    give different data different fingerprints."""

    corpus: np.ndarray        # str [N]
    path: np.ndarray          # str [N]
    actor: np.ndarray         # str [N]
    gender: np.ndarray        # int8 [N], MALE = 1
    label: np.ndarray         # int8 [N], index into naming.LABELS
    sample_rate: np.ndarray   # int32 [N]
    waves: list               # int16 [n_i] per row
    fingerprint: str
    label_names: tuple = naming.LABELS   # what ``label`` indexes

    def __len__(self) -> int:
        return len(self.path)

    def audio(self, i: int) -> np.ndarray:
        return self.waves[i]


def _typed(columns: dict[str, list]) -> dict[str, np.ndarray]:
    out = {name: np.array(columns[name], dtype=str) for name in STRING_COLUMNS}
    out["gender"] = np.array(columns["gender"], np.int8)
    out["label"] = np.array(columns["label"], np.int8)
    out["sample_rate"] = np.array(columns["sample_rate"], np.int32)
    out["num_samples"] = np.array(columns["num_samples"], np.int64)
    return out


def _open_corpus(corpus: str, data_dir) -> tuple[object, dict[str, np.ndarray], str]:
    """(audio source, metadata columns in record order, fingerprint) of one prepared corpus."""
    vdir = version_dir(corpus, data_dir)
    if not (vdir / "dataset_info.json").exists():
        raise DatasetError(f"{corpus} is not prepared in {vdir.parent.parent}: run "
                           f"`serjax build {corpus} --manual-dir DIR --data-dir "
                           f"{vdir.parent.parent}` first")
    return _open_version_dir(vdir, builder_name(corpus))[:3]


def _open_version_dir(vdir: Path, name: str):
    """(audio source, columns in record order, fingerprint, build manifest) of a prepared
    version folder; ``name`` is the builder's registered name."""
    import tensorflow_datasets as tfds

    manifest = read_manifest(vdir)
    builder = tfds.builder_from_directory(os.fspath(vdir))
    source = builder.as_data_source(split="train")
    # The build writes the metadata in record order beside the records; reading it is ~100x
    # faster than decompressing every record. Older or foreign builds are scanned instead.
    columns = read_record_index(vdir, len(source)) or scan_records(builder)
    fingerprint = hashlib.sha256(
        f"{name}:{manifest['version']}:{manifest['fingerprint']}:"
        f"{len(source)}".encode()).hexdigest()[:16]
    return source, _typed(columns), fingerprint, manifest


def load(corpus: str, data_dir: str | os.PathLike | None = None) -> CorpusTable:
    """Reads one prepared corpus (see :class:`CorpusTable`)."""
    return _merge([corpus], data_dir)


def load_superset(data_dir: str | os.PathLike | None = None) -> CorpusTable:
    """The four corpora merged, calm and surprise dropped (six classes, labels still indices
    into naming.LABELS)."""
    table = _merge(list(naming.CORPORA), data_dir)
    keep = np.isin(table.label, [naming.LABEL_INDEX[n] for n in naming.SUPERSET_LABELS])
    merged = table.select(keep)
    merged.fingerprint = hashlib.sha256(f"superset:{table.fingerprint}".encode()).hexdigest()[:16]
    return merged


def _merge(corpus_names: list[str], data_dir) -> CorpusTable:
    sources, parts, prints = [], [], []
    for k, corpus in enumerate(corpus_names):
        source, columns, fingerprint = _open_corpus(corpus, data_dir)
        columns["_source"] = np.full(len(source), k, np.int16)
        columns["_record"] = np.arange(len(source), dtype=np.int64)
        sources.append(source)
        parts.append(columns)
        prints.append(fingerprint)
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    order = np.lexsort((columns["path"], columns["corpus"]))
    columns = {name: values[order] for name, values in columns.items()}
    fingerprint = (prints[0] if len(prints) == 1
                   else hashlib.sha256(":".join(prints).encode()).hexdigest()[:16])
    return CorpusTable(**columns, fingerprint=fingerprint, _sources=sources)
