"""Beyond the paper, SER Superset: SER-FusionNet with the frame-level extractor
(model.kind=frames_cnn on features.acoustic=frames), folds of table2_superset, paired with it.

    serjax cv --config configs/paper/table4_frames_superset.py \
        --workdir runs/paper/table4_frames_superset --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.frames(_paper.actor_cv("superset"))
