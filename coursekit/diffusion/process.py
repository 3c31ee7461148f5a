"""The forward process in closed form, its posterior, and the change between x_0 and epsilon.

All functions take a :class:`~coursekit.diffusion.schedules.NoiseSchedule`, data ``x`` of shape
``(B, ...)`` (images in ``[-1, 1]``, or 2-D points) and steps ``t`` of shape ``(B,)`` with values in
``1 .. T``. They work on NumPy arrays and tensors alike (``keras.ops``), so a ``train_step`` and
a NumPy check use the same code. Steps given as concrete values are range-checked; inside a
compiled graph ``t`` comes from the code's own sampling and is trusted.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from coursekit.diffusion.schedules import NoiseSchedule


def _gather(values: np.ndarray, t, x):
    """``values[t - 1]`` reshaped to ``(B, 1, ..., 1)`` so that it broadcasts against ``x``."""
    table = ops.convert_to_tensor(values.astype("float32"))
    out = ops.take(table, ops.cast(t, "int32") - 1)
    return ops.reshape(out, (-1,) + (1,) * (len(ops.shape(x)) - 1))


def _checked(schedule: NoiseSchedule, t, x):
    try:
        concrete = np.asarray(t)
    except (TypeError, ValueError, NotImplementedError):  # a symbolic tensor inside a graph
        return t
    if concrete.dtype == object:
        return t
    arr = schedule.check_steps(concrete)
    n = ops.shape(x)[0]
    if arr.ndim != 1 or (isinstance(n, int) and len(arr) != n):
        raise ValueError(f"t must hold one step per example, shape ({n},), got shape {arr.shape}")
    return arr


def q_sample(schedule: NoiseSchedule, x0, t, noise):
    """Draw ``x_t ~ q(x_t | x_0)`` in one step: ``sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise``.

    Args:
        x0: ``(B, ...)`` clean data.
        t: ``(B,)`` steps in ``1 .. T``.
        noise: ``(B, ...)`` standard normal draws (the ``epsilon`` the network learns to predict).
    """
    t = _checked(schedule, t, x0)
    a = _gather(np.sqrt(schedule.alpha_bars), t, x0)
    s = _gather(np.sqrt(1.0 - schedule.alpha_bars), t, x0)
    return a * ops.convert_to_tensor(x0, "float32") + s * ops.convert_to_tensor(noise, "float32")


def q_posterior(schedule: NoiseSchedule, x0, xt, t) -> tuple:
    """Mean and variance of ``q(x_{t-1} | x_t, x_0)``, a Gaussian.

    Returns:
        ``(mean, variance)``: mean ``(B, ...)`` = ``c0_t x_0 + ct_t x_t``; variance ``(B, 1, ...)``
        = ``beta~_t`` (see ``NoiseSchedule.posterior_variance``; 0 at ``t = 1``).
    """
    t = _checked(schedule, t, xt)
    c0, ct = schedule.posterior_coefficients
    mean = (_gather(c0, t, xt) * ops.convert_to_tensor(x0, "float32")
            + _gather(ct, t, xt) * ops.convert_to_tensor(xt, "float32"))
    return mean, _gather(schedule.posterior_variance, t, xt)


def predict_x0(schedule: NoiseSchedule, xt, t, eps):
    """The clean data implied by a noise prediction: ``(x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)``."""
    t = _checked(schedule, t, xt)
    a = _gather(np.sqrt(schedule.alpha_bars), t, xt)
    s = _gather(np.sqrt(1.0 - schedule.alpha_bars), t, xt)
    return (ops.convert_to_tensor(xt, "float32") - s * ops.convert_to_tensor(eps, "float32")) / a


def exact_eps(schedule: NoiseSchedule, xt, t, x0):
    """The noise that takes ``x_0`` to ``x_t``: the ideal prediction when the data are one point ``x_0``.

    ``(x_t - sqrt(abar_t) x_0) / sqrt(1 - abar_t)``. With it a sampler must return ``x_0`` and every
    KL term of the bound vanishes: the known answers of the tests and of lecture 11.
    """
    t = _checked(schedule, t, xt)
    a = _gather(np.sqrt(schedule.alpha_bars), t, xt)
    s = _gather(np.sqrt(1.0 - schedule.alpha_bars), t, xt)
    return (ops.convert_to_tensor(xt, "float32") - a * ops.convert_to_tensor(x0, "float32")) / s
