"""serjax predict: same features and probabilities as training, model selection, gender, bad input.

The trained workdir comes from ``tests/_inference_fixtures.py`` (built once per session).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys

import ml_collections
import numpy as np
import pytest
import soundfile
from _inference_fixtures import LABELS, trained_run

from serjax.corpora import naming
from serjax.serve import commands, model_bundle, predict
from serjax.serve import gender as gender_lib
from serjax.training import checkpoint


@pytest.fixture(scope="module")
def run():
    return trained_run()


@pytest.fixture(scope="module")
def bundle(run):
    return predict.load_bundle(run.workdir)


@pytest.fixture(scope="module")
def classifier(bundle):
    return predict.Classifier(bundle)


def _rows_of(run, actors):
    return [i for i, f in enumerate(run.files) if int(f.parent.name[-2:]) in actors]


def test_predict_reproduces_precomputed_features_and_model_outputs(run, bundle, classifier):
    actors = (1, 2)
    rows = _rows_of(run, actors)
    results = predict.predict_files(bundle, [run.audio_dir / f"Actor_{a:02d}" for a in actors],
                                    gender="male", classifier=classifier)
    by_file = {r.file: r for r in results}
    mine = [by_file[str(run.files[i])] for i in rows]
    assert len(results) == len(rows) == 8 and not any(r.error for r in mine)
    # Bit-identical features: the same prepare + precompute code, not a copy of it.
    np.testing.assert_array_equal(np.stack([r.acoustic for r in mine]),
                                  run.features["acoustic"][rows])
    np.testing.assert_array_equal(np.stack([r.statistical for r in mine]),
                                  run.features["statistical"][rows])
    saved = checkpoint.load_models(run.workdir)
    reference = checkpoint.predict_proba(saved, run.features["acoustic"][rows],
                                         run.features["statistical"][rows],
                                         np.ones(len(rows))).mean(axis=0)
    probs = np.stack([r.probs for r in mine])
    np.testing.assert_allclose(probs, reference, rtol=0, atol=1e-6)
    assert np.array_equal(probs.argmax(-1), reference.argmax(-1))
    # The synthetic sad/angry classes are separable: the ensemble gets them all right.
    assert np.array_equal(probs.argmax(-1), run.features["label"][rows])


def test_model_selection(run):
    everything = predict.load_bundle(run.workdir, "all")
    assert (everything.folds, everything.seeds) == ([0, 0, 1, 1], [0, 1, 0, 1])
    fold1 = predict.load_bundle(run.workdir, "1")
    assert (fold1.folds, fold1.seeds) == ([1, 1], [0, 1])
    np.testing.assert_array_equal(fold1.models.scalers["fused"].mean,
                                  everything.models.scalers["fused"].mean[2:])
    # best = the highest test accuracy in predictions.csv (ties: the first model).
    hits = {}
    with open(run.workdir / "predictions.csv") as f:
        for row in csv.DictReader(f):
            hits.setdefault((int(row["fold"]), int(row["seed"])), []).append(
                row["true"] == row["predicted"])
    scores = [np.mean(hits[(f, s)]) for f, s in zip([0, 0, 1, 1], [0, 1, 0, 1])]
    best = predict.load_bundle(run.workdir, "best")
    assert len(best.folds) == 1
    assert (best.folds[0], best.seeds[0]) == ([0, 0, 1, 1][int(np.argmax(scores))],
                                              [0, 1, 0, 1][int(np.argmax(scores))])
    with pytest.raises(ValueError, match="no such fold; this run has folds"):
        predict.load_bundle(run.workdir, "7")
    with pytest.raises(ValueError, match="choose all, best or a fold number"):
        predict.load_bundle(run.workdir, "most")


def test_gender_auto_from_f0(run, bundle, classifier):
    # Sad speech of actor 03 (male) and 04 (female): angry synthetic men can pass 165 Hz (the
    # measured accuracy over all emotions is in docs/inference.md).
    files = [run.files[i] for i in _rows_of(run, (3, 4)) if "-04-" in run.files[i].name]
    results = predict.predict_files(bundle, files, gender="auto", classifier=classifier)
    truth = [naming.actor_gender(f"ravdess/{f.parent.name[-2:]}") for f in files]
    assert [r.gender for r in results] == truth
    assert all(r.gender_source == "estimated" for r in results)
    for r, sex in zip(results, truth):  # synthetic F0: male 100-130 Hz, female 180-230 Hz
        assert (r.f0_hz < gender_lib.THRESHOLD_HZ) == (sex == naming.MALE)
    assert gender_lib.gender_from_f0(np.array([])).gender == gender_lib.DEFAULT_GENDER
    assert gender_lib.gender_from_f0(np.array([120.0, 170.0, 171.0])).gender == naming.FEMALE


def test_bad_inputs(run, bundle, classifier, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predict.load_bundle(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        predict.load_bundle(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .wav files in this folder"):
        predict.find_wavs([tmp_path / "empty"])
    with pytest.raises(FileNotFoundError, match="does not exist; pass .wav files"):
        predict.find_wavs([tmp_path / "missing.wav"])

    source = run.files[_rows_of(run, (5,))[0]]
    samples, rate = soundfile.read(source, dtype="int16")
    (tmp_path / "notes.wav").write_text("not audio at all\n")
    soundfile.write(tmp_path / "stereo.wav", np.stack([samples, samples], 1), rate)
    soundfile.write(tmp_path / "mono.wav", samples, rate)
    t = np.arange(int(0.2 * 22_050)) / 22_050
    soundfile.write(tmp_path / "short.wav", 0.3 * np.sin(2 * np.pi * 200 * t), 22_050,
                    subtype="PCM_16")
    import librosa
    soundfile.write(tmp_path / "phone.wav",
                    librosa.resample(samples / 32768.0, orig_sr=rate, target_sr=8_000), 8_000,
                    subtype="PCM_16")
    results = {r.file.split("/")[-1]: r for r in predict.predict_files(
        bundle, [tmp_path / n for n in ("notes.wav", "stereo.wav", "mono.wav", "short.wav",
                                        "phone.wav")], gender="female", classifier=classifier)}
    assert "not a readable WAV file" in results["notes.wav"].error
    assert results["notes.wav"].probs is None
    assert "0.20 s of sound after trimming" in results["short.wav"].error
    # Stereo (dual mono) is downmixed as at training time: the same prediction as mono.
    np.testing.assert_array_equal(results["stereo.wav"].probs, results["mono.wav"].probs)
    # 8 kHz audio is classified, with a warning that its upper band is missing.
    assert results["phone.wav"].probs is not None and not results["phone.wav"].error
    assert "8000 Hz audio has no content above 4000 Hz" in results["phone.wav"].warning


def test_cli_table_csv_json(run, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    commands.add_predict(parser.add_subparsers())
    files = [str(run.files[i]) for i in _rows_of(run, (6,))[:2]]
    args = parser.parse_args(["predict", "--workdir", str(run.workdir), *files,
                              "--gender", "female", "--json", str(tmp_path / "out.json"),
                              "--quiet"])
    assert args.func(args) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["file", "emotion", "conf", "top", "3", "gender"]
    payload = json.loads((tmp_path / "out.json").read_text())
    assert payload["labels"] == list(LABELS)
    first = payload["results"][0]
    assert first["file"] == files[0] and first["gender"] == "female"
    assert first["emotion"] == first["top3"][0][0]
    assert sum(first["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    args = parser.parse_args(["predict", "--workdir", str(run.workdir), files[0], "--gender",
                              "male", "--csv", str(tmp_path / "out.csv"), "--quiet"])
    assert args.func(args) == 0
    with open(tmp_path / "out.csv") as f:
        row = next(csv.DictReader(f))
    assert row["file"] == files[0] and row["emotion"] in LABELS
    assert float(row["p_sad"]) + float(row["p_angry"]) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(SystemExit):  # --csv and --json are exclusive
        parser.parse_args(["predict", "--workdir", "w", "f", "--csv", "a", "--json", "b"])


def test_frames_model_predicts_and_streams_like_its_feature_set(tmp_path):
    # A frame-level (frames_cnn) workdir: predict computes the padded frames + mask exactly as
    # the FeatureSet stored them and gives checkpoint.predict_proba's probabilities; the
    # stream's window classifier runs it too; export refuses it with the way out.
    from serjax.serve import export, live
    run = trained_run(frames=True)
    bundle = predict.load_bundle(run.workdir)
    rows = _rows_of(run, (3,))
    results = predict.predict_files(bundle, [run.audio_dir / "Actor_03"], gender="female")
    by_file = {r.file: r for r in results}
    mine = [by_file[str(run.files[i])] for i in rows]
    assert len(mine) == 4 and not any(r.error for r in mine)
    frames = np.stack([r.acoustic["frames"] for r in mine])
    mask = np.stack([r.acoustic["mask"] for r in mine])
    np.testing.assert_array_equal(frames, run.features["acoustic"][rows])
    np.testing.assert_array_equal(mask, run.features["frame_mask"][rows])
    reference = checkpoint.predict_proba(
        checkpoint.load_models(run.workdir), {"frames": frames, "mask": mask},
        run.features["statistical"][rows], np.zeros(len(rows))).mean(axis=0)
    np.testing.assert_allclose(np.stack([r.probs for r in mine]), reference, atol=1e-6)
    window = live.WindowClassifier(bundle, 2 * 22_050)
    assert window.features == "librosa"
    wave, _ = predict.prepare_file(run.files[rows[0]], bundle.config)
    probs = window.probs(wave[:2 * 22_050], 0)
    assert probs.shape == (len(LABELS),) and abs(float(probs.sum()) - 1) < 1e-5
    with pytest.raises(ValueError, match="serjax predict"):
        export.export_artifact(run.workdir, tmp_path / "art")


def _speaker_norm_copy(run, tmp_path):
    """The trained workdir with ``train.speaker_norm`` switched on in its config: the models
    are the same, so the test can compare against ``checkpoint.predict_proba`` on features
    normalised by the training code."""
    import shutil

    workdir = tmp_path / "speaker_norm"
    shutil.copytree(run.workdir, workdir)
    config = json.loads((workdir / "config.json").read_text())
    config["train"]["speaker_norm"] = True
    (workdir / "config.json").write_text(json.dumps(config))
    return workdir


def test_speaker_norm_models_predict_per_speaker(run, tmp_path):
    from serjax.serve import export, live, model_bundle
    from serjax.training import grid_data

    workdir = _speaker_norm_copy(run, tmp_path)
    bundle = model_bundle.load_bundle(workdir)
    assert bundle.speaker_norm
    actors = (1, 2)
    folders = [run.audio_dir / f"Actor_{a:02d}" for a in actors]
    with pytest.raises(ValueError, match="--speaker name"):
        predict.predict_files(bundle, folders, gender="male")
    # Two actors x 4 files: too few per speaker for --speaker name, enough as one speaker.
    by_name = predict.predict_files(bundle, folders, gender="male", speaker="name")
    assert all("has 4 usable file(s)" in r.error and "at least 8" in r.error for r in by_name)
    results = predict.predict_files(bundle, folders, gender="male", speaker="one")
    assert len(results) == 8 and not any(r.error for r in results)
    rows = _rows_of(run, actors)
    by_file = {r.file: r for r in results}
    mine = [by_file[str(run.files[i])] for i in rows]
    want = grid_data.speaker_normalize({
        "acoustic": run.features["acoustic"][rows],
        "statistical": run.features["statistical"][rows], "actor": np.zeros(len(rows))})
    np.testing.assert_allclose(np.stack([r.acoustic for r in mine]), want["acoustic"],
                               atol=1e-5)
    np.testing.assert_allclose(np.stack([r.statistical for r in mine]), want["statistical"],
                               atol=1e-5)
    reference = checkpoint.predict_proba(checkpoint.load_models(workdir), want["acoustic"],
                                         want["statistical"], np.ones(len(rows))).mean(axis=0)
    np.testing.assert_allclose(np.stack([r.probs for r in mine]), reference, atol=1e-5)
    # --speaker name with a lower threshold: each actor by its own statistics.
    named = [predict.FileResult(str(run.files[i]), acoustic=run.features["acoustic"][i],
                                statistical=run.features["statistical"][i]) for i in rows]
    predict.normalize_speakers(named, "name", min_files=4)
    assert [r.speaker for r in named] == [naming.parse("ravdess", run.files[i].name).actor
                                          for i in rows]
    per_actor = grid_data.speaker_normalize({
        "acoustic": run.features["acoustic"][rows],
        "statistical": run.features["statistical"][rows],
        "actor": np.array([r.speaker for r in named])})
    np.testing.assert_allclose(np.stack([r.acoustic for r in named]), per_actor["acoustic"],
                               atol=1e-5)
    with pytest.raises(ValueError, match="cannot be read from this file name"):
        predict.speaker_of(tmp_path / "my_recording.wav", "name")
    # A live stream and the exported forward pass have no speaker batch: clear refusals.
    with pytest.raises(ValueError, match="a live stream has none"):
        live.WindowClassifier(bundle, 22050)
    with pytest.raises(ValueError, match="speaker_norm=True"):
        export.export_artifact(workdir, tmp_path / "artifact")


def test_models_saved_with_flat_frames_fields_still_load():
    """models.json written before model.frames_* moved under model.frames_cnn."""
    old = ml_collections.ConfigDict({"kind": "frames_cnn", "deep_width": 32,
                                     "frames_input_pool": 2, "frames_conv_features": [8, 8],
                                     "frames_kernel_sizes": [5, 5], "frames_pool": 3})
    new = model_bundle.nest_frames_fields(old)
    assert new.to_dict() == {"kind": "frames_cnn", "deep_width": 32, "frames_cnn": {
        "input_pool": 2, "conv_features": [8, 8], "kernel_sizes": [5, 5], "pool": 3}}
    assert model_bundle.nest_frames_fields(new) is new


def test_serving_commands_parse_without_jax():
    """`serjax --help` builds these parsers: they must not import JAX (seconds of start-up)."""
    code = ("import argparse, sys\n"
            "from serjax.serve import commands\n"
            "from serjax.paper import commands as paper_commands\n"
            "p = argparse.ArgumentParser(); sub = p.add_subparsers()\n"
            "commands.add_cli(sub); paper_commands.add_cli(sub)\n"
            "a = p.parse_args(['predict', '--workdir', 'w', 'x.wav'])\n"
            "assert a.speaker is None and a.models == 'all', a\n"
            "a = p.parse_args(['stream', '--workdir', 'w'])\n"
            "assert (a.window, a.hop, a.features) == (2.5, 0.5, 'jax'), a\n"
            "a = p.parse_args(['reproduce', '--workdir', 'w', '--quick'])\n"
            "assert a.quick and a.func.__module__ == 'serjax.paper.commands', a\n"
            "print(sorted(m for m in ('jax', 'flax', 'serjax.serve.predict') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
