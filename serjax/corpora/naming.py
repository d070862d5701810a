"""The four corpora's file-name conventions, the shared label space and gender tables.

Pure functions of file names and packaged tables: no audio, no TFDS, no JAX. Every other
module (builders, synthetic corpus, folds) takes its facts about the corpora from here, so
that a naming rule is written down exactly once.

Gender encoding (one, everywhere): ``MALE = 1``, ``FEMALE = 0``. This follows the authors'
published code; the paper's text says female = 1, which we do not follow.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import importlib.resources
import re
from pathlib import Path, PurePath

CORPORA = ("ravdess", "crema_d", "savee", "tess")

#: The shared 8-label space; an example's ``label`` is an index into this tuple.
LABELS = ("neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise")
LABEL_INDEX = {name: i for i, name in enumerate(LABELS)}
#: SER Superset drops calm and surprise (too few files), leaving six classes.
SUPERSET_LABELS = ("neutral", "happy", "sad", "angry", "fear", "disgust")

MALE, FEMALE = 1, 0
GENDER_NAMES = {MALE: "male", FEMALE: "female"}

#: Native sample rate of each corpus's Kaggle copy (Hz). Files may deviate; loaders read each
#: file's own rate. TESS's 24,414 Hz is the real (odd) rate of its files.
NATIVE_RATES = {"ravdess": 48_000, "crema_d": 16_000, "savee": 44_100, "tess": 24_414}
#: Full-corpus file and actor counts (the Kaggle copies).
FULL_COUNTS = {"ravdess": 1440, "crema_d": 7442, "savee": 480, "tess": 2800}
ACTOR_COUNTS = {"ravdess": 24, "crema_d": 91, "savee": 4, "tess": 2}

RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                    "05": "angry", "06": "fear", "07": "disgust", "08": "surprise"}
RAVDESS_INTENSITIES = {"01": "normal", "02": "strong"}
RAVDESS_STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}

CREMA_D_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy",
                    "NEU": "neutral", "SAD": "sad"}
CREMA_D_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
CREMA_D_SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
CREMA_D_ACTORS = tuple(range(1001, 1092))

SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
SAVEE_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral",
                  "sa": "sad", "su": "surprise"}

TESS_SPEAKERS = ("OAF", "YAF")
TESS_EMOTIONS = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
                 "neutral": "neutral", "ps": "surprise", "sad": "sad"}


class UnknownFileName(ValueError):
    """A file name that fits none of a corpus's naming patterns."""


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """Everything a file name (plus the packaged tables) says about one recording."""

    corpus: str
    actor: str        # globally unique, e.g. "ravdess/01", "crema_d/1001", "tess/OAF"
    gender: int       # MALE = 1, FEMALE = 0
    emotion: str      # a name from LABELS
    statement: str    # RAVDESS statement code, CREMA-D sentence code, SAVEE index, TESS word
    intensity: str    # "normal"/"strong" (RAVDESS), "low".."unspecified" (CREMA-D), "" else

    @property
    def label(self) -> int:
        return LABEL_INDEX[self.emotion]


_RAVDESS_RE = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_CREMA_RE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_SAVEE_RE = re.compile(r"^(DC|JE|JK|KL)_(sa|su|a|d|f|h|n)(\d\d)$")
_TESS_RE = re.compile(r"^(OAF|YAF)_(.+)_([A-Za-z]+)$")


def _unknown(corpus: str, name: str, expected: str) -> UnknownFileName:
    return UnknownFileName(
        f"{name!r} is not a {corpus} file name (expected {expected}); "
        "rename it or move it out of the corpus folder")


def parse_ravdess(name: str) -> FileInfo:
    """``03-01-05-01-02-01-12.wav``: modality-channel-emotion-intensity-statement-rep-actor."""
    stem = PurePath(name).stem
    m = _RAVDESS_RE.match(stem)
    expected = "MM-VC-EE-II-SS-RR-AA.wav, e.g. 03-01-05-01-02-01-12.wav"
    if not m:
        raise _unknown("RAVDESS", name, expected)
    modality, channel, emo, inten, stmt, _rep, actor = m.groups()
    actor_n = int(actor)
    if (modality != "03" or channel != "01" or emo not in RAVDESS_EMOTIONS
            or inten not in RAVDESS_INTENSITIES or stmt not in RAVDESS_STATEMENTS
            or not 1 <= actor_n <= 24):
        raise _unknown("RAVDESS audio-only speech", name, expected)
    return FileInfo("ravdess", f"ravdess/{actor}", MALE if actor_n % 2 else FEMALE,
                    RAVDESS_EMOTIONS[emo], stmt, RAVDESS_INTENSITIES[inten])


def parse_crema_d(name: str, sex_table: dict[int, int] | None = None) -> FileInfo:
    """``1001_DFA_ANG_XX.wav``: actor_sentence_emotion_level; sex from the actor table."""
    stem = PurePath(name).stem
    m = _CREMA_RE.match(stem)
    expected = "AAAA_SSS_EEE_LL.wav, e.g. 1001_DFA_ANG_XX.wav"
    if not m:
        raise _unknown("CREMA-D", name, expected)
    actor, sentence, emo, level = m.groups()
    table = crema_d_sex_table() if sex_table is None else sex_table
    if (int(actor) not in table or sentence not in CREMA_D_SENTENCES
            or emo not in CREMA_D_EMOTIONS or level not in CREMA_D_LEVELS):
        raise _unknown("CREMA-D", name, expected + " with actor 1001-1091")
    return FileInfo("crema_d", f"crema_d/{actor}", table[int(actor)],
                    CREMA_D_EMOTIONS[emo], sentence, CREMA_D_LEVELS[level])


def parse_savee(name: str) -> FileInfo:
    """``DC_a01.wav`` / ``JE_sa15.wav``: speaker_emotion+index; all four speakers male."""
    stem = PurePath(name).stem
    m = _SAVEE_RE.match(stem)
    if not m:
        raise _unknown("SAVEE", name, "SP_eNN.wav with SP in DC/JE/JK/KL, e.g. DC_a01.wav")
    speaker, emo, index = m.groups()
    return FileInfo("savee", f"savee/{speaker}", MALE, SAVEE_EMOTIONS[emo], index, "")


def parse_tess(name: str) -> FileInfo:
    """``OAF_back_angry.wav``: speaker_word_emotion; the emotion comes from the file name's last
    field (folder names vary in case and spelling in the Kaggle copy). Both speakers female."""
    stem = PurePath(name).stem
    m = _TESS_RE.match(stem)
    expected = "OAF|YAF_word_emotion.wav, e.g. OAF_back_angry.wav"
    if not m or m.group(3).lower() not in TESS_EMOTIONS:
        raise _unknown("TESS", name, expected)
    speaker, word, emo = m.groups()
    return FileInfo("tess", f"tess/{speaker}", FEMALE, TESS_EMOTIONS[emo.lower()],
                    word.lower(), "")


PARSERS = {"ravdess": parse_ravdess, "crema_d": parse_crema_d,
           "savee": parse_savee, "tess": parse_tess}


def parse(corpus: str, name: str) -> FileInfo:
    """Parse one file name of ``corpus``; raises UnknownFileName with the fix."""
    if corpus not in PARSERS:
        raise ValueError(f"unknown corpus {corpus!r}; choose one of {', '.join(CORPORA)}")
    return PARSERS[corpus](name)


def read_crema_d_demographics(path: str | Path) -> dict[int, int]:
    """Reads CREMA-D's ``VideoDemographics.csv`` into {actor id: MALE/FEMALE}."""
    table: dict[int, int] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            try:
                sex = row["Sex"].strip().lower()
                table[int(row["ActorID"])] = {"male": MALE, "female": FEMALE}[sex]
            except (KeyError, ValueError) as err:
                raise ValueError(
                    f"{path}: row {row} has no valid ActorID/Sex ({err}); the file should be "
                    "CREMA-D's VideoDemographics.csv with columns ActorID,Age,Sex,...") from err
    return table


@functools.cache
def crema_d_sex_table() -> dict[int, int]:
    """The packaged CREMA-D actor→sex table (91 actors: 48 male, 43 female)."""
    ref = importlib.resources.files("serjax") / "data" / "crema_d_VideoDemographics.csv"
    with importlib.resources.as_file(ref) as path:
        return read_crema_d_demographics(path)


def actor_gender(actor: str) -> int:
    """Gender of a globally unique actor id (``ravdess/01`` → MALE)."""
    corpus, _, local = actor.partition("/")
    if corpus == "ravdess":
        return MALE if int(local) % 2 else FEMALE
    if corpus == "crema_d":
        return crema_d_sex_table()[int(local)]
    if corpus == "savee":
        return MALE
    if corpus == "tess":
        return FEMALE
    raise ValueError(f"unknown actor id {actor!r}; expected CORPUS/ID with CORPUS in {CORPORA}")


def all_actors(corpus: str) -> tuple[str, ...]:
    """Every actor id of a full corpus, in corpus order."""
    if corpus == "ravdess":
        return tuple(f"ravdess/{i:02d}" for i in range(1, 25))
    if corpus == "crema_d":
        return tuple(f"crema_d/{i}" for i in CREMA_D_ACTORS)
    if corpus == "savee":
        return tuple(f"savee/{s}" for s in SAVEE_SPEAKERS)
    if corpus == "tess":
        return tuple(f"tess/{s}" for s in TESS_SPEAKERS)
    raise ValueError(f"unknown corpus {corpus!r}; choose one of {', '.join(CORPORA)}")
