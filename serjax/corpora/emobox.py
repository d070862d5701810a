"""EmoBox corpora: an EmoBox data folder read as a manifest corpus, with its official folds.

EmoBox (Ma et al., 2024, github.com/emo-box/EmoBox) ships, per corpus, a folder
``data/<corpus>/`` holding

* ``<corpus>.jsonl``: one JSON object per utterance with ``key``, ``dataset``, ``wav`` (the
  audio path under the user's download folder), ``sample_rate``, ``num_frame``, ``length``,
  ``emo``, ``channel`` (and ``start_time`` / ``end_time`` for segments of longer files);
* ``fold_<k>/<corpus>_train_fold_<k>.jsonl`` and ``..._test_fold_<k>.jsonl`` (k from 1; a few
  corpora also ship ``..._valid_fold_<k>.jsonl``): the official folds, by key;
* ``label_map.json``: ``{emo value: label name}`` (e.g. RAVDESS's ``"Fearful": "Fear"``).

:func:`read` turns the corpus file into a :class:`serjax.corpora.manifest.Manifest` (``wav``
paths resolved under the ``audio_root`` you pass; ``emo`` mapped through ``label_map.json``,
whose absence leaves ``emo`` as it is), so it is built, cached and featurised exactly as a
manifest is. :func:`read_folds` returns the official folds.

**Speakers.** EmoBox's files carry no speaker field. Where the wav file name says who speaks,
serjax reads it: RAVDESS, CREMA-D (``cremad``), SAVEE and TESS names through
:mod:`serjax.corpora.naming`, EmoDB's ``03a01Fa.wav`` (speaker = the first two digits, gender
from EmoDB's speaker table). Every other row's speaker is ``manifest.UNKNOWN_SPEAKER``; how
validation rows are then chosen, and how the protocol is labelled, is
``serjax.splits.speaker_folds.given_splits``'s business.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath

from serjax.corpora import manifest, naming
from serjax.corpora.manifest import ManifestError, Utterance

LABEL_MAP = "label_map.json"
#: EmoBox dataset names of the corpora whose file names naming.py parses.
NAMING_CORPORA = {"ravdess": "ravdess", "cremad": "crema_d", "crema_d": "crema_d",
                  "savee": "savee", "tess": "tess"}
#: EmoDB's ten speakers (Burkhardt et al., 2005): the first two digits of a file name.
EMODB_GENDERS = {"03": naming.MALE, "08": naming.FEMALE, "09": naming.FEMALE,
                 "10": naming.MALE, "11": naming.MALE, "12": naming.MALE, "13": naming.FEMALE,
                 "14": naming.FEMALE, "15": naming.MALE, "16": naming.FEMALE}
_EMODB_RE = re.compile(r"^(\d\d)[a-z]\d\d[A-Z][a-z]?$")
_KNOWN_FIELDS = ("key", "wav", "emo", "start_time", "end_time")


@dataclasses.dataclass(frozen=True)
class GivenFold:
    """One official fold, by row key. ``valid`` is empty unless the corpus ships one."""

    name: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    valid: tuple[str, ...] = ()


def speaker_from_name(dataset: str, wav: str) -> tuple[str, int] | None:
    """(speaker id, gender) from a wav file name, or None when the name does not say."""
    name = PurePosixPath(wav.replace("\\", "/")).name
    corpus = NAMING_CORPORA.get(dataset.lower())
    if corpus is not None:
        try:
            info = naming.parse(corpus, name)
        except (naming.UnknownFileName, KeyError):
            return None
        return info.actor.partition("/")[2], info.gender
    if dataset.lower() == "emodb":
        m = _EMODB_RE.match(PurePosixPath(name).stem)
        if m and m.group(1) in EMODB_GENDERS:
            return m.group(1), EMODB_GENDERS[m.group(1)]
    return None


def corpus_file(emobox_dir: Path) -> Path:
    """``<dir>/<dir name>.jsonl``, else the only ``*.jsonl`` directly in the folder."""
    if not emobox_dir.is_dir():
        raise ManifestError(f"data.emobox_dir={emobox_dir} is not a folder; pass EmoBox's "
                            "data/<corpus>/ folder (it holds <corpus>.jsonl and fold_1/ ...)")
    named = emobox_dir / f"{emobox_dir.name}.jsonl"
    if named.is_file():
        return named
    found = sorted(emobox_dir.glob("*.jsonl"))
    if len(found) != 1:
        raise ManifestError(f"{emobox_dir}: expected {named.name} (or one .jsonl file) beside "
                            f"the fold_<k>/ folders, found {[p.name for p in found]}; pass "
                            "EmoBox's data/<corpus>/ folder")
    return found[0]


def read_label_map(emobox_dir: Path) -> tuple[dict[str, str], bytes]:
    path = emobox_dir / LABEL_MAP
    if not path.is_file():
        return {}, b""
    data = path.read_bytes()
    try:
        table = json.loads(manifest.decode_text(path, data))
    except ValueError as err:
        raise ManifestError(f"{path}: not JSON ({err}); it should map each emo value to its "
                            "label name, e.g. {\"Fearful\": \"Fear\"}") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ManifestError(f"{path}: should be a JSON object of strings, e.g. "
                            "{\"Fearful\": \"Fear\"}")
    return {str(k): v.strip() for k, v in table.items()}, data


def _utterance(path: Path, root: Path, line: int, record: dict, labels: dict) -> Utterance:
    for field in ("key", "wav", "emo"):
        if not record.get(field):
            raise ManifestError(f"{path}: line {line} has no {field!r}; EmoBox lines hold key, "
                                "wav, emo (and dataset, sample_rate, ...)")
    emo = record["emo"]
    if labels and emo not in labels:
        raise ManifestError(f"{path}: line {line}: emo {emo!r} is not in {LABEL_MAP} "
                            f"({sorted(labels)}); add it there")
    rel, abspath = manifest.resolve_path(path, line, root, record["wav"])
    found = speaker_from_name(record.get("dataset") or path.stem, record["wav"])
    speaker, gender = found or (manifest.UNKNOWN_SPEAKER, manifest.UNKNOWN_GENDER)
    start = manifest.seconds(path, line, record, "start_time")
    end = manifest.seconds(path, line, record, "end_time")
    metadata = tuple(sorted((k, v) for k, v in record.items()
                            if k not in _KNOWN_FIELDS and v is not None))
    return Utterance(record["key"], rel, abspath, labels.get(emo, emo), speaker, gender,
                     start, end, metadata + (("emo", emo),), line)


def read(emobox_dir: str | os.PathLike, audio_root: str | os.PathLike) -> manifest.Manifest:
    """An EmoBox corpus folder as a Manifest, its ``wav`` paths under ``audio_root``."""
    emobox_dir = Path(emobox_dir).expanduser().resolve()
    path = corpus_file(emobox_dir)
    root = Path(audio_root).expanduser().resolve() if str(audio_root) else None
    if root is None or not root.is_dir():
        raise ManifestError(f"data.audio_root={audio_root!r} is not a folder; pass the folder "
                            "EmoBox's wav paths start from (the one holding downloads/)")
    data = path.read_bytes()
    labels, label_bytes = read_label_map(emobox_dir)
    records = manifest.jsonl_records(path, manifest.decode_text(path, data))
    rows = [_utterance(path, root, line, record, labels) for line, record in records]
    rows = manifest.check_rows(path, rows, has_gender=False)
    known = any(r.gender != manifest.UNKNOWN_GENDER for r in rows)
    content = hashlib.sha256(data + b"\0" + label_bytes).hexdigest()
    return manifest.Manifest(manifest.corpus_name(path), path, root, rows,
                             manifest.label_order(r.emotion for r in rows), content, known)


def _fold_keys(path: Path, known: set[str] | None) -> tuple[str, ...]:
    data = path.read_bytes()
    keys = []
    for line, record in manifest.jsonl_records(path, manifest.decode_text(path, data)):
        key = record.get("key")
        if not key:
            raise ManifestError(f"{path}: line {line} has no 'key'")
        if known is not None and key not in known:
            raise ManifestError(f"{path}: line {line}: key {key!r} is not in the corpus file; "
                                "use the fold files that came with it")
        keys.append(key)
    return tuple(keys)


def read_folds(emobox_dir: str | os.PathLike, keys=None) -> list[GivenFold]:
    """The official folds of an EmoBox corpus folder, ``fold_1``, ``fold_2``, ... in order.
    With ``keys`` (the corpus's row keys), a fold key outside them is an error."""
    emobox_dir = Path(emobox_dir).expanduser().resolve()
    name = corpus_file(emobox_dir).stem
    known = set(keys) if keys is not None else None
    numbered = sorted((int(m.group(1)), p) for p in emobox_dir.iterdir()
                      if p.is_dir() and (m := re.fullmatch(r"fold_?(\d+)", p.name)))
    if not numbered:
        raise ManifestError(f"{emobox_dir}: no fold_<k>/ folders; EmoBox's folds live in "
                            f"fold_1/{name}_train_fold_1.jsonl ...")
    out = []
    for k, folder in numbered:
        files = {part: folder / f"{name}_{part}_fold_{k}.jsonl"
                 for part in ("train", "test", "valid")}
        for part in ("train", "test"):
            if not files[part].is_file():
                raise ManifestError(f"{folder}: {files[part].name} is missing; copy the fold "
                                    "files from EmoBox's data folder")
        valid = _fold_keys(files["valid"], known) if files["valid"].is_file() else ()
        out.append(GivenFold(f"fold_{k}", _fold_keys(files["train"], known),
                             _fold_keys(files["test"], known), valid))
    return out
