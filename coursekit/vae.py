"""Reusable pieces of the variational autoencoder (lecture 03).

The lecture writes its encoder, decoder and ``train_step`` in the open; what it reuses lives here:

- :class:`Sampling`: the reparameterisation trick as a Keras layer,
  ``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)``;
- the reconstruction term is :func:`coursekit.likelihood.bernoulli_nll` (nats, from decoder logits);
- :func:`dynamic_binarize`: a fresh Bernoulli draw of grey-level images, for training on
  stochastically binarised MNIST (a new binarisation every time a digit is seen);
- :func:`gaussian_quantile_grid`: latent points on a grid of standard-normal quantiles, to draw
  the decoded manifold of a 2-D latent space.

Conventions: latent codes are ``(B, D)``; ``logvar`` is the natural log of the variance;
log-likelihoods are in nats per example (summed over pixels). The closed-form KL term is
:func:`coursekit.divergences.gaussian_kl`; the held-out NLL by importance sampling is
:func:`coursekit.likelihood.importance_sampled_log_likelihood`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops



@keras.saving.register_keras_serializable(package="coursekit")
class Sampling(keras.layers.Layer):
    """Draw ``z ~ N(mu, diag(exp(logvar)))`` differentiably: ``z = mu + exp(logvar / 2) * eps``.

    The randomness sits in ``eps ~ N(0, I)``, which does not depend on the encoder's weights,
    so gradients flow through ``mu`` and ``logvar`` (the reparameterisation trick).

    Call it on ``[mu, logvar]``, two tensors of the same shape ``(B, D)``; returns ``z``, ``(B, D)``.

    Args:
        seed: seed of the layer's own random stream (``None``: from Keras' global seed).
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _check(self, mu_shape, logvar_shape):
        if tuple(mu_shape) != tuple(logvar_shape):
            raise ValueError(
                f"Sampling needs mu and logvar of the same shape (B, D), got {tuple(mu_shape)} and "
                f"{tuple(logvar_shape)}; give the encoder two Dense(latent_dim) heads"
            )

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(f"Sampling is called on [mu, logvar], got input shape {input_shape}")
        self._check(*input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def call(self, inputs):
        mu, logvar = inputs
        self._check(mu.shape, logvar.shape)
        eps = keras.random.normal(ops.shape(mu), dtype=mu.dtype, seed=self.seed_generator)
        return mu + ops.exp(0.5 * logvar) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def dynamic_binarize(x, seed=None):
    """Draw binary images from grey levels: each pixel is 1 with probability equal to its value.

    Args:
        x: ``(B, ...)`` float tensor in ``[0, 1]``.
        seed: ``None``, an int or a ``keras.random.SeedGenerator`` (inside ``train_step``
            pass a generator so every step draws afresh).

    Returns:
        float32 tensor of the same shape with values in ``{0, 1}``. Use it inside a training
        step (a new binarisation at every epoch); for a fixed, reproducible binarisation of
        the test set use :func:`coursekit.data.transforms.binarize` with ``stochastic=True``.
    """
    x = ops.convert_to_tensor(x, dtype="float32")
    u = keras.random.uniform(ops.shape(x), dtype="float32", seed=seed)
    return ops.cast(u < x, "float32")


def gaussian_quantile_grid(n: int, *, tail: float = 0.05) -> np.ndarray:
    """Points of a 2-D latent space laid out on standard-normal quantiles, for a decoded manifold.

    Args:
        n: points per axis (the grid has ``n * n`` points).
        tail: probability mass left out at each end; the axis values are the normal quantiles
            of ``linspace(tail, 1 - tail, n)``, so equal steps are equal amounts of prior mass.

    Returns:
        ``(n * n, 2)`` float32, row-major: row ``r`` of the picture has ``z_2 = values[::-1][r]``
        (top of the picture = largest ``z_2``) and column ``c`` has ``z_1 = values[c]``.
    """
    from scipy.stats import norm

    if int(n) < 2:
        raise ValueError(f"a grid needs n >= 2 points per axis, got {n}")
    if not 0.0 < tail < 0.5:
        raise ValueError(f"tail must be in (0, 0.5), got {tail}; e.g. 0.05 leaves out 5% at each end")
    values = norm.ppf(np.linspace(tail, 1.0 - tail, int(n)))
    z1, z2 = np.meshgrid(values, values[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype("float32")
