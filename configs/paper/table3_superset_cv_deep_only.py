"""Table 3 under actor CV, SER Superset: deep features only, folds of table2_superset.

Paired with table2_superset.

    serjax cv --config configs/paper/table3_superset_cv_deep_only.py \
        --workdir runs/paper/table3_superset_cv_deep_only --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.deep_only(_paper.actor_cv("superset"))
