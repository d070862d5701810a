"""Reading one audio file, in any encoding users have, into the samples the pipeline stores.

Accepted (by file suffix): ``.wav`` (PCM 8/16/24/32-bit, 32/64-bit float, u-law, A-law, ADPCM,
WAVE_FORMAT_EXTENSIBLE, RF64, NIST SPHERE as in TIMIT), ``.flac``, ``.ogg`` (Vorbis or Opus),
``.opus`` and ``.mp3``; any number of channels. libsndfile decodes them all; MP3 and Opus need
libsndfile >= 1.1 (the ``soundfile`` wheels bundle 1.2). A file whose content is not what its
suffix says (FLAC data in a ``.wav``) is refused: something went wrong when it was made.

One representation: libsndfile decodes every file to float64 at full scale +-1 (integer PCM
divided by 2**(bits-1)), channels are averaged, and then

* :func:`read_audio` returns float32 in [-1, 1] (what feature code works on);
* :func:`read_int16` rounds ``x * 32768`` to int16 (what the TFDS records store, and what
  prediction reads so that it sees exactly the training-time samples). 16-bit files come back
  bit-exact; 24/32-bit and float files keep 16-bit resolution (96 dB below full scale, well
  under any recording's noise floor), so a quiet file keeps all the resolution int16 allows.

Reading int16 straight from libsndfile is what went wrong before: libsndfile converts float
samples to integers *without scaling*, so a 32-bit float WAV (peaks below 1.0) read as all
zeros and was skipped as "silence".

Over full scale: float WAVs and lossy decodes (codec overshoot) can hold samples beyond +-1.
Such a file is scaled down by its peak, one gain for the whole file. Clipping would add
harmonics that the spectral features see; a gain changes only the level, which none of the
corpora calibrate anyway.

Files that cannot be used raise :class:`BadAudio` naming the file, the problem and the fix,
with a short ``reason`` tag; builders skip them and list the reason. Truncation is caught from
the WAV header, from FLAC's decoder and from an MP3's declared length; an Ogg stream records no
total length, so a cut Ogg file reads as the whole pages that survive.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import soundfile

#: Part of every manual directory's fingerprint: bump it when the samples read from some file
#: change, so datasets prepared by the older reader are rebuilt. 2: float WAVs read as zeros,
#: and only .wav files were read, before.
READER_VERSION = 2
#: Files shorter than this hold no speech (CREMA-D ships a few header-only or near-empty files).
MIN_DURATION_S = 0.1
#: File suffix -> the libsndfile containers such a file may hold. The order is the preference
#: when one recording comes in several encodings (CREMA-D ships WAV and MP3): lossless first.
CONTAINERS = {".wav": ("WAV", "WAVEX", "RF64", "NIST"), ".flac": ("FLAC",),
              ".ogg": ("OGG",), ".opus": ("OGG",), ".mp3": ("MP3",)}
AUDIO_SUFFIXES = tuple(CONTAINERS)
#: Compressed formats may only estimate their length in the header (MP3 without a Xing
#: header); a decode this much shorter than the header says is a truncated file.
_TRUNCATED_FRACTION = 0.01
_RIFF_FORMATS = ("WAV", "WAVEX")
_FIX = "replace it with a fresh copy from the download, or delete it"


class BadAudio(ValueError):
    """One audio file that cannot be used. The message names the file, the problem and the fix;
    ``reason`` is a short tag: empty, unreadable, wrong_format, truncated, non_finite, too_short."""

    def __init__(self, message: str, reason: str = "unreadable"):
        super().__init__(message)
        self.reason = reason


def audio_suffix(name: str) -> str | None:
    """The accepted audio suffix of a file name (lower case), or None. macOS ``._`` resource
    forks carry audio suffixes but hold no audio."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix in CONTAINERS and not name.startswith("._"):
        return suffix
    return None


def preference(name: str) -> int:
    """Rank of a file name's encoding when one recording exists in several (lower is better)."""
    suffix = audio_suffix(name)
    return AUDIO_SUFFIXES.index(suffix) if suffix else len(AUDIO_SUFFIXES)


def _kind(path: Path) -> str:
    """What the suffix promises, for messages: "WAV", "MP3", ... ("audio" if unknown)."""
    suffix = path.suffix.lower()
    return suffix[1:].upper() if suffix in CONTAINERS else "audio"


def _data_chunk_shortfall(path: Path) -> int:
    """Bytes the RIFF ``data`` chunk claims beyond the end of the file (0 if complete/unknown).

    libsndfile reads a truncated WAV without complaint; this catches it from the header."""
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


def _decode(path: Path) -> tuple[np.ndarray, int, str, int]:
    """libsndfile decode -> (float64 [n, channels] at full scale +-1, rate, container,
    frames the header declares). Raises BadAudio for unopenable, mislabelled or broken files."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise BadAudio(f"{path}: cannot open ({err.strerror}); {_FIX}") from err
    if size == 0:
        raise BadAudio(f"{path}: empty file (0 bytes); {_FIX}", "empty")
    kind = _kind(path)
    try:
        with soundfile.SoundFile(path) as f:
            allowed = CONTAINERS.get(path.suffix.lower())
            if allowed and f.format not in allowed:
                article = "a" if kind in ("WAV", "FLAC") else "an"
                raise BadAudio(f"{path}: not {article} {kind} file (it is {f.format}); rename it to "
                               f"its format's suffix, or {_FIX}", "wrong_format")
            declared = f.frames
            data = f.read(dtype="float64", always_2d=True)
            return data, f.samplerate, f.format, declared
    except (soundfile.LibsndfileError, RuntimeError, OSError) as err:
        raise BadAudio(f"{path}: not a readable {kind} file ({err}); {_FIX}") from err


def _check(path: Path, data: np.ndarray, rate: int, container: str, declared: int) -> None:
    """Raise BadAudio for a truncated, non-finite or too-short decode."""
    shortfall = _data_chunk_shortfall(path) if container in _RIFF_FORMATS else 0
    if shortfall:
        raise BadAudio(f"{path}: truncated ({shortfall} bytes of audio missing at the end); "
                       f"{_FIX}", "truncated")
    if len(data) < (1 - _TRUNCATED_FRACTION) * declared:
        raise BadAudio(f"{path}: truncated (decoded {len(data)} of the {declared} samples its "
                       f"header declares); {_FIX}", "truncated")
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        raise BadAudio(f"{path}: non-finite samples (NaN/Inf): {bad} of {data.size} values; "
                       f"re-export it from its source, or delete it", "non_finite")
    if len(data) < MIN_DURATION_S * rate:
        raise BadAudio(f"{path}: {len(data)} samples ({len(data) / rate:.3f} s) is too short to "
                       f"hold speech (minimum {MIN_DURATION_S} s); {_FIX}", "too_short")


def _read_float64(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Checked, downmixed float64 [n] within [-1, 1] (see the module docstring), and its rate."""
    path = Path(path)
    data, rate, container, declared = _decode(path)
    _check(path, data, rate, container, declared)
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    peak = float(np.max(np.abs(mono)))
    if peak > 1.0:          # over full scale: one gain for the file, never clipping
        mono = mono / peak
    return mono, rate


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Any accepted audio file -> (float32 mono samples [n] in [-1, 1], native rate).

    Multi-channel files are averaged. Raises BadAudio, naming the file, for an empty,
    truncated, mislabelled, undecodable, non-finite (NaN/Inf) or too-short
    (< MIN_DURATION_S) file."""
    mono, rate = _read_float64(path)
    return mono.astype(np.float32), rate


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples at full scale +-1 -> int16, rounded to nearest (``+1.0`` clips to 32767,
    the one value int16 cannot hold)."""
    return np.clip(np.rint(np.asarray(samples, np.float64) * 32768.0),
                   -32768, 32767).astype(np.int16)


def read_int16(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Any accepted audio file -> (int16 mono samples [n], native rate): what the TFDS records
    store. As :func:`read_audio`, rounded to 16 bits; a 16-bit file comes back bit-exact and a
    stereo 16-bit file as the rounded mean of its channels."""
    mono, rate = _read_float64(path)
    return to_int16(mono), rate
