"""Finding one corpus's files under a manual directory, and reading and checking WAVs.

A manual directory holds a Kaggle download as unpacked: any depth of wrapper folders above the
corpus layout, folder names in any case, sometimes a second copy of the whole tree (RAVDESS's
``audio_speech_actors_01-24/``, TESS's nested ``tess toronto emotional speech set data/``).
Within a corpus every file name is unique, so:

* every ``*.wav`` (suffix in any case) at any depth is a candidate; other files (a README, a CSV,
  ``.DS_Store``, macOS ``__MACOSX/`` and ``._*`` resource forks) are ignored silently and counted;
* a candidate whose name fits none of the corpus's patterns is skipped, with the reason;
* candidates are deduplicated by file name (case-insensitive): the shallowest copy is kept (ties:
  the first in sorted path order), the others are listed as duplicates. Shallowest first keeps
  a whole tree together: in Kaggle's TESS, plain sorted order would keep OAF files from the
  outer tree but YAF files from the nested copy.

Audio is checked when it is read (:func:`read_wav`): empty, truncated, non-WAV and unreadable files
raise :class:`BadAudio` naming the file and the problem; builders skip them and list the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import soundfile

from serjax.corpora import naming

#: Files shorter than this hold no speech (CREMA-D ships a few header-only or near-empty files).
MIN_DURATION_S = 0.1
#: The file name of CREMA-D's actor table, looked for anywhere under a manual directory.
CREMA_D_DEMOGRAPHICS = "videodemographics.csv"
_WAV_FORMATS = ("WAV", "WAVEX", "RF64")
_MACOS_JUNK_DIRS = ("__macosx",)


class DatasetError(ValueError):
    """A manual directory or corpus that cannot be built; the message says what to do."""


class BadAudio(ValueError):
    """One audio file that cannot be used (empty, truncated, not WAV, unreadable)."""


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
    ignored: dict[str, int]             # non-WAV files by suffix (whole name if none)
    sex_table_source: str               # where genders come from
    fingerprint: str                    # hash of every file's path, size and mtime


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
    """sha256 over (path, size, mtime) of every file: changes when anything in the folder does."""
    digest = hashlib.sha256()
    for rel, abspath in files:
        stat = abspath.stat()
        digest.update(f"{rel}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def manual_dir_fingerprint(manual_dir: str | os.PathLike) -> str:
    """The fingerprint :func:`discover` records, without parsing anything."""
    root = Path(manual_dir).expanduser().resolve()
    return fingerprint_files(root, _walk(root))


def _is_wav(name: str) -> bool:
    return name.lower().endswith(".wav") and not name.startswith("._")


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
    for rel, abspath in sorted(every_file, key=lambda item: (item[0].count("/"), _sort_key(item))):
        name = abspath.name
        if not _is_wav(name):
            suffix = "._ (macOS)" if name.startswith("._") else (abspath.suffix or name).lower()
            ignored[suffix] = ignored.get(suffix, 0) + 1
            continue
        if name.lower() in kept_by_name:
            duplicates.append((rel, kept_by_name[name.lower()]))
            continue
        kept_by_name[name.lower()] = rel
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
    seen = (f"{len(skipped)} .wav files with other names (e.g. {skipped[0][0]})"
            if skipped else "no .wav files")
    other = sum(ignored.values())
    return (f"no {corpus} file found under {root}: saw {seen} and {other} other files. "
            f"Point the manual directory at the unpacked Kaggle download of {corpus} "
            f"(files named like {_EXAMPLE_NAMES[corpus]})")


_EXAMPLE_NAMES = {"ravdess": "Actor_01/03-01-05-01-02-01-01.wav",
                  "crema_d": "AudioWAV/1001_DFA_ANG_XX.wav",
                  "savee": "ALL/DC_a01.wav",
                  "tess": "OAF_angry/OAF_back_angry.wav"}


# --------------------------------------------------------------------------- reading audio


def _data_chunk_shortfall(path: Path) -> int:
    """Bytes the RIFF ``data`` chunk claims beyond the end of the file (0 if complete/unknown).

    libsndfile reads a truncated file without complaint; this catches it from the header."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):   # streaming writers leave the size unset
                    return 0
                return max(0, offset + 8 + chunk_size - size)
            offset += 8 + chunk_size + (chunk_size & 1)
    return 0


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Reads a WAV file as int16 mono at its own rate: (samples [n], rate).

    Multi-channel files are downmixed by averaging the channels (rounded to nearest).
    Raises BadAudio, naming the file, for an empty, truncated, non-WAV, unreadable or
    too-short (< MIN_DURATION_S) file."""
    path = Path(path)
    fix = "replace it with a fresh copy from the download, or delete it"
    try:
        size = path.stat().st_size
    except OSError as err:
        raise BadAudio(f"{path}: cannot open ({err.strerror}); {fix}") from err
    if size == 0:
        raise BadAudio(f"{path}: empty file (0 bytes); {fix}")
    try:
        with soundfile.SoundFile(path) as f:
            if f.format not in _WAV_FORMATS:
                raise BadAudio(f"{path}: not a WAV file (it is {f.format}); {fix}")
            rate, channels = f.samplerate, f.channels
            data = f.read(dtype="int16", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as err:
        raise BadAudio(f"{path}: not a readable WAV file ({err}); {fix}") from err
    shortfall = _data_chunk_shortfall(path)
    if shortfall:
        raise BadAudio(f"{path}: truncated ({shortfall} bytes of audio missing at the end); {fix}")
    if len(data) < MIN_DURATION_S * rate:
        raise BadAudio(f"{path}: {len(data)} samples ({len(data) / rate:.3f} s) is too short to "
                       f"hold speech (minimum {MIN_DURATION_S} s); {fix}")
    if channels == 1:
        return data[:, 0].copy(), rate
    mono = np.rint(data.astype(np.float64).mean(axis=1))
    return mono.astype(np.int16), rate
