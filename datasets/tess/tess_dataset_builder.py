"""TESS (Toronto emotional speech set): TFDS builder for the unpacked Kaggle download.

Everything but the corpus facts lives in :mod:`serjax.corpora.tfds_base` (bad-input policy included).
"""

import tensorflow_datasets as tfds

from serjax.corpora import tfds_base


class Tess(tfds_base.CorpusBuilder):
    """TESS (Toronto emotional speech set); registered as ``serjax_tess``."""

    name = tfds_base.builder_name("tess")
    CORPUS = "tess"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First serjax release: array_record, int16 audio, no TensorFlow."}
    HOMEPAGE = "https://doi.org/10.5683/SP2/E8H2MF"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Download https://www.kaggle.com/datasets/ejlok1/toronto-emotional-speech-set-tess
    and unpack it into the manual directory (any wrapper folders, any folder-name case).
    Expected files: TESS Toronto emotional speech set data/OAF_angry/OAF_back_angry.wav (Kaggle's
    nested second copy is counted once; folder names may differ in case and spelling).
    Then run: serjax build tess --manual-dir DIR
    """


Builder = Tess  # the `tfds new` name
