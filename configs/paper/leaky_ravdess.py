"""LEAKY protocol, RAVDESS: leaky (speaker-dependent, augmented before split).

The authors' procedure, kept only to measure its leak: augment, then a stratified random
80/10/10 split of the rows, so augmented copies of test files train. The paper: 88.07 %.

    serjax cv --config configs/paper/leaky_ravdess.py \
        --workdir runs/paper/leaky_ravdess --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.leaky("ravdess")
