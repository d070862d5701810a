"""RAVDESS (speech, audio-only): TFDS builder reading the unpacked Kaggle download (see README.md).

Everything but the corpus facts lives in :mod:`serjax.corpora.tfds_base` (bad-input policy included).
"""

import tensorflow_datasets as tfds

from serjax.corpora import tfds_base


class Ravdess(tfds_base.CorpusBuilder):
    """RAVDESS (speech, audio-only); registered as ``serjax_ravdess``."""

    name = tfds_base.builder_name("ravdess")
    CORPUS = "ravdess"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First serjax release: array_record, int16 audio, no TensorFlow."}
    HOMEPAGE = "https://zenodo.org/record/1188976"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Download https://www.kaggle.com/datasets/uwrfkaggler/ravdess-emotional-speech-audio
    and unpack it into the manual directory (any wrapper folders, any folder-name case).
    Expected files: Actor_01/03-01-05-01-02-01-01.wav ... Actor_24/... (the duplicate tree
    audio_speech_actors_01-24/Actor_NN/ that Kaggle also ships is counted once).
    Then run: serjax build ravdess --manual-dir DIR
    """


Builder = Ravdess  # the `tfds new` name
