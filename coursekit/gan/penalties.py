"""Gradient penalties on the discriminator (critic), lecture 09.

- :func:`gradient_penalty`: WGAN-GP (Gulrajani et al., 2017): ``E[(||grad_x f(x_hat)||_2 - 1)^2]`` at
  points ``x_hat`` on straight lines between real and generated samples; it keeps the critic close
  to 1-Lipschitz, which the Wasserstein loss needs.
- :func:`r1_penalty`: R1 (Mescheder et al., 2018): ``E_real[||grad_x D(x)||_2^2]`` on real data only;
  it stops the discriminator from making its decision surface ever steeper around the data.

Both return a scalar tensor (no weight applied: multiply by ``lambda`` = 10 for WGAN-GP, by
``gamma / 2`` for R1). The gradient is taken with respect to the network's **input**, per sample,
and flattened over all non-batch axes.
"""

from __future__ import annotations

import tensorflow as tf  # the course runs on the TensorFlow backend (GradientTape)
from keras import ops


def _input_gradient_norms(network, x):
    x = ops.convert_to_tensor(x, "float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = ops.sum(network(x, training=True))  # each output depends only on its own input row
    grad = tape.gradient(total, x)
    return ops.sqrt(ops.sum(ops.reshape(ops.square(grad), (ops.shape(x)[0], -1)), axis=1) + 1e-12)


def interpolate(real, fake, alpha):
    """``alpha * real + (1 - alpha) * fake``, one ``alpha`` in ``[0, 1]`` per sample (shape ``(B,)``)."""
    real = ops.convert_to_tensor(real, "float32")
    fake = ops.convert_to_tensor(fake, "float32")
    alpha = ops.reshape(ops.convert_to_tensor(alpha, "float32"), (-1,) + (1,) * (len(real.shape) - 1))
    return alpha * real + (1.0 - alpha) * fake


def gradient_penalty(critic, real, fake, alpha):
    """``mean_i (||grad f(x_hat_i)|| - 1)^2`` with ``x_hat_i = alpha_i real_i + (1 - alpha_i) fake_i``.

    Args:
        critic: network ``(B, ...) -> (B, 1)`` scores.
        real, fake: batches of the same shape ``(B, ...)``.
        alpha: ``(B,)`` mixing weights, uniform on ``[0, 1]`` in training.

    Returns:
        scalar tensor >= 0; for a linear critic ``f(x) = w . x + b`` it is ``(||w|| - 1)^2``.
    """
    norms = _input_gradient_norms(critic, interpolate(real, fake, alpha))
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(discriminator, real):
    """``mean_i ||grad_x D(real_i)||^2`` on the discriminator's logits; for ``D(x) = w . x + b``: ``||w||^2``."""
    norms = _input_gradient_norms(discriminator, real)
    return ops.mean(ops.square(norms))
