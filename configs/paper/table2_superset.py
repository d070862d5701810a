"""Table 2, SER Superset: 11-fold actor CV (11 actors per fold, balanced).

The paper: 0.43 ± 0.02; the authors' slides: 38 ± 2 %.

    serjax cv --config configs/paper/table2_superset.py \
        --workdir runs/paper/table2_superset --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.actor_cv("superset")
