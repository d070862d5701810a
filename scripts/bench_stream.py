"""Benchmark inference on CPU: stream per-window latency and ``predict`` throughput.

    /work/venv/bin/python scripts/bench_stream.py --windows 200 --files 24

Models: the paper's SER-FusionNet (``networks.default_model_config()``: Conv1D 32 -> 64, Dense 32,
MLP 12, 8 classes) with freshly initialised weights (latency does not depend on the values),
as one model and as the 18-model ensemble of 6 folds × 3 seeds; or ``--workdir W`` to time a
trained run. Audio: synthetic RAVDESS utterances (``serjax.synth.corpus.render_file``) at 48 kHz,
concatenated and resampled once to 22,050 Hz; windows of 2.5 s every 0.5 s.

Prints (Markdown) per-window latency p50 / p95 after ``--warmup`` windows for each feature path
(``jax``: features + forward in one jitted function; ``librosa``: the precompute code + jitted
forward), the split of the JAX path into trim / features+forward, the real-time factor
(window / p95, and hop / p95), the JAX features and the forward pass timed alone, and
``predict`` throughput in files/s with a fixed gender and with
``--gender auto`` (pyin).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from serjax.corpora import naming
from serjax.features import audio
from serjax.serve import live, model_bundle, predict


def random_bundle(num_models: int, labels=naming.LABELS) -> model_bundle.Bundle:
    """A Bundle of freshly initialised paper models (identity scalers)."""
    import jax
    import jax.numpy as jnp

    from serjax.features import spec
    from serjax.models import networks
    from serjax.training import checkpoint
    from serjax.training.model_step import Scaler
    config = spec.default_config()
    config.seeds = 3
    model_config = networks.default_model_config()
    n = len(labels)
    extractor = networks.Conv1DExtractor(model_config, n)
    classifier = networks.MLPClassifier(model_config, n)
    width = networks.fused_width(model_config, len(spec.statistical_names(config.features)))
    keys = jax.random.split(jax.random.key(0), num_models)
    params = jax.vmap(lambda k: {
        "extractor": extractor.init(jax.random.fold_in(k, 1), jnp.zeros((1, 162)), train=False),
        "classifier": classifier.init(jax.random.fold_in(k, 2), jnp.zeros((1, width)),
                                      train=False)})(keys)
    ones = lambda d: Scaler(np.zeros((num_models, d), np.float32),  # noqa: E731
                            np.ones((num_models, d), np.float32))
    saved = checkpoint.Models(jax.tree.map(np.asarray, params),
                              {"acoustic": ones(162), "fused": ones(width)}, model_config,
                              list(labels))
    folds = [m // 3 for m in range(num_models)]
    return model_bundle.Bundle(pathlib.Path("(random init)"), config, saved, folds,
                          [m % 3 for m in range(num_models)])


def speech(seconds: float, out_dir: pathlib.Path | None = None) -> tuple[np.ndarray, list]:
    """(float32 speech at 22,050 Hz of at least ``seconds``, written file paths)."""
    import soundfile

    from serjax.synth import corpus
    waves, paths, i = [], [], 0
    while sum(w.size for w in waves) < seconds * 22_050 or (out_dir and len(paths) < 24):
        actor, emotion = i % 24 + 1, ("01", "03", "04", "05", "06", "07")[i % 6]
        name = f"03-01-{emotion}-02-01-01-{actor:02d}.wav"
        samples = corpus.render_file(naming.parse("ravdess", name), name, seed=1)
        if out_dir is not None:
            paths.append(out_dir / name)
            soundfile.write(paths[-1], samples, 48_000, subtype="PCM_16")
        waves.append(audio.resample(audio.to_float32(samples), 48_000, 22_050, "soxr_hq"))
        i += 1
    return np.concatenate(waves), paths


def window_latency(bundle, wave, features: str, windows: int, warmup: int) -> dict:
    sr = 22_050
    window_n, hop_n = int(2.5 * sr), int(0.5 * sr)
    model = live.WindowClassifier(bundle, window_n, features)
    model.warm_up()
    total, trim = [], []
    starts = [(k * hop_n) % (wave.size - window_n) for k in range(windows + warmup)]
    for k, s in enumerate(starts):
        window = wave[s:s + window_n]
        t0 = time.perf_counter()
        prepared = model.prepare(window)
        t1 = time.perf_counter()
        if prepared is not None:
            model.probs(prepared, 1)
        t2 = time.perf_counter()
        if k >= warmup:
            total.append(t2 - t0)
            trim.append(t1 - t0)
    ms = lambda xs, q: 1e3 * float(np.percentile(xs, q))  # noqa: E731
    return {"p50": ms(total, 50), "p95": ms(total, 95), "trim_p50": ms(trim, 50),
            "rest_p50": ms(np.subtract(total, trim), 50)}


def component_latency(bundle, wave, repeats: int) -> dict:
    """p50 ms of the JAX features alone and of the forward pass alone (one 2.5 s window)."""
    import jax
    window_n = int(2.5 * 22_050)
    features = jax.jit(live.traceable_features(bundle.config))
    window, length = wave[:window_n], np.int32(window_n)
    summary, stats = jax.block_until_ready(features(window, length))
    classifier = predict.Classifier(bundle)
    classifier.probs(summary, stats, np.ones(1, np.float32))
    out = {}
    for name, fn in (("features", lambda: jax.block_until_ready(features(window, length))),
                     ("forward", lambda: classifier.probs(summary, stats,
                                                          np.ones(1, np.float32)))):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        out[name] = 1e3 * float(np.median(times))
    return out


def predict_rate(bundle, paths, gender: str) -> float:
    classifier = predict.Classifier(bundle)
    predict.predict_files(bundle, paths[:2], gender, classifier=classifier)  # warm-up
    start = time.perf_counter()
    results = predict.predict_files(bundle, paths, gender, classifier=classifier)
    assert not any(r.error for r in results), [r.error for r in results if r.error]
    return len(paths) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--files", type=int, default=24, help="files for predict throughput")
    parser.add_argument("--workdir", default=None, help="time a trained workdir instead")
    args = parser.parse_args()
    import jax
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; jax {jax.__version__} on "
          f"{jax.default_backend()}; python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        wave, paths = speech(60.0, pathlib.Path(tmp))
        paths = (paths * (1 + args.files // max(len(paths), 1)))[:args.files]
        bundles = ([("workdir", model_bundle.load_bundle(args.workdir))] if args.workdir else
                   [("1 model", random_bundle(1)), ("18 models", random_bundle(18))])
        print("\n| models | features | p50 ms | p95 ms | trim p50 | feat+fwd p50 | x real time "
              "(hop/p95) |\n|---|---|---|---|---|---|---|")
        for name, bundle in bundles:
            for features in live.FEATURE_PATHS:
                r = window_latency(bundle, wave, features, args.windows, args.warmup)
                print(f"| {name} | {features} | {r['p50']:.1f} | {r['p95']:.1f} | "
                      f"{r['trim_p50']:.1f} | {r['rest_p50']:.1f} | {2500 / r['p95']:.0f} "
                      f"({500 / r['p95']:.0f}) |")
        print("\n| models | JAX features alone p50 ms | forward alone p50 ms |\n|---|---|---|")
        for name, bundle in bundles:
            parts = component_latency(bundle, wave, args.windows)
            print(f"| {name} | {parts['features']:.1f} | {parts['forward']:.2f} |")
        name, bundle = bundles[-1]
        print(f"\n| predict ({name}, {args.files} files of ~2.5 s) | files/s |\n|---|---|")
        for gender in ("male", "auto"):
            print(f"| --gender {gender} | {predict_rate(bundle, paths, gender):.1f} |")


if __name__ == "__main__":
    main()
