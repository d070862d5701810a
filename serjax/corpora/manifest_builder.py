"""The TFDS builder behind ``datasets/manifest/``: a checked manifest in, array_record out.

The same machinery as the Kaggle builders (:mod:`serjax.corpora.tfds_base`): int16 audio plus
``sample_rate``, one ``train`` split, ``build_manifest.json`` and ``record_index.json`` beside
the records, no TensorFlow. What differs:

* **Keyed by content.** A manifest's prepared data is one TFDS builder config,
  ``<corpus>-<fingerprint[:12]>``, the fingerprint hashing the manifest's bytes, the reader
  version and every listed file's size and mtime (``Manifest.fingerprint``). An edited manifest
  or audio file gives another config, built beside the old one: a bad edit fails before
  anything is written, and nothing already cached is lost (delete stale configs by hand).
* **Its own labels.** ``label`` is a ClassLabel over the manifest's label names;
  ``gender`` is an int8 (``naming.MALE``, ``naming.FEMALE`` or ``manifest.UNKNOWN_GENDER``);
  ``path`` holds the row's key (the stable id), ``file`` the audio path as written, ``start``
  / ``end`` the segment in seconds (-1: the whole file), ``metadata`` the extra columns (JSON).
* **Bad rows.** A listed file that is missing, unreadable (:mod:`serjax.corpora.audio_file`),
  or whose segment lies past its end or is too short, is skipped and listed with its reason;
  no usable row at all raises DatasetError inside TFDS's temporary folder.
"""

from __future__ import annotations

import collections
import json
import logging
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from serjax import __version__
from serjax.corpora import manifest as manifest_lib
from serjax.corpora.audio_file import MIN_DURATION_S, BadAudio, read_int16
from serjax.corpora.discover import DatasetError
from serjax.corpora.tfds_base import (
    GENDER_NAMES,
    builder_name,
    save_manifest,
    save_record_index,
)

NAME = builder_name("manifest")


class _CustomConfigIsTheDesign(logging.Filter):
    """Every manifest is its own builder config, so TFDS's warning that one is custom says
    nothing; it is dropped (only that message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Using custom data configuration")


logging.getLogger("absl").addFilter(_CustomConfigIsTheDesign())
#: A segment may end this far past its file's end (rounding in the times written).
END_SLACK_S = 0.01


def config_name(corpus: manifest_lib.Manifest, fingerprint: str) -> str:
    return f"{corpus.name}-{fingerprint[:12]}"


def features(label_names) -> tfds.features.FeaturesDict:
    """The example spec of a manifest corpus (the Kaggle spec's columns, plus file/segment)."""
    return tfds.features.FeaturesDict({
        "audio": tfds.features.Tensor(shape=(None,), dtype=np.int16,
                                      encoding=tfds.features.Encoding.BYTES),
        "sample_rate": tfds.features.Scalar(dtype=np.int32),
        "label": tfds.features.ClassLabel(names=list(label_names)),
        "corpus": tfds.features.Text(),
        "actor": tfds.features.Text(),
        "gender": tfds.features.Scalar(dtype=np.int8),
        "statement": tfds.features.Text(),
        "intensity": tfds.features.Text(),
        "path": tfds.features.Text(),
        "file": tfds.features.Text(),
        "start": tfds.features.Scalar(dtype=np.float32),
        "end": tfds.features.Scalar(dtype=np.float32),
        "metadata": tfds.features.Text(),
    })


def cut_segment(samples: np.ndarray, rate: int, row: manifest_lib.Utterance) -> np.ndarray:
    """The row's segment of a file's samples (all of them without start/end), or BadAudio."""
    if row.start is None and row.end is None:
        return samples
    n = len(samples)
    first = round((row.start or 0.0) * rate)
    last = n if row.end is None else round(row.end * rate)
    where = f"{row.abspath} (manifest line {row.line})"
    if first >= n or last > n + END_SLACK_S * rate:
        raise BadAudio(f"{where}: segment {row.start or 0:g}-{row.end if row.end else 'end'} s "
                       f"lies past the file's end ({n / rate:.3f} s); fix start/end",
                       "bad_segment")
    last = min(last, n)
    if last - first < MIN_DURATION_S * rate:
        raise BadAudio(f"{where}: segment of {(last - first) / rate:.3f} s is too short to hold "
                       f"speech (minimum {MIN_DURATION_S} s); widen it or delete the row",
                       "too_short")
    return samples[first:last]


class ManifestCorpusBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Builds one manifest corpus; ``datasets/manifest`` sets the name, version and notes."""

    HOMEPAGE: ClassVar[str] = ""

    def __init__(self, *, corpus: manifest_lib.Manifest, file_format: str = "array_record",
                 **kwargs):
        self.corpus = corpus
        self.fingerprint = corpus.fingerprint()
        config = tfds.core.BuilderConfig(
            name=config_name(corpus, self.fingerprint),
            description=f"{corpus.source} ({len(corpus.rows)} rows)")
        self.used: list[manifest_lib.Utterance] = []
        self.skipped: list[tuple[str, str]] = []
        self.manifest: dict | None = None
        super().__init__(config=config, file_format=file_format, **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=features(self.corpus.label_names), supervised_keys=("audio", "label"),
            homepage=self.HOMEPAGE)

    def _split_generators(self, dl_manager):
        self.used, self.skipped = [], []
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        corpus = self.corpus
        missing = dict(manifest_lib.missing_files(corpus))
        self.skipped = sorted(missing.items())
        loaded_path, loaded = None, None
        # Rows of one file in a row: each file is read once, however many segments it holds.
        for row in sorted(corpus.rows, key=lambda r: (str(r.abspath), r.start or 0.0, r.key)):
            if row.key in missing:
                continue
            if row.abspath != loaded_path:
                loaded_path = row.abspath
                try:
                    loaded = read_int16(row.abspath)
                except BadAudio as err:
                    loaded = err
            try:
                if isinstance(loaded, BadAudio):
                    raise loaded
                samples, rate = loaded
                audio = cut_segment(samples, rate, row)
            except BadAudio as err:
                self.skipped.append((row.key, f"{err} (manifest line {row.line})"))
                continue
            self.used.append(row)
            yield row.key, {
                "audio": audio, "sample_rate": rate, "label": row.emotion,
                "corpus": corpus.name, "actor": corpus.actor(row), "gender": row.gender,
                "statement": "", "intensity": "", "path": row.key, "file": row.path,
                "start": -1.0 if row.start is None else row.start,
                "end": -1.0 if row.end is None else row.end,
                "metadata": json.dumps(dict(row.metadata), sort_keys=True),
            }
        if not self.used:
            raise DatasetError(
                f"{corpus.source}: none of its {len(corpus.rows)} rows could be read (first "
                f"problem: {self.skipped[0][1]}); check the paths (relative to {corpus.root})")

    def _download_and_prepare(self, dl_manager, download_config=None):
        super()._download_and_prepare(dl_manager, download_config)
        save_manifest(self, self.corpus.name, build_manifest(self))

    def _post_download_and_prepare_hook(self) -> None:
        save_record_index(self)


def _gender_name(gender: int) -> str:
    return GENDER_NAMES[gender] if gender in (0, 1) else "unknown"


def build_manifest(builder: ManifestCorpusBuilder) -> dict:
    """What went into the prepared dataset, and what was left out and why."""
    corpus, used = builder.corpus, builder.used
    speakers = {(corpus.actor(r), r.gender) for r in used}
    skipped = [{"path": k, "reason": r} for k, r in builder.skipped]
    count = collections.Counter
    return {
        "corpus": corpus.name,
        "builder": builder.name,
        "config": builder.builder_config.name,
        "version": str(builder.version),
        "serjax_version": __version__,
        "manifest": str(corpus.source),
        "root": str(corpus.root),
        "content_hash": corpus.content_hash,
        "fingerprint": builder.fingerprint,
        "label_names": list(corpus.label_names),
        "sex_table": ("manifest gender column" if corpus.has_gender
                      else "unknown (the manifest has no gender column)"),
        "num_examples": len(used),
        "counts": {
            "label": dict(sorted(count(r.emotion for r in used).items())),
            "gender_files": dict(sorted(count(_gender_name(r.gender) for r in used).items())),
            "gender_actors": dict(sorted(count(_gender_name(g) for _, g in speakers).items())),
            "actor": dict(sorted(count(corpus.actor(r) for r in used).items())),
            "skipped": len(skipped),
            "duplicates": 0,
        },
        "skipped": sorted(skipped, key=lambda s: s["path"]),
        "files": sorted(r.key for r in used),
    }
