"""The input and output ends of ``serjax predict`` and ``serjax stream`` (the logic lives in
``serjax.serve.predict`` and ``serjax.serve.live``).

* ``format_table`` / ``write_csv`` / ``write_json``: predict's results (``predict.FileResult``)
  as a terminal table, a CSV (one ``p_<label>`` column per class) or JSON (``labels`` and one
  record per file: file, emotion, confidence, top3, gender, gender_source, f0_hz,
  probabilities, warning, error).
* ``open_mic(sr, block)``: chunks from the default input device through ``sounddevice`` (an
  optional extra: ``pip install sounddevice``, which needs the PortAudio library), imported
  only here. Without the package or without an input device it raises ``MicUnavailable`` with
  a plain message, before any model is loaded.
* ``render_bars(event, labels)``: one line of per-emotion bars for a carriage-return redraw.
"""

from __future__ import annotations

import csv
import json
import pathlib
import queue
from typing import Iterator

import numpy as np

from serjax.corpora import naming

BAR_WIDTH = 6
#: ``serjax stream``: seconds of audio per classified window, and between two windows.
WINDOW_S = 2.5
HOP_S = 0.5
#: ``serjax stream --features``: per-window features jitted with the model, or librosa's.
FEATURE_PATHS = ("jax", "librosa")
#: ``serjax predict --speaker``. Speaker normalisation needs MIN_SPEAKER_FILES usable files of
#: a speaker: fewer give statistics too noisy to stand in for the speaker's (training used
#: every utterance of an actor).
SPEAKER_CHOICES = ("name", "one")
MIN_SPEAKER_FILES = 8
_EIGHTHS = " ▏▎▍▌▋▊▉█"


class MicUnavailable(RuntimeError):
    """No microphone can be read: the message says why and what to do instead."""


def open_mic(sr: int, block: int) -> Iterator[np.ndarray]:
    """Opens the default input device at ``sr`` Hz, mono float32; returns an iterator of
    ``block``-sample chunks. Raises MicUnavailable when that is impossible."""
    try:
        import sounddevice  # noqa: PLC0415  (optional extra)
    except (ImportError, OSError) as err:  # OSError: the package is there, PortAudio is not
        raise MicUnavailable(
            f"--input mic needs the optional 'sounddevice' package and the PortAudio library "
            f"({err}); install them with `pip install sounddevice` (and e.g. `apt install "
            "libportaudio2`), or pass --input FILE.wav") from None
    try:
        sounddevice.query_devices(kind="input")
        sounddevice.check_input_settings(samplerate=sr, channels=1, dtype="float32")
    except Exception as err:  # PortAudioError / ValueError: no usable input device
        raise MicUnavailable(f"no microphone found ({err}); plug one in or pass "
                             "--input FILE.wav") from None
    return _mic_chunks(sounddevice, sr, block)


def _mic_chunks(sounddevice, sr: int, block: int) -> Iterator[np.ndarray]:
    blocks: queue.Queue = queue.Queue()

    def callback(indata, frames, time_info, status):  # runs on PortAudio's thread
        blocks.put(indata[:, 0].copy())

    with sounddevice.InputStream(samplerate=sr, channels=1, dtype="float32", blocksize=block,
                                 callback=callback):
        while True:
            yield blocks.get()


def bar(value: float, width: int = BAR_WIDTH) -> str:
    """A value in [0, 1] as a bar of ``width`` cells with 1/8-cell resolution."""
    eighths = int(round(max(0.0, min(1.0, value)) * width * 8))
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width)


def render_bars(event: dict, labels: list) -> str:
    """``  12.5s angry | neu ▏     cal       hap ██▌ ...`` for one stream event."""
    head = f"{event['time']:7.1f}s "
    if event["probabilities"] is None:
        return head + "(listening...)"
    label = event["label"] + (" (silence)" if event["silent"] else "")
    cells = " ".join(f"{name[:3]} {bar(event['probabilities'][name])}" for name in labels)
    return f"{head}{label:<16} | {cells} | {event['latency_ms']:5.1f} ms"


# ------------------------------------------------------------------------ predict's output

def top_k(probs: np.ndarray, labels: list, k: int = 3) -> list[tuple[str, float]]:
    order = np.argsort(-probs, kind="stable")[:k]
    return [(labels[i], float(probs[i])) for i in order]


def result_record(r, labels: list) -> dict:
    """A FileResult as a JSON-ready dict (also the CSV row, with probabilities flattened)."""
    record = {"file": r.file, "emotion": "", "confidence": None, "top3": [],
              "gender": "" if r.gender is None else naming.GENDER_NAMES[r.gender],
              "gender_source": r.gender_source,
              "f0_hz": None if not np.isfinite(r.f0_hz) else round(float(r.f0_hz), 1),
              "probabilities": {}, "warning": r.warning, "error": r.error}
    if r.probs is not None:
        top = top_k(r.probs, labels)
        record.update(emotion=top[0][0], confidence=round(top[0][1], 6),
                      top3=[[name, round(p, 6)] for name, p in top],
                      probabilities={n: round(float(p), 6) for n, p in zip(labels, r.probs)})
    return record


def format_table(results: list, labels: list) -> str:
    """The terminal table: file, emotion, confidence, top 3, gender."""
    rows = [("file", "emotion", "conf", "top 3", "gender")]
    for r in results:
        rec = result_record(r, labels)
        if r.error:
            rows.append((r.file, "-", "-", f"skipped: {r.error}", ""))
            continue
        top = ", ".join(f"{n} {p:.2f}" for n, p in rec["top3"])
        sex = rec["gender"] + (f" ({rec['f0_hz']:.0f} Hz)" if rec["f0_hz"] else "")
        rows.append((r.file, rec["emotion"], f"{rec['confidence']:.2f}", top, sex))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4]
                     for row in rows)


def write_csv(results: list, labels: list, out) -> None:
    fields = ["file", "emotion", "confidence", "gender", "gender_source", "f0_hz",
              *(f"p_{n}" for n in labels), "warning", "error"]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in results:
            rec = result_record(r, labels)
            row = {k: rec[k] for k in fields if k in rec}
            row.update({f"p_{n}": p for n, p in rec["probabilities"].items()})
            writer.writerow(row)


def write_json(results: list, labels: list, out) -> None:
    payload = {"labels": labels, "results": [result_record(r, labels) for r in results]}
    pathlib.Path(out).write_text(json.dumps(payload, indent=1))
