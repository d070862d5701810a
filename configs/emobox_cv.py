"""An EmoBox corpus run on its official folds (EmoBox: Ma et al., 2024), × 3 seeds.

    serjax cv --config configs/emobox_cv.py --workdir runs/emobox_ravdess \
        --config.data.emobox_dir=EmoBox/data/ravdess --config.data.audio_root=EMOBOX_ROOT

``emobox_dir`` holds <corpus>.jsonl, fold_<k>/ and label_map.json; ``audio_root`` is the folder
its ``wav`` paths start from. Speakers come from the file names where they say it (RAVDESS,
CREMA-D, SAVEE, TESS, EmoDB): speaker-disjoint folds then validate on held-out training
speakers; otherwise VAL is 10 % of each fold's TRAIN files (folds.val_fraction) and the report
labels the protocol (speaker-dependent, or speakers unknown). Predictions are also written in
EmoBox's format (workdir/emobox/fold_<k>/seed_<s>/); report.md names WA, UA, macro-F1.
"""

import common


def get_config():
    c = common.base_config("emobox", "given")
    c.labels = ()   # every label of label_map.json's names, in their order
    return c
