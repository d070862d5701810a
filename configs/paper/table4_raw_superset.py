"""Discussion, SER Superset: a small Conv1D on the 4 kHz raw waveform, folds of table2_superset.

The paper: about 13 % for a model on raw audio.

    serjax cv --config configs/paper/table4_raw_superset.py \
        --workdir runs/paper/table4_raw_superset --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.baseline(_paper.actor_cv("superset"), "raw_waveform")
