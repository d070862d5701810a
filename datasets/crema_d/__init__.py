"""TFDS builder for CREMA-D (audio)."""

from serjax_datasets.crema_d.crema_d_dataset_builder import Builder, CremaD

__all__ = ["CremaD", "Builder"]
