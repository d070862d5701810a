"""Table 1, SER Superset: holdout, test RAVDESS actors 1–4, train the other 117.

The paper: 68.04 % (random split); the authors' slides: 49.22 % (actors 1–4 held out).

    serjax cv --config configs/paper/table1_superset.py \
        --workdir runs/paper/table1_superset --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.holdout("superset")
