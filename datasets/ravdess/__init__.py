"""TFDS builder for RAVDESS (speech, audio-only)."""

from serjax_datasets.ravdess.ravdess_dataset_builder import Builder, Ravdess

__all__ = ["Ravdess", "Builder"]
