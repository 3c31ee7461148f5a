"""Log densities and divergences, in nats, computed in the log domain.

Functions built on ``keras.ops`` accept NumPy arrays or tensors and are differentiable, so a
notebook can fit parameters with ``tf.GradientTape``; :func:`kl_divergence` is plain NumPy
for discrete distributions.
"""

from __future__ import annotations

import math

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


def kl_divergence(p, q) -> float:
    """KL(p || q) = sum_i p_i log(p_i / q_i) in nats, for discrete distributions.

    Args:
        p, q: probability vectors of the same shape ``(K,)``, non-negative, summing to 1.

    Returns:
        the divergence in nats: ``>= 0``, ``0`` iff ``p == q``, ``inf`` if ``q`` is 0 where
        ``p`` is not. Not symmetric: ``kl_divergence(p, q) != kl_divergence(q, p)`` in general.
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"p and q must be 1-D of equal length, got shapes {p.shape} and {q.shape}")
    for name, v in (("p", p), ("q", q)):
        if np.any(v < 0) or not np.isclose(v.sum(), 1.0, atol=1e-6):
            raise ValueError(f"{name} must be a probability vector (>= 0, sums to 1), "
                             f"got sum={v.sum():.6g}, min={v.min():.3g}")
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    return float(np.sum(p[support] * (np.log(p[support]) - np.log(q[support]))))


def gaussian_log_pdf(x, mu, sigma):
    """log N(x; mu, sigma^2) in nats, elementwise; ``sigma > 0``."""
    from keras import ops

    x, mu, sigma = (ops.convert_to_tensor(v, dtype="float32") for v in (x, mu, sigma))  # NumPy float64 too
    z = (x - mu) / sigma
    return -0.5 * z * z - ops.log(sigma) - 0.5 * LOG_2PI


def mixture_log_pdf(x, weights, mus, sigmas):
    """log of a 1-D Gaussian mixture density, computed stably with log-sum-exp.

    Args:
        x: points, shape ``(N,)``.
        weights, mus, sigmas: component weights (sum to 1), means, standard deviations, ``(K,)``.

    Returns:
        ``(N,)`` log densities in nats. Finite even far in the tails, where summing the
        component densities directly underflows to 0 and its log to ``-inf``.
    """
    from keras import ops

    x = ops.convert_to_tensor(x, dtype="float32")[:, None]
    weights = np.asarray(weights, dtype="float32")
    if np.any(weights <= 0) or not np.isclose(weights.sum(), 1.0, atol=1e-5):
        raise ValueError(f"mixture weights must be positive and sum to 1, got {weights.tolist()}")
    comp = gaussian_log_pdf(x, np.asarray(mus, "float32")[None, :], np.asarray(sigmas, "float32")[None, :])
    return ops.logsumexp(comp + np.log(weights)[None, :], axis=1)


def gaussian_kl(mu_q, logvar_q, mu_p=0.0, logvar_p=0.0):
    """Closed-form KL(q || p) between diagonal Gaussians, summed over the last axis, in nats.

    ``q = N(mu_q, exp(logvar_q))``, ``p = N(mu_p, exp(logvar_p))``. With the defaults ``p`` is
    the standard normal and this is the VAE's KL term
    ``0.5 * sum(exp(logvar) + mu^2 - 1 - logvar)``.

    Args:
        mu_q, logvar_q: ``(..., D)`` mean and log-variance of q.
        mu_p, logvar_p: broadcastable mean and log-variance of p.
        Each may be a float, a NumPy array of any float dtype or a tensor; the result is float32.

    Returns:
        ``(...)`` tensor, one divergence per leading index.
    """
    from keras import ops

    # float32 throughout: NumPy float64 arrays and Python floats are accepted for any argument
    mu_q, logvar_q, mu_p, logvar_p = (ops.convert_to_tensor(v, dtype="float32")
                                      for v in (mu_q, logvar_q, mu_p, logvar_p))
    term = logvar_p - logvar_q + (ops.exp(logvar_q) + ops.square(mu_q - mu_p)) / ops.exp(logvar_p) - 1.0
    return 0.5 * ops.sum(term, axis=-1)


def grid_kl(log_p, log_q, dx: float):
    """KL(p || q) of two 1-D densities tabulated on an even grid, in nats (Riemann sum).

    Args:
        log_p, log_q: ``(G,)`` log densities on the same grid points.
        dx: grid spacing.

    The order of the arguments is the direction: ``grid_kl(log_p, log_q, dx)`` is the forward
    KL(p || q) (mode covering when q is fitted), ``grid_kl(log_q, log_p, dx)`` the reverse
    KL(q || p) (mode seeking).
    """
    from keras import ops

    log_p = ops.convert_to_tensor(log_p, dtype="float32")
    log_q = ops.convert_to_tensor(log_q, dtype="float32")
    return ops.sum(ops.exp(log_p) * (log_p - log_q)) * dx
