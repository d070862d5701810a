"""TFDS builders for the four corpora (installed as the package `serjax_datasets`)."""
