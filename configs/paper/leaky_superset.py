"""LEAKY protocol, SER Superset: leaky (speaker-dependent, augmented before split).

The authors' procedure, kept only to measure its leak. The paper: 68.04 %.

    serjax cv --config configs/paper/leaky_superset.py \
        --workdir runs/paper/leaky_superset --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.leaky("superset")
