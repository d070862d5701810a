"""Feature extraction and the precomputed feature store."""
