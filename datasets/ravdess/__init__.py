"""TFDS builder for RAVDESS (speech, audio-only)."""

from serjax_datasets.ravdess.ravdess_dataset_builder import Ravdess, Builder

__all__ = ["Ravdess", "Builder"]
