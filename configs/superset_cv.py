"""SER Superset 11-fold actor cross-validation (11 actors per fold, balanced by corpus/gender).

    serjax cv --config configs/superset_cv.py --workdir runs/superset_cv \
        --config.data.root=DATA_ROOT

Needs all four corpora under DATA_ROOT. 11 folds × 3 seeds = 33 models at once; six classes
(calm and surprise dropped). The authors' slides report 38 ± 2 %; the paper 43 ± 2 %.
"""

import common


def get_config():
    return common.base_config("superset", "superset")
