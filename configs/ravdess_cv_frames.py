"""Beyond the paper, RAVDESS 6-fold actor CV with the frame-level extractor.

    serjax cv --config configs/ravdess_cv_frames.py --workdir runs/ravdess_cv_frames \
        --config.data.root=DATA_ROOT

Same folds, seeds and two-step recipe as configs/ravdess_cv.py, but step 1 is a Conv1D over
the frame sequence [T, 162] (``model.kind='frames_cnn'``, padded frames masked out, masked
mean/max pooling over time; its own fields under ``model.frames_cnn``, configs/common.py)
trained with SpecAugment-style time and feature-band masks; its 32 deep units feed the same
fusion MLP. Options (docs/benchmarks.md, "Beyond the paper"):
``--config.train.speaker_norm=True`` standardises each actor's features by that actor's own
statistics (test actors too: speaker-level normalisation at test time, label-free),
``--config.train.class_balanced=True`` weights the loss by the TRAIN class counts.
"""

import common


def frames_config(config):
    """The frame-level model and its training options on top of a base config."""
    config.features.acoustic = "frames"
    config.features.frames_dtype = "float16"  # halves the FeatureSet; cast on device per batch
    config.model.kind = "frames_cnn"
    config.train.specaugment.time_masks = 2
    config.train.specaugment.time_width = 20
    config.train.specaugment.feature_masks = 2
    config.train.specaugment.feature_width = 16
    return config


def get_config():
    return frames_config(common.base_config("ravdess", "consecutive"))
