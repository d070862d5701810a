"""serjax.features.audio: int16 -> float32, resampling to 22,050 Hz, trimming, windows, bad audio."""

import numpy as np
import pytest
from _feature_tables import speechlike

from serjax.features import audio, spec


def _cfg(**overrides):
    cfg = spec.default_config().audio
    for k, v in overrides.items():
        cfg[k] = v
    return cfg


def test_int16_scaled_to_unit_range():
    y = audio.to_float32(np.array([-32768, 0, 16384, 32767], np.int16))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [-1.0, 0.0, 0.5, 32767 / 32768])


@pytest.mark.parametrize("native", [16_000, 48_000])
def test_resampled_to_22050_and_trimmed(native):
    wave = speechlike(1.0, native, f0=150.0, seed=1, silence_s=0.5)
    untrimmed = audio.prepare(wave, native, _cfg(trim_top_db=None))
    assert untrimmed.dtype == np.float32
    assert untrimmed.shape[0] == round(2.0 * 22_050)          # 0.5 + 1.0 + 0.5 s
    trimmed = audio.prepare(wave, native, _cfg(trim_top_db=30.0))
    # voiced second kept, the silences dropped to within one 512-sample hop + frame slack
    assert 22_050 <= trimmed.shape[0] <= 22_050 + 2 * 2048


def test_fixed_window_before_trim():
    wave = speechlike(3.0, 22_050, f0=150.0, seed=2, silence_s=0.0)
    y = audio.prepare(wave, 22_050, _cfg(trim_top_db=None, window_offset_s=0.6,
                                         window_duration_s=1.5))
    assert y.shape[0] == round(1.5 * 22_050)
    np.testing.assert_array_equal(y, audio.to_float32(wave)[13_230:13_230 + 33_075])


def test_silence_only_raises_with_name():
    with pytest.raises(audio.BadAudio, match="ravdess/x.wav.*silence") as err:
        audio.prepare(np.zeros(22_050, np.int16), 22_050, _cfg(), name="ravdess/x.wav")
    assert err.value.reason == "silence"


def test_too_short_and_nan_raise():
    short = speechlike(0.05, 22_050, f0=200.0, seed=3, silence_s=0.0)
    with pytest.raises(audio.BadAudio) as err:
        audio.prepare(short, 22_050, _cfg(), min_samples=2048)
    assert err.value.reason == "too_short"
    bad = np.full(4096, np.nan, np.float32)
    with pytest.raises(audio.BadAudio) as err:
        audio.prepare(bad, 22_050, _cfg())
    assert err.value.reason == "non_finite"


def test_non_finite_reason_counts_the_samples():
    y = speechlike(0.5, 22_050, f0=200.0, seed=4, silence_s=0.0).astype(np.float32) / 32768
    y[[3, 9]] = [np.inf, np.nan]
    with pytest.raises(audio.BadAudio, match=r"x.wav: non-finite samples \(NaN/Inf\): 2 of "
                                             r"11025 \(non_finite\)") as err:
        audio.prepare(y, 22_050, _cfg(), name="x.wav")
    assert err.value.reason == "non_finite"
