"""How training time and memory grow with the number of models M and of rows N (this host).

  python scripts/bench_scale.py --models 1,11,33 --rows 5760 --epochs 2      # vs M
  python scripts/bench_scale.py --models 11 --rows 2880,11520,23040          # vs N
  python scripts/bench_scale.py --upload --rows 4096                         # frames upload
  python scripts/bench_scale.py --stream --models 11 --rows 2880 --frames 64  # resident vs streamed

Every point runs in a fresh process (so peak memory is that point's alone) on synthetic
arrays shaped like the SER Superset features (162 acoustic + 8 statistical, 6 classes,
121 actors in 11 actor folds; M models = the first M of 11 folds × ceil(M/11) seeds), the
paper model, early stopping off (every epoch does the same work). Printed per point: compile
and training seconds, seconds per epoch (one extractor epoch + one classifier epoch), and the
peak resident memory of the process (``ru_maxrss``).

``--upload`` compares two ways of getting a float16 ``frames`` FeatureSet ([N, 256, 162],
memory-mapped) onto the device as float32: the naive ``device_put(np.asarray(x, float32))``
and ``sharding.put_replicated`` (row chunks into a preallocated device buffer).

``--stream`` trains a frames grid (``frames_cnn`` on synthetic ``[N, frames, 162]``) with step 1's
inputs resident on the device and streamed from the host (``runtime.stream``), same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from _grid_fixtures import actor_fold_roles, synthetic_arrays, synthetic_frames  # tests/ data


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def train_point(num_models: int, num_rows: int, epochs: int, frames: int = 0,
                stream: str = "resident") -> dict:
    """Trains one synthetic grid; returns its timings and the process's peak memory.
    ``frames > 0``: the frames extractor on ``[N, frames, 162]`` inputs."""
    from serjax.models import networks
    from serjax.training import grid_data, runtime, train

    folds, seeds_per_fold = 11, -(-num_models // 11)
    model = networks.default_model_config()
    if frames:
        data = synthetic_frames(num_rows, frames, 162, 6, 121, seed=0)
        model.kind = "frames_cnn"
    else:
        data = synthetic_arrays(num_rows, num_classes=6, num_actors=121, seed=0)
    roles, _, seeds = actor_fold_roles(data["actor"], folds, seeds_per_fold)
    roles, seeds = roles[:num_models], seeds[:num_models]
    keys = grid_data.DATA_KEYS + (("frame_mask",) if frames else ())
    arrays = {k: data[k] for k in keys}
    config = train.default_train_config()
    config.epochs, config.early_stop_patience = epochs, 0
    run = runtime.default_runtime_config()
    run.stream = stream
    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    result = train.train_grid(arrays, roles, seeds, model, config, runtime=run, progress=False)
    wall = time.perf_counter() - start
    steps = grid_data.steps_per_epoch(roles, config.batch_size)
    return {"M": num_models, "N": num_rows, "epochs": epochs, "steps_per_epoch": steps,
            "wall_s": wall, "compile_s": result.timing["compile_s"],
            "train_s": result.timing["train_s"],
            "epoch_s": result.timing["train_s"] / epochs,
            "peak_rss_mb": _peak_rss_mb(), "rss_before_train_mb": rss_before,
            "accuracy": float(np.trace(result.confusion, axis1=1, axis2=2).sum()
                              / result.n_test.sum())}


def write_frames(path: str, num_rows: int, frames: int) -> None:
    """A float16 frames ``.npy`` of constant 0.5, written in blocks (never whole in memory)."""
    out = np.lib.format.open_memmap(path, "w+", np.float16, (num_rows, frames, 162))
    for start in range(0, num_rows, 256):
        out[start:start + 256] = 0.5
    out.flush()


def upload_point(path: str, how: str) -> dict:
    """Uploads the float16 frames memmap at ``path`` as float32, ``how`` = naive | chunked."""
    import jax

    from serjax.training import sharding

    source = np.load(path, mmap_mode="r")
    mesh = sharding.model_mesh(jax.devices()[:1])
    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    if how == "naive":
        device = jax.device_put(np.asarray(source, np.float32), sharding.replicated(mesh))
    else:
        device = sharding.put_replicated(source, mesh, np.float32)
    jax.block_until_ready(device)
    seconds = time.perf_counter() - start
    assert float(device[-1, -1, -1]) == 0.5
    return {"how": how, "N": source.shape[0], "frames": source.shape[1],
            "float16_source_mb": source.nbytes / 2**20, "float32_device_mb": source.nbytes / 2**19,
            "upload_s": seconds, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": rss_before}


def _run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env=dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "")))
    if out.returncode != 0:
        raise SystemExit(f"bench point {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="1,11,33", help="comma-separated M values")
    parser.add_argument("--rows", default="5760", help="comma-separated N values")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per step")
    parser.add_argument("--frames", type=int, default=256,
                        help="frames per row (--upload, --stream)")
    parser.add_argument("--upload", action="store_true", help="frames upload benchmark")
    parser.add_argument("--stream", action="store_true",
                        help="frames grid: inputs resident on the device vs streamed")
    parser.add_argument("--point", nargs="+", help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()

    if args.point:
        kind, *values = args.point
        result = (train_point(*map(int, values[:4]), *values[4:]) if kind == "train"
                  else upload_point(values[0], values[1]))
        print(json.dumps(result))
        return

    print(f"load average at start: {os.getloadavg()}")
    if args.upload:
        print("| how | N | float16 on disk MB | float32 on device MB | upload s "
              "| RSS before MB | peak RSS MB | peak − before MB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for n in _ints(args.rows):
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "acoustic.npy")
                write_frames(path, n, args.frames)  # here, so the child's RSS is the upload's
                for how in ("naive", "chunked"):
                    r = _run_child(["--point", "upload", path, how])
                    print(f"| {how} | {n} | {r['float16_source_mb']:.0f} | "
                          f"{r['float32_device_mb']:.0f} | {r['upload_s']:.2f} | "
                          f"{r['rss_before_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
                          f"{r['peak_rss_mb'] - r['rss_before_mb']:.0f} |", flush=True)
        return
    if args.stream:
        print("| step 1 inputs | M | N | frames | compile s | train s / epoch | peak RSS MB "
              "| accuracy |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for n in _ints(args.rows):
            for m in _ints(args.models):
                for how in ("resident", "stream"):
                    r = _run_child(["--point", "train", str(m), str(n), str(args.epochs),
                                    str(args.frames), how])
                    print(f"| {how} | {m} | {n} | {args.frames} | {r['compile_s']:.1f} | "
                          f"{r['epoch_s']:.2f} | {r['peak_rss_mb']:.0f} | "
                          f"{r['accuracy']:.4f} |", flush=True)
        print(f"load average at end: {os.getloadavg()}")
        return
    print("| M | N | steps/epoch | compile s | train s / epoch | ms / step | ms / model-step "
          "| peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in _ints(args.rows):
        for m in _ints(args.models):
            r = _run_child(["--point", "train", str(m), str(n), str(args.epochs)])
            ms_step = 1000 * r["epoch_s"] / r["steps_per_epoch"]
            print(f"| {m} | {n} | {r['steps_per_epoch']} | {r['compile_s']:.1f} | "
                  f"{r['epoch_s']:.2f} | {ms_step:.1f} | {ms_step / m:.2f} | "
                  f"{r['peak_rss_mb']:.0f} |", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
