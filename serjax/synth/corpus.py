"""Synthetic speech corpora in each Kaggle layout: ``serjax synth CORPUS OUT_DIR``.

The embedded default data of serjax: a deterministic stand-in for RAVDESS, CREMA-D, SAVEE and
TESS that the real pipeline (discover → TFDS builder → features → training) runs on unchanged.

* **Layout, names, rates** (``serjax.synth.plan``): each corpus's exact Kaggle folders and file
  names, including RAVDESS's and TESS's duplicate trees (written as hard links, or copies where
  links are impossible, so they cost no disk); 16-bit PCM mono at the native rate (48 kHz,
  16 kHz, 44.1 kHz, 24,414 Hz). ``scale=1`` gives the full file and actor counts (1,440 /
  7,442 / 480 / 2,800); smaller scales keep every actor and class.
* **CREMA-D's 20 missing files**: 91 actors × 82 sentence/emotion/level combinations = 7,462,
  the public release has 7,442 (1,271 per emotion, 1,087 neutral). Rule: actors 1072–1091
  each lack one ``WSI_<EMO>_XX`` file, EMO in order ANG DIS FEA HAP SAD (×3), then NEU (×5);
  so the per-label counts match the release and every actor keeps every class.
* **Voice model** (``serjax.synth.voice``): a source-filter synthesiser. Each actor has an F0
  (male 100–130 Hz, female 180–230 Hz), a vocal-tract scale (formants ×0.95–1.05 male,
  ×1.12–1.22 female) and random baseline offsets; each statement's text fixes the segment
  sequence (``serjax.synth.phones``). Emotions shift, relative to neutral and scaled by
  intensity (strong ×1.5, CREMA-D LO ×0.6 / HI ×1.45):

  ====================  ==========================================================
  calm                  F0 −1 st, narrow range, slower, −3 dB, steeper tilt, breathy
  happy                 F0 +3.5 st, wide range, faster, +3 dB, flatter tilt, wider F1
  sad                   F0 −2.5 st, narrow range, slow, −5 dB, steep tilt, breathy, jitter
  angry                 F0 +2.5 st, wide range, fast, +7 dB, much flatter tilt, jitter, F1 up
  fear                  F0 +5.5 st, fast, high jitter, breathy, tremor
  disgust               F0 −1.5 st, slow, long pauses, jitter, slightly breathy
  surprise              F0 +5 st, widest range, +3.5 dB, final rise
  ====================  ==========================================================

  Every actor realises each emotion with its own random gains (×e^N(0, 0.35)) and offsets on
  every parameter, and each file varies again, so held-out-actor emotion accuracy is high but
  not perfect (see tests/test_synth.py for the measured band).
* **Determinism**: per-actor and per-file random generators are seeded from
  ``SeedSequence([seed, sha256(corpus, actor or file name)])`` (never Python's ``hash()``):
  the same seed gives the same bytes on every run with the same NumPy (another platform's
  floating point could, rarely, move a sample by one step); another seed gives other audio.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf
from tqdm import tqdm

from serjax.corpora import naming
from serjax.corpora.naming import FileInfo
from serjax.synth import plan as synth_plan
from serjax.synth import voice as synth_voice
from serjax.synth.plan import planned_files


def _seed_words(seed: int, *parts: str) -> list[int]:
    """Entropy for SeedSequence: the seed plus a SHA-256 of the parts (never Python's hash())."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return [int(seed)] + [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def file_rng(seed: int, corpus: str, name: str) -> np.random.Generator:
    """The random generator of one file (its name, not its folder, identifies it)."""
    return np.random.default_rng(np.random.SeedSequence(_seed_words(seed, "file", corpus, name)))


@functools.lru_cache(maxsize=256)
def actor_voice(seed: int, actor: str) -> synth_voice.Voice:
    """The voice of a globally unique actor id (``ravdess/01``) under ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence(_seed_words(seed, "actor", actor)))
    return synth_voice.make_voice(naming.actor_gender(actor) == naming.MALE, rng)


def render_file(info: FileInfo, name: str, seed: int) -> np.ndarray:
    """The int16 samples [N] of one planned file (``name`` is its base name)."""
    rng = file_rng(seed, info.corpus, name)
    voice = actor_voice(seed, info.actor)
    style = synth_voice.style_vector(voice, info.emotion, info.intensity, rng)
    wave = synth_voice.render(synth_plan.utterance_text(info), voice, style,
                              naming.NATIVE_RATES[info.corpus], rng)
    return np.clip(np.round(wave * 32767.0), -32768, 32767).astype(np.int16)


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()  # never write through an old hard link into its twin
    sf.write(path, samples, rate, subtype="PCM_16", format="WAV")


def _link_or_copy(source: Path, target: Path) -> None:
    """A duplicate-tree file: a hard link (no disk), or a copy where links are impossible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _check_out_dir(out_dir: Path, expected: set[str]) -> None:
    """Refuses to mix with wavs from another plan (e.g. an earlier, larger --scale)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a folder; choose a folder for the corpus")
    stale = [p for p in out_dir.rglob("*") if p.suffix.lower() == ".wav"
             and p.relative_to(out_dir).as_posix() not in expected] if out_dir.exists() else []
    if stale:
        raise ValueError(
            f"{out_dir} already holds {len(stale)} wav files this call would not write "
            f"(e.g. {stale[0]}), so a builder would see a mix of corpora or scales; "
            "write into an empty folder or delete the old files first")


def _summary(corpus: str, plan: list[tuple[str, FileInfo]], seconds: float, path: Path) -> dict:
    labels = Counter(info.emotion for _, info in plan)
    return {
        "files": len(plan),
        "actors": len({info.actor for _, info in plan}),
        "labels": {name: labels[name] for name in naming.LABELS if labels[name]},
        "sample_rate": naming.NATIVE_RATES[corpus],
        "seconds": round(seconds, 3),
        "path": str(path),
    }


def synthesize(corpus: str, out_dir: str | os.PathLike, *, scale: float = 0.1, seed: int = 0,
               progress: bool = True) -> dict:
    """Writes a synthetic corpus in its Kaggle layout under ``out_dir``.

    ``corpus`` is one of ravdess, crema_d, savee, tess, or ``all`` (then ``out_dir/<corpus>``
    for each). ``scale`` in (0, 1] is the fraction of each actor's files per class (at least
    one). Returns ``{corpus: {files, actors, labels, sample_rate, seconds, path}}``; ``files``
    counts each recording once (duplicate trees excluded).
    """
    synth_plan.check_corpus(corpus)
    synth_plan.check_scale(scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out_dir = Path(out_dir)
    names = naming.CORPORA if corpus == "all" else (corpus,)
    roots = {name: out_dir / name if corpus == "all" else out_dir for name in names}
    plans = {name: synth_plan.planned_files(name, scale) for name in names}
    for name in names:
        expected = {p for p, _ in synth_plan.planned_files(name, scale, duplicates=True)}
        _check_out_dir(roots[name], expected)
    bar = tqdm(total=sum(map(len, plans.values())), unit="file", disable=not progress,
               desc="synth")
    summary = {}
    for name in names:
        bar.set_description(f"synth {name}")
        rate, seconds = naming.NATIVE_RATES[name], 0.0
        for rel, info in plans[name]:
            samples = render_file(info, PurePosixPath(rel).name, int(seed))
            target = roots[name] / rel
            _write_wav(target, samples, rate)
            if dup := synth_plan.duplicate_path(name, rel):
                _link_or_copy(target, roots[name] / dup)
            seconds += len(samples) / rate
            bar.update()
        summary[name] = _summary(name, plans[name], seconds, roots[name])
    bar.close()
    return summary


def format_summary(summary: dict) -> str:
    """``synthesize``'s summary as text: one line per corpus plus its label counts."""
    lines = []
    for corpus, info in summary.items():
        labels = ", ".join(f"{name} {count}" for name, count in info["labels"].items())
        lines.append(f"{corpus}: {info['files']} files, {info['actors']} actors, "
                     f"{info['sample_rate']} Hz, {info['seconds'] / 60:.1f} min of audio "
                     f"-> {info['path']}\n  {labels}")
    return "\n".join(lines)
