"""Benchmark of the training engine: the vmapped grid versus a Python loop over networks.

  python scripts/bench_train.py --epochs 25 --seeds 1,5,10     # the full table (long on CPU)
  python scripts/bench_train.py --epochs 5 --seeds 1,5,10      # what docs/benchmarks.md shows
  python scripts/bench_train.py --options                      # conv / pool / scan choices
  python scripts/bench_train.py --groups [--frames]            # all models at once vs groups
  python scripts/bench_train.py --raw                          # the raw-waveform baseline

Data: synthetic arrays shaped like augmented RAVDESS (N = 2,880 rows, F = 162 acoustic,
8 statistical, gender, 8 classes, 24 actors in 6 actor folds). For M = 6 folds × S seeds:
(a) ``train_grid`` on all M models at once; (b) the same engine and step functions called in a
Python loop, one model at a time (compiled once per fold size, then reused). Each row starts
with no compiled program, as a new process would. Reported: wall, compile and training
seconds, the ratio, and achieved FLOP/s (XLA's cost analysis of one training step × steps run,
over the training time) against this machine's dense f32 matmul FLOP/s measured in the run.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from serjax.models import networks
from serjax.paper import baselines, raw_waveform
from serjax.training import grid_data, programs, runtime, sharding, train

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from _grid_fixtures import actor_fold_roles, synthetic_arrays  # tests/: test data helpers


def matmul_flops(n: int = 2048, repeats: int = 5) -> float:
    """Dense f32 matmul FLOP/s of this machine (best of ``repeats``)."""
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = min(_timed(lambda: f(a).block_until_ready()) for _ in range(repeats))
    return 2 * n ** 3 / best


def step_matmul_shapes(model_config, batch: int, features: int, classes: int) -> list:
    """``(m, k, n)`` of every matmul in one training step of the im2col extractor: each layer's
    forward ``[m, k] @ [k, n]``, its weight gradient ``[k, m] @ [m, n]`` and (but for the
    first layer, whose input needs no gradient) its input gradient ``[m, n] @ [n, k]``."""
    length, channels, layers = features, 1, []
    for width, kernel in zip(model_config.conv_features, model_config.kernel_sizes):
        layers.append((batch * length, kernel * channels, width))
        length, channels = -(-length // model_config.pool_stride), width
    layers.append((batch, length * channels, model_config.deep_width))
    layers.append((batch, model_config.deep_width, classes))
    shapes = []
    for i, (m, k, n) in enumerate(layers):
        shapes += [(m, k, n), (k, m, n)] + ([(m, n, k)] if i else [])
    return shapes


def matmul_ceiling(model_config, batch: int = 64, features: int = 162, classes: int = 8,
                   repeats: int = 20) -> tuple[float, float]:
    """(seconds, FLOP/s) of the step's matmuls run alone, back to back, each at its own shape:
    what one model-step would cost if nothing but its matmuls took time."""
    total_s, total_flops = 0.0, 0.0
    for m, k, n in step_matmul_shapes(model_config, batch, features, classes):
        a, b = jnp.ones((m, k), jnp.float32), jnp.ones((k, n), jnp.float32)
        f = jax.jit(lambda a, b: a @ b)
        f(a, b).block_until_ready()

        def run(f=f, a=a, b=b):
            for _ in range(repeats):
                out = f(a, b)
            out.block_until_ready()
        total_s += min(_timed(run) for _ in range(5)) / repeats
        total_flops += 2 * m * k * n
    return total_s, total_flops / total_s


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _step_fn(module, tx):
    def step(params, opt_state, x, y, key):
        def loss(p):
            logits, _ = module.apply(p, x, train=True, rngs={"dropout": key})
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value
    return step


def step_flops(model_config, num_models: int, batch: int, features: int, classes: int):
    """XLA's FLOP count of one vmapped extractor training step of ``num_models`` networks."""
    module = networks.Conv1DExtractor(model_config, classes)
    tx = optax.adam(1e-3)
    keys = jax.random.split(jax.random.key(0), num_models)
    params = jax.vmap(lambda k: module.init(k, jnp.zeros((1, features)), train=False))(keys)
    opt = jax.vmap(tx.init)(params)
    x = jnp.zeros((num_models, batch, features))
    y = jnp.zeros((num_models, batch), jnp.int32)
    compiled = jax.jit(jax.vmap(_step_fn(module, tx))).lower(params, opt, x, y, keys).compile()
    analysis = compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
    return float(analysis.get("flops", 0.0))


def bench_grid(data, seeds_per_fold: int, epochs: int, model_config, train_config) -> dict:
    arrays = {k: data[k] for k in grid_data.DATA_KEYS}
    roles, folds, seeds = actor_fold_roles(data["actor"], 6, seeds_per_fold)
    m = len(seeds)
    programs.clear_programs()  # each row compiles from scratch, as a new process would
    start = time.perf_counter()
    grid = train.train_grid(arrays, roles, seeds, model_config, train_config,
                            runtime=runtime.default_runtime_config(), progress=False)
    a_wall = time.perf_counter() - start
    programs.clear_programs()  # (b) compiles its own executables too (one per fold size)
    start, b_compile, b_train = time.perf_counter(), 0.0, 0.0
    for i in range(m):
        r = train.train_grid(arrays, roles[i:i + 1], seeds[i:i + 1], model_config, train_config,
                             runtime=runtime.default_runtime_config(), progress=False)
        b_compile += r.timing["compile_s"]
        b_train += r.timing["train_s"]
    b_wall = time.perf_counter() - start
    steps = grid_data.steps_per_epoch(roles, int(train_config.batch_size))
    flops = step_flops(model_config, m, int(train_config.batch_size),
                       data["acoustic"].shape[1], int(data["label"].max()) + 1)
    acc = np.trace(grid.confusion, axis1=1, axis2=2).sum() / grid.n_test.sum()
    return {"models": m, "epochs": epochs, "a_wall_s": a_wall,
            "a_compile_s": grid.timing["compile_s"], "a_train_s": grid.timing["train_s"],
            "b_wall_s": b_wall, "b_compile_s": b_compile, "b_train_s": b_train,
            "wall_ratio": b_wall / a_wall, "train_ratio": b_train / grid.timing["train_s"],
            "a_gflops": flops * steps * epochs / grid.timing["train_s"] / 1e9,
            "accuracy": float(acc)}


def bench_options(num_models: int = 6, steps: int = 8, repeats: int = 3) -> list[dict]:
    """One scan of ``steps`` extractor steps of ``num_models`` models, per CPU formulation."""
    x = jax.random.normal(jax.random.key(0), (steps, num_models, 64, 162))
    y = jax.random.randint(jax.random.key(1), (steps, num_models, 64), 0, 8)
    tx = optax.adam(1e-3)
    rows = []
    for conv, pool, mode, unroll in [("im2col", "slices", "vmap", 1),
                                     ("im2col", "slices", "vmap", steps),
                                     ("lax", "slices", "vmap", 1),
                                     ("lax", "slices", "vmap", steps),
                                     ("im2col", "flax", "vmap", steps),
                                     ("lax", "slices", "unrolled models", steps),
                                     ("im2col", "slices", "unrolled models", steps)]:
        config = networks.default_model_config()
        module = networks.Conv1DExtractor(config, 8, conv_impl=conv, pool_impl=pool)
        step = _step_fn(module, tx)
        keys = jax.random.split(jax.random.key(2), num_models)
        params = jax.vmap(lambda k: module.init(k, x[0, 0], train=False))(keys)
        opt = jax.vmap(tx.init)(params)
        if mode == "vmap":
            many = jax.vmap(step)
        else:
            def many(p, o, xb, yb, k, step=step):
                outs = [step(*jax.tree.map(lambda a, i=i: a[i], (p, o, xb, yb, k)))
                        for i in range(num_models)]
                return jax.tree.map(lambda *a: jnp.stack(a), *outs)

        @jax.jit
        def epoch(p, o, x, y, keys, many=many, unroll=unroll):
            def body(carry, xy):
                p, o, _ = many(*carry, xy[0], xy[1], keys)
                return (p, o), None
            return jax.lax.scan(body, (p, o), (x, y), unroll=unroll)[0]
        args = (params, opt, x, y, keys)  # arguments, not constants XLA could fold
        compile_s = _timed(lambda: jax.block_until_ready(epoch(*args)))
        best = min(_timed(lambda: jax.block_until_ready(epoch(*args))) for _ in range(repeats))
        rows.append({"conv": conv, "pool": pool, "models": mode, "unroll": unroll,
                     "compile_s": compile_s, "ms_per_step": 1e3 * best / steps})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_groups(frames: bool = False, conv: str = "im2col", steps: int = 16,
                 repeats: int = 3) -> list[dict]:
    """ms per model-step of one scanned extractor epoch: M models vmapped all at once versus
    in groups of G (``sharding.map_models``, what ``runtime.models_per_group`` does per device).
    ``frames``: the frame-level ``frames_cnn`` on T = 160 frames (4 steps, fewer models)."""
    config = networks.default_model_config()
    if frames:
        config.kind, steps = "frames_cnn", 4
        grid = [(6, 0), (6, 1), (6, 2), (12, 0), (12, 1)]
    else:
        grid = [(1, 0), (6, 0), (30, 0), (30, 1), (30, 2), (30, 3), (30, 4), (30, 6), (30, 10),
                (60, 0), (60, 2), (60, 6)]
    module = networks.extractor_module(config, 8, {"conv_impl": conv})
    tx = optax.adam(1e-3)
    step = _step_fn(module, tx)
    rows = []
    for num_models, group in grid:
        keys = jax.random.split(jax.random.key(0), num_models)
        if frames:
            length = 160
            x = {"frames": jax.random.normal(jax.random.key(1),
                                             (num_models, steps, 64, length, 162)),
                 "mask": jnp.arange(length) < jax.random.randint(
                     jax.random.key(4), (num_models, steps, 64, 1), 60, length)}
        else:
            x = jax.random.normal(jax.random.key(1), (num_models, steps, 64, 162))
        example = jax.tree.map(lambda a: a[0, 0, :1], x)
        params = jax.vmap(lambda k: module.init(k, example, train=False))(keys)
        opt = jax.vmap(tx.init)(params)
        y = jax.random.randint(jax.random.key(2), (num_models, steps, 64), 0, 8)
        step_keys = jax.random.split(jax.random.key(3), (num_models, steps))

        def one_model(p, o, xs, ys, ks):  # a whole epoch of one model
            def body(carry, inp):
                p, o, _ = step(*carry, *inp)
                return (p, o), None
            return jax.lax.scan(body, (p, o), (xs, ys, ks), unroll=min(8, steps))[0]

        # the grouping train_grid uses (group 0 = one vmap over all); the data are arguments,
        # not closed-over constants XLA could fold at compile time
        epoch = jax.jit(sharding.map_models(one_model, (0,) * 5, group, sharding.model_mesh()))
        args = (params, opt, x, y, step_keys)
        compile_s = _timed(lambda: jax.block_until_ready(epoch(*args)))
        best = min(_timed(lambda: jax.block_until_ready(epoch(*args))) for _ in range(repeats))
        rows.append({"models": num_models, "group": group or "all", "compile_s": compile_s,
                     "ms_per_model_step": 1e3 * best / steps / num_models})
    print(f"{config.kind}, conv {conv}: | M | models per group | compile s | ms per model-step |")
    print("|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['models']} | {r['group']} | {r['compile_s']:.1f} | "
              f"{r['ms_per_model_step']:.2f} |", flush=True)
    return rows


def bench_raw(epochs: int = 3) -> dict:
    """The raw-waveform baseline (``serjax.paper.raw_waveform``) at the paper's shape: 1,440
    clips of 3 s at 4 kHz (tones by class + noise), 24 actors in 6 folds × 3 seeds = 18
    models, early stopping off; wall, compile and training seconds."""
    rng = np.random.default_rng(0)
    n, length = 1440, 12000
    label = np.arange(n) % 8
    t = np.arange(length) / 4000.0
    waves = np.sin(2 * np.pi * (100 + 60 * label)[:, None] * t) + rng.standard_normal((n, length))
    waves = (waves / np.sqrt(np.mean(waves ** 2, 1, keepdims=True))).astype(np.float32)
    roles, _, seeds = actor_fold_roles(np.arange(n) % 24, 6, 3)
    config = train.default_train_config()
    config.epochs, config.early_stop_patience = epochs, 0
    start = time.perf_counter()
    _, timing, curves = raw_waveform.train_models(
        waves, label, roles, seeds, baselines.default_baseline_config("raw_waveform"), config,
        8, progress=False)
    row = {"models": len(seeds), "epochs": epochs, "wall_s": time.perf_counter() - start,
           **timing, "last_train_loss": float(np.nanmean(curves[raw_waveform.PHASE]
                                                          ["train_loss"][-1]))}
    print(json.dumps(row), flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--seeds", default="1,5,10", help="seeds per fold, comma separated")
    parser.add_argument("--rows", type=int, default=2880)
    parser.add_argument("--options", action="store_true", help="compare CPU formulations")
    parser.add_argument("--groups", action="store_true",
                        help="models vmapped all at once vs in groups (runtime.models_per_group)")
    parser.add_argument("--frames", action="store_true",
                        help="with --groups: the frame-level frames_cnn extractor")
    parser.add_argument("--raw", action="store_true",
                        help="time the raw-waveform baseline (18 models, 3 epochs)")
    parser.add_argument("--conv", default="im2col", choices=networks.CONV_IMPLS,
                        help="with --groups: the convolution (runtime.conv_impl)")
    args = parser.parse_args()
    print(f"devices: {jax.devices()}; dense matmul {matmul_flops() / 1e9:.0f} GFLOP/s",
          flush=True)
    if args.options:
        bench_options()
        return
    if args.groups:
        bench_groups(frames=args.frames, conv=args.conv)
        return
    if args.raw:
        bench_raw()
        return
    data = synthetic_arrays(args.rows, 162, 8, 24, separation=1.0, seed=0)
    model_config = networks.default_model_config()
    ceiling_s, ceiling_flops = matmul_ceiling(model_config)
    print(f"matmuls of one extractor step alone, each at its own shape: {1e3 * ceiling_s:.2f} ms "
          f"per model-step, {ceiling_flops / 1e9:.0f} GFLOP/s (the most a step can reach)",
          flush=True)
    train_config = train.default_train_config()
    train_config.epochs = args.epochs
    train_config.early_stop_patience = 0  # identical work in (a) and (b)
    print("| M | epochs | (a) wall s | (a) compile s | (a) train s | (b) wall s | (b) compile s "
          "| (b) train s | wall ratio | train ratio | (a) GFLOP/s | accuracy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in [int(v) for v in args.seeds.split(",")]:
        r = bench_grid(data, s, args.epochs, model_config, train_config)
        print(f"| {r['models']} | {r['epochs']} | {r['a_wall_s']:.1f} | {r['a_compile_s']:.1f} | "
              f"{r['a_train_s']:.1f} | {r['b_wall_s']:.1f} | {r['b_compile_s']:.1f} | "
              f"{r['b_train_s']:.1f} | {r['wall_ratio']:.2f} | {r['train_ratio']:.2f} | "
              f"{r['a_gflops']:.1f} | {r['accuracy']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
