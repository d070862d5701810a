"""Finding one corpus's files under a manual directory.

A manual directory holds a Kaggle download as unpacked: any depth of wrapper folders above the
corpus layout, folder names in any case, sometimes a second copy of the whole tree (RAVDESS's
``audio_speech_actors_01-24/``, TESS's nested ``tess toronto emotional speech set data/``).
Within a corpus every file name is unique, so:

* every audio file (``.wav``, ``.flac``, ``.ogg``, ``.opus``, ``.mp3``, suffix in any case) at any
  depth is a candidate; other files (a README, a CSV, ``.DS_Store``, macOS ``__MACOSX/`` and
  ``._*`` resource forks) are ignored silently and counted;
* a candidate whose name fits none of the corpus's patterns is skipped, with the reason;
* candidates are deduplicated by file name without its audio suffix (case-insensitive): the
  best encoding is kept (lossless first, ``audio_file.AUDIO_SUFFIXES`` order: CREMA-D ships
  AudioWAV/ and AudioMP3/ with the same names), then the shallowest copy (ties: the first in
  sorted path order); the others are listed as duplicates. Shallowest first keeps a whole tree
  together: in Kaggle's TESS, plain sorted order would keep OAF files from the outer tree but
  YAF files from the nested copy.

Audio is checked when it is read (:func:`serjax.corpora.audio_file.read_int16`): empty,
truncated, mislabelled, undecodable, NaN/Inf and too-short files raise :class:`audio_file.BadAudio` naming
the file and the problem; builders skip them and list the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from serjax.corpora import audio_file, naming

#: The file name of CREMA-D's actor table, looked for anywhere under a manual directory.
CREMA_D_DEMOGRAPHICS = "videodemographics.csv"
_MACOS_JUNK_DIRS = ("__macosx",)


class DatasetError(ValueError):
    """A manual directory or corpus that cannot be built; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class CorpusFile:
    """One usable-looking file: where it is and what its name says."""

    path: str                 # relative to the manual dir, POSIX separators: the stable id
    abspath: Path
    info: naming.FileInfo


@dataclasses.dataclass
class Discovery:
    """Everything found under one manual directory for one corpus."""

    corpus: str
    manual_dir: Path
    files: list[CorpusFile]             # sorted by path, one per file name
    skipped: list[tuple[str, str]]      # (path, reason): names that fit no pattern
    duplicates: list[tuple[str, str]]   # (duplicate path, kept path)
    ignored: dict[str, int]             # non-audio files by suffix (whole name if none)
    sex_table_source: str               # where genders come from
    fingerprint: str                    # hash of every file's path, size and mtime + reader


# --------------------------------------------------------------------------- manual directory


def check_manual_dir(corpus: str, manual_dir: str | os.PathLike) -> Path:
    """Returns ``manual_dir`` as an absolute Path, or raises DatasetError saying what to do."""
    path = Path(manual_dir).expanduser()
    hint = (f"download the {corpus} corpus from Kaggle, unpack it, and pass the unpacked "
            "folder as the manual directory")
    if not path.exists():
        raise DatasetError(f"manual directory {path} does not exist: {hint}")
    if not path.is_dir():
        raise DatasetError(f"manual directory {path} is a file, not a folder: {hint}")
    if not any(path.iterdir()):
        raise DatasetError(f"manual directory {path} is empty: {hint}")
    return path.resolve()


def _walk(root: Path) -> list[tuple[str, Path]]:
    """Every regular file under root as (relative POSIX path, absolute path), sorted
    case-insensitively (ties broken by case) so the result never depends on the file system."""
    found, seen_dirs = [], set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:          # a symlink back up the tree: do not loop
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = [d for d in dirnames if d.lower() not in _MACOS_JUNK_DIRS]
        for name in filenames:
            abspath = Path(dirpath) / name
            found.append((abspath.relative_to(root).as_posix(), abspath))
    return sorted(found, key=_sort_key)


def _sort_key(item: tuple[str, Path]) -> tuple[str, str]:
    return item[0].lower(), item[0]


def fingerprint_files(root: Path, files: list[tuple[str, Path]]) -> str:
    """sha256 over (path, size, mtime) of every file: changes when anything in the folder does,
    and when the audio reader decodes differently (earlier builds then count as stale)."""
    digest = hashlib.sha256(f"reader {audio_file.READER_VERSION}\n".encode())
    for rel, abspath in files:
        stat = abspath.stat()
        digest.update(f"{rel}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def manual_dir_fingerprint(manual_dir: str | os.PathLike) -> str:
    """The fingerprint :func:`discover` records, without parsing anything."""
    root = Path(manual_dir).expanduser().resolve()
    return fingerprint_files(root, _walk(root))


def _recording(name: str) -> str:
    """The dedup key: one recording in any encoding ("DC_a01.wav", "dc_a01.MP3" -> "dc_a01")."""
    return name[:len(name) - len(audio_file.audio_suffix(name) or "")].lower()


def _keep_order(item: tuple[str, Path]) -> tuple:
    """Which copy of a recording is kept: best encoding, then shallowest, then sorted path."""
    return audio_file.preference(item[1].name), item[0].count("/"), _sort_key(item)


def _crema_d_sex_table(files: list[tuple[str, Path]]) -> tuple[dict[int, int], str]:
    """The packaged CREMA-D table, overridden by a VideoDemographics.csv in the user's folder."""
    packaged = dict(naming.crema_d_sex_table())
    csvs = [(rel, p) for rel, p in files if p.name.lower() == CREMA_D_DEMOGRAPHICS]
    if not csvs:
        return packaged, "packaged table serjax/data/crema_d_VideoDemographics.csv"
    rel, path = csvs[0]
    try:
        user = naming.read_crema_d_demographics(path)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise DatasetError(
            f"{path}: cannot read CREMA-D's actor table ({err}); fix the file or delete it to use "
            "the packaged table") from err
    return {**packaged, **user}, f"{rel} in the manual directory ({len(user)} actors)"


def discover(corpus: str, manual_dir: str | os.PathLike) -> Discovery:
    """Finds every file of ``corpus`` under ``manual_dir`` (see the module docstring).

    Raises DatasetError for a missing or empty directory, or when no file fits the corpus."""
    if corpus not in naming.CORPORA:
        raise DatasetError(f"unknown corpus {corpus!r}; choose one of {', '.join(naming.CORPORA)}")
    root = check_manual_dir(corpus, manual_dir)
    every_file = _walk(root)
    sex_table, sex_source = None, "n/a"
    if corpus == "crema_d":
        sex_table, sex_source = _crema_d_sex_table(every_file)
    elif corpus == "ravdess":
        sex_source = "file name: odd actor number = male"
    else:
        gender = "male" if corpus == "savee" else "female"
        sex_source = f"corpus: every {corpus} speaker is {gender}"

    files, skipped, duplicates, ignored = [], [], [], {}
    kept_by_name: dict[str, str] = {}
    for rel, abspath in sorted(every_file, key=_keep_order):
        name = abspath.name
        if audio_file.audio_suffix(name) is None:
            suffix = "._ (macOS)" if name.startswith("._") else (abspath.suffix or name).lower()
            ignored[suffix] = ignored.get(suffix, 0) + 1
            continue
        recording = _recording(name)
        if recording in kept_by_name:
            duplicates.append((rel, kept_by_name[recording]))
            continue
        kept_by_name[recording] = rel
        try:
            if corpus == "crema_d":
                info = naming.parse_crema_d(name, sex_table)
            else:
                info = naming.parse(corpus, name)
        except naming.UnknownFileName as err:
            skipped.append((rel, str(err)))
            continue
        files.append(CorpusFile(rel, abspath, info))
    files.sort(key=lambda f: (f.path.lower(), f.path))
    skipped.sort()
    duplicates.sort()
    if not files:
        raise DatasetError(_nothing_found_message(corpus, root, skipped, ignored))
    return Discovery(corpus, root, files, skipped, duplicates, ignored, sex_source,
                     fingerprint_files(root, every_file))


def _nothing_found_message(corpus: str, root: Path, skipped, ignored) -> str:
    kinds = "/".join(sorted({audio_file.audio_suffix(Path(p).name) for p, _ in skipped}))
    seen = (f"{len(skipped)} {kinds} files with other names (e.g. {skipped[0][0]})"
            if skipped else f"no audio files ({', '.join(audio_file.AUDIO_SUFFIXES)})")
    other = sum(ignored.values())
    return (f"no {corpus} file found under {root}: saw {seen} and {other} other files. "
            f"Point the manual directory at the unpacked Kaggle download of {corpus} "
            f"(files named like {_EXAMPLE_NAMES[corpus]})")


_EXAMPLE_NAMES = {"ravdess": "Actor_01/03-01-05-01-02-01-01.wav",
                  "crema_d": "AudioWAV/1001_DFA_ANG_XX.wav",
                  "savee": "ALL/DC_a01.wav",
                  "tess": "OAF_angry/OAF_back_angry.wav"}
