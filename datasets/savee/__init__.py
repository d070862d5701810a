"""TFDS builder for SAVEE (audio)."""

from serjax_datasets.savee.savee_dataset_builder import Savee, Builder

__all__ = ["Savee", "Builder"]
