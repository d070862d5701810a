"""Cross-corpus: train CREMA-D + RAVDESS, test every actor of SAVEE + TESS (six classes).

The authors' slides: 26.05 %.

    serjax cv --config configs/paper/xcorpus.py \
        --workdir runs/paper/xcorpus --config.data.root=DATA_ROOT

or every cell at once: `serjax reproduce --data-root DATA_ROOT --workdir runs/paper`.
"""

import _paper


def get_config():
    return _paper.cross_corpus()
