"""The shared TFDS builder behind ``datasets/<corpus>/``: manual dir in, array_record out.

Each corpus module only sets its name, version, instructions and corpus key; everything else
lives here, once:

* **TensorFlow-free.** Records are ``array_record``; audio is an int16 ``Tensor`` (mono, the
  file's own rate, stereo averaged) plus ``sample_rate``. TFDS's ``Audio`` feature and
  ``dl_manager.extract`` are not used: both import TensorFlow.
* **One split.** ``train`` holds every usable file; folds are metadata (actor ids), not splits.
  TFDS reorders records when writing, so ``path`` (relative to the manual dir) is the stable id.
* **Registered names** are ``serjax_<corpus>`` (``serjax_ravdess`` ...): TFDS ships its own
  ``crema_d`` and ``savee`` builders (other layouts, TensorFlow-based), and registering the same
  name twice raises. The prefix also keeps our prepared data apart from stock TFDS data in a
  shared ``~/tensorflow_datasets``. Read prepared data with
  ``tfds.builder_from_directory(version_dir)``; no registry lookup is needed.
* **Bad input** (see :mod:`serjax.corpora.discover`): a file whose name fits no pattern or whose audio is
  empty, truncated, mislabelled, undecodable, NaN/Inf or too short is skipped and listed with
  its reason in ``build_manifest.json`` beside the records, and one warning sums the skips up.
  Duplicate trees count once (duplicates listed). A missing or empty manual dir, or a corpus
  with no usable file, raises :class:`serjax.corpora.discover.DatasetError` and leaves no
  half-written dataset.
"""

from __future__ import annotations

import collections
import json
import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from serjax import __version__
from serjax.corpora import naming
from serjax.corpora.audio_file import BadAudio, read_int16
from serjax.corpora.discover import DatasetError, Discovery, discover

MANIFEST_NAME = "build_manifest.json"
#: Metadata columns of every record, in record order, written beside the records.
RECORD_INDEX_NAME = "record_index.json"
STRING_COLUMNS = ("corpus", "path", "actor", "statement", "intensity")
NUMBER_COLUMNS = ("gender", "label", "sample_rate")
GENDER_NAMES = ("female", "male")   # index 1 = male = naming.MALE
assert GENDER_NAMES[naming.MALE] == "male" and GENDER_NAMES[naming.FEMALE] == "female"

log = logging.getLogger("serjax.corpora.dataset")


def builder_name(corpus: str) -> str:
    """The registered TFDS name of a corpus's builder (and its folder in a data dir)."""
    return f"serjax_{corpus}"


def features() -> tfds.features.FeaturesDict:
    """The example spec shared by all four naming."""
    return tfds.features.FeaturesDict({
        # BYTES: stored as raw little-endian int16, not as a varint int64 list.
        "audio": tfds.features.Tensor(shape=(None,), dtype=np.int16,
                                      encoding=tfds.features.Encoding.BYTES),
        "sample_rate": tfds.features.Scalar(dtype=np.int32),
        "label": tfds.features.ClassLabel(names=naming.LABELS),
        "corpus": tfds.features.Text(),
        "actor": tfds.features.Text(),
        "gender": tfds.features.ClassLabel(names=GENDER_NAMES),
        "statement": tfds.features.Text(),
        "intensity": tfds.features.Text(),
        "path": tfds.features.Text(),
    })


class CorpusBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Builds one corpus from a manual directory. Subclasses set ``name``, ``CORPUS``,
    ``VERSION``, ``RELEASE_NOTES``, ``HOMEPAGE`` and ``MANUAL_DOWNLOAD_INSTRUCTIONS``."""

    CORPUS: ClassVar[str]
    HOMEPAGE: ClassVar[str] = ""

    def __init__(self, *, file_format: str = "array_record", **kwargs):
        super().__init__(file_format=file_format, **kwargs)
        self.discovery: Discovery | None = None
        self.used: list[str] = []
        self.bad_audio: list[tuple[str, str]] = []
        self.manifest: dict | None = None

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=features(), supervised_keys=("audio", "label"), homepage=self.HOMEPAGE)

    def _split_generators(self, dl_manager):
        try:
            manual_dir = dl_manager.manual_dir
        except AssertionError as err:   # TFDS's own "does not exist or is empty"
            raise DatasetError(f"{self.CORPUS}: {err}") from None
        # serjax.corpora.dataset.build discovers first (errors before TFDS starts); reuse that.
        if self.discovery is None or self.discovery.manual_dir != Path(manual_dir).resolve():
            self.discovery = discover(self.CORPUS, manual_dir)
        self.used, self.bad_audio = [], []
        return {"train": self._generate_examples(self.discovery)}

    def _generate_examples(self, discovery: Discovery):
        for found in discovery.files:
            try:
                audio, rate = read_int16(found.abspath)
            except BadAudio as err:
                self.bad_audio.append((found.path, str(err)))
                continue
            self.used.append(found.path)
            info = found.info
            yield found.path, {
                "audio": audio, "sample_rate": rate, "label": info.label,
                "corpus": info.corpus, "actor": info.actor, "gender": info.gender,
                "statement": info.statement, "intensity": info.intensity, "path": found.path,
            }
        if not self.used:   # raised inside TFDS's temporary folder: nothing half-written stays
            raise DatasetError(
                f"{self.CORPUS}: none of the {len(discovery.files)} files under "
                f"{discovery.manual_dir} could be read (first problem: {self.bad_audio[0][1]}); "
                "re-download and unpack the corpus")

    def _download_and_prepare(self, dl_manager, download_config=None):
        super()._download_and_prepare(dl_manager, download_config)
        save_manifest(self, self.CORPUS, build_manifest(self))

    def _post_download_and_prepare_hook(self) -> None:
        save_record_index(self)


def save_manifest(builder: tfds.core.DatasetBuilder, corpus: str, manifest: dict) -> None:
    """Keeps ``manifest`` on the builder, warns about skipped files and writes it beside the
    records (``data_dir`` is still TFDS's temporary folder: it appears with the records)."""
    builder.manifest = manifest
    warn_about_skips(corpus, manifest)
    with open(Path(builder.data_dir) / MANIFEST_NAME, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)


def save_record_index(builder: tfds.core.DatasetBuilder) -> None:
    """Runs once the records sit in their final version folder (the index reads them back;
    without it, serjax.corpora.dataset.load scans the records instead)."""
    index = {"num_records": builder.manifest["num_examples"], "columns": scan_records(builder)}
    with open(builder.data_path / RECORD_INDEX_NAME, "w", encoding="utf-8") as f:
        json.dump(index, f, separators=(",", ":"))


def scan_records(builder: tfds.core.DatasetBuilder) -> dict[str, list]:
    """Metadata of every ``train`` record of a prepared builder, in record order:
    {column: [value per record]}, ``num_samples`` from the audio's byte length.

    Records are parsed with TFDS's NumPy parser, not decoded (TFDS's own no-decode path
    imports TensorFlow), so the audio is measured, never converted."""
    from tensorflow_datasets.core import example_parser

    raw = builder.as_data_source(split="train",
                                 deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
    parse = example_parser.ExampleParserNp(
        builder.info.features.get_serialized_info()).parse_example
    columns = {name: [] for name in (*STRING_COLUMNS, *NUMBER_COLUMNS, "num_samples")}
    for start in range(0, len(raw), 1024):
        for example in map(parse, raw.__getitems__(range(start, min(start + 1024, len(raw))))):
            for name in STRING_COLUMNS:
                columns[name].append(example[name].decode())
            for name in NUMBER_COLUMNS:
                columns[name].append(int(example[name]))
            columns["num_samples"].append(len(example["audio"]) // 2)   # int16 = 2 bytes
    return columns


def read_record_index(version_dir, num_records: int) -> dict[str, list] | None:
    """The columns written at build time, or None when absent or not matching the records."""
    path = Path(version_dir) / RECORD_INDEX_NAME
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError):
        return None
    return index["columns"] if index.get("num_records") == num_records else None


def build_manifest(builder: CorpusBuilder) -> dict:
    """What went into the prepared dataset, and what was left out and why."""
    disc = builder.discovery
    used = set(builder.used)
    infos = [f.info for f in disc.files if f.path in used]
    actors_by_gender = collections.Counter(
        GENDER_NAMES[gender] for _, gender in {(i.actor, i.gender) for i in infos})
    skipped = [{"path": p, "reason": r} for p, r in disc.skipped + builder.bad_audio]
    return {
        "corpus": disc.corpus,
        "builder": builder.name,
        "version": str(builder.version),
        "serjax_version": __version__,
        "manual_dir": str(disc.manual_dir),
        "fingerprint": disc.fingerprint,
        "sex_table": disc.sex_table_source,
        "num_examples": len(infos),
        "counts": {
            "label": _count(naming.LABELS[i.label] for i in infos),
            "gender_files": _count(GENDER_NAMES[i.gender] for i in infos),
            "gender_actors": dict(sorted(actors_by_gender.items())),
            "actor": _count(i.actor for i in infos),
            "skipped": len(skipped),
            "duplicates": len(disc.duplicates),
            "ignored_non_wav": sum(disc.ignored.values()),
        },
        "skipped": sorted(skipped, key=lambda s: s["path"]),
        "duplicates": [{"path": d, "kept": k} for d, k in disc.duplicates],
        "ignored_non_wav": dict(sorted(disc.ignored.items())),
        "files": sorted(used),
    }


def _count(values) -> dict[str, int]:
    return dict(sorted(collections.Counter(values).items()))


def warn_about_skips(corpus: str, manifest: dict) -> None:
    """One warning summing up a build's skipped files (the manifest lists them all)."""
    skipped = manifest["skipped"]
    if skipped:
        shown = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3])
        more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
        log.warning("%s: skipped %d file(s), listed with reasons in %s: %s%s",
                    corpus, len(skipped), MANIFEST_NAME, shown, more)
