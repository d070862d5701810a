"""serjax predict on models trained on openSMILE features and on a fused view: the served
features reproduce the training FeatureSet rows, and features computed elsewhere are refused.

One ``serjax cv`` run (``features.acoustic='egemaps'``, ``features.fuse='summary'``) on a
21-file synthetic manifest corpus (3 speakers × 7 classes), as in tests/test_fuse_features.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _feature_tables import feature_config, tiny_table
from _listed_corpora import EMODB_STYLE, trained_manifest_run

from serjax import cli
from serjax.features import audio, precompute, spec
from serjax.serve import export, model_bundle, predict
from serjax.training import checkpoint

AUTHORS8 = len(spec.AUTHORS8)
EGEMAPS, SUMMARY = spec.OPENSMILE_WIDTHS["egemaps"], 162


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(corpus root, workdir, the training FeatureSet) of a 3-fold egemaps + fuse=summary run."""
    return trained_manifest_run(tmp_path_factory.mktemp("opensmile_serve"), [
        "--config.features.acoustic=egemaps", "--config.features.fuse=summary",
        "--config.model.conv_features=(4,)", "--config.model.kernel_sizes=(5,)"])


def _rows(feature_set, count=4):
    """The first ``count`` unaugmented rows (row index, path)."""
    rows = np.flatnonzero(np.asarray(feature_set.copy) == 0)[:count]
    return [(int(i), str(feature_set.path[i])) for i in rows]


def test_served_features_are_the_training_rows(trained):
    root, workdir, fs = trained
    config = model_bundle.read_config(workdir)
    assert fs.acoustic.shape[1:] == (EGEMAPS,)
    assert fs.statistical.shape[1:] == (AUTHORS8 + SUMMARY,)
    for row, path in _rows(fs):
        wave, warning = predict.prepare_file(root / path, config)
        assert warning == ""
        (acoustic, statistical), = predict.wave_features([wave], config)
        assert acoustic.shape == (EGEMAPS,) and statistical.shape == (AUTHORS8 + SUMMARY,)
        # Bit-identical: the precompute code itself, not a copy of it.
        np.testing.assert_array_equal(acoustic, fs.acoustic[row])
        # [authors8 | summary 162]: fused_views.join's order.
        np.testing.assert_array_equal(statistical, fs.statistical[row])
    # The view alone (no fuse): the 8 statistics, the summary is not appended.
    plain = config.copy_and_resolve_references()
    plain.features.fuse = ""
    (_, alone), = predict.wave_features([wave], plain)
    np.testing.assert_array_equal(alone, fs.statistical[row, :AUTHORS8])


def test_opensmile_frames_are_served_as_precompute_stores_them(tmp_path):
    """egemaps_frames (eGeMAPS descriptors, 25 per 10 ms) in float16, cut to 64 frames."""
    table = tiny_table(2)
    config = feature_config(acoustic="egemaps_frames", max_frames=64, frames_dtype="float16")
    config.augment.copies = 0
    fs = precompute.precompute(table, config, tmp_path, workers=1, progress=False)
    assert fs.acoustic.shape == (2, 64, spec.OPENSMILE_WIDTHS["egemaps_frames"])
    waves = [audio.prepare(samples, int(rate), config.audio, min_samples=config.features.n_fft)
             for samples, rate in zip(table.waves, table.sample_rate)]
    served = predict.wave_features(waves, config)
    for i, (acoustic, statistical) in enumerate(served):
        assert acoustic["frames"].dtype == np.float32
        np.testing.assert_array_equal(acoustic["frames"], np.asarray(fs.acoustic[i], np.float32))
        np.testing.assert_array_equal(acoustic["mask"], fs.frame_mask[i])
        np.testing.assert_array_equal(statistical, fs.statistical[i])
    assert int(fs.num_frames[0]) > 64 and fs.frame_mask[0].all()  # cut at max_frames


def test_predict_gives_the_training_probabilities(trained, tmp_path):
    root, workdir, fs = trained
    bundle = model_bundle.load_bundle(workdir)
    assert len(bundle.labels) == len(EMODB_STYLE)
    rows = _rows(fs)
    results = predict.predict_files(bundle, [root / p for _, p in rows], gender="male")
    assert [r.error for r in results] == [""] * len(rows)
    by_file = {r.file: r for r in results}
    probs = np.stack([by_file[str(root / p)].probs for _, p in rows])
    index = [i for i, _ in rows]
    reference = checkpoint.predict_proba(
        checkpoint.load_models(workdir), np.asarray(fs.acoustic)[index],
        np.asarray(fs.statistical)[index], np.ones(len(index))).mean(axis=0)
    assert probs.shape == (len(rows), len(bundle.labels))
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=0, atol=1e-5)
    np.testing.assert_allclose(probs, reference, rtol=0, atol=1e-6)
    # The command line: one file, JSON out.
    out = tmp_path / "out.json"
    assert cli.main(["predict", "--workdir", str(workdir), str(root / rows[0][1]),
                     "--gender", "male", "--quiet", "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["labels"] == bundle.labels
    got = written["results"][0]["probabilities"]
    np.testing.assert_allclose([got[n] for n in bundle.labels], reference[0], atol=1e-5)


def test_export_refuses_features_it_cannot_compute_in_jax(trained, tmp_path):
    _, workdir, _ = trained
    with pytest.raises(ValueError, match=r"features.acoustic='egemaps': the JAX window "
                                         r"function computes the librosa summary features only"):
        export.export_artifact(workdir, tmp_path / "artifact")
    assert not (tmp_path / "artifact").exists()
    reason = predict.jax_window_reason
    assert reason(feature_config()) == ""
    assert "features.fuse='summary'" in reason(feature_config(fuse="summary"))
    assert "features.acoustic='frames'" in reason(feature_config(acoustic="frames"))


@pytest.mark.parametrize("field, kind", [("acoustic", "external"),
                                         ("acoustic", "external_frames"),
                                         ("fuse", "external")])
def test_features_computed_elsewhere_are_refused(tmp_path, field, kind):
    (tmp_path / checkpoint.MODELS_DIR).mkdir()
    (tmp_path / checkpoint.MODELS_DIR / "models.json").write_text("{}")
    c = feature_config(external_path=str(tmp_path / "embeddings.npz"), **{field: kind})
    (tmp_path / "config.json").write_text(json.dumps(c.to_dict()))
    with pytest.raises(ValueError) as err:
        model_bundle.load_bundle(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'config.json'}: features.{field}={kind!r}: these features were read "
        "from features.external_path at training time; serjax cannot compute them for new "
        "audio, so these models cannot be served")
