"""TFDS builder for SAVEE (audio)."""

from serjax_datasets.savee.savee_dataset_builder import Builder, Savee

__all__ = ["Savee", "Builder"]
