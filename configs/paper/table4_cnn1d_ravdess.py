"""Table 4, RAVDESS: the end-to-end 1-D CNN (SER-FusionNet's step 1 alone), folds of
table2_ravdess.

Reads the extractors of a table2_ravdess run (baseline.source_workdir; serjax reproduce points
it there), so it is paired with SER-FusionNet model for model.

    serjax cv --config configs/paper/table4_cnn1d_ravdess.py \
        --workdir runs/paper/table4_cnn1d_ravdess --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.baseline(_paper.actor_cv("ravdess"), "cnn1d")
