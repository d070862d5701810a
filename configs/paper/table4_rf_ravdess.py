"""Table 4, RAVDESS: Random Forest on the 162-d acoustic summary, folds of table2_ravdess.

The paper reports Random Forest on the Superset only (43.6 %).

    serjax cv --config configs/paper/table4_rf_ravdess.py \
        --workdir runs/paper/table4_rf_ravdess --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.baseline(_paper.actor_cv("ravdess"), "random_forest")
