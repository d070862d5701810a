"""Table 4, SER Superset: the end-to-end 1-D CNN (step 1 alone), folds of table2_superset.

The paper (quoting earlier work): 48.96 %.

    serjax cv --config configs/paper/table4_cnn1d_superset.py \
        --workdir runs/paper/table4_cnn1d_superset --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.baseline(_paper.actor_cv("superset"), "cnn1d")
