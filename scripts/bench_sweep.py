"""Benchmark of hyperparameter arms in the model axis: cost and memory against M.

  python scripts/bench_sweep.py                       # the table in docs/benchmarks.md
  python scripts/bench_sweep.py --arms 1,2,4,8 --epochs 4 --rows 2880

Data: synthetic arrays shaped like the full RAVDESS with one augmented copy per file
(``--rows`` 2,880), as the recommended recipe reads them (``configs/ravdess_best.py``): eGeMAPS
LLD frames ``[N, 256, 25]`` for the frames CNN and 8 + 6,373 statistical columns (the authors'
statistics and the fused ComParE functionals) for the linear classifier; 8 classes, 24 actors
in 6 actor folds × 3 seeds × A arms (M = 18 A models). Arms vary the learning rate, weight
decay, dropout and label smoothing per model, as a random sweep does.

Each M runs in a fresh process (so the peak resident memory, ``ru_maxrss``, is that grid's
alone; on the CPU the device memory is host memory). Reported per M: wall, compile and
training seconds for ``--epochs`` epochs per phase, milliseconds per model-step (training
seconds over models × steps per epoch × epochs × 2 phases), models per second of the full
recipe (M over the training time scaled to ``--recipe-epochs`` per phase), and peak memory.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def grid_config(epochs: int | None = None):
    """(model, train, runtime) of configs/ravdess_best.py's recipe (``epochs`` per phase, or
    the recipe's own)."""
    sys.path.insert(0, str(ROOT / "configs"))
    import ravdess_best  # the recipe's own values

    config = ravdess_best.get_config()
    recipe = config.train.copy_and_resolve_references()
    if epochs is not None:
        recipe.epochs = epochs
    return config.model, recipe, config.runtime


def synthetic_inputs(rows: int, frames: int = 256, lld: int = 25, functionals: int = 6381,
                     classes: int = 8, actors: int = 24, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, classes, rows).astype(np.int32)
    actor = rng.integers(0, actors, rows)
    centers = rng.normal(size=(classes, lld)).astype(np.float32)
    x = centers[label][:, None, :] + rng.normal(size=(rows, frames, lld)).astype(np.float32)
    lengths = rng.integers(frames // 2, frames + 1, rows)
    mask = np.arange(frames) < lengths[:, None]
    stat = rng.normal(size=(rows, functionals)).astype(np.float32)
    stat[:, :classes] += np.eye(classes, dtype=np.float32)[label]
    return {"acoustic": (x * mask[..., None]).astype(np.float32), "frame_mask": mask,
            "statistical": stat, "gender": (actor % 2).astype(np.int8), "label": label,
            "actor": actor}


def one_grid(arms: int, epochs: int, rows: int, recipe_epochs: int) -> dict:
    """Trains 6 folds × 3 seeds × ``arms`` arms once; the row of the table."""
    sys.path.insert(0, str(ROOT / "tests"))
    from _grid_fixtures import actor_fold_roles  # tests/: test data helpers

    from serjax.training import grid_data, train

    model, recipe, run = grid_config(epochs)
    data = synthetic_inputs(rows)
    roles, _, seeds = actor_fold_roles(data["actor"], 6, 3)
    roles, seeds = np.repeat(roles, arms, 0), np.repeat(seeds, arms)
    rng = np.random.default_rng(0)
    m = roles.shape[0]
    hp = None
    if arms > 1:
        per_arm = {"learning_rate": np.exp(rng.uniform(np.log(3e-4), np.log(3e-3), arms)),
                   "weight_decay": rng.choice([0.0, 1e-4, 1e-3], arms),
                   "dropout": rng.uniform(0.1, 0.4, arms),
                   "label_smoothing": rng.choice([0.0, 0.1], arms)}
        hp = {k: np.tile(v, m // arms).astype(np.float32) for k, v in per_arm.items()}
    start = time.perf_counter()
    result = train.train_grid({k: data[k] for k in (*grid_data.DATA_KEYS, "frame_mask")},
                              roles, seeds, model, recipe, runtime=run, hparams=hp,
                              progress=False)
    wall = time.perf_counter() - start
    steps = grid_data.steps_per_epoch(roles, int(recipe.batch_size))
    train_s = result.timing["train_s"]
    return {"arms": arms, "models": m, "wall_s": wall, "compile_s": result.timing["compile_s"],
            "train_s": train_s,
            "ms_per_model_step": 1000 * train_s / (m * steps * epochs * 2),
            "models_per_s": m / (train_s * recipe_epochs / epochs),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", default="1,2,4,8")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per phase run")
    parser.add_argument("--recipe-epochs", type=int, default=0,
                        help="epochs per phase of the full recipe (default: the config's)")
    parser.add_argument("--rows", type=int, default=2880)
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    recipe_epochs = args.recipe_epochs or int(grid_config()[1].epochs)
    if args.one:
        print(json.dumps(one_grid(args.one, args.epochs, args.rows, recipe_epochs)))
        return
    rows = []
    for arms in [int(a) for a in args.arms.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--one", str(arms), "--epochs",
                              str(args.epochs), "--rows", str(args.rows), "--recipe-epochs",
                              str(recipe_epochs)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"arms {arms}: done", file=sys.stderr)
    header = ("arms", "M", "wall s", "compile s", f"train s ({args.epochs}+{args.epochs} ep)",
              "ms / model-step", f"models / s ({recipe_epochs}+{recipe_epochs} ep)",
              "peak memory MB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print(f"| {r['arms']} | {r['models']} | {r['wall_s']:.1f} | {r['compile_s']:.1f} | "
              f"{r['train_s']:.1f} | {r['ms_per_model_step']:.2f} | {r['models_per_s']:.3f} | "
              f"{r['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
