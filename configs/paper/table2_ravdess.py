"""Table 2, RAVDESS: 6-fold actor CV (actors 1–4, 5–8, …, 21–24).

The paper: 0.45 ± 0.05; the authors' slides: 46 ± 1 %. With only actors 01–12 present the 3
complete folds are used.

    serjax cv --config configs/paper/table2_ravdess.py \
        --workdir runs/paper/table2_ravdess --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.actor_cv("ravdess")
