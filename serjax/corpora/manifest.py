"""Manifest corpora: your own corpus as a CSV or JSONL file, one row per utterance.

Columns (CSV header, or JSONL object fields):

* ``path`` (required): the audio file, relative to the manifest's folder (POSIX ``/``) or
  absolute. A relative path may not climb out of that folder (``../``): copy or link the audio
  in, or write the absolute path.
* ``emotion`` (required): the label, any name; the label set is the manifest's own (two
  classes or more). ``config.labels`` then chooses, orders, merges or drops classes
  (``serjax.splits.classes``).
* ``speaker`` (required): a speaker id; folds are made of speakers. The row's actor id is
  ``<corpus>/<speaker>``, the corpus being named after the manifest file (``my_corpus.csv`` →
  ``my_corpus``), so a manifest ``ravdess.csv`` listing Kaggle's RAVDESS files gives exactly the
  RAVDESS builder's rows.
* ``gender`` (optional): ``m``/``f`` (or ``male``/``female``, any case; empty = unknown); one
  value per speaker. Without the column every speaker's gender is unknown
  (``UNKNOWN_GENDER``: folds are then not balanced by gender, and the models' gender input is
  a constant).
* ``key`` (optional): the row's unique id (default: ``path``, or ``path#start-end`` for a
  segment); it names the row in predictions, features and folds.
* ``start`` / ``end`` (optional, seconds): a segment of a longer file.
* any other column is kept as metadata in the prepared dataset.

Problems are reported before anything is built, naming the line and the fix: missing columns,
empty values, duplicate keys, unknown gender values, a speaker with two genders, paths that
escape the folder, bad segment times, a one-class label column, text that is not UTF-8.
A listed file that does not exist is skipped and listed with its reason (the build manifest
records it; all of them missing is an error), as unreadable audio is.

Pure reading and checking: no audio is decoded here, nothing is written.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import re
from pathlib import Path, PurePosixPath

from serjax.corpora import audio_file, naming
from serjax.corpora.discover import DatasetError

REQUIRED = ("path", "emotion", "speaker")
OPTIONAL = ("gender", "key", "start", "end")
#: Speaker of rows whose corpus does not say (EmoBox); such rows cannot form speaker folds.
UNKNOWN_SPEAKER = "?"
UNKNOWN_GENDER = -1
GENDER_VALUES = {"m": naming.MALE, "male": naming.MALE, "f": naming.FEMALE,
                 "female": naming.FEMALE}
#: FeatureSet labels are int8.
MAX_CLASSES = 127
_SUFFIXES = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".ndjson": None}


class ManifestError(DatasetError):
    """A manifest that cannot be used; the message names the file, the line and the fix."""


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One manifest row, checked."""

    key: str
    path: str                 # as written (normalised POSIX if relative)
    abspath: Path
    emotion: str
    speaker: str              # UNKNOWN_SPEAKER when the corpus does not say
    gender: int               # naming.MALE / naming.FEMALE / UNKNOWN_GENDER
    start: float | None       # seconds
    end: float | None
    metadata: tuple[tuple[str, str], ...]
    line: int                 # where it is written (1-based; a CSV header is line 1)


@dataclasses.dataclass
class Manifest:
    """A checked manifest: its rows (sorted by key) and what they say about the corpus."""

    name: str                         # corpus name: FeatureSet ``corpus``, actor prefix
    source: Path                      # the manifest file (or EmoBox folder)
    root: Path                        # relative paths resolve here
    rows: list[Utterance]
    label_names: tuple[str, ...]
    content_hash: str                 # sha256 of everything that defines the rows
    has_gender: bool

    def actor(self, row: Utterance) -> str:
        return f"{self.name}/{row.speaker}"

    def fingerprint(self) -> str:
        """sha256 of the content, the reader and every listed file's size and mtime (or its
        absence): changes when the manifest or any file it lists does."""
        digest = hashlib.sha256(
            f"{self.content_hash}\n{self.root}\nreader {audio_file.READER_VERSION}\n".encode())
        for path in sorted({str(r.abspath) for r in self.rows}):
            try:
                stat = os.stat(path)
                digest.update(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{path}\tmissing\n".encode())
        return digest.hexdigest()


def corpus_name(path: str | os.PathLike) -> str:
    """The corpus name of a manifest file: its stem, lower case, ``[a-z0-9_]`` only."""
    name = re.sub(r"[^a-z0-9_]+", "_", Path(path).stem.lower()).strip("_")
    return name or "manifest"


def label_order(names) -> tuple[str, ...]:
    """A label set in a fixed order, whatever the row order: ``naming.LABELS`` order when every
    name is one of the Kaggle label space's (a RAVDESS manifest keeps RAVDESS's order), else
    sorted."""
    names = set(names)
    if names <= set(naming.LABELS):
        return tuple(n for n in naming.LABELS if n in names)
    return tuple(sorted(names))


# --------------------------------------------------------------------------- reading files


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 text (a BOM is dropped), or ManifestError naming the line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ManifestError(
            f"{path}: line {line} is not UTF-8 text (byte 0x{data[err.start]:02x}); save the "
            "manifest as UTF-8 (e.g. `iconv -f latin1 -t utf-8 OLD > NEW`)") from None


def read_records(path: Path, text: str) -> list[tuple[int, dict]]:
    """(line, {column: value}) of every row of a CSV/TSV or JSONL manifest."""
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ManifestError(f"{path}: a manifest is a .csv, .tsv or .jsonl file; rename it to "
                            "the suffix of its format")
    if _SUFFIXES[suffix] is None:
        return jsonl_records(path, text)
    return _csv_records(path, text, _SUFFIXES[suffix])


def jsonl_records(path: Path, text: str) -> list[tuple[int, dict]]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise ManifestError(f"{path}: line {number} is not a JSON object ({err}); write one "
                                "object per line, e.g. {\"path\": \"a.wav\", \"emotion\": "
                                "\"angry\", \"speaker\": \"s1\"}") from None
        if not isinstance(record, dict):
            raise ManifestError(f"{path}: line {number} is {type(record).__name__}, not a JSON "
                                "object; write one object per line")
        out.append((number, {str(k).strip(): _text(v) for k, v in record.items()}))
    return out


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value.strip() if isinstance(value, str) else str(value)


def _csv_records(path: Path, text: str, delimiter: str) -> list[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise ManifestError(f"{path}: empty manifest; the first line is the header, e.g. "
                            "path,emotion,speaker")
    header = [h.strip() for h in header]
    lowered = [h.lower() if h.lower() in REQUIRED + OPTIONAL else h for h in header]
    repeated = sorted({h for h in lowered if lowered.count(h) > 1})
    if repeated:
        raise ManifestError(f"{path}: line 1 names column(s) {repeated} more than once; keep "
                            "one of each")
    out = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(lowered):
            raise ManifestError(f"{path}: line {reader.line_num} has {len(values)} fields, the "
                                f"header has {len(lowered)}; quote values that hold a "
                                f"{delimiter!r}")
        out.append((reader.line_num, {h: v.strip() for h, v in zip(lowered, values)}))
    return out


# --------------------------------------------------------------------------- checking rows


def _where(path: Path, line: int) -> str:
    return f"{path}: line {line}"


def _required(path, line, record, column) -> str:
    value = record.get(column)
    if value is None:
        raise ManifestError(f"{_where(path, line)} has no {column!r} column; every row needs "
                            f"{', '.join(REQUIRED)}")
    if not value:
        raise ManifestError(f"{_where(path, line)}: empty {column!r}; fill it in or delete the "
                            "row")
    if "\n" in value or "\r" in value:
        raise ManifestError(f"{_where(path, line)}: {column!r} holds a line break; remove it")
    return value


def seconds(path, line, record, column) -> float | None:
    text = record.get(column)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ManifestError(f"{_where(path, line)}: {column}={text!r} is not a time in seconds "
                            ">= 0; write e.g. 1.25")
    return value


def _gender(path, line, record) -> int:
    text = (record.get("gender") or "").lower()
    if not text:
        return UNKNOWN_GENDER
    if text not in GENDER_VALUES:
        raise ManifestError(f"{_where(path, line)}: gender {record['gender']!r} is not one of "
                            "m, f (or male, female); fix it, leave it empty for unknown, or "
                            "drop the gender column")
    return GENDER_VALUES[text]


def resolve_path(path: Path, line: int, root: Path, written: str) -> tuple[str, Path]:
    """(normalised path, absolute path); relative paths may not leave ``root``."""
    if os.path.isabs(written):
        return written, Path(written)
    rel = os.path.normpath(written).replace(os.sep, "/")
    if rel == ".." or rel.startswith("../") or rel == ".":
        raise ManifestError(f"{_where(path, line)}: path {written!r} leads outside {root}; move "
                            "the audio under the manifest's folder, or write its absolute path")
    return str(PurePosixPath(rel)), root / rel


def check_row(path: Path, root: Path, line: int, record: dict) -> Utterance:
    """One record -> Utterance, or ManifestError naming the line and the fix."""
    written = _required(path, line, record, "path")
    rel, abspath = resolve_path(path, line, root, written)
    emotion = _required(path, line, record, "emotion")
    speaker = _required(path, line, record, "speaker")
    start, end = seconds(path, line, record, "start"), seconds(path, line, record, "end")
    if start is not None and end is not None and end <= start:
        raise ManifestError(f"{_where(path, line)}: end={end:g} s is not after start={start:g} "
                            "s; a segment needs end > start")
    key = record.get("key")
    if key is not None:
        key = _required(path, line, record, "key")
    elif start is not None or end is not None:
        key = f"{rel}#{record.get('start') or ''}-{record.get('end') or ''}"
    else:
        key = rel
    metadata = tuple(sorted((k, v) for k, v in record.items()
                            if k not in REQUIRED + OPTIONAL and v is not None))
    return Utterance(key, rel, abspath, emotion, speaker, _gender(path, line, record),
                     start, end, metadata, line)


def check_rows(path: Path, rows: list[Utterance], has_gender: bool) -> list[Utterance]:
    """Whole-manifest checks: unique keys, one gender per speaker, two classes or more."""
    if not rows:
        raise ManifestError(f"{path}: no rows; list one utterance per row")
    first: dict[str, int] = {}
    for row in rows:
        if row.key in first:
            raise ManifestError(f"{path}: key {row.key!r} on line {row.line} is already used on "
                                f"line {first[row.key]}; keys must be unique (give segments of "
                                "one file their own key, or delete the repeated row)")
        first[row.key] = row.line
    genders: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.gender == UNKNOWN_GENDER:
            continue
        seen = genders.setdefault(row.speaker, (row.gender, row.line))
        if seen[0] != row.gender:
            raise ManifestError(f"{path}: speaker {row.speaker!r} is "
                                f"{naming.GENDER_NAMES[seen[0]]} on line {seen[1]} and "
                                f"{naming.GENDER_NAMES[row.gender]} on line {row.line}; give "
                                "each speaker one gender")
    if has_gender:   # speakers with an empty cell take the gender their other rows give
        rows = [dataclasses.replace(r, gender=genders.get(r.speaker, (UNKNOWN_GENDER, 0))[0])
                for r in rows]
    labels = sorted({r.emotion for r in rows})
    if len(labels) < 2:
        raise ManifestError(f"{path}: the emotion column holds one class ({labels[0]!r}); a "
                            "classifier needs two or more: list the other classes' rows too")
    if len(labels) > MAX_CLASSES:
        raise ManifestError(f"{path}: {len(labels)} emotion classes, more than {MAX_CLASSES}; "
                            "merge classes (is the emotion column the right one?)")
    return sorted(rows, key=lambda r: r.key)


def read(path: str | os.PathLike, *, name: str | None = None) -> Manifest:
    """Reads and checks a manifest file (see the module docstring)."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ManifestError(f"manifest {path}: cannot read it ({err.strerror}); pass the path "
                            "of a .csv, .tsv or .jsonl file") from None
    records = read_records(path, decode_text(path, data))
    if records and path.suffix.lower() in (".csv", ".tsv"):   # every CSV row has the header's
        missing = [c for c in REQUIRED if c not in records[0][1]]
        if missing:
            raise ManifestError(f"{path}: line 1 (the header) has no column {missing} (it has "
                                f"{list(records[0][1])}); a manifest needs "
                                f"{', '.join(REQUIRED)}")
    root = path.resolve().parent
    rows = [check_row(path, root, line, record) for line, record in records]
    has_gender = any("gender" in record for _, record in records)
    rows = check_rows(path, rows, has_gender)
    return Manifest(name or corpus_name(path), path.resolve(), root, rows,
                    label_order(r.emotion for r in rows),
                    hashlib.sha256(data).hexdigest(), has_gender)


def missing_files(manifest: Manifest) -> list[tuple[str, str]]:
    """(key, reason) of every row whose audio file does not exist."""
    out, exists = [], {}
    for row in manifest.rows:
        if row.abspath not in exists:
            exists[row.abspath] = row.abspath.is_file()
        if not exists[row.abspath]:
            out.append((row.key, (f"{row.abspath}: no such file (manifest line {row.line}); "
                                  "fix the path or delete the row")))
    return out


def speaker_genders(manifest: Manifest) -> dict[str, int]:
    """{actor id: gender} of every speaker (UNKNOWN_GENDER where not known)."""
    return {manifest.actor(r): r.gender for r in manifest.rows}
