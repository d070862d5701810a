"""Feature extraction and the precomputed feature store.

``spec`` (config), ``acoustic`` / ``statistical`` (librosa reference path), ``jax_features`` /
``jax_augment`` (batched JAX path), ``extract`` (rows of a shard), ``precompute`` (cached,
sharded, resumable) and ``store`` (``FeatureSet`` and its on-disk schema). Import the module you
need; this package imports nothing heavy.
"""
