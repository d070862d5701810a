"""Beyond the paper, SER Superset 11-fold actor CV with the frame-level extractor.

    serjax cv --config configs/superset_cv_frames.py --workdir runs/superset_cv_frames \
        --config.data.root=DATA_ROOT

configs/superset_cv.py with the frame-level model and options of configs/ravdess_cv_frames.py,
plus the class-balanced loss (the Superset's classes are unbalanced across corpora). The
float16 frames FeatureSet of the Superset is ~2 GB (24k rows × 256 frames × 162).
"""

import common
import ravdess_cv_frames


def get_config():
    config = ravdess_cv_frames.frames_config(common.base_config("superset", "superset"))
    config.train.class_balanced = True
    return config
