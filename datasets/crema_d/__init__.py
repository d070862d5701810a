"""TFDS builder for CREMA-D (audio)."""

from serjax_datasets.crema_d.crema_d_dataset_builder import CremaD, Builder

__all__ = ["CremaD", "Builder"]
