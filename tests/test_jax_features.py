"""The batched JAX feature path against the librosa reference, per feature, on synthetic and
real audio. Tolerances are measured facts of float32 on both sides: never loosen them to pass."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from _feature_tables import tiny_table

from serjax.features import acoustic, audio, jax_features, spec, statistical

SR = 22_050
REALDATA = Path("/work/shared/realdata")

#: Max |jax - librosa| over a block, divided by that example's max |librosa| over the block.
SUMMARY_TOL = {"zcr": 1e-6, "chroma": 1e-5, "mfcc": 1e-5, "rms": 1e-5, "mel": 1e-5}
FRAMES_TOL = {"zcr": 1e-6, "chroma": 2e-5, "mfcc": 1e-5, "rms": 1e-5, "mel": 1e-5}
#: Relative tolerance per statistical feature.
STAT_RTOL = {"mean": 2e-5, "variance": 2e-5, "skewness": 2e-5, "kurtosis": 2e-5,
             "rms_mean": 1e-5, "centroid_mean": 1e-5, "bandwidth_mean": 1e-5,
             "mfcc13_mean": 1e-5}
#: Absolute floor for statistics that can sit at zero (symmetric synthetic waves): the waveform
#: mean in amplitude units (waveforms have RMS ~0.1) and the dimensionless moments.
STAT_ATOL = {"mean": 1e-8, "skewness": 1e-6, "kurtosis": 1e-6}
BLOCKS = {"zcr": slice(0, 1), "chroma": slice(1, 13), "mfcc": slice(13, 33),
          "rms": slice(33, 34), "mel": slice(34, 162)}


SYNTH_FILES = (("ravdess", "03-01-05-02-01-01-01.wav"), ("crema_d", "1001_DFA_ANG_XX.wav"),
               ("tess", "OAF_back_angry.wav"))


def _prepared_synthetic():
    """Harmonic test voices (tiny table) and serjax.synth.corpus's source-filter speech."""
    from serjax.corpora import naming
    from serjax.synth import corpus as synth
    cfg = spec.default_config()
    table = tiny_table(6)
    waves = [audio.prepare(table.audio(i), int(table.sample_rate[i]), cfg.audio)
             for i in range(6)]
    for corpus, name in SYNTH_FILES:
        samples = synth.render_file(naming.parse(corpus, name), name, 0)
        waves.append(audio.prepare(samples, naming.NATIVE_RATES[corpus], cfg.audio, name=name))
    return waves


def _prepared_real():
    if not REALDATA.is_dir():
        pytest.skip(f"{REALDATA} absent: real-audio parity not checked")
    cfg = spec.default_config()
    files = sorted(REALDATA.glob("ravdess/Actor_*/*.wav"))[::120] + \
        sorted(REALDATA.glob("tess/*/*.wav"))[:2]
    waves = []
    for path in files:
        samples, sr = sf.read(path, dtype="int16", always_2d=True)
        mono = samples.mean(axis=1).astype(np.int16)
        waves.append(audio.prepare(mono, sr, cfg.audio, name=str(path)))
    return waves


def _check_parity(waves):
    f = spec.default_config().features
    batch, lengths = jax_features.pad_batch(waves, batch_size=len(waves) + 1)
    out = {k: np.asarray(v) for k, v in
           jax_features.batch_features(batch, lengths, SR, f).items()}
    names = spec.statistical_names(f)
    for i, wave in enumerate(waves):
        blocks = acoustic.acoustic_blocks(wave, SR, f)
        ref_frames = acoustic.frames_from_blocks(blocks)
        n_frames = ref_frames.shape[0]
        assert out["frame_mask"][i].sum() == n_frames and out["frame_mask"][i, :n_frames].all()
        ref_summary = acoustic.summary_from_frames(ref_frames)
        for block, cols in BLOCKS.items():
            scale = np.abs(ref_summary[cols]).max()
            err = np.abs(out["summary"][i, cols] - ref_summary[cols]).max() / scale
            assert err <= SUMMARY_TOL[block], (i, block, err)
            scale = np.abs(ref_frames[:, cols]).max()
            err = np.abs(out["frames"][i, :n_frames, cols] - ref_frames[:, cols]).max() / scale
            assert err <= FRAMES_TOL[block], (i, block, "frames", err)
        ref_stats = statistical.statistical_from_blocks(wave, SR, f, blocks)
        for j, name in enumerate(names):
            np.testing.assert_allclose(out["statistical"][i, j], ref_stats[j],
                                       rtol=STAT_RTOL[name],
                                       atol=STAT_ATOL.get(name, 0.0), err_msg=f"{i} {name}")


def test_parity_on_synthetic_audio():
    _check_parity(_prepared_synthetic())


def test_parity_on_real_audio():
    _check_parity(_prepared_real())


def test_pad_batch_buckets_and_lengths():
    waves = [np.ones(1000, np.float32), np.ones(20_000, np.float32)]
    batch, lengths = jax_features.pad_batch(waves, batch_size=4)
    assert batch.shape == (4, 2 * jax_features.BUCKET)
    np.testing.assert_array_equal(lengths, [1000, 20_000, 0, 0])
    assert batch[0, 1000:].sum() == 0 and batch[1].sum() == 20_000


def test_paper6_subset_and_padding_rows_do_not_leak():
    f = spec.default_config().features
    f.statistical = "paper6"
    waves = _prepared_synthetic()[:2]
    alone, n_alone = jax_features.pad_batch(waves[:1], batch_size=1)
    both, n_both = jax_features.pad_batch(waves, batch_size=3)
    a = jax_features.batch_features(alone, n_alone, SR, f)
    b = jax_features.batch_features(both, n_both, SR, f)
    assert b["statistical"].shape == (3, 6)
    np.testing.assert_allclose(np.asarray(a["summary"][0]), np.asarray(b["summary"][0]),
                               rtol=1e-6, atol=1e-9)
