"""serjax: speech emotion recognition in JAX, every actor fold and seed trained at once."""

__version__ = "0.1.0"
