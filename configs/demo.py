"""The main job (`serjax demo`): a synthetic RAVDESS corpus, 6-fold actor CV × 3 seeds.

    serjax cv --config configs/demo.py --workdir runs/demo

Writes a synthetic RAVDESS corpus in its Kaggle layout (cached), builds it with the TFDS
builder, precomputes features (cached) and trains 18 models at once. A few minutes on 2 CPU
cores. Expect accuracy well above chance (12.5 %) and below 100 %.
"""

import common


def get_config():
    c = common.base_config("ravdess", "consecutive")
    c.data.synthetic_scale = 0.25
    return c
