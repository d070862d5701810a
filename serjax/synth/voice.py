"""Source-filter voice of the synthetic corpus: actor voices, emotion styles, rendering.

Rendering one utterance (``render``), all in NumPy, at the file's native sample rate:

1. **Timing.** ``phones.segments(text)`` gives the segment sequence; each segment's nominal
   duration is divided by the style's tempo and jittered ±12 %; words are sometimes separated by
   short pauses (longer for slow styles). 0.2–0.6 s of near-silence precede and follow the speech.
2. **Control tracks** at the STFT frame rate (hop = n_fft/4, ~5–8 ms): formant targets
   (F1–F3 of vowels, liquids, nasals; consonants take their neighbours', i.e. coarticulation),
   smoothed over ~25 ms, scaled by the actor's vocal-tract scale and the style's F1 factor;
   voicing, aspiration and frication amplitudes; the F0 contour in semitones: declination,
   an accent on each stressed vowel (height ∝ the style's F0 range), a final fall (statements)
   or rise (surprise), optional tremor, slow random wander.
3. **Source** per sample: a Rosenberg glottal pulse train from the F0 phase, with per-period
   jitter (F0) and shimmer (amplitude), differentiated (lip radiation); plus aspiration noise
   (breathiness, louder during the open phase, and the ``h``/stop-release segments).
4. **Filter** in the STFT domain: a cascade of five two-pole formant resonances (F4, F5 fixed
   by the tract scale) times a spectral tilt of ``tilt_db`` per octave; frication noise with its
   own band-pass envelope is added per frame. Overlap-add back to samples.
5. **Level**: the speech part is scaled to the style's loudness (dBFS RMS), soft-limited at
   full scale, and a -100 dBFS noise floor is added everywhere, so that the leading and trailing
   near-silence is below librosa's default ``trim`` threshold (60 dB under the loudest frame).

What a style changes (see ``EMOTION_SHIFTS``, deviations from neutral scaled by intensity):
F0 level (semitones), F0 range, tempo, loudness, spectral tilt, jitter, breathiness, F1
(mouth opening), pause length, tremor and the final F0 movement. Each actor deviates from the
table by a random per-actor factor and offset, and each file adds its own small variation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from serjax.synth import phones

#: Style parameters; "log" ones are natural logs of a multiplier (0 = unchanged).
STYLE_PARAMS = ("f0_st", "range_log", "tempo_log", "loud_db", "tilt_db", "jitter_log",
                "breath_log", "f1_log", "pause_log", "tremor_st", "final_st")
_L = np.log
#: Deviations from neutral at intensity 1 (order of STYLE_PARAMS).
EMOTION_SHIFTS: dict[str, tuple[float, ...]] = {
    "neutral": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "calm": (-1.0, _L(0.75), _L(0.88), -3.0, -2.5, _L(0.9), _L(1.8), _L(0.97), _L(1.4), 0.0, 1.0),
    "happy": (3.5, _L(1.5), _L(1.08), 3.0, 2.0, _L(1.2), _L(0.9), _L(1.06), _L(0.9), 0.0, 2.5),
    "sad": (-2.5, _L(0.55), _L(0.78), -5.0, -4.0, _L(1.6), _L(2.2), _L(0.94), _L(1.6), 0.15, 1.0),
    "angry": (2.5, _L(1.35), _L(1.12), 7.0, 5.0, _L(1.8), _L(0.6), _L(1.12), _L(0.8), 0.0, -1.0),
    "fear": (5.5, _L(0.8), _L(1.2), 1.0, 1.0, _L(2.4), _L(1.8), _L(1.03), _L(1.2), 0.6, 2.5),
    "disgust": (-1.5, _L(1.15), _L(0.82), 1.5, -0.5, _L(1.5), _L(1.4), _L(0.95), _L(1.3), 0.0,
                -1.0),
    "surprise": (5.0, _L(1.9), 0.0, 3.5, 2.5, _L(1.1), _L(1.1), _L(1.08), 0.0, 0.0, 9.0),
}
#: Neutral values the shifts are added to.
NEUTRAL_STYLE = (0.0, 0.0, 0.0, 0.0, 0.0, _L(0.006), _L(0.06), 0.0, 0.0, 0.0, -3.0)
#: Typical size of each parameter, for scaling random per-actor and per-file variation.
PARAM_SCALE = np.array([2.0, 0.3, 0.12, 3.0, 2.5, 0.4, 0.5, 0.05, 0.3, 0.2, 3.0])
#: Intensity → multiplier on the emotion shift (RAVDESS, CREMA-D levels; "" for the others).
INTENSITY_GAIN = {"normal": 1.0, "strong": 1.5, "low": 0.6, "medium": 1.0, "high": 1.45,
                  "unspecified": 1.0, "": 1.0}

SPEECH_LEVEL_DBFS = -24.0   # neutral speech RMS before actor and style offsets
FLOOR_DBFS = -100.0         # leading/trailing near-silence
ACCENT_ST = 2.5             # neutral accent height (semitones)


@dataclasses.dataclass(frozen=True)
class Voice:
    """One actor: F0 (Hz), vocal-tract scale, baseline offsets, per-emotion deviations."""

    f0_hz: float
    tract_scale: float
    base: np.ndarray                    # [len(STYLE_PARAMS)] actor baseline added to neutral
    emotion_gain: dict[str, np.ndarray]  # emotion → [P] multipliers on the table's shift
    emotion_offset: dict[str, np.ndarray]  # emotion → [P] additive deviation


def make_voice(male: bool, rng: np.random.Generator, *, actor_spread: float = 1.0) -> Voice:
    """Draws an actor: male F0 100–130 Hz, tract ×0.95–1.05; female 180–230 Hz, ×1.12–1.22."""
    f0 = rng.uniform(100.0, 130.0) if male else rng.uniform(180.0, 230.0)
    tract = rng.uniform(0.95, 1.05) if male else rng.uniform(1.12, 1.22)
    base = rng.normal(0.0, 0.35, len(STYLE_PARAMS)) * PARAM_SCALE
    base[0] = 0.0  # the actor's F0 is already f0_hz
    gains, offsets = {}, {}
    for emotion in EMOTION_SHIFTS:
        gains[emotion] = np.exp(rng.normal(0.0, 0.35 * actor_spread, len(STYLE_PARAMS)))
        offsets[emotion] = rng.normal(0.0, 0.3 * actor_spread, len(STYLE_PARAMS)) * PARAM_SCALE
    return Voice(float(f0), float(tract), base, gains, offsets)


def style_vector(voice: Voice, emotion: str, intensity: str, rng: np.random.Generator,
                 *, file_spread: float = 0.35) -> np.ndarray:
    """The style parameters [P] of one file: neutral + actor baseline + the actor's version of
    the emotion shift × intensity gain + per-file variation."""
    if emotion not in EMOTION_SHIFTS:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {list(EMOTION_SHIFTS)}")
    shift = np.asarray(EMOTION_SHIFTS[emotion]) * voice.emotion_gain[emotion]
    shift = shift + (voice.emotion_offset[emotion] if emotion != "neutral" else 0.0)
    gain = INTENSITY_GAIN[intensity]
    per_file = rng.normal(0.0, file_spread, len(STYLE_PARAMS)) * PARAM_SCALE
    return np.asarray(NEUTRAL_STYLE) + voice.base + gain * shift + per_file


def _fft_size(rate: int) -> int:
    """Power of two ≥ 20 ms: 512 at 16–24.4 kHz, 1024 at 44.1–48 kHz."""
    return 1 << int(np.ceil(np.log2(0.02 * rate)))


def _smooth(track: np.ndarray, width: int) -> np.ndarray:
    """Moving average along axis 0 (edge-padded) of a [T] or [T, K] track."""
    if width <= 1:
        return track
    kernel = np.ones(width) / width
    pad = [(width // 2, width - 1 - width // 2)] + [(0, 0)] * (track.ndim - 1)
    padded = np.pad(track, pad, mode="edge")
    if track.ndim == 1:
        return np.convolve(padded, kernel, mode="valid")
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid")
                     for k in range(track.shape[1])], axis=1)


def _timeline(table: dict, style: dict, rate: float, rng: np.random.Generator):
    """Segment start/end times (s, from the start of the file), speech span and total length."""
    jitter = rng.uniform(0.88, 1.12, len(table["ms"]))
    tempo = np.clip(np.exp(style["tempo_log"]), 0.7, 1.45)  # keeps files within ~1.5–5 s
    dur = table["ms"] / 1000.0 / tempo * jitter
    dur = np.where(table["stressed"], dur * 1.3, dur)
    new_word = np.r_[False, np.diff(table["word"]) != 0]
    pause = rng.uniform(0.02, 0.09, len(dur)) * np.clip(np.exp(style["pause_log"]), 0.5, 2.0)
    dur = dur + np.where(new_word & (rng.uniform(size=len(dur)) < 0.3), pause, 0.0)
    lead, trail = rng.uniform(0.2, 0.6, 2)
    ends = lead + np.cumsum(dur)
    starts = ends - dur
    total = int(np.ceil((ends[-1] + trail) * rate))
    return starts, ends, (lead, float(ends[-1])), total


def _frame_tracks(table, starts, ends, speech, times, style, voice, rng):
    """Per-frame control tracks (formants [T,5], voicing, aspiration, frication, band, F0)."""
    seg = np.clip(np.searchsorted(ends, times, side="right"), 0, len(ends) - 1)
    inside = (times >= speech[0]) & (times < speech[1])
    formants = table["formants"][seg].copy()
    formants[~inside] = np.nan
    for k in range(3):  # consonants and silence take the neighbours' formants
        col = formants[:, k]
        ok = ~np.isnan(col)
        col[~ok] = np.interp(times[~ok], times[ok], col[ok]) if ok.any() else 500.0 * (2 * k + 1)
    hop_s = times[1] - times[0]
    formants = _smooth(formants, max(1, int(round(0.025 / hop_s))))
    formants[:, 0] *= np.exp(style["f1_log"])
    formants = np.concatenate([formants, np.tile([3500.0, 4500.0], (len(times), 1))], axis=1)
    formants *= voice.tract_scale
    ramp = max(1, int(round(0.012 / hop_s)))  # 12 ms on/off ramps
    voicing, aspiration, frication = (_smooth(np.where(inside, table[name][seg], 0.0), ramp)
                                      for name in ("voicing", "aspiration", "frication"))
    voicing = voicing * np.where(table["stressed"][seg] | ~table["vowel"][seg], 1.0, 0.75)
    band = table["band"][seg]
    # F0 contour in semitones around the actor's F0
    span = max(speech[1] - speech[0], 1e-3)
    rel = np.clip((times - speech[0]) / span, 0.0, 1.0)
    accent = ACCENT_ST * np.exp(style["range_log"])
    st = accent * (0.4 - 0.8 * rel)
    for s in np.flatnonzero(table["stressed"]):
        centre = 0.5 * (starts[s] + ends[s])
        st += accent * rng.uniform(0.5, 1.1) * np.exp(-0.5 * ((times - centre) / 0.09) ** 2)
    st += style["final_st"] * np.clip((times - (speech[1] - 0.35)) / 0.35, 0.0, 1.0) ** 2
    st += style["tremor_st"] * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * times)
    st += _smooth(rng.normal(0.0, 1.0, len(times)), max(1, int(round(0.15 / hop_s)))) * 2.0
    f0 = voice.f0_hz * 2.0 ** ((style["f0_st"] + st) / 12.0)
    return formants, voicing, aspiration, frication, band, np.clip(f0, 50.0, 900.0)


_PULSE_POINTS = 4096


def _rosenberg_period(open_q: float) -> np.ndarray:
    """One period of Rosenberg glottal flow [_PULSE_POINTS + 1]: rise over 65 % of the open
    phase, fall over 35 %, then closed; the extra point closes the cycle for interpolation."""
    frac = np.arange(_PULSE_POINTS + 1) / _PULSE_POINTS
    t_open, t_close = 0.65 * open_q, 0.35 * open_q
    rise = 0.5 * (1.0 - np.cos(np.pi * np.minimum(frac / t_open, 1.0)))
    fall = np.cos(0.5 * np.pi * np.clip((frac - t_open) / t_close, 0.0, 1.0))
    return np.where(frac < t_open, rise, np.where(frac < open_q, fall, 0.0))


def _glottal_source(f0, voicing, aspiration, style, rate, rng):
    """Differentiated Rosenberg pulses with jitter and shimmer, plus aspiration noise [N]."""
    jitter, shimmer = np.exp(style["jitter_log"]), 5.0 * np.exp(style["jitter_log"])
    period0 = (np.cumsum(f0) / rate).astype(np.int64)
    f0 = f0 * (1.0 + rng.normal(0.0, jitter, period0[-1] + 2)[period0])
    phase = np.cumsum(f0) / rate
    period = phase.astype(np.int64)  # phase ≥ 0: truncation is floor
    position = (phase - period) * _PULSE_POINTS
    index = position.astype(np.int64)
    weight = (position - index).astype(np.float32)
    # tense voices (flatter tilt) have a shorter open phase and a sharper closure
    open_q = float(np.clip(0.6 + 0.25 * np.tanh(-style["tilt_db"] / 4.0), 0.35, 0.85))
    table = _rosenberg_period(open_q).astype(np.float32)
    flow = table[index] * (1.0 - weight) + table[index + 1] * weight
    pulses = np.diff(flow, prepend=np.float32(0.0)) * (rate / f0).astype(np.float32)
    pulses *= (1.0 + rng.normal(0.0, shimmer, period[-1] + 2)[period]).astype(np.float32)
    voiced = voicing > 0.5
    pulses /= np.sqrt(np.mean(pulses[voiced] ** 2)) if voiced.any() else 1.0
    in_open_phase = index < int(open_q * _PULSE_POINTS)
    breath = np.exp(style["breath_log"]) * voicing * np.where(in_open_phase, 1.0, 0.4)
    noise = rng.standard_normal(len(f0), dtype=np.float32) * (breath + aspiration)
    return pulses * voicing + noise


def _stft(x: np.ndarray, n_fft: int) -> np.ndarray:
    """Hann STFT [T, n_fft//2+1], hop n_fft/4, frame t centred on sample t·hop."""
    hop = n_fft // 4
    frames = -(-len(x) // hop) + 1
    padded = np.pad(x, (n_fft // 2, frames * hop + n_fft - len(x) - n_fft // 2))
    win = np.hanning(n_fft + 1)[:-1]
    view = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:frames]
    return np.fft.rfft(view * win, axis=-1)


def _istft(spec: np.ndarray, n_fft: int, length: int) -> np.ndarray:
    """Overlap-add inverse of ``_stft`` (Hann², hop n/4 sums to 1.5)."""
    hop = n_fft // 4
    win = np.hanning(n_fft + 1)[:-1]
    frames = np.fft.irfft(spec, n=n_fft, axis=-1) * win
    count = frames.shape[0]
    out = np.zeros((count + 3) * hop)
    quarters = frames.reshape(count, 4, hop)
    for q in range(4):
        out[q * hop:q * hop + count * hop] += quarters[:, q, :].reshape(-1)
    return out[n_fft // 2:n_fft // 2 + length] / 1.5


def _tract_envelope(formants: np.ndarray, tilt_db: float, freqs: np.ndarray) -> np.ndarray:
    """|H| [T, F] (float32) of five cascaded two-pole resonators (unit gain at DC) × tilt."""
    bandwidth = (70.0, 90.0, 130.0, 200.0, 250.0)
    f2 = (freqs ** 2).astype(np.float32)[None, :]
    gain2 = np.ones((formants.shape[0], len(freqs)), np.float32)
    for k, bw in enumerate(bandwidth):
        c2 = (formants[:, k:k + 1] ** 2).astype(np.float32)
        gain2 *= c2 * c2 / ((c2 - f2) ** 2 + np.float32(bw * bw) * f2)
    tilt = ((np.maximum(freqs, 100.0) / 500.0) ** (tilt_db / 6.02)).astype(np.float32)
    return np.sqrt(gain2) * tilt


def _band_envelope(band: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Smooth band-pass gain [T, F] for frication bands (lo, hi) per frame (NaN → zero)."""
    lo, hi = band[:, :1], band[:, 1:]
    x = (freqs[None, :] / np.nan_to_num(lo, nan=1.0)) ** 4
    gain = x / (1.0 + x) / (1.0 + (freqs[None, :] / np.nan_to_num(hi, nan=1.0)) ** 4)
    return np.where(np.isnan(lo), 0.0, gain)


def render(text: str, voice: Voice, style_vec: np.ndarray, rate: int,
           rng: np.random.Generator) -> np.ndarray:
    """One utterance of ``text`` as float64 samples [N] in [-1, 1] at ``rate`` Hz."""
    style = dict(zip(STYLE_PARAMS, style_vec))
    table = phones.segment_table(phones.segments(text))
    starts, ends, speech, total = _timeline(table, style, rate, rng)
    n_fft = _fft_size(rate)
    hop = n_fft // 4
    # Only the speech span (plus a frame of margin) is synthesised; the rest is the floor.
    first = max(0, int(speech[0] * rate) - n_fft)
    last = min(total, int(np.ceil(speech[1] * rate)) + n_fft)
    n_frames = -(-(last - first) // hop) + 1
    times = (first + np.arange(n_frames) * hop) / rate
    formants, voicing, aspiration, frication, band, f0 = _frame_tracks(
        table, starts, ends, speech, times, style, voice, rng)
    sample_t = np.arange(first, last) / rate
    per_sample = lambda track: np.interp(sample_t, times, track)
    source = _glottal_source(per_sample(f0), per_sample(voicing), per_sample(aspiration),
                             style, rate, rng)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    spec = _stft(source.astype(np.float32), n_fft)
    spec *= _tract_envelope(formants, style["tilt_db"], freqs)
    voiced = voicing > 0.5
    voiced_power = np.mean(np.abs(spec[voiced]) ** 2) if voiced.any() else 1.0
    noisy = np.flatnonzero(frication > 1e-3)
    shape = (len(noisy), len(freqs))
    noise = (rng.standard_normal(shape, np.float32) + 1j * rng.standard_normal(shape, np.float32))
    gain = np.sqrt(voiced_power / 2.0) * frication[noisy, None] * _band_envelope(band[noisy], freqs)
    spec[noisy] += noise * gain.astype(np.float32)
    wave = np.zeros(total)
    wave[first:last] = _istft(spec, n_fft, last - first)
    lo, hi = int(speech[0] * rate), int(speech[1] * rate)
    rms = np.sqrt(np.mean(wave[lo:hi] ** 2)) + 1e-12
    wave *= 10.0 ** ((SPEECH_LEVEL_DBFS + style["loud_db"]) / 20.0) / rms
    # soft limiter: loud styles distort a little, never clip
    wave[first:last] = 0.97 * np.tanh(wave[first:last] / 0.97)
    return wave + rng.standard_normal(total, dtype=np.float32) * 10.0 ** (FLOOR_DBFS / 20.0)
