"""configs/ravdess_best.py's recipe on your own corpus, listed in a manifest: 5-fold speaker
cross-validation × 3 seeds.

    serjax cv --config configs/manifest_best.py --workdir runs/my_corpus_best \
        --config.data.manifest=DATA/my_corpus.csv [--config.train.speaker_norm=true]

The manifest and label options are those of configs/manifest_cv.py. Not tuned on your corpus:
to choose its hyperparameters on your corpus's VAL speakers, add a sweep, e.g.
--config.sweep.method=grid --config.sweep.grid.weight_decay="(0.0, 1.0)".
"""

import common
import ravdess_best


def get_config():
    c = common.base_config("manifest", "speaker_kfold")
    c.folds.num_folds = 5
    c.labels = ()   # every label of the manifest, in its order (serjax.splits.classes)
    return ravdess_best.best_config(c)
