"""Your own corpus, listed in a manifest: 5-fold speaker cross-validation × 3 seeds.

    serjax cv --config configs/manifest_cv.py --workdir runs/my_corpus \
        --config.data.manifest=DATA/my_corpus.csv

The manifest (.csv, .tsv or .jsonl; columns path, emotion, speaker, optional gender, key,
start, end: serjax.corpora.manifest) brings its own label set: every label is a class unless
--config.labels chooses, orders or merges them (--config.labels=neutral,happy,sad or
--config.labels=neutral,negative=angry+sad+fear,happy). Folds are speakers, balanced by gender
where the manifest gives it; leave one speaker out with --config.folds.scheme=loso, or hold
out a speaker list with --config.folds.scheme=holdout --config.folds.test_actors=s01,s02.
"""

import common


def get_config():
    c = common.base_config("manifest", "speaker_kfold")
    c.folds.num_folds = 5
    c.labels = ()   # every label of the manifest, in its order (serjax.splits.classes)
    return c
