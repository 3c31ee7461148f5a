"""The variational bound of a diffusion model on 8-bit images, in nats and bits per dimension.

For data ``x_0`` (8-bit images scaled to ``[-1, 1]``: ``x / 127.5 - 1``) Ho et al. (2020) bound the
negative log-likelihood by three kinds of terms, each summed over the dimensions of an example:

- ``L_T = KL(q(x_T | x_0) || N(0, I))``, the prior term (no parameters; small when ``abar_T ~ 0``);
- ``L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))`` for ``t = 2 .. T``: two Gaussians, with
  ``p``'s mean from the noise prediction and its variance ``sigma_t^2`` (``beta_t`` or ``beta~_t``);
- ``L_0 = -log p(x_0 | x_1)``: a Gaussian discretised into the 256 bins of width ``2/255`` (the edge
  bins reach to infinity), so the bound is a probability of the 8-bit image itself: no
  dequantisation offset is needed, and its bits/dim compare with a flow's on the same data.

The sum over ``t`` costs ``T`` network calls per image. :func:`variational_bound` computes the
first ``exact_first`` and the last ``exact_last`` terms exactly and estimates the rest without bias
by stratified sampling: the remaining steps are cut into ``t_samples`` contiguous strata, one ``t``
is drawn uniformly in each (per image), and each draw counts for its stratum's length. The terms
are very unequal (the largest sit at the two ends), so a plain uniform draw of ``t`` gives a
heavy-tailed estimate; the exact ends and the strata remove most of that spread.

For continuous data (lecture 11's 2-D points) ``decoder="gaussian"`` uses the density
``N(x_0; mu_theta(x_1, 1), beta_1)`` instead of the 8-bit bins: the bound is then on the negative
log *density* in nats, comparable with a flow's or the true density's on the same points.

:func:`vlb_weights` gives the weight of each step in the bound when the network predicts noise:
``L_{t-1} = w_t * E||eps - eps_theta(x_t, t)||^2`` (summed over dimensions) with
``w_t = beta_t / (2 alpha_t (1 - abar_{t-1}))`` for ``sigma_t^2 = beta~_t`` and ``w_1 = 1 / (2 alpha_1)``
(the Gaussian decoder). Ho et al.'s simple loss weights every step equally instead.

``x0_hat`` may be clipped to the data range (``clip=(-1, 1)``), as the samplers do and as Nichol &
Dhariwal's ``calc_bpd_loop`` does by default. It matters at the last steps of a schedule whose
``abar_T`` is tiny (the cosine schedule's ``beta_T = 0.999`` gives ``abar_T ~ 2e-9``): there the
unclipped ``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` multiplies the error of ``eps``
by ``1 / sqrt(abar_T) ~ 2e4``.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
from scipy.special import log_ndtr

from coursekit.diffusion.schedules import NoiseSchedule
from coursekit.likelihood import bits_per_dim

BIN_HALF_WIDTH = 1.0 / 255.0  # half of the spacing 2/255 of 256 levels on [-1, 1]


def vlb_weights(schedule: NoiseSchedule) -> np.ndarray:
    """``(T,)`` weights ``w_t`` (``t = 1 .. T``) of ``E||eps - eps_theta||^2`` in the variational bound.

    For ``t >= 2`` the KL term with ``sigma_t^2 = beta~_t`` is ``||mu~ - mu_theta||^2 / (2 beta~_t)``,
    and ``mu~ - mu_theta = c0_t (x_0 - x0_hat)`` with ``x_0 - x0_hat = sqrt((1 - abar_t) / abar_t)
    (eps_theta - eps)``, which gives ``w_t = beta_t / (2 alpha_t (1 - abar_{t-1}))``. For ``t = 1`` the
    Gaussian decoder ``N(x_0; x0_hat, beta_1)`` gives ``(1 - abar_1) / (2 beta_1 abar_1) = 1 / (2 alpha_1)``.
    """
    betas, alphas, prev = schedule.betas, schedule.alphas, schedule.alpha_bars_prev
    w = np.empty(schedule.T)
    w[0] = 1.0 / (2.0 * alphas[0])
    w[1:] = betas[1:] / (2.0 * alphas[1:] * (1.0 - prev[1:]))
    return w


def check_8bit_scaled(x0, name: str = "x0") -> np.ndarray:
    """``x0`` as float64 after checking that it is 8-bit data scaled to ``[-1, 1]`` (``x / 127.5 - 1``)."""
    x0 = np.asarray(x0, dtype="float64")
    if x0.ndim < 2 or len(x0) == 0:
        raise ValueError(f"{name} must be a non-empty batch (N, ...), got shape {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"{name} contains NaN or inf values")
    if x0.min() < -1 - 1e-6 or x0.max() > 1 + 1e-6:
        raise ValueError(f"{name} must lie in [-1, 1], got min {x0.min():.4g} and max {x0.max():.4g}; "
                         "scale 8-bit images with x / 127.5 - 1")
    levels = (x0 + 1.0) * 127.5
    off = np.abs(levels - np.round(levels)).max()
    if off > 1e-3:
        raise ValueError(f"{name} is not on the 8-bit grid (a value is {off:.3g} of a level away from one of the "
                         "256 levels): the bound is a probability of 8-bit images; pass x / 127.5 - 1 of "
                         "integer x in 0 .. 255, not dequantised or blurred values")
    return x0


def discretized_gaussian_log_likelihood(x0, mean, log_scale) -> np.ndarray:
    """Log-probability (nats) of each 8-bit value ``x0`` under ``N(mean, exp(log_scale)^2)`` cut into bins.

    The bin of a value ``v`` is ``[v - 1/255, v + 1/255]``; the bins of ``-1`` and ``+1`` extend to
    ``-inf`` and ``+inf``, so the 256 probabilities sum to 1. Computed with ``log_ndtr`` (stable in
    both tails). All arguments broadcast; returns float64 of their broadcast shape.
    """
    x0 = np.asarray(x0, dtype="float64")
    mean = np.asarray(mean, dtype="float64")
    inv = np.exp(-np.asarray(log_scale, dtype="float64"))
    upper = (x0 - mean + BIN_HALF_WIDTH) * inv
    lower = (x0 - mean - BIN_HALF_WIDTH) * inv
    # log(Phi(upper) - Phi(lower)), using the upper tail when both are positive (Phi(-a) - Phi(-b))
    flip = lower > 0
    hi = np.where(flip, -lower, upper)
    lo = np.where(flip, -upper, lower)
    log_hi, log_lo = log_ndtr(hi), log_ndtr(lo)
    with np.errstate(divide="ignore"):  # an empty bin (equal bounds) is log 0 = -inf, as it should be
        middle = log_hi + np.log1p(-np.exp(np.minimum(log_lo - log_hi, 0.0)))
    out = np.where(x0 < -1 + 1e-3, log_ndtr(upper), np.where(x0 > 1 - 1e-3, log_ndtr(-lower), middle))
    return out


def _gaussian_kl(mean_q, var_q, mean_p, var_p):
    """Elementwise ``KL(N(mean_q, var_q) || N(mean_p, var_p))`` in nats (variances > 0)."""
    return 0.5 * (np.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1.0)


def _per_example(a):
    return a.reshape(len(a), -1).sum(axis=1)


def variational_bound(eps_fn: Callable, schedule: NoiseSchedule, x0, *, t_samples: Optional[int] = 16,
                      variance: str = "beta", clip: Optional[tuple] = None, exact_first: int = 5,
                      exact_last: int = 5, seed: int = 0, batch_size: int = 256,
                      decoder: str = "discretized") -> dict:
    """Estimate the negative variational bound on ``-log p(x_0)`` of 8-bit images (or of continuous points).

    Args:
        eps_fn: ``eps_fn(x_t, t) -> eps`` on NumPy float32 ``(B, ...)`` and int32 ``(B,)`` (e.g.
            ``lambda x, t: model.predict_on_batch([x, t])``, or the EMA network).
        schedule: the schedule the model was trained with.
        x0: ``(N, ...)`` 8-bit images scaled to ``[-1, 1]`` (checked).
        t_samples: strata of the steps not computed exactly, one draw of ``t`` in each per image
            (unbiased estimate); ``None`` computes the whole sum (``T - 1`` calls per image: exact, slow).
        variance: the reverse variance ``sigma_t^2``: ``"beta"`` (Ho et al.'s sampling choice) or
            ``"posterior"`` (``beta~_t``; with a perfect predictor every ``L_{t-1}`` is then 0).
            The decoder ``p(x_0 | x_1)`` always uses ``beta_1`` (``beta~_1 = 0``).
        clip: ``(low, high)`` range of ``x0_hat`` (images: ``(-1, 1)``, what the samplers use), or
            ``None`` (unclipped).
        exact_first, exact_last: how many of the first terms (``t = 2, 3, ...``) and of the last
            (``t = T, T - 1, ...``) are computed exactly for every image (they are the largest).
        seed: seed of the noise and of the drawn steps (reproducible).
        batch_size: images per network call.
        decoder: ``"discretized"`` (8-bit images, checked: a probability of the image) or
            ``"gaussian"`` (continuous data, e.g. 2-D points, any finite values: a density, in nats
            per example; its bits/dim are then not comparable with 8-bit models').

    Returns:
        ``{"nll": (N,) bound in nats per image, "prior", "diffusion", "decoder": (N,) its three
        parts, "bits_per_dim": mean bound in bits/dim, "bits_per_dim_se": standard error of that
        mean over images, "dims": D, "terms": {t: (N,) L_{t-1}} for each step computed exactly}``.
        ``diffusion`` is the (estimated) sum of ``L_{t-1}``.
    """
    if decoder not in ("discretized", "gaussian"):
        raise ValueError(f"decoder must be 'discretized' (8-bit images) or 'gaussian' (continuous data), got "
                         f"{decoder!r}")
    if decoder == "discretized":
        x0 = check_8bit_scaled(x0)
    else:
        x0 = np.asarray(x0, dtype="float64")
        if x0.ndim < 2 or len(x0) == 0 or not np.all(np.isfinite(x0)):
            raise ValueError(f"x0 must be a non-empty batch (N, ...) of finite values, got shape {x0.shape}")
    if variance not in ("beta", "posterior"):
        raise ValueError(f"variance must be 'beta' or 'posterior', got {variance!r}")
    if t_samples is not None and (isinstance(t_samples, bool) or not isinstance(t_samples, (int, np.integer))
                                  or t_samples < 1):
        raise ValueError(f"t_samples must be a positive integer or None (the whole sum), got {t_samples!r}")
    for name, value in (("exact_first", exact_first), ("exact_last", exact_last)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if clip is not None and (len(clip) != 2 or not clip[0] < clip[1]):
        raise ValueError(f"clip must be None or (low, high) with low < high, got {clip!r}")
    T, rng = schedule.T, np.random.default_rng(seed)
    abar, c0 = schedule.alpha_bars, schedule.posterior_coefficients[0]
    sig2 = schedule.betas if variance == "beta" else schedule.posterior_variance
    n, dims = len(x0), int(np.prod(x0.shape[1:]))

    def x0_hat(xb, t):
        xt_eps = rng.standard_normal(xb.shape)
        a, s = np.sqrt(abar[t - 1]), np.sqrt(1.0 - abar[t - 1])
        shape = (-1,) + (1,) * (xb.ndim - 1)
        xt = a.reshape(shape) * xb + s.reshape(shape) * xt_eps
        eps = np.asarray(eps_fn(xt.astype("float32"), t.astype("int32")), dtype="float64")
        if eps.shape != xb.shape:
            raise ValueError(f"eps_fn must return one noise prediction per input, shape {xb.shape}, got {eps.shape}")
        if not np.all(np.isfinite(eps)):
            raise FloatingPointError("eps_fn returned NaN or inf values: the bound cannot be computed "
                                     "(was the model trained? a NaN loss?)")
        x0h = (xt - s.reshape(shape) * eps) / a.reshape(shape)
        return x0h if clip is None else np.clip(x0h, clip[0], clip[1])

    def kl_terms(xb, t):
        shape = (-1,) + (1,) * (xb.ndim - 1)
        mean_gap = c0[t - 1].reshape(shape) * (xb - x0_hat(xb, t))  # mu~ - mu_theta
        var_q = schedule.posterior_variance[t - 1].reshape(shape)
        var_p = sig2[t - 1].reshape(shape)
        return _per_example(_gaussian_kl(0.0, var_q, mean_gap, var_p) * np.ones_like(xb))

    if t_samples is not None:
        first = list(range(2, min(2 + exact_first, T + 1)))
        last = [t for t in range(max(T - exact_last + 1, 2), T + 1) if t not in first]
        exact_steps = first + last
        middle = np.arange(2 + len(first), T - len(last) + 1)
        strata = [c for c in np.array_split(middle, min(int(t_samples), len(middle))) if len(c)] if len(middle) else []
    prior, diffusion, decoded, terms = np.empty(n), np.empty(n), np.empty(n), {}
    for start in range(0, n, batch_size):
        xb = x0[start:start + batch_size]
        b = len(xb)
        prior[start:start + b] = _per_example(_gaussian_kl(np.sqrt(abar[-1]) * xb, 1.0 - abar[-1], 0.0, 1.0))
        ones = np.ones(b, dtype="int64")
        mean = x0_hat(xb, ones)  # the decoder's mean: mu_theta(x_1, 1) = x0_hat (c0_1 = 1, ct_1 = 0)
        log_scale = 0.5 * math.log(schedule.betas[0])
        if decoder == "gaussian":
            nll = (xb - mean) ** 2 / (2.0 * schedule.betas[0]) + log_scale + 0.5 * math.log(2.0 * math.pi)
            decoded[start:start + b] = _per_example(nll)
        else:
            decoded[start:start + b] = -_per_example(discretized_gaussian_log_likelihood(xb, mean, log_scale))
        if T == 1:
            diffusion[start:start + b] = 0.0
        elif t_samples is None:
            total = np.zeros(b)
            for t in range(2, T + 1):
                term = kl_terms(xb, np.full(b, t))
                terms.setdefault(t, np.empty(n))[start:start + b] = term
                total += term
            diffusion[start:start + b] = total
        else:
            total = np.zeros(b)
            for t in exact_steps:
                term = kl_terms(xb, np.full(b, t))
                terms.setdefault(t, np.empty(n))[start:start + b] = term
                total += term
            for stratum in strata:  # one uniform draw per stratum, weighted by its length: unbiased
                total += len(stratum) * kl_terms(xb, rng.choice(stratum, size=b))
            diffusion[start:start + b] = total
    nll = prior + diffusion + decoded
    bpd = bits_per_dim(nll, dims)
    return {"nll": nll, "prior": prior, "diffusion": diffusion, "decoder": decoded, "terms": terms,
            "bits_per_dim": float(bpd.mean()), "bits_per_dim_se": float(bpd.std(ddof=1) / math.sqrt(n)) if n > 1
            else float("nan"), "dims": dims}
