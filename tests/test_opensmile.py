"""openSMILE feature sets (serjax.features.opensmile_sets) through precompute and the models."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _feature_tables import feature_config, speechlike, tiny_table

from serjax import experiment
from serjax.config import ConfigError
from serjax.features import opensmile_sets, precompute, spec
from serjax.models import networks
from serjax.training import grid_data

SR = 22_050




@pytest.fixture(scope="module")
def clip():
    """1.5 s of a speech-like vibrato tone (prepared float32 at 22,050 Hz)."""
    return speechlike(1.5, SR, f0=140.0, seed=0, silence_s=0.0).astype(np.float32) / 32768


@pytest.mark.parametrize("kind, shape", [("egemaps", (88,)), ("compare", (6373,)),
                                         ("egemaps_frames", (None, 25)),
                                         ("compare_frames", (None, 65))])
def test_feature_set_shapes(clip, kind, shape):
    values = opensmile_sets.compute(clip, SR, kind)
    assert values.dtype == np.float32 and values.ndim == len(shape)
    assert values.shape[-1] == shape[-1] == spec.OPENSMILE_WIDTHS[kind]
    if values.ndim == 2:  # 10 ms hop: 1.5 s gives ~150 frames (minus the analysis window)
        assert 140 <= values.shape[0] <= 151, values.shape
    assert np.isfinite(values).all()
    assert len(opensmile_sets.feature_names(kind)) == shape[-1]
    assert opensmile_sets.smile(kind) is opensmile_sets.smile(kind)  # built once per process


def test_unknown_kind_lists_the_choices():
    with pytest.raises(ValueError, match="egemaps_frames"):
        spec.acoustic_kind(feature_config(acoustic="gemaps").features)
    with pytest.raises(ValueError, match="not an openSMILE"):
        opensmile_sets.smile("summary")


def test_precompute_egemaps_functionals_with_augmented_copies(tmp_path):
    table = tiny_table(4)
    fs = precompute.precompute(table, feature_config(acoustic="egemaps"), tmp_path, workers=1,
                               progress=False)
    assert fs.acoustic.shape == (8, 88) and fs.acoustic.dtype == np.float32
    assert fs.statistical.shape == (8, 8) and "frame_mask" not in fs.arrays
    np.testing.assert_array_equal(fs.copy, [0, 1] * 4)
    assert not np.array_equal(fs.acoustic[0], fs.acoustic[1])  # the copy is other audio
    assert fs.manifest["acoustic_kind"] == "egemaps" and fs.manifest["acoustic_blocks"] == {}
    assert fs.manifest["acoustic_names"][:1] == ["F0semitoneFrom27.5Hz_sma3nz_amean"]
    assert len(fs.manifest["acoustic_names"]) == 88
    np.testing.assert_array_equal(fs.num_frames, 0)
    # The statistical features are the librosa path's, whatever the acoustic set.
    librosa = precompute.precompute(table, feature_config(), tmp_path, workers=1, progress=False)
    np.testing.assert_array_equal(fs.statistical, librosa.statistical)
    assert librosa.directory != fs.directory


def test_precompute_llds_as_frames_and_pool_equals_inline(tmp_path):
    table = tiny_table(3)
    cfg = feature_config(acoustic="egemaps_frames", max_frames=64)
    inline = precompute.precompute(table, cfg, tmp_path / "one", workers=1, progress=False)
    pooled = precompute.precompute(table, cfg, tmp_path / "two", workers=2, progress=False)
    assert inline.acoustic.shape == (6, 64, 25) and inline.frame_mask.shape == (6, 64)
    np.testing.assert_array_equal(inline.frame_mask.sum(1), np.minimum(inline.num_frames, 64))
    assert np.all(inline.acoustic[~inline.frame_mask] == 0)
    assert inline.num_frames.min() > 64  # >= 1 s of audio at 10 ms per frame
    for name in inline.arrays:
        np.testing.assert_array_equal(pooled.arrays[name], inline.arrays[name])
    assert inline.manifest["backend"] == "librosa"


def test_openSMILE_kinds_run_on_the_cpu_path_whatever_the_backend():
    assert spec.feature_backend(feature_config(acoustic="compare", backend="jax").features) == "librosa"
    assert spec.feature_backend(feature_config(acoustic="summary", backend="jax").features) == "jax"


def test_features_suit_model_kinds():
    cfg = feature_config(acoustic="egemaps_frames")
    cfg.model = networks.default_model_config()
    with pytest.raises(ConfigError, match="frames_cnn"):
        experiment.check_features_suit_model(cfg)
    cfg.model.kind = "frames_cnn"
    experiment.check_features_suit_model(cfg)
    cfg.features.acoustic = "compare"
    with pytest.raises(ConfigError, match="fusionnet"):
        experiment.check_features_suit_model(cfg)
    cfg.model.kind = "fusionnet"
    experiment.check_features_suit_model(cfg)


@pytest.mark.parametrize("width", [88, 6373])
def test_fusion_extractor_reads_functionals(width):
    """SER-FusionNet's Conv1D extractor reads the 88 or 6,373 functionals as a sequence."""
    model = networks.Conv1DExtractor(networks.default_model_config(), 6)
    x = jnp.ones((2, width), jnp.float32)
    params = model.init(jax.random.key(0), x, train=False)
    logits, deep = model.apply(params, x, train=False)
    assert logits.shape == (2, 6) and deep.shape == (2, 32)
    # Two conv blocks, each pooled with stride 2: the dense layer reads ceil(ceil(w/2)/2) * 64.
    pooled = math.ceil(math.ceil(width / 2) / 2)
    assert params["params"]["deep"]["kernel"].shape == (pooled * 64, 32)


def test_speaker_norm_standardises_opensmile_rows_per_speaker(tmp_path):
    fs = precompute.precompute(tiny_table(6), feature_config(acoustic="egemaps"), tmp_path, workers=1,
                               progress=False)
    data = {"acoustic": np.asarray(fs.acoustic), "statistical": np.asarray(fs.statistical),
            "actor": np.asarray(fs.actor)}
    out = grid_data.speaker_normalize(data)
    for actor in np.unique(data["actor"]):
        rows = out["acoustic"][data["actor"] == actor]
        np.testing.assert_allclose(rows.mean(0), 0.0, atol=1e-4)
        varying = data["acoustic"][data["actor"] == actor].std(0) > 0
        np.testing.assert_allclose(rows.std(0)[varying], 1.0, atol=1e-3)
