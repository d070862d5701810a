"""Shared fixtures: tiny corpora in the Kaggle layouts, and prepared (built) datasets.

Session-scoped so that every test module builds each corpus once. Add new shared fixtures in
their own section below, with a one-line docstring saying what they hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from serjax.corpora import naming

# --------------------------------------------------------------------------- hand-made corpora
# A handful of short sine-wave WAVs per corpus, named and laid out exactly as the Kaggle
# downloads are, including their quirks (duplicate trees, TESS's folder spellings). Each
# corpus's expected contents are the names written, parsed with serjax.corpora.naming.

TINY_SECONDS = 0.25


def write_wav(path: Path, rate: int, *, seconds: float = TINY_SECONDS, channels: int = 1,
              freq: float = 220.0) -> np.ndarray:
    """Writes a 16-bit PCM sine wave; returns the int16 samples written, shape [n, channels]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    # Channel c is scaled differently so a downmix is distinguishable from taking one channel.
    data = np.stack([wave * (1 + 0.5 * c) for c in range(channels)], axis=1)
    samples = np.round(data * 32767).astype(np.int16)
    soundfile.write(path, samples, rate, subtype="PCM_16")
    return samples


def _tiny_ravdess(root: Path) -> list[str]:
    names = [f"03-01-{emo:02d}-01-{stmt:02d}-01-{actor:02d}.wav"
             for actor in (1, 2) for emo in range(1, 9) for stmt in (1, 2)]
    for i, name in enumerate(names):
        actor = name[-6:-4]
        # Mixed rates as in the wild; one stereo file (dual channel, downmixed by the builder).
        rate = 48_000 if i % 3 else 22_050
        write_wav(root / f"Actor_{actor}" / name, rate, channels=2 if i == 5 else 1,
                  freq=200 + 10 * i)
        # Kaggle's duplicate tree: every file again under audio_speech_actors_01-24/.
        write_wav(root / "audio_speech_actors_01-24" / f"Actor_{actor}" / name, rate,
                  freq=200 + 10 * i)
    return names


def _tiny_crema_d(root: Path) -> list[str]:
    names = [f"{actor}_{sent}_{emo}_{lvl}.wav"
             for actor, sent in ((1001, "DFA"), (1002, "IEO"), (1091, "TIE"))
             for emo, lvl in (("ANG", "HI"), ("DIS", "XX"), ("FEA", "LO"), ("HAP", "MD"),
                              ("NEU", "XX"), ("SAD", "LO"))]
    for i, name in enumerate(names):
        write_wav(root / "AudioWAV" / name, 16_000, freq=150 + 7 * i)
    return names


def _tiny_savee(root: Path) -> list[str]:
    names = [f"{spk}_{emo}{idx:02d}.wav" for spk in ("DC", "KL")
             for emo in ("a", "d", "f", "h", "n", "sa", "su") for idx in (1, 2)]
    for i, name in enumerate(names):
        write_wav(root / "ALL" / name, 44_100, freq=120 + 5 * i)
    return names


# The Kaggle TESS folders, spelling and case as shipped.
TESS_FOLDERS = {"OAF": ("OAF_angry", "OAF_disgust", "OAF_Fear", "OAF_happy", "OAF_neutral",
                        "OAF_Pleasant_surprise", "OAF_Sad"),
                "YAF": ("YAF_angry", "YAF_disgust", "YAF_fear", "YAF_happy", "YAF_neutral",
                        "YAF_pleasant_surprised", "YAF_sad")}
_TESS_FILE_EMOTION = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
                      "neutral": "neutral", "pleasant": "ps", "sad": "sad"}


def _tiny_tess(root: Path) -> list[str]:
    names = []
    outer = root / "TESS Toronto emotional speech set data"
    nested = (root / "tess toronto emotional speech set data"
              / "TESS Toronto emotional speech set data")
    for spk, folders in TESS_FOLDERS.items():
        for folder in folders:
            emo = _TESS_FILE_EMOTION[folder.split("_")[1].lower()]
            for word in ("back", "bar"):
                name = f"{spk}_{word}_{emo}.wav"
                names.append(name)
                write_wav(outer / folder / name, 24_414, freq=300 + len(names))
                write_wav(nested / folder / name, 24_414, freq=300 + len(names))
    return names


TINY_WRITERS = {"ravdess": _tiny_ravdess, "crema_d": _tiny_crema_d,
                "savee": _tiny_savee, "tess": _tiny_tess}
#: Files per tiny corpus (each counted once) and how many duplicates its layout ships.
TINY_COUNTS = {"ravdess": 32, "crema_d": 18, "savee": 28, "tess": 28}
TINY_DUPLICATES = {"ravdess": 32, "crema_d": 0, "savee": 0, "tess": 28}


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """A root with ravdess/ crema_d/ savee/ tess/ tiny hand-made corpora (read-only by
    convention: copy it before changing anything)."""
    root = tmp_path_factory.mktemp("tiny_corpora")
    for corpus, writer in TINY_WRITERS.items():
        writer(root / corpus)
    return root


@pytest.fixture(scope="session")
def tiny_names(tiny_root) -> dict[str, list[str]]:
    """{corpus: file names written (each once)} for the tiny naming."""
    return {corpus: _names_under(tiny_root / corpus) for corpus in naming.CORPORA}


def _names_under(folder: Path) -> list[str]:
    return sorted({p.name for p in folder.rglob("*.wav")})


@pytest.fixture(scope="session")
def tiny_built(tiny_root, tmp_path_factory) -> tuple[Path, dict]:
    """(data_dir, {corpus: BuildResult}): the four tiny corpora prepared once per session."""
    from serjax.corpora import dataset
    data_dir = tmp_path_factory.mktemp("tiny_data")
    results = {c: dataset.build(c, tiny_root / c, data_dir) for c in naming.CORPORA}
    return data_dir, results


# --------------------------------------------------------------------------- synthetic corpora
# serjax.synth.corpus's corpora at the smallest scale that keeps every actor and class (one file per
# actor × emotion; 794 files, ~15 s to write on 2 cores): builders must reproduce its plan.

SYNTH_SCALE = 0.01
SYNTH_SEED = 0


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A root with ravdess/ crema_d/ savee/ tess/ written by serjax.synth.corpus.synthesize("all")
    at SYNTH_SCALE, SYNTH_SEED (read-only by convention)."""
    from serjax.synth import corpus as synth
    root = tmp_path_factory.mktemp("synth_corpora")
    synth.synthesize("all", root, scale=SYNTH_SCALE, seed=SYNTH_SEED, progress=False)
    return root


@pytest.fixture(scope="session")
def synth_built(synth_root, tmp_path_factory) -> tuple[Path, dict]:
    """(data_dir, {corpus: BuildResult}): the four synthetic corpora prepared once."""
    from serjax.corpora import dataset
    data_dir = tmp_path_factory.mktemp("synth_data")
    results = {c: dataset.build(c, synth_root / c, data_dir) for c in naming.CORPORA}
    return data_dir, results
