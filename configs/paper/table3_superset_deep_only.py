"""Table 3, SER Superset: deep features only, holdout protocol of table1_superset.

The paper: 67.19 % (vs 68.04 % with fusion).

    serjax cv --config configs/paper/table3_superset_deep_only.py \
        --workdir runs/paper/table3_superset_deep_only --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.deep_only(_paper.holdout("superset"))
