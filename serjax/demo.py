"""``serjax demo``, the main job: a synthetic RAVDESS corpus in its Kaggle layout → the TFDS
builder → cached features → 6-fold actor CV × 3 seeds, all 18 models in one program.

Nothing is downloaded: the corpus is generated (``serjax.synth.corpus``), so the demo runs on any
fresh machine. It is ``configs/demo.py`` run through the same code as ``serjax cv``.
"""

from __future__ import annotations

from pathlib import Path

from serjax import config as config_lib
from serjax import experiment


def run_demo(workdir: str | Path = "runs/demo", scale: float | None = None,
             seeds: int | None = None):
    config = config_lib.load_config("demo")
    if scale is not None:
        config.data.synthetic_scale = float(scale)
    if seeds is not None:
        config.seeds = int(seeds)
    print(f"serjax demo: synthetic RAVDESS (scale {config.data.synthetic_scale:g}), "
          f"{config.folds.scheme} actor folds × {config.seeds} seeds → {workdir}")
    return experiment.run_cv(config, workdir)
