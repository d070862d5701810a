"""RAVDESS holdout as the paper's Table 1: train actors 5–24, test actors 1–4.

    serjax cv --config configs/ravdess_holdout.py --workdir runs/ravdess_holdout \
        --config.data.root=DATA_ROOT

The paper reports 88.07 % (leaky random split); the authors' slides 50.1 % held-out actors.
"""

import common


def get_config():
    return common.base_config("ravdess", "holdout")
