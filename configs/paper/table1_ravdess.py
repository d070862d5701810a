"""Table 1, RAVDESS: holdout, test actors 1–4 (speaker-independent).

The paper: 88.07 % (random split); the authors' slides: 50.1 % (actors 1–4 held out).

    serjax cv --config configs/paper/table1_ravdess.py \
        --workdir runs/paper/table1_ravdess --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.holdout("ravdess")
