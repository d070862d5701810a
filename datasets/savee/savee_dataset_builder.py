"""SAVEE (audio): TFDS builder reading the unpacked Kaggle download (see README.md).

Everything but the corpus facts lives in :mod:`serjax.corpora.tfds_base` (bad-input policy included).
"""

import tensorflow_datasets as tfds

from serjax.corpora import tfds_base


class Savee(tfds_base.CorpusBuilder):
    """SAVEE (audio); registered as ``serjax_savee``."""

    name = tfds_base.builder_name("savee")
    CORPUS = "savee"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First serjax release: array_record, int16 audio, no TensorFlow."}
    HOMEPAGE = "http://kahlan.eps.surrey.ac.uk/savee/"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Download https://www.kaggle.com/datasets/ejlok1/surrey-audiovisual-expressed-emotion-savee
    and unpack it into the manual directory (any wrapper folders, any folder-name case).
    Expected files: ALL/DC_a01.wav (speaker DC/JE/JK/KL, emotion a/d/f/h/n/sa/su, index).
    Then run: serjax build savee --manual-dir DIR
    """


Builder = Savee  # the `tfds new` name
