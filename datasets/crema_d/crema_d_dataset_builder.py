"""CREMA-D (audio): TFDS builder reading the unpacked Kaggle download (see README.md).

Everything but the corpus facts lives in :mod:`serjax.corpora.tfds_base` (bad-input policy included).
"""

import tensorflow_datasets as tfds

from serjax.corpora import tfds_base


class CremaD(tfds_base.CorpusBuilder):
    """CREMA-D (audio); registered as ``serjax_crema_d``."""

    name = tfds_base.builder_name("crema_d")
    CORPUS = "crema_d"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First serjax release: array_record, int16 audio, no TensorFlow."}
    HOMEPAGE = "https://github.com/CheyneyComputerScience/CREMA-D"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Download https://www.kaggle.com/datasets/ejlok1/cremad
    and unpack it into the manual directory (any wrapper folders, any folder-name case).
    Expected files: AudioWAV/1001_DFA_ANG_XX.wav (actor_sentence_emotion_level). Put CREMA-D's
    VideoDemographics.csv anywhere in the folder to use it for the actors' sex instead of
    the table packaged with serjax.
    Then run: serjax build crema_d --manual-dir DIR
    """


Builder = CremaD  # the `tfds new` name
