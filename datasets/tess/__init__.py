"""TFDS builder for TESS (Toronto emotional speech set)."""

from serjax_datasets.tess.tess_dataset_builder import Tess, Builder

__all__ = ["Tess", "Builder"]
