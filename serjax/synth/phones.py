"""Text → segment sequence for the synthetic voice (see ``serjax.synth.voice``).

A deterministic letter-to-sound approximation, not a phonemiser: it only has to make each
statement, sentence and word a distinct, repeatable sequence of vowel-, liquid-, nasal-,
fricative- and stop-like segments. Every rule is a pure function of the text.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

NAN = float("nan")


@dataclasses.dataclass(frozen=True)
class Phone:
    """Acoustic targets of one segment class (frequencies in Hz for an adult male tract).

    ``formants`` is (F1, F2, F3) or NaNs for segments that take the neighbours' formants;
    ``voicing``, ``frication`` and ``aspiration`` are relative source amplitudes; ``band`` is the
    frication noise band (lo, hi); ``ms`` the nominal duration at neutral tempo.
    """

    formants: tuple[float, float, float]
    voicing: float
    frication: float = 0.0
    aspiration: float = 0.0
    band: tuple[float, float] = (NAN, NAN)
    ms: float = 80.0
    vowel: bool = False


_NO_F = (NAN, NAN, NAN)
_S, _SH, _F, _TH = (3800.0, 8000.0), (2000.0, 5000.0), (1200.0, 7000.0), (1400.0, 7000.0)

PHONES: dict[str, Phone] = {
    # vowels (Peterson & Barney male averages)
    "a": Phone((730, 1090, 2440), 1.0, ms=115, vowel=True),
    "e": Phone((530, 1840, 2480), 1.0, ms=100, vowel=True),
    "i": Phone((390, 1990, 2550), 1.0, ms=90, vowel=True),
    "ee": Phone((270, 2290, 3010), 1.0, ms=125, vowel=True),
    "o": Phone((570, 840, 2410), 1.0, ms=115, vowel=True),
    "oo": Phone((300, 870, 2240), 1.0, ms=120, vowel=True),
    "u": Phone((640, 1190, 2390), 1.0, ms=95, vowel=True),
    "er": Phone((490, 1350, 1690), 1.0, ms=125, vowel=True),
    # liquids and glides
    "l": Phone((360, 1300, 2700), 0.55, ms=60),
    "r": Phone((420, 1300, 1600), 0.55, ms=60),
    "w": Phone((300, 610, 2200), 0.5, ms=55),
    "y": Phone((280, 2250, 2900), 0.5, ms=55),
    # nasals
    "m": Phone((250, 1000, 2300), 0.32, ms=65),
    "n": Phone((250, 1700, 2500), 0.32, ms=60),
    "ng": Phone((250, 2000, 2700), 0.32, ms=65),
    # voiceless and voiced fricatives
    "s": Phone(_NO_F, 0.0, 0.40, band=_S, ms=105),
    "sh": Phone(_NO_F, 0.0, 0.40, band=_SH, ms=105),
    "f": Phone(_NO_F, 0.0, 0.14, band=_F, ms=95),
    "th": Phone(_NO_F, 0.0, 0.12, band=_TH, ms=90),
    "h": Phone(_NO_F, 0.0, 0.0, aspiration=0.5, ms=70),
    "z": Phone(_NO_F, 0.25, 0.22, band=_S, ms=80),
    "v": Phone(_NO_F, 0.25, 0.08, band=_F, ms=70),
    "dh": Phone(_NO_F, 0.25, 0.07, band=_TH, ms=50),
    "zh": Phone(_NO_F, 0.25, 0.22, band=_SH, ms=80),
    # stop closures (voiceless: silent; voiced: a weak voice bar), bursts, aspiration
    "cl": Phone(_NO_F, 0.0, ms=55),
    "vcl": Phone(_NO_F, 0.12, ms=50),
    "p+": Phone(_NO_F, 0.0, 0.5, band=(400.0, 2500.0), ms=12),
    "t+": Phone(_NO_F, 0.0, 0.6, band=(3000.0, 7000.0), ms=12),
    "k+": Phone(_NO_F, 0.0, 0.55, band=(1500.0, 4000.0), ms=14),
    "asp": Phone(_NO_F, 0.0, 0.0, aspiration=0.45, ms=25),
}

_STOPS = {"p": ["cl", "p+", "asp"], "t": ["cl", "t+", "asp"], "k": ["cl", "k+", "asp"],
          "b": ["vcl", "p+"], "d": ["vcl", "t+"], "g": ["vcl", "k+"]}
# Multi-letter spellings first (longest match wins); values are phone symbols or stop letters.
_GRAPHEMES = {
    "tch": ["t", "sh"], "th": ["th"], "sh": ["sh"], "ch": ["t", "sh"], "ph": ["f"], "ck": ["k"],
    "ng": ["ng"], "wh": ["w"], "qu": ["k", "w"], "ee": ["ee"], "ea": ["ee"], "oo": ["oo"],
    "ou": ["a", "oo"], "ow": ["a", "oo"], "ai": ["e", "ee"], "ay": ["e", "ee"],
    "oi": ["o", "ee"], "oy": ["o", "ee"], "er": ["er"], "ir": ["er"], "ur": ["er"],
    "ar": ["a", "r"], "or": ["o", "r"], "x": ["k", "s"], "j": ["d", "zh"],
    "a": ["a"], "e": ["e"], "i": ["i"], "o": ["o"], "u": ["u"],
    "b": ["b"], "c": ["k"], "d": ["d"], "f": ["f"], "g": ["g"], "h": ["h"], "k": ["k"],
    "l": ["l"], "m": ["m"], "n": ["n"], "p": ["p"], "r": ["r"], "s": ["s"], "t": ["t"],
    "v": ["v"], "w": ["w"], "y": ["y"], "z": ["z"],
}
_LONG_VOWEL = {"a": ["e", "ee"], "e": ["ee"], "i": ["a", "ee"], "o": ["o", "oo"],
               "u": ["ee", "oo"], "y": ["a", "ee"]}
_VOICED_TH_WORDS = {"the", "that", "this", "they", "there", "then", "than", "them", "these"}
_FUNCTION_WORDS = {"a", "the", "to", "in", "is", "it", "of", "on", "by", "i", "we", "an",
                   "are", "and", "as", "at", "be", "for"}


def _spell(word: str) -> list[str]:
    """Graphemes of one lowercase word → phone symbols and stop letters."""
    if word in _VOICED_TH_WORDS:
        word = "D" + word[2:]
    # magic e: V C e at the end makes the vowel long (time, five, nice, note)
    magic = re.fullmatch(r"(.*?)([aeiouy])([bcdfgklmnprstvz])e", word) if len(word) > 3 else None
    if magic:
        head, vowel, cons = magic.groups()
        return _spell(head) + _LONG_VOWEL[vowel] + _spell(cons)
    out: list[str] = []
    i = 0
    while i < len(word):
        if word[i] == "D":
            out.append("dh")
            i += 1
            continue
        if word[i] == "c" and i + 1 < len(word) and word[i + 1] in "eiy":
            out.append("s")
            i += 1
            continue
        if word[i] == "y" and 0 < i:  # y after the first letter is a vowel
            out += ["ee"] if i == len(word) - 1 else ["i"]
            i += 1
            continue
        for n in (3, 2, 1):
            chunk = word[i:i + n]
            if chunk in _GRAPHEMES:
                symbols = _GRAPHEMES[chunk]
                if not (out and out[-1] == symbols[0] and len(symbols) == 1):  # double letters
                    out += symbols
                i += n
                break
        else:
            i += 1  # letters outside a-z never reach here; skip defensively
    return out


@dataclasses.dataclass(frozen=True)
class Segment:
    """One timed segment of an utterance: a phone symbol, its word and whether it is stressed."""

    phone: str
    word: int
    stressed: bool


def segments(text: str) -> list[Segment]:
    """The segment sequence of ``text``: stops expand into closure, burst (and aspiration);
    the first vowel of each content word is stressed. Pure function of the text."""
    words = re.findall(r"[a-z]+", text.lower().replace("'", ""))
    if not words:
        raise ValueError(f"text {text!r} has no letters to synthesise")
    out: list[Segment] = []
    for w_index, word in enumerate(words):
        stress_left = word not in _FUNCTION_WORDS
        for symbol in _spell(word):
            for phone in _STOPS.get(symbol, [symbol]):
                stressed = stress_left and PHONES[phone].vowel
                stress_left = stress_left and not stressed
                out.append(Segment(phone, w_index, stressed))
    return out


def segment_table(segs: list[Segment]) -> dict[str, np.ndarray]:
    """Column arrays (one row per segment) of the phone targets, for vectorised rendering."""
    phones = [PHONES[s.phone] for s in segs]
    return {
        "formants": np.array([p.formants for p in phones], dtype=np.float64),
        "voicing": np.array([p.voicing for p in phones]),
        "frication": np.array([p.frication for p in phones]),
        "aspiration": np.array([p.aspiration for p in phones]),
        "band": np.array([p.band for p in phones], dtype=np.float64),
        "ms": np.array([p.ms for p in phones]),
        "vowel": np.array([p.vowel for p in phones]),
        "stressed": np.array([s.stressed for s in segs]),
        "word": np.array([s.word for s in segs]),
    }
