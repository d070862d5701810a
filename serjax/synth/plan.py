"""Which files the synthetic corpus writes: each corpus's Kaggle layout, names and texts.

``planned_files(corpus, scale)`` is the deterministic list of ``(relative path, FileInfo)`` that
``serjax.synth.corpus.synthesize`` writes (paths relative to the output folder it was given; for
``all`` they start with the corpus name). It depends on the corpus and scale only, never on the
seed, so builders' tests can compare a build against it without generating audio.

Full corpora (``scale=1``), as the Kaggle copies:

* RAVDESS: 24 actors × 60 (8 emotions; neutral has no strong intensity; 2 statements × 2
  repetitions) = 1,440 under ``Actor_NN/``, plus the duplicate tree
  ``audio_speech_actors_01-24/Actor_NN/``.
* CREMA-D: 91 actors × (11 sentences × 6 emotions at level XX + sentence IEO with NEU_XX and
  the five other emotions at LO/MD/HI) = 91 × 82 = 7,462 combinations. The public release has
  7,442 files: 1,271 per emotion and 1,087 neutral, i.e. 3 fewer of each emotion and 5 fewer
  neutral. **Drop rule**: actors 1072–1091 (the last 20) each lack one ``WSI_<EMO>_XX`` file,
  with ``<EMO>`` taken in order from ``CREMA_D_DROPPED_EMOTIONS`` (ANG, DIS, FEA, HAP, SAD three
  times, then NEU five times), so every actor still has every class and the per-label counts
  match the public release. (Which real files are missing is not modelled.)
* SAVEE: 4 speakers × (a, d, f, h, sa, su 01–15; n 01–30) = 480 under ``ALL/``.
* TESS: 2 speakers × 7 emotions × 200 words (``TESS_WORDS``) = 2,800 under
  ``TESS Toronto emotional speech set data/<folder>/`` with Kaggle's folder names, plus the
  nested copy ``tess toronto emotional speech set data/TESS Toronto emotional speech set data/``.

Smaller scales keep every actor and every class: within each (actor, emotion) group the
``max(1, round(scale · n))`` files that come first in a fixed hash order (SHA-256 of the file
name) are kept, so a smaller scale's files are a subset of a larger scale's.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from pathlib import PurePosixPath

from serjax.corpora import naming
from serjax.corpora.naming import FileInfo

CORPUS_CHOICES = (*naming.CORPORA, "all")

#: 200 target words (the NU-6 list TESS used), each said as "Say the word ___".
TESS_WORDS = tuple("""
back bar base bath bean beg bite boat bone book bought burn cab calm came cause chain chair
chalk chat check cheek chief choice cool dab date dead death deep dime dip ditch dodge dog doll
door fail fall far fat fit five food gap gas gaze germ get gin goal good goose gun half hall hash
hate have haze hire hit hole home hurl hush jail jar join judge jug juice keen keep keg kick kill
king kite knock late laud lean learn lease lid life limb live loaf long lore lose lot love luck
make match merge mess met mill mob mode mood moon mop mouse nag name near neat nice note numb pad
page pain pass pearl peg perch phone pick pike pole pool puff rag raid rain raise rat reach read
red ring ripe road room rose rot rough rush said sail search seize sell shack shall shawl sheep
shirt should shout size soap soup sour south sub such sure take talk tape team tell thin third
thought thumb time tip tire ton tool tough turn vine voice void vote wag walk wash week wheat when
which whip white wife wire witch yearn yes young youth""".split())

#: Kaggle's TESS folder names (their case and spelling vary) per (speaker, file emotion code).
TESS_FOLDERS = {
    ("OAF", "angry"): "OAF_angry", ("OAF", "disgust"): "OAF_disgust", ("OAF", "fear"): "OAF_Fear",
    ("OAF", "happy"): "OAF_happy", ("OAF", "neutral"): "OAF_neutral",
    ("OAF", "ps"): "OAF_Pleasant_surprise", ("OAF", "sad"): "OAF_Sad",
    ("YAF", "angry"): "YAF_angry", ("YAF", "disgust"): "YAF_disgust", ("YAF", "fear"): "YAF_fear",
    ("YAF", "happy"): "YAF_happy", ("YAF", "neutral"): "YAF_neutral",
    ("YAF", "ps"): "YAF_pleasant_surprised", ("YAF", "sad"): "YAF_sad",
}
TESS_ROOT = "TESS Toronto emotional speech set data"
TESS_DUPLICATE_ROOT = f"tess toronto emotional speech set data/{TESS_ROOT}"
RAVDESS_DUPLICATE_ROOT = "audio_speech_actors_01-24"

#: SAVEE's prompts are not part of the corpus names; these stand in (index NN → sentence NN).
SAVEE_SENTENCES = (
    "The small boat drifted toward the shore", "She kept the letters in a wooden box",
    "We walked home along the river", "His coat was hanging behind the door",
    "The garden looks lovely in the spring", "Please bring the maps to the meeting",
    "A cold wind blew across the hills", "They finished the job before lunch",
    "The children laughed at the puppet show", "My sister reads the news every morning",
    "The old clock stopped at midnight", "He poured some milk into the cup",
    "Our train leaves from the second platform", "The painter mixed a bright green colour",
    "Nobody noticed the open window", "The bakery sells fresh bread on Sunday",
    "The dog chased the ball down the hill", "I left my keys on the kitchen table",
    "The storm knocked down several trees", "She wrote her name at the top of the page",
    "The music was too loud for the room", "We need more chairs for the guests",
    "The lamp gave a soft yellow light", "He fixed the bike with a simple tool",
    "The market opens early on Friday", "The soup tasted of garlic and lemon",
    "A bird landed on the fence post", "They painted the fence a pale blue",
    "The ship sailed past the lighthouse", "The teacher smiled at the quiet class",
)

CREMA_D_DROP_ACTORS = tuple(range(1072, 1092))
CREMA_D_DROPPED_EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "SAD") * 3 + ("NEU",) * 5
_CREMA_EMOTION_CODES = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")


def check_corpus(corpus: str) -> None:
    if corpus not in CORPUS_CHOICES:
        raise ValueError(f"unknown corpus {corpus!r}; choose one of {', '.join(CORPUS_CHOICES)}")


def check_scale(scale: float) -> None:
    if not isinstance(scale, (int, float)) or not 0.0 < float(scale) <= 1.0:
        raise ValueError(f"scale must be a fraction in (0, 1] of each actor's files, got {scale!r}"
                         " (1.0 writes the full corpus, 0.1 a tenth of every actor's files)")


def _ravdess_paths() -> list[str]:
    out = []
    for actor in range(1, 25):
        for emo in range(1, 9):
            for inten in (1,) if emo == 1 else (1, 2):
                for stmt in (1, 2):
                    for rep in (1, 2):
                        name = f"03-01-{emo:02d}-{inten:02d}-{stmt:02d}-{rep:02d}-{actor:02d}.wav"
                        out.append(f"Actor_{actor:02d}/{name}")
    return out


def crema_d_dropped() -> set[str]:
    """The 20 CREMA-D file names the public release lacks (see the module docstring)."""
    return {f"{actor}_WSI_{emo}_XX.wav"
            for actor, emo in zip(CREMA_D_DROP_ACTORS, CREMA_D_DROPPED_EMOTIONS)}


def _crema_d_paths() -> list[str]:
    dropped = crema_d_dropped()
    out = []
    for actor in naming.CREMA_D_ACTORS:
        names = [f"{actor}_{sent}_{emo}_XX.wav" for sent in naming.CREMA_D_SENTENCES
                 if sent != "IEO" for emo in _CREMA_EMOTION_CODES]
        names.append(f"{actor}_IEO_NEU_XX.wav")
        names += [f"{actor}_IEO_{emo}_{level}.wav" for emo in _CREMA_EMOTION_CODES
                  if emo != "NEU" for level in ("LO", "MD", "HI")]
        out += [f"AudioWAV/{n}" for n in names if n not in dropped]
    return out


def _savee_paths() -> list[str]:
    return [f"ALL/{spk}_{code}{i:02d}.wav" for spk in naming.SAVEE_SPEAKERS
            for code in naming.SAVEE_EMOTIONS for i in range(1, (31 if code == "n" else 16))]


def _tess_paths() -> list[str]:
    return [f"{TESS_ROOT}/{TESS_FOLDERS[spk, emo]}/{spk}_{word}_{emo}.wav"
            for spk in naming.TESS_SPEAKERS for emo in naming.TESS_EMOTIONS
            for word in TESS_WORDS]


_FULL_PATHS = {"ravdess": _ravdess_paths, "crema_d": _crema_d_paths,
               "savee": _savee_paths, "tess": _tess_paths}


def _hash_key(name: str) -> bytes:
    return hashlib.sha256(name.encode("utf-8")).digest()


def _corpus_plan(corpus: str, scale: float) -> list[tuple[str, FileInfo]]:
    full = [(path, naming.parse(corpus, PurePosixPath(path).name))
            for path in _FULL_PATHS[corpus]()]
    groups: dict[tuple[str, str], list[tuple[str, FileInfo]]] = defaultdict(list)
    for path, info in full:
        groups[info.actor, info.emotion].append((path, info))
    kept = []
    for members in groups.values():
        n_keep = max(1, math.floor(scale * len(members) + 0.5))
        kept += sorted(members, key=lambda m: _hash_key(PurePosixPath(m[0]).name))[:n_keep]
    return sorted(kept, key=lambda m: m[0])


def planned_files(corpus: str, scale: float = 0.1, *,
                  duplicates: bool = False) -> list[tuple[str, FileInfo]]:
    """The ``(relative path, FileInfo)`` pairs ``synthesize(corpus, out_dir, scale=scale)``
    writes, sorted by path; paths are POSIX, relative to ``out_dir`` (prefixed with the corpus
    name for ``all``). With ``duplicates=True`` the Kaggle duplicate-tree copies (RAVDESS,
    TESS) are listed too; builders must count each recording once, i.e. match the default."""
    check_corpus(corpus)
    check_scale(scale)
    if corpus == "all":
        return [(f"{name}/{path}", info) for name in naming.CORPORA
                for path, info in planned_files(name, scale, duplicates=duplicates)]
    plan = _corpus_plan(corpus, float(scale))
    if duplicates:
        plan += [(dup, info) for path, info in plan if (dup := duplicate_path(corpus, path))]
        plan.sort(key=lambda m: m[0])
    return plan


def duplicate_path(corpus: str, path: str) -> str | None:
    """Where Kaggle's second copy of ``path`` lies (RAVDESS, TESS), or None."""
    if corpus == "ravdess":
        return f"{RAVDESS_DUPLICATE_ROOT}/{path}"
    if corpus == "tess":
        return f"{TESS_DUPLICATE_ROOT}/{path.removeprefix(TESS_ROOT + '/')}"
    return None


def utterance_text(info: FileInfo) -> str:
    """The words spoken in a file: its statement, sentence, SAVEE prompt or TESS carrier."""
    if info.corpus == "ravdess":
        return naming.RAVDESS_STATEMENTS[info.statement]
    if info.corpus == "crema_d":
        return naming.CREMA_D_SENTENCES[info.statement]
    if info.corpus == "savee":
        return SAVEE_SENTENCES[(int(info.statement) - 1) % len(SAVEE_SENTENCES)]
    return f"Say the word {info.statement}"
