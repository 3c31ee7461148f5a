"""Seeding in one call."""

from __future__ import annotations


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy, TensorFlow and Keras with ``seed``.

    Args:
        seed: any non-negative integer.
        deterministic: also make TensorFlow ops deterministic (slower; the ``smoke``
            profile uses it so CI outputs repeat).
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
