"""Every audio encoding users have reads to the samples of its 16-bit twin
(serjax.corpora.audio_file; issue #13, item 7).

One speech-like 16-bit signal is written in each encoding with soundfile and read back through
the project's reader (``read_int16``, what the TFDS records store). Bounds, per format:

* exact (bit-identical int16): PCM 16/24/32-bit, 32/64-bit float, WAVE_FORMAT_EXTENSIBLE, RF64,
  NIST SPHERE, FLAC 16/24-bit, and stereo / 4-channel files whose channels average to the twin;
* 8-bit PCM: within one 8-bit step (256 int16 units; libsndfile truncates when writing);
* lossy codecs, as signal-to-error ratio after aligning any codec delay (measured with
  libsndfile 1.2.2 at 16 and 48 kHz, bound = measured minus about 5 dB): u-law / A-law
  37.3 dB -> 32 dB; IMA / MS ADPCM 30.1-47.9 dB -> 25 dB; MP3 36.6 dB -> 30 dB; Vorbis 30.8 dB
  -> 25 dB; Opus 29.6 dB -> 24 dB. Every lossy decode measured a delay of 0 samples; the test
  allows 10 ms (a fraction of one 2048-sample analysis frame).
"""

from pathlib import Path

import numpy as np
import pytest
import soundfile
from _feature_tables import speechlike

from serjax.corpora import audio_file, dataset, discover
from serjax.features import audio, spec

HAS_MP3 = "MP3" in soundfile.available_formats()
HAS_OPUS = "OPUS" in soundfile.available_subtypes("OGG")
needs_mp3 = pytest.mark.skipif(not HAS_MP3, reason="libsndfile < 1.1: no MP3 (needs 1.1+)")
needs_opus = pytest.mark.skipif(not HAS_OPUS, reason="libsndfile < 1.1: no Opus (needs 1.1+)")


def twin(rate: int) -> np.ndarray:
    """int16 [n]: 1.0 s of a vibrato harmonic voice between 0.2 s near-silences (peak -8 dBFS)."""
    return speechlike(1.0, rate, f0=140.0, seed=7, silence_s=0.2)


def write(path, samples_int16: np.ndarray, rate: int, fmt: str, subtype: str) -> None:
    """Writes the twin in an encoding. Float files get the twin at full scale +-1 (libsndfile
    would store int16 input unscaled: 13,000.0 instead of 0.4)."""
    if subtype in ("FLOAT", "DOUBLE"):
        data = samples_int16.astype(np.float64) / 32768.0
    else:
        data = samples_int16
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, data, rate, format=fmt, subtype=subtype)


def snr_db(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> tuple[float, int]:
    """(best signal-to-error ratio in dB, the lag giving it) over lags within +-max_lag."""
    ref = reference.astype(np.float64)
    dec = decoded.astype(np.float64)
    best = (-np.inf, 0)
    for lag in range(-max_lag, max_lag + 1):
        a, b = ref[max(0, lag):], dec[max(0, -lag):]
        n = min(a.size, b.size)
        err = np.sum((a[:n] - b[:n]) ** 2)
        snr = np.inf if err == 0 else 10 * np.log10(np.sum(a[:n] ** 2) / err)
        best = max(best, (snr, lag))
    return best


EXACT = [("wav", "WAV", "PCM_16"), ("wav", "WAV", "PCM_24"), ("wav", "WAV", "PCM_32"),
         ("wav", "WAV", "FLOAT"), ("wav", "WAV", "DOUBLE"), ("wav", "WAVEX", "PCM_16"),
         ("wav", "WAVEX", "PCM_24"), ("wav", "WAVEX", "FLOAT"), ("wav", "RF64", "PCM_24"),
         ("wav", "NIST", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("flac", "FLAC", "PCM_24")]


@pytest.mark.parametrize("rate", [16_000, 48_000])
@pytest.mark.parametrize("suffix, fmt, subtype", EXACT)
def test_lossless_encodings_read_bit_exact(tmp_path, suffix, fmt, subtype, rate):
    ref = twin(rate)
    path = tmp_path / f"x.{suffix}"
    write(path, ref, rate, fmt, subtype)
    samples, got_rate = audio_file.read_int16(path)
    assert got_rate == rate and samples.dtype == np.int16
    np.testing.assert_array_equal(samples, ref)
    floats, _ = audio_file.read_audio(path)
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, ref / np.float32(32768.0))


def test_8bit_pcm_within_one_8bit_step(tmp_path):
    ref = twin(16_000)
    write(tmp_path / "x.wav", ref, 16_000, "WAV", "PCM_U8")
    samples, _ = audio_file.read_int16(tmp_path / "x.wav")
    assert samples.shape == ref.shape
    err = np.abs(samples.astype(np.int64) - ref)
    assert err.max() <= 256
    assert np.all(samples % 256 == 0)   # 8-bit values scaled to 16 bits, not rescaled


LOSSY = [
    pytest.param("wav", "WAV", "ULAW", 32.0, id="ulaw"),
    pytest.param("wav", "WAV", "ALAW", 32.0, id="alaw"),
    pytest.param("wav", "WAV", "IMA_ADPCM", 25.0, id="ima_adpcm"),
    pytest.param("wav", "WAV", "MS_ADPCM", 25.0, id="ms_adpcm"),
    pytest.param("ogg", "OGG", "VORBIS", 25.0, id="vorbis"),
    pytest.param("opus", "OGG", "OPUS", 24.0, id="opus", marks=needs_opus),
    pytest.param("mp3", "MP3", "MPEG_LAYER_III", 30.0, id="mp3", marks=needs_mp3),
]


@pytest.mark.parametrize("rate", [16_000, 48_000])
@pytest.mark.parametrize("suffix, fmt, subtype, min_snr_db", LOSSY)
def test_lossy_encodings_match_the_twin(tmp_path, suffix, fmt, subtype, min_snr_db, rate):
    ref = twin(rate)
    path = tmp_path / f"x.{suffix}"
    write(path, ref, rate, fmt, subtype)
    samples, got_rate = audio_file.read_int16(path)
    assert got_rate == rate and samples.dtype == np.int16
    # ADPCM pads its last block (under 4,096 samples); the other codecs keep the length.
    assert ref.size <= samples.size <= ref.size + 4096
    snr, lag = snr_db(ref, samples, max_lag=rate // 100)
    assert snr > min_snr_db
    assert abs(lag) <= rate // 100


def test_opus_file_in_an_ogg_file_name(tmp_path):
    if not HAS_OPUS:
        pytest.skip("libsndfile < 1.1: no Opus")
    ref = twin(48_000)
    write(tmp_path / "x.ogg", ref, 48_000, "OGG", "OPUS")
    samples, _ = audio_file.read_int16(tmp_path / "x.ogg")
    assert snr_db(ref, samples, 0)[0] > 24.0


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_16"), ("WAVEX", "PCM_24"),
                                          ("FLAC", "PCM_16")])
def test_multichannel_averages_to_the_twin(tmp_path, fmt, subtype):
    ref = twin(16_000)
    rng = np.random.default_rng(0)
    d1, d2 = (rng.integers(-3000, 3000, ref.size) for _ in range(2))
    # Channel pairs differ by +-d: their mean is exactly the twin, no channel equals it.
    channels = 2 if fmt == "WAV" else 4
    cols = [ref + d1, ref - d1, ref + d2, ref - d2][:channels]
    data = np.stack(cols, axis=1).astype(np.int16)
    suffix = "flac" if fmt == "FLAC" else "wav"
    soundfile.write(tmp_path / f"x.{suffix}", data, 16_000, format=fmt, subtype=subtype)
    samples, _ = audio_file.read_int16(tmp_path / f"x.{suffix}")
    np.testing.assert_array_equal(samples, ref)
    assert not np.array_equal(samples, data[:, 0])


# --------------------------------------------------------------------------- the float bug


def test_float_wav_of_speech_is_not_silence(tmp_path):
    """Regression: libsndfile converts float samples to int16 without scaling, so a float WAV
    (peak 0.4) used to read as all zeros and was skipped as "silence". Now it gives the same
    prepared waveform as its 16-bit twin, bit for bit."""
    ref = twin(48_000)
    write(tmp_path / "float.wav", ref, 48_000, "WAV", "FLOAT")
    samples, rate = audio_file.read_int16(tmp_path / "float.wav")
    assert np.abs(samples).max() == np.abs(ref).max() > 10_000
    cfg = spec.default_config().audio
    prepared = audio.prepare(samples, rate, cfg, name="float.wav")
    np.testing.assert_array_equal(prepared, audio.prepare(ref, 48_000, cfg, name="twin.wav"))


REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no ../shared/realdata (real RAVDESS/TESS)")
@pytest.mark.parametrize("rel", ["ravdess/Actor_01/03-01-01-01-01-01-01.wav",
                                 "ravdess/Actor_07/03-01-05-01-01-01-07.wav",
                                 "tess/YAF_sad/YAF_learn_sad.wav"])
def test_real_speech_as_float_24bit_and_flac_reads_as_the_original(tmp_path, rel):
    source = REALDATA / rel
    if not source.is_file():
        pytest.skip(f"{rel} not in {REALDATA}")
    ref, rate = audio_file.read_int16(source)
    cfg = spec.default_config().audio
    expected = audio.prepare(ref, rate, cfg, name=rel)
    for suffix, fmt, subtype in [("wav", "WAV", "FLOAT"), ("wav", "WAVEX", "PCM_24"),
                                 ("flac", "FLAC", "PCM_16")]:
        path = tmp_path / f"{subtype}.{suffix}"
        write(path, ref, rate, fmt, subtype)
        samples, got_rate = audio_file.read_int16(path)
        assert got_rate == rate
        np.testing.assert_array_equal(samples, ref)
        np.testing.assert_array_equal(audio.prepare(samples, rate, cfg, name=str(path)), expected)


def test_float_over_full_scale_is_scaled_by_its_peak_not_clipped(tmp_path):
    ref = twin(16_000)
    loud = 2.5 * ref.astype(np.float64) / 32768.0          # the voice peaks near 1.0
    loud[1000] = 3.0                                         # a click: the file's peak
    soundfile.write(tmp_path / "loud.wav", loud, 16_000, subtype="FLOAT")
    samples, _ = audio_file.read_int16(tmp_path / "loud.wav")
    expected = audio_file.to_int16(loud.astype(np.float32).astype(np.float64) / 3.0)
    np.testing.assert_array_equal(samples, expected)
    assert samples[1000] == 32767 and np.abs(samples).max() == 32767
    # one gain for the whole file: the shape of the waveform is kept (no clipped run)
    assert np.sum(np.abs(samples) >= 32767) == 1


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_get_their_own_reason(tmp_path, bad_value):
    data = twin(16_000).astype(np.float64) / 32768.0
    data[[100, 5000, 9000]] = bad_value
    path = tmp_path / "1001_DFA_ANG_XX.wav"
    soundfile.write(path, data, 16_000, subtype="FLOAT")
    with pytest.raises(audio_file.BadAudio, match=r"non-finite samples \(NaN/Inf\): 3 of") as err:
        audio_file.read_int16(path)
    assert err.value.reason == "non_finite" and str(path) in str(err.value)
    assert "silence" not in str(err.value)


# --------------------------------------------------------------------------- broken files


def _half(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


@pytest.mark.parametrize("suffix, fmt, subtype, message, reason", [
    ("flac", "FLAC", "PCM_16", "not a readable FLAC file", "unreadable"),
    # Ogg keeps no total length: a cut Ogg file reads as its surviving whole pages (none here).
    ("ogg", "OGG", "VORBIS", r"0 samples \(0.000 s\) is too short", "too_short"),
    pytest.param("mp3", "MP3", "MPEG_LAYER_III",
                 r"truncated \(decoded \d+ of the 16000 samples", "truncated", marks=needs_mp3),
])
def test_truncated_compressed_files_are_skipped_with_the_reason(tmp_path, suffix, fmt, subtype,
                                                                message, reason):
    path = tmp_path / f"x.{suffix}"
    write(path, twin(16_000)[:16_000], 16_000, fmt, subtype)
    _half(path)
    with pytest.raises(audio_file.BadAudio, match=message) as err:
        audio_file.read_int16(path)
    assert err.value.reason == reason and str(path) in str(err.value)


def test_content_must_match_the_suffix_but_unknown_suffixes_read(tmp_path):
    ref = twin(16_000)
    write(tmp_path / "x.mp3", ref, 16_000, "FLAC", "PCM_16")
    with pytest.raises(audio_file.BadAudio, match=r"x.mp3: not an MP3 file \(it is FLAC\)") as err:
        audio_file.read_int16(tmp_path / "x.mp3")
    assert err.value.reason == "wrong_format"
    write(tmp_path / "x.aiff", ref, 16_000, "AIFF", "PCM_16")   # no rule for .aiff: any format
    np.testing.assert_array_equal(audio_file.read_int16(tmp_path / "x.aiff")[0], ref)


def test_to_int16_rounds_and_clips():
    got = audio_file.to_int16(np.array([-1.0, -0.5, 0.0, 0.25 / 32768, 0.75 / 32768, 1.0]))
    np.testing.assert_array_equal(got, [-32768, -16384, 0, 0, 1, 32767])


# --------------------------------------------------------------------------- corpora


def test_discovery_takes_every_encoding_and_prefers_lossless(tmp_path):
    ref = twin(44_100)
    root = tmp_path / "savee"
    write(root / "ALL" / "DC_a01.wav", ref, 44_100, "WAV", "FLOAT")
    write(root / "ALL" / "DC_a02.flac", ref, 44_100, "FLAC", "PCM_16")
    write(root / "ALL" / "DC_a03.OGG", ref, 44_100, "OGG", "VORBIS")
    write(root / "mp3" / "deeper" / "DC_a02.wav", ref, 44_100, "WAV", "PCM_16")
    write(root / "DC_a01.ogg", ref, 44_100, "OGG", "VORBIS")   # shallower, but lossy
    (root / "ALL" / "._DC_a04.wav").write_bytes(b"\0" * 10)  # macOS resource fork
    found = discover.discover("savee", root)
    assert [f.path for f in found.files] == ["ALL/DC_a01.wav", "ALL/DC_a03.OGG",
                                             "mp3/deeper/DC_a02.wav"]
    assert found.duplicates == [("ALL/DC_a02.flac", "mp3/deeper/DC_a02.wav"),
                                ("DC_a01.ogg", "ALL/DC_a01.wav")]
    assert found.ignored == {"._ (macOS)": 1}


def test_builder_stores_every_encoding_as_its_16bit_twin(tmp_path):
    ref = twin(44_100)
    root = tmp_path / "savee" / "ALL"
    write(root / "DC_a01.wav", ref, 44_100, "WAV", "FLOAT")
    write(root / "DC_a02.flac", ref, 44_100, "FLAC", "PCM_24")
    write(root / "DC_a03.wav", ref, 44_100, "WAVEX", "PCM_32")
    write(root / "DC_a04.ogg", ref, 44_100, "OGG", "VORBIS")
    nan = ref.astype(np.float64) / 32768.0
    nan[7] = np.nan
    soundfile.write(root / "DC_a05.wav", nan, 44_100, subtype="FLOAT")
    result = dataset.build("savee", tmp_path / "savee", tmp_path / "data")
    table = dataset.load("savee", tmp_path / "data")
    assert list(table.path) == ["ALL/DC_a01.wav", "ALL/DC_a02.flac", "ALL/DC_a03.wav",
                                "ALL/DC_a04.ogg"]
    for i in range(3):
        np.testing.assert_array_equal(table.audio(i), ref)
    assert snr_db(ref, table.audio(3), 0)[0] > 25.0
    skipped = {s["path"]: s["reason"] for s in result.manifest["skipped"]}
    assert list(skipped) == ["ALL/DC_a05.wav"]
    assert "non-finite samples (NaN/Inf): 1 of" in skipped["ALL/DC_a05.wav"]
