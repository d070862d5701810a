"""serjax stream: the label follows a change of emotion, silence is gated, the JAX and librosa
window paths agree, JSONL output, and a plain message when there is no microphone."""

from __future__ import annotations

import argparse
import json
import sys
import types

import numpy as np
import pytest
import soundfile
from _inference_fixtures import trained_run

from serjax.serve import commands, inference_io, live, predict

SR = 22_050


@pytest.fixture(scope="module")
def run():
    return trained_run()


@pytest.fixture(scope="module")
def bundle(run):
    return predict.load_bundle(run.workdir)


def _utterances(run, actor: int, emotion: str) -> np.ndarray:
    paths = sorted((run.audio_dir / f"Actor_{actor:02d}").glob(f"03-01-{emotion}-*.wav"))
    return np.concatenate([soundfile.read(p, dtype="int16")[0] for p in paths])


@pytest.fixture(scope="module")
def switch_file(run, tmp_path_factory):
    """Actor 03 (a test actor of fold 0): two sad utterances, then two angry ones, 48 kHz."""
    sad, angry = _utterances(run, 3, "04"), _utterances(run, 3, "05")
    path = tmp_path_factory.mktemp("stream") / "sad_then_angry.wav"
    soundfile.write(path, np.concatenate([sad, angry]), 48_000, subtype="PCM_16")
    return path, sad.size / 48_000


def _events(bundle, path, features="jax", gender="male"):
    chunks = live.file_chunks(path, SR, "soxr_hq", int(live.HOP_S * SR), realtime=False)
    return list(live.run_stream(bundle, chunks, gender=gender, features=features))


def test_label_switches_within_documented_windows(bundle, switch_file):
    path, change_s = switch_file
    events = _events(bundle, path)
    assert [e["time"] for e in events[:2]] == [2.5, 3.0]
    assert all(not e["silent"] for e in events)
    before = [e["label"] for e in events if e["time"] <= change_s]
    after = [e for e in events if e["time"] > change_s]
    assert set(before) == {"sad"}
    switched = next(i for i, e in enumerate(after) if e["label"] == "angry")
    assert switched < live.switch_windows() == 8
    assert all(e["label"] == "angry" for e in after[switched:])
    # EMA: each smoothed vector mixes the window's raw probabilities with the previous one.
    prev, cur = events[-2]["probabilities"], events[-1]
    expected = live.EMA_ALPHA * cur["raw"]["angry"] + (1 - live.EMA_ALPHA) * prev["angry"]
    assert cur["probabilities"]["angry"] == pytest.approx(expected, abs=2e-6)
    assert all(e["latency_ms"] > 0 for e in events)


def test_jax_and_librosa_window_paths_agree(bundle, switch_file):
    path, _ = switch_file
    fast, reference = _events(bundle, path, "jax"), _events(bundle, path, "librosa")
    assert [e["label"] for e in fast] == [e["label"] for e in reference]
    for a, b in zip(fast, reference):
        np.testing.assert_allclose(list(a["raw"].values()), list(b["raw"].values()), atol=1e-4)


def test_silence_is_gated_and_jsonl_cli(run, bundle, tmp_path, capsys):
    speech = _utterances(run, 4, "04")
    path = tmp_path / "quiet_start.wav"
    soundfile.write(path, np.concatenate([np.zeros(3 * 48_000, np.int16), speech]), 48_000,
                    subtype="PCM_16")
    parser = argparse.ArgumentParser()
    commands.add_stream(parser.add_subparsers())
    args = parser.parse_args(["stream", "--workdir", str(run.workdir), "--input", str(path),
                              "--no-realtime", "--jsonl", "--gender", "auto"])
    assert args.func(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0] == {**events[0], "time": 2.5, "silent": True, "label": None,
                         "probabilities": None, "raw": None}
    voiced = [e for e in events if not e["silent"]]
    assert voiced and voiced[-1]["label"] == "sad"
    assert voiced[-1]["gender"] == "female"  # actor 04, estimated from F0 (yin)
    assert set(voiced[0]) == {"time", "silent", "label", "probabilities", "raw", "gender",
                              "latency_ms"}
    line = inference_io.render_bars(voiced[-1], bundle.labels)
    assert line.split()[1] == "sad" and "ang" in line and "ms" in line


def test_no_microphone_is_said_plainly(run, monkeypatch, capsys):
    parser = argparse.ArgumentParser()
    commands.add_stream(parser.add_subparsers())
    args = parser.parse_args(["stream", "--workdir", str(run.workdir), "--input", "mic"])
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # not installed
    assert args.func(args) == 2
    assert "needs the optional 'sounddevice' package" in capsys.readouterr().err

    def no_device(**_):
        raise ValueError("No input device matching ''")
    fake = types.SimpleNamespace(query_devices=no_device, check_input_settings=no_device)
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    assert args.func(args) == 2
    assert "no microphone found" in capsys.readouterr().err


def test_ring_buffer_and_arguments(bundle):
    ring = live.RingBuffer(5)
    ring.push(np.arange(3))
    assert not ring.full and ring.data.tolist() == [0, 0, 0, 1, 2]
    ring.push(np.arange(3, 10))
    assert ring.full and ring.data.tolist() == [5, 6, 7, 8, 9]
    assert live.rms_dbfs(np.zeros(4)) == -np.inf
    assert live.rms_dbfs(np.ones(4)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="--hop 3.0 must be > 0 and <= --window 2.5"):
        next(live.run_stream(bundle, iter([]), hop_s=3.0))
    assert inference_io.bar(1.0) == "█" * inference_io.BAR_WIDTH
    assert inference_io.bar(0.0) == " " * inference_io.BAR_WIDTH
