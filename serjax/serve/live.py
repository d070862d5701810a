"""Live emotion recognition over a stream: ``serjax stream --workdir W [--input mic|FILE]``.

Audio arrives in chunks at ``audio.sample_rate`` (the microphone is opened at that rate; a file
is read once with ``audio_file.read_int16`` and resampled once with the config's resampler, then
fed in chunks of ``--hop`` seconds, paced in real time unless ``--no-realtime``). A ring buffer
keeps the last ``--window`` seconds; every ``--hop`` seconds the window is classified:

1. **Energy gate**: a window whose RMS is below ``GATE_DBFS`` (-60 dBFS; real RAVDESS speech
   frames sit near -42 dBFS, its quietest files at -48 dBFS overall) is silent and skipped, as is
   a window that ``audio.prepare`` rejects (silence only, or under ``n_fft`` samples after
   trimming). Skipped windows leave the smoothed probabilities unchanged.
2. **Features**: ``audio.prepare`` (trim with ``audio.trim_top_db``; the config's fixed
   training window, if any, is *not* applied: the stream window replaces it), then the
   acoustic summary + statistical features. ``features="jax"`` (default) runs
   ``features.jax_features`` and the model forward pass in ONE jitted function compiled once
   for the window length (max |difference| to the librosa path ~2e-7 relative);
   ``features="librosa"`` runs ``predict.wave_features`` (the precompute code) and the jitted
   forward pass. JAX is ~2x faster per window on CPU (``docs/inference.md``).
3. **Smoothing**: exponential moving average ``p = EMA_ALPHA * p_window + (1 - EMA_ALPHA) * p``
   with ``EMA_ALPHA = 0.5`` (the weight of a window halves every hop: ~1 s memory at the
   default 0.5 s hop); the first voiced window initialises ``p``. After a change of emotion the
   smoothed label follows within ``SWITCH_WINDOWS`` windows (window/hop + 3 = 8 by default;
   pinned in ``tests/test_stream.py``).
4. **Gender**: ``--gender male|female``, or ``auto``: ``serjax.serve.gender`` with the fast ``yin``
   tracker on each new hop of audio; the median of the voiced F0 of the last
   ``GENDER_MEMORY_S`` seconds decides (threshold ``gender.THRESHOLD_HZ``).

Each window gives an event ``{"time", "silent", "label", "probabilities", "raw", "gender",
"latency_ms"}`` (``time``: stream seconds at the window's end; ``latency_ms``: gate + trim +
features + forward). The terminal shows one redrawn bar line; ``--jsonl`` prints one JSON
object per window instead.
"""

from __future__ import annotations

import collections
import json
import math
import sys
import time
from typing import Callable, Iterator

import jax
import numpy as np

from serjax.corpora import audio_file
from serjax.features import (
    audio,
    jax_features,  # noqa: PLC0415
)
from serjax.models import networks
from serjax.serve import gender as gender_lib
from serjax.serve import model_bundle, predict
from serjax.serve.inference_io import (
    FEATURE_PATHS,
    HOP_S,
    WINDOW_S,
    MicUnavailable,
    open_mic,
    render_bars,
)
from serjax.training import checkpoint

GATE_DBFS = -60.0
EMA_ALPHA = 0.5
GENDER_MEMORY_S = 10.0


def switch_windows(window_s: float = WINDOW_S, hop_s: float = HOP_S) -> int:
    """Windows after an emotion change within which the smoothed label follows (documented)."""
    return math.ceil(window_s / hop_s) + 3


def rms_dbfs(y: np.ndarray) -> float:
    """RMS level of float audio in dB re full scale (-inf for digital silence)."""
    power = float(np.mean(np.square(y, dtype=np.float64))) if y.size else 0.0
    return 10.0 * math.log10(power) if power > 0 else -math.inf


class RingBuffer:
    """The last ``size`` samples of a stream (float32), oldest first."""

    def __init__(self, size: int):
        self.data = np.zeros(size, np.float32)
        self.filled = 0

    def push(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, np.float32)[-self.data.size:]
        n = chunk.size
        self.data = np.roll(self.data, -n)
        self.data[-n:] = chunk
        self.filled = min(self.filled + n, self.data.size)

    @property
    def full(self) -> bool:
        return self.filled == self.data.size


class RunningGender:
    """Median voiced F0 over the last ``memory_s`` seconds, updated hop by hop (yin)."""

    def __init__(self, sr: int, memory_s: float = GENDER_MEMORY_S):
        self.sr = sr
        frames = int(memory_s * sr / gender_lib.HOP_LENGTH)
        self.values: collections.deque = collections.deque(maxlen=max(frames, 1))

    def update(self, chunk: np.ndarray) -> gender_lib.GenderEstimate:
        if rms_dbfs(chunk) > GATE_DBFS:
            self.values.extend(gender_lib.voiced_f0(chunk, self.sr, "yin").tolist())
        return gender_lib.gender_from_f0(np.array(self.values))


def traceable_features(config):
    """``(wave f32[L], length i32[]) -> (summary [1, F], statistical [1, S])`` with
    ``features.jax_features``, safe to call inside ``jax.jit`` / ``jax.export``.

    ``jax_features`` builds its constants (banks, window) on first use and caches them; built
    inside a trace they would be tracers that leak into the next trace (an
    UnexpectedTracerError), so they are built here, outside any trace, first."""
    sr, f = int(config.audio.sample_rate), config.features
    jax_features._compiled(sr, jax_features._static(f))  # noqa: SLF001  (see docstring)

    def features(wave, length):
        out = jax_features.batch_features(wave[None], length[None], sr, f)
        return out["summary"], out["statistical"]
    return features


class WindowClassifier:
    """One window of prepared-rate audio -> class probabilities (or None when skipped)."""

    def __init__(self, bundle: model_bundle.Bundle, window_samples: int, features: str = "jax"):
        if features not in FEATURE_PATHS:
            raise ValueError(f"--features {features!r}; choose one of {FEATURE_PATHS}")
        if bundle.speaker_norm:
            raise ValueError(
                f"{bundle.source}: trained with train.speaker_norm=True, which standardises "
                "each speaker by the statistics of many of their utterances; a live stream has "
                "none to draw on. Use `serjax predict --speaker name|one` on a batch of the "
                "speaker's files, or stream with a model trained without speaker_norm")
        if networks.reads_frames(bundle.models.config) or predict.jax_window_reason(bundle.config):
            # the fused JAX window function computes librosa summary vectors only
            features = "librosa"
        self.bundle, self.window_samples, self.features = bundle, window_samples, features
        self.config = bundle.config
        self.audio_config = bundle.config.audio.copy_and_resolve_references()
        self.audio_config.window_offset_s = None    # the stream window replaces it
        self.audio_config.window_duration_s = None
        self.classifier = predict.Classifier(bundle)
        self._params = jax.device_put(bundle.models.params)
        self._scalers = jax.device_put(bundle.models.scalers)
        self._window_probs = jax.jit(self._window_fn()) if features == "jax" else None

    def _window_fn(self):
        forward = checkpoint.forward_fn(self.bundle.models)
        features = traceable_features(self.config)

        def window_probs(params, scalers, wave, length, gender):
            summary, statistical = features(wave, length)
            probs = forward(params, scalers, summary, statistical, gender[None])
            return probs.mean(axis=0)[0]
        return window_probs

    def prepare(self, window: np.ndarray) -> np.ndarray | None:
        """Gate + trim; None for a silent window."""
        if rms_dbfs(window) < GATE_DBFS:
            return None
        try:
            return audio.prepare(window, int(self.config.audio.sample_rate), self.audio_config,
                                 min_samples=int(self.config.features.n_fft))
        except audio.BadAudio:
            return None

    def probs(self, wave: np.ndarray, gender: int) -> np.ndarray:
        """Prepared (trimmed) window [n <= window_samples] -> float32 [C]."""
        if self.features == "jax":
            buffer = np.zeros(self.window_samples, np.float32)
            buffer[:wave.size] = wave[:self.window_samples]
            out = self._window_probs(self._params, self._scalers, buffer,
                                     np.int32(min(wave.size, self.window_samples)),
                                     np.float32(gender))
            return np.asarray(out)
        (acoustic, stats), = predict.wave_features([wave], self.config, backend="librosa")
        if isinstance(acoustic, dict):  # frames models
            acoustic = {k: v[None] for k, v in acoustic.items()}
        else:
            acoustic = acoustic[None]
        return self.classifier.probs(acoustic, stats[None], np.float32([gender]))[0]

    def warm_up(self) -> None:
        """Compile and run once so the first real window is not slow."""
        t = np.arange(self.window_samples) / self.config.audio.sample_rate
        tone = (0.1 * np.sin(2 * np.pi * 150.0 * t)).astype(np.float32)
        self.probs(self.prepare(tone), 1)


def file_chunks(path, sr: int, res_type: str, hop_samples: int,
                realtime: bool) -> Iterator[np.ndarray]:
    """A WAV file as float32 chunks of ``hop_samples`` at ``sr`` (resampled once), paced in
    real time when ``realtime``."""
    samples, rate = audio_file.read_int16(path)
    wave = audio.resample(audio.to_float32(samples), rate, sr, res_type)
    start = time.perf_counter()
    for i, pos in enumerate(range(0, wave.size, hop_samples)):
        if realtime:
            time.sleep(max(0.0, start + (i + 1) * hop_samples / sr - time.perf_counter()))
        yield wave[pos:pos + hop_samples]


def run_stream(bundle: model_bundle.Bundle, chunks, *, window_s: float = WINDOW_S,
               hop_s: float = HOP_S, gender: str = "auto", features: str = "jax",
               alpha: float = EMA_ALPHA) -> Iterator[dict]:
    """Chunks of float32 audio at ``audio.sample_rate`` -> one event per hop once the ring
    buffer holds a full window (see the module docstring)."""
    if not 0 < hop_s <= window_s:
        raise ValueError(f"--hop {hop_s} must be > 0 and <= --window {window_s}")
    if not 0 < alpha <= 1:
        raise ValueError(f"EMA alpha {alpha} must lie in (0, 1]")
    sr = int(bundle.config.audio.sample_rate)
    window_n, hop_n = int(round(window_s * sr)), int(round(hop_s * sr))
    if window_n < int(bundle.config.features.n_fft):
        raise ValueError(f"--window {window_s} s is shorter than one analysis frame")
    fixed = gender_lib.parse_gender(gender)
    model = WindowClassifier(bundle, window_n, features)
    model.warm_up()
    labels, ring, voices = bundle.labels, RingBuffer(window_n), RunningGender(sr)
    smoothed, pending, heard, estimate = None, np.zeros(0, np.float32), 0, None
    for chunk in chunks:
        pending = np.concatenate([pending, np.asarray(chunk, np.float32).reshape(-1)])
        while pending.size >= hop_n:
            hop, pending = pending[:hop_n], pending[hop_n:]
            ring.push(hop)
            heard += hop_n
            if fixed is None:
                estimate = voices.update(hop)
            if not ring.full:
                continue
            start = time.perf_counter()
            wave = model.prepare(ring.data)
            sex = fixed if fixed is not None else estimate.gender
            raw = None if wave is None else model.probs(wave, sex)
            if raw is not None:
                smoothed = raw if smoothed is None else alpha * raw + (1 - alpha) * smoothed
            latency = (time.perf_counter() - start) * 1e3
            yield event(heard / sr, raw, smoothed, labels, sex, latency)


def _named(probs, labels) -> dict | None:
    return None if probs is None else {n: round(float(v), 6) for n, v in zip(labels, probs)}


def event(time_s: float, raw, smoothed, labels, sex: int, latency_ms: float) -> dict:
    """One window's JSON-ready event (see the module docstring)."""
    return {"time": round(time_s, 3), "silent": raw is None,
            "label": None if smoothed is None else labels[int(np.argmax(smoothed))],
            "probabilities": _named(smoothed, labels), "raw": _named(raw, labels),
            "gender": gender_lib.naming.GENDER_NAMES[sex], "latency_ms": round(latency_ms, 3)}


def run(args) -> int:
    """``serjax stream``: bar line (carriage-return redraw) or ``--jsonl`` to stdout."""
    config = model_bundle.read_config(model_bundle.checked_dir(args.workdir))
    sr, res_type = int(config.audio.sample_rate), config.audio.res_type
    hop_n = int(round(args.hop * sr))
    if args.input == "mic":
        try:  # before loading the models: say at once when there is no microphone
            chunks = open_mic(sr, hop_n)
        except MicUnavailable as err:
            print(f"serjax stream: {err}", file=sys.stderr)
            return 2
    else:
        audio_file.read_int16(args.input)  # a bad file fails here, with its name, not mid-stream
        chunks = file_chunks(args.input, sr, res_type, hop_n, realtime=not args.no_realtime)
    bundle = model_bundle.load_bundle(args.workdir, args.models)
    emit: Callable[[dict], None] = (
        (lambda e: print(json.dumps(e), flush=True)) if args.jsonl else
        (lambda e: print("\r" + render_bars(e, bundle.labels) + "\x1b[K", end="", flush=True)))
    try:
        for e in run_stream(bundle, chunks, window_s=args.window, hop_s=args.hop,
                            gender=args.gender, features=args.features):
            emit(e)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # e.g. `serjax stream ... --jsonl | head`: the reader is done
        sys.stdout = None
        return 0
    if not args.jsonl:
        print()
    return 0
