"""RAVDESS 6-fold actor cross-validation (the paper's Table 2: folds of actors 1–4, 5–8, …).

    serjax cv --config configs/ravdess_cv.py --workdir runs/ravdess_cv \
        --config.data.root=DATA_ROOT

6 folds × 3 seeds = 18 models trained at once. EmoBox folds: --config.folds.scheme=emobox.
The authors' slides report 46 ± 1 % held-out-actor accuracy for this protocol.
"""

import common


def get_config():
    return common.base_config("ravdess", "consecutive")
