"""Manifest corpora: TFDS builder reading the rows of a checked manifest (see README.md).

Everything but the name and version lives in :mod:`serjax.corpora.manifest_builder`; the rows
come from :mod:`serjax.corpora.manifest` (a CSV/JSONL file) or :mod:`serjax.corpora.emobox`.
"""

import tensorflow_datasets as tfds

from serjax.corpora import manifest_builder


class Manifest(manifest_builder.ManifestCorpusBuilder):
    """Any corpus listed in a manifest; registered as ``serjax_manifest``, one builder config
    per manifest content (``<corpus>-<fingerprint>``). Construct it with ``corpus=Manifest``."""

    name = manifest_builder.NAME
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: rows, labels and speakers from a manifest."}


Builder = Manifest  # the `tfds new` name
