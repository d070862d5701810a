"""SER Superset holdout as the paper's Table 1: test RAVDESS actors 1–4, train the other 117.

    serjax cv --config configs/superset_holdout.py --workdir runs/superset_holdout \
        --config.data.root=DATA_ROOT

The paper reports 68.04 % (leaky); the authors' slides 49.22 % with actors 1–4 held out.
"""

import common


def get_config():
    return common.base_config("superset", "holdout")
