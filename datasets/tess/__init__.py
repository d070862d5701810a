"""TFDS builder for TESS (Toronto emotional speech set)."""

from serjax_datasets.tess.tess_dataset_builder import Builder, Tess

__all__ = ["Tess", "Builder"]
