"""Likelihood bookkeeping shared by the explicit-density lectures (03 VAE, 04 PixelCNN).

Conventions: log-likelihoods are in **nats** (natural log) per example, summed over all
dimensions of the example; NLL = minus that. Bits per dimension divide by ``D * ln 2``.

- :func:`bits_per_dim`, :func:`bernoulli_log_likelihood`: units and the binary-pixel likelihood;
- :func:`log_mean_exp`, :func:`importance_sampled_log_likelihood`: the held-out ``log p(x)`` of a
  latent-variable model (VAE) by importance sampling with its encoder, next to its ELBO.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops


def bits_per_dim(nll_nats, dims: int):
    """Convert a per-example NLL in nats to bits per dimension: ``nll / (dims * ln 2)``.

    Args:
        nll_nats: NLL per example in nats (scalar or array).
        dims: dimensions per example, e.g. ``28 * 28 = 784`` for MNIST.
    """
    if dims <= 0:
        raise ValueError(f"dims must be positive, got {dims}")
    return np.asarray(nll_nats, dtype="float64") / (dims * math.log(2.0))


def bernoulli_log_likelihood(x, logits):
    """Log-likelihood in nats of binary ``x`` under independent Bernoulli(sigmoid(logits)) pixels.

    Args:
        x: ``(B, ...)`` values in ``{0, 1}``.
        logits: same shape as ``x``, real-valued.

    Returns:
        ``(B,)`` log p(x) summed over all but the first axis, computed stably as
        ``x * l - softplus(l)`` (never through ``log(sigmoid(l))``).
    """
    x = np.asarray(x, dtype="float64")
    logits = np.asarray(logits, dtype="float64")
    if x.shape != logits.shape:
        raise ValueError(f"x and logits must have the same shape, got {x.shape} and {logits.shape}")
    ll = x * logits - np.logaddexp(0.0, logits)
    return ll.reshape(len(ll), -1).sum(axis=1)


def bernoulli_nll(x, logits):
    """Differentiable NLL in nats of ``x`` under independent Bernoulli(sigmoid(logits)) dimensions.

    The training loss of the VAE decoder (lecture 03) and of the binary PixelCNN (lecture 04).

    Args:
        x: ``(B, ...)`` targets in ``[0, 1]`` (binary for a true likelihood).
        logits: same shape as ``x`` (an unknown, ``None``, dimension matches anything).

    Returns:
        ``(B,)`` tensor: ``-log p(x)`` summed over all non-batch axes, computed stably as
        ``softplus(l) - x * l`` with ``keras.ops``. The NumPy twin for evaluation is
        :func:`bernoulli_log_likelihood` (its negative).
    """
    x = ops.convert_to_tensor(x, dtype="float32")
    logits = ops.convert_to_tensor(logits, dtype="float32")
    a, b = tuple(x.shape), tuple(logits.shape)
    if len(a) != len(b) or any(p is not None and q is not None and int(p) != int(q) for p, q in zip(a, b)):
        raise ValueError(f"x and logits must have the same shape, got {a} and {b}")
    per_dim = ops.softplus(logits) - x * logits
    return ops.sum(ops.reshape(per_dim, (ops.shape(per_dim)[0], -1)), axis=1)


def log_mean_exp(a, axis: int = 0):
    """``log(mean(exp(a)))`` along ``axis``, computed stably (the max is factored out).

    Args:
        a: array of log values (e.g. log importance weights), any shape.
        axis: the axis to average over.

    Returns:
        float64 array with ``axis`` removed. Equals ``logsumexp(a) - log(n)``; finite even when
        every ``exp(a)`` underflows (log-weights of images are around -100 nats).
    """
    a = np.asarray(a, dtype="float64")
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.mean(np.exp(a - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)


def _standard_normal_log_pdf(z):
    return -0.5 * np.sum(z * z + math.log(2.0 * math.pi), axis=-1)


def _diag_gaussian_log_pdf(z, mu, logvar):
    return -0.5 * np.sum((z - mu) ** 2 / np.exp(logvar) + logvar + math.log(2.0 * math.pi), axis=-1)


def importance_sampled_log_likelihood(x, *, encode, log_likelihood, k: int, batch_size: int = 100,
                                      max_samples_per_call: int = 20_000, seed: int = 0) -> dict:
    """Estimate ``log p(x)`` of a latent-variable model by importance sampling with its encoder.

    The model is ``p(z) = N(0, I)``, ``p(x | z)`` given by ``log_likelihood``; the proposal is the
    encoder's diagonal Gaussian ``q(z | x) = N(mu, diag(exp(logvar)))``. With ``K`` draws
    ``z_k ~ q(z | x)`` and log-weights ``log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x)``:

    - ``log_px = log((1/K) sum_k w_k)`` (log-mean-exp): a *consistent* estimate of ``log p(x)``;
      its expectation is a lower bound that rises with ``K`` and reaches ``log p(x)`` as
      ``K -> infinity`` (Burda et al. 2016, the IWAE bound);
    - ``elbo = (1/K) sum_k log w_k``: a Monte Carlo estimate of the ELBO, the bound the VAE
      is trained on. On the same draws ``log_px >= elbo`` always (Jensen's inequality).

    Args:
        x: ``(N, ...)`` examples (NumPy).
        encode: ``encode(x_batch) -> (mu, logvar)``, each ``(B, D)`` (arrays or tensors).
        log_likelihood: ``log_likelihood(x_rep, z) -> (M,)`` log p(x | z) in nats for ``M`` pairs
            (``x_rep`` is ``(M, ...)``, ``z`` is ``(M, D)``).
        k: importance samples per example (``K``), >= 1.
        batch_size: examples encoded at once.
        max_samples_per_call: most ``(x, z)`` pairs passed to ``log_likelihood`` at once (memory).
        seed: seed of the draws (the estimate is reproducible).

    Returns:
        ``{"log_px": (N,), "elbo": (N,), "k": k}``, float64 arrays in nats per example. The
        held-out NLL is ``-log_px.mean()``.
    """
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (N, ...), got shape {x.shape}")
    if int(k) < 1:
        raise ValueError(f"k (importance samples per example) must be >= 1, got {k}")
    k, batch_size = int(k), int(batch_size)
    rng = np.random.default_rng(seed)
    log_px, elbo = [], []
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        mu, logvar = (np.asarray(v, dtype="float64") for v in encode(xb))
        if mu.shape != logvar.shape or mu.ndim != 2 or len(mu) != len(xb):
            raise ValueError(f"encode must return mu and logvar of shape ({len(xb)}, D), "
                             f"got {mu.shape} and {logvar.shape}")
        b, d = mu.shape
        chunk = max(1, min(k, int(max_samples_per_call) // b))
        log_w = np.empty((k, b))
        for k0 in range(0, k, chunk):
            kc = min(chunk, k - k0)
            z = mu + np.exp(0.5 * logvar) * rng.standard_normal((kc, b, d))  # (kc, B, D)
            x_rep = np.broadcast_to(xb[None], (kc, *xb.shape)).reshape(kc * b, *xb.shape[1:])
            ll = np.asarray(log_likelihood(x_rep, z.reshape(kc * b, d).astype("float32")), dtype="float64")
            if ll.shape != (kc * b,):
                raise ValueError(f"log_likelihood must return one value per (x, z) pair, shape ({kc * b},), "
                                 f"got {ll.shape}")
            log_w[k0:k0 + kc] = ll.reshape(kc, b) + _standard_normal_log_pdf(z) - _diag_gaussian_log_pdf(z, mu, logvar)
        log_px.append(log_mean_exp(log_w, axis=0))
        elbo.append(log_w.mean(axis=0))
    return {"log_px": np.concatenate(log_px), "elbo": np.concatenate(elbo), "k": k}
