"""TFDS builder for manifest corpora (your own corpus listed in a CSV or JSONL file)."""

from serjax_datasets.manifest.manifest_dataset_builder import Builder, Manifest

__all__ = ["Builder", "Manifest"]
