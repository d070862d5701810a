"""serjax export: the artifact directory loads in predict, and the exported StableHLO functions
give the same probabilities as the in-process model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _inference_fixtures import LABELS, trained_run

from serjax.corpora import audio_file
from serjax.features import audio
from serjax.serve import export, live, model_bundle, predict


@pytest.fixture(scope="module")
def run():
    return trained_run()


@pytest.fixture(scope="module")
def artifact(run, tmp_path_factory):
    return export.export_artifact(run.workdir, tmp_path_factory.mktemp("export") / "art",
                                  models="1")


def test_artifact_contents(artifact):
    names = {p.name for p in artifact.iterdir()}
    assert {"artifact.json", "config.json", "models", "label_map.json", "scalers.npz",
            "inference.mlir", "window.mlir"} <= names
    meta = json.loads((artifact / "artifact.json").read_text())
    assert meta["format"] == export.FORMAT and meta["labels"] == list(LABELS)
    assert (meta["folds"], meta["seeds"]) == ([1, 1], [0, 1])
    assert meta["feature_spec"]["acoustic_width"] == 162
    assert meta["feature_spec"]["audio"]["sample_rate"] == 22_050
    assert meta["feature_spec"]["gender"] == {"male": 1, "female": 0}
    assert json.loads((artifact / "label_map.json").read_text()) == {"0": "sad", "1": "angry"}
    assert np.load(artifact / "scalers.npz")["acoustic_mean"].shape == (2, 162)
    assert "stablehlo" in (artifact / "inference.mlir").read_text()[:2000]
    occupied = artifact.parent / "occupied"
    occupied.mkdir()
    (occupied / "thesis.txt").write_text("keep me")
    with pytest.raises(ValueError, match="exists and is not a serjax artifact"):
        export.export_artifact(artifact, occupied)
    assert (occupied / "thesis.txt").read_text() == "keep me"


def test_artifact_predicts_like_the_workdir(run, artifact):
    files = run.files[:4]
    from_workdir = predict.predict_files(predict.load_bundle(run.workdir, "1"), files, "male")
    from_artifact = predict.predict_files(predict.load_bundle(artifact), files, "male")
    np.testing.assert_array_equal([r.probs for r in from_artifact],
                                  [r.probs for r in from_workdir])


def test_best_model_of_an_artifact(run, artifact):
    # the artifact carries its models' test accuracies (predictions.csv stays in the workdir)
    meta = json.loads((artifact / "artifact.json").read_text())
    scores = model_bundle.test_accuracies(run.workdir, [1, 1], [0, 1])
    assert meta["test_accuracy"] == scores and len(scores) == 2
    best = predict.load_bundle(artifact, "best")
    assert (best.folds, best.seeds) == ([1], [int(np.argmax(scores))])


def _inputs(run):
    rows = np.arange(0, 96, 7)
    return (run.features["acoustic"][rows], run.features["statistical"][rows],
            run.features["gender"][rows].astype(np.float32))


def test_exported_functions_match_in_process_model(run):
    bundle = predict.load_bundle(run.workdir, "1")
    functions = export.export_functions(bundle, window_s=2.5)
    acoustic, statistical, gender = _inputs(run)
    expected = predict.Classifier(bundle).probs(acoustic, statistical, gender)
    got = np.asarray(functions["inference"].call(acoustic, statistical, gender))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    got3 = np.asarray(functions["inference"].call(acoustic[:3], statistical[:3], gender[:3]))
    np.testing.assert_allclose(got3, expected[:3], rtol=0, atol=1e-6)  # batch size is symbolic

    window = live.WindowClassifier(bundle, int(2.5 * 22_050))
    samples, rate = audio_file.read_int16(run.files[10])
    wave = window.prepare(audio.resample(audio.to_float32(samples), rate, 22_050, "soxr_hq")
                          [: window.window_samples])
    buffer = np.zeros(window.window_samples, np.float32)
    buffer[: wave.size] = wave
    got_window = np.asarray(functions["window"].call(buffer, np.int32(wave.size),
                                                     np.float32(1.0)))
    np.testing.assert_allclose(got_window, window.probs(wave, 1), rtol=0, atol=1e-6)


def test_serialized_round_trip(run, artifact):
    pytest.importorskip("flatbuffers", reason="jax.export serialization needs flatbuffers")
    bundle = predict.load_bundle(artifact)
    acoustic, statistical, gender = _inputs(run)
    served = export.load_exported(artifact)(acoustic, statistical, gender)
    np.testing.assert_allclose(served, predict.Classifier(bundle).probs(
        acoustic, statistical, gender), rtol=0, atol=1e-6)
