"""The stream's terminal and microphone ends (``serjax.stream`` holds the logic).

* ``open_mic(sr, block)``: chunks from the default input device through ``sounddevice`` (an
  optional extra: ``pip install sounddevice``, which needs the PortAudio library), imported
  only here. Without the package or without an input device it raises ``MicUnavailable`` with
  a plain message, before any model is loaded.
* ``render_bars(event, labels)``: one line of per-emotion bars for a carriage-return redraw.
"""

from __future__ import annotations

import queue
from typing import Iterator

import numpy as np

BAR_WIDTH = 6
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
