"""Speaker gender from the voice, for inference when the gender bit is not given.

The fused classifier takes one gender bit (``serjax.corpora.naming.MALE`` = 1, ``FEMALE`` = 0). At
training time it comes from the corpus tables; at inference ``--gender auto`` estimates it from
the median fundamental frequency (F0) of the voiced frames:

* ``median F0 >= THRESHOLD_HZ`` (165 Hz) -> female, below -> male. Adult male speaking F0
  clusters around 85-155 Hz and female around 165-255 Hz; 165 Hz is the usual boundary.
* F0 is tracked in ``[FMIN_HZ, FMAX_HZ]`` = [65, 500] Hz with ``frame_length`` 2048 at 22,050 Hz
  (93 ms, long enough for two periods of 65 Hz).
* ``method="pyin"`` (default for ``serjax predict``): ``librosa.pyin``; its voicing decision
  picks the voiced frames. ``method="yin"`` (``serjax stream``: ~25x faster): ``librosa.yin``,
  with frames whose RMS lies within ``YIN_VOICED_DB`` dB of the loudest frame counted as voiced.
* Audio without a voiced frame falls back to ``DEFAULT_GENDER`` and says so (``f0_hz`` is NaN).

Measured accuracy (synthetic RAVDESS and real RAVDESS/TESS) is in ``docs/inference.md``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from serjax.corpora import audio_file, discover, naming
from serjax.features import (
    audio,
    spec,  # noqa: PLC0415
)

THRESHOLD_HZ = 165.0
FMIN_HZ = 65.0
FMAX_HZ = 500.0
FRAME_LENGTH = 2048
HOP_LENGTH = 512
YIN_VOICED_DB = 25.0
#: Used when no frame is voiced; male is the more frequent class in the four corpora combined.
DEFAULT_GENDER = naming.MALE
GENDER_CHOICES = ("auto", "male", "female")
METHODS = ("pyin", "yin")


@dataclasses.dataclass(frozen=True)
class GenderEstimate:
    gender: int        # MALE = 1, FEMALE = 0
    f0_hz: float       # median F0 of the voiced frames (NaN when none was voiced)
    voiced_frames: int

    @property
    def name(self) -> str:
        return naming.GENDER_NAMES[self.gender]


def voiced_f0(y: np.ndarray, sr: int, method: str = "pyin") -> np.ndarray:
    """float32 waveform [n] -> F0 in Hz of its voiced frames, float [V] (V may be 0)."""
    import librosa  # noqa: PLC0415  (heavy import, only where needed)
    if method not in METHODS:
        raise ValueError(f"gender method {method!r}; choose one of {METHODS}")
    y = np.asarray(y, np.float32)
    if y.size < FRAME_LENGTH:
        return np.zeros(0)
    if method == "pyin":
        f0, voiced, _ = librosa.pyin(y, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=sr,
                                     frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH)
        return f0[voiced & np.isfinite(f0)]
    f0 = librosa.yin(y, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=sr, frame_length=FRAME_LENGTH,
                     hop_length=HOP_LENGTH)
    rms = librosa.feature.rms(y=y, frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH)[0]
    level_db = 20.0 * np.log10(np.maximum(rms, 1e-10) / max(float(rms.max()), 1e-10))
    count = min(f0.shape[0], level_db.shape[0])
    return f0[:count][level_db[:count] > -YIN_VOICED_DB]


def gender_from_f0(f0_values: np.ndarray, threshold_hz: float = THRESHOLD_HZ) -> GenderEstimate:
    """Voiced-frame F0 values [V] -> the estimate (median rule; DEFAULT_GENDER when V = 0)."""
    f0_values = np.asarray(f0_values, np.float64)
    if f0_values.size == 0:
        return GenderEstimate(DEFAULT_GENDER, float("nan"), 0)
    median = float(np.median(f0_values))
    gender = naming.FEMALE if median >= threshold_hz else naming.MALE
    return GenderEstimate(gender, median, int(f0_values.size))


def estimate_gender(y: np.ndarray, sr: int, method: str = "pyin",
                    threshold_hz: float = THRESHOLD_HZ) -> GenderEstimate:
    """Prepared float32 waveform [n] at ``sr`` -> GenderEstimate from its median voiced F0."""
    return gender_from_f0(voiced_f0(y, sr, method), threshold_hz)


def parse_gender(choice: str) -> int | None:
    """``male`` -> MALE, ``female`` -> FEMALE, ``auto`` -> None (estimate from the voice)."""
    choice = str(choice).lower()
    if choice not in GENDER_CHOICES:
        raise ValueError(f"--gender {choice!r}; choose one of {', '.join(GENDER_CHOICES)}")
    return None if choice == "auto" else {"male": naming.MALE, "female": naming.FEMALE}[choice]


# ---------------------------------------------------------------- measuring the accuracy

def evaluate(corpus: str, folder, method: str = "pyin", threshold_hz: float = THRESHOLD_HZ
             ) -> dict:
    """Accuracy of the estimate on every file of ``corpus`` under ``folder`` (truth from the
    file names, audio prepared as for training with the default spec): {n, accuracy,
    male_accuracy, female_accuracy, errors: [(file, truth, median F0)], and per file:
    paths, truth, f0_hz}."""
    config = spec.default_config()
    found = discover.discover(corpus, folder)
    truth, guess, errors, f0 = [], [], [], []
    for item in found.files:
        samples, rate = audio_file.read_int16(item.abspath)
        wave = audio.prepare(samples, rate, config.audio, name=item.path)
        est = estimate_gender(wave, config.audio.sample_rate, method, threshold_hz)
        truth.append(item.info.gender)
        guess.append(est.gender)
        f0.append(est.f0_hz)
        if est.gender != item.info.gender:
            errors.append((item.path, naming.GENDER_NAMES[item.info.gender], est.f0_hz))
    truth, guess = np.array(truth), np.array(guess)
    per = {f"{naming.GENDER_NAMES[g]}_accuracy": float(np.mean(guess[truth == g] == g))
           if np.any(truth == g) else None for g in (naming.MALE, naming.FEMALE)}
    return {"n": int(truth.size), "accuracy": float(np.mean(truth == guess)), **per,
            "errors": errors, "paths": [i.path for i in found.files], "truth": truth,
            "f0_hz": np.array(f0)}


def main(argv=None) -> None:
    """``python -m serjax.serve.gender CORPUS FOLDER [--method pyin|yin]``: prints the accuracy."""
    import argparse  # noqa: PLC0415
    parser = argparse.ArgumentParser(description="accuracy of the F0 gender estimate")
    parser.add_argument("corpus", choices=naming.CORPORA)
    parser.add_argument("folder")
    parser.add_argument("--method", default="pyin", choices=METHODS)
    parser.add_argument("--threshold", type=float, default=THRESHOLD_HZ)
    args = parser.parse_args(argv)
    result = evaluate(args.corpus, args.folder, args.method, args.threshold)
    fmt = lambda v: "-" if v is None else f"{100 * v:.1f} %"  # noqa: E731
    print(f"{args.corpus} ({args.folder}), {args.method}, threshold {args.threshold:g} Hz: "
          f"{result['n']} files, accuracy {fmt(result['accuracy'])} (male "
          f"{fmt(result['male_accuracy'])}, female {fmt(result['female_accuracy'])})")
    for path, truth, f0 in result["errors"][:20]:
        print(f"  wrong: {path} ({truth}, median F0 {f0:.0f} Hz)")


if __name__ == "__main__":
    main()
