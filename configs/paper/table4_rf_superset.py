"""Table 4, SER Superset: Random Forest on the 162-d acoustic summary, folds of table2_superset.

The paper (quoting earlier work): 43.6 %.

    serjax cv --config configs/paper/table4_rf_superset.py \
        --workdir runs/paper/table4_rf_superset --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.baseline(_paper.actor_cv("superset"), "random_forest")
