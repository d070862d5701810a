"""TESS (Toronto emotional speech set): TFDS builder reading the unpacked Kaggle download (see README.md).

Everything but the corpus facts lives in :mod:`serjax.tfds_base` (bad-input policy included).
"""

import tensorflow_datasets as tfds

from serjax import tfds_base


class Tess(tfds_base.CorpusBuilder):
    """TESS (Toronto emotional speech set); registered as ``serjax_tess``."""

    name = tfds_base.builder_name("tess")
    CORPUS = "tess"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First serjax release: array_record, int16 audio, no TensorFlow."}
    HOMEPAGE = "https://doi.org/10.5683/SP2/E8H2MF"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Download https://www.kaggle.com/datasets/ejlok1/toronto-emotional-speech-set-tess and unpack it into
    the manual directory (wrapper folders and folder-name case do not matter). Expected files:
    TESS Toronto emotional speech set data/OAF_angry/OAF_back_angry.wav (Kaggle nests a second copy, tess toronto emotional speech set data/...; each file is counted once; folder names vary in case and spelling, so the emotion comes from the file name).
    """


Builder = Tess  # the `tfds new` name
