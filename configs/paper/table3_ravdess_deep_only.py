"""Table 3, RAVDESS: deep features only, holdout protocol of table1_ravdess.

The paper: 86.65 % (vs 88.07 % with fusion). Paired with table1_ravdess (same splits, seeds and
step 1): `serjax compare W/table1_ravdess W/table3_ravdess_deep_only`.

    serjax cv --config configs/paper/table3_ravdess_deep_only.py \
        --workdir runs/paper/table3_ravdess_deep_only --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.deep_only(_paper.holdout("ravdess"))
