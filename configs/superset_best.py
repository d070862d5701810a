"""configs/ravdess_best.py's recipe on the SER Superset (RAVDESS + CREMA-D + SAVEE + TESS,
six classes), 11 actor folds balanced by corpus and gender.

    serjax cv --config configs/superset_best.py --workdir runs/superset_best \
        --config.data.root=DATA_ROOT [--config.train.speaker_norm=true]

Not tuned on the Superset (we have none of its real corpora but RAVDESS): the values are the
ones chosen on RAVDESS's VAL speakers. On the synthetic Superset it only shows that it runs.
"""

import common
import ravdess_best


def get_config():
    return ravdess_best.best_config(common.base_config("superset", "superset"))
