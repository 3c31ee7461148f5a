"""Reverse-process samplers: ancestral DDPM and deterministic (or partly noisy) DDIM, compiled.

Both start from ``x_T ~ N(0, I)`` and call a noise predictor ``eps_fn(x_t, t) -> eps`` (shapes
``(n, ...)`` and ``(n,)`` int32, steps in ``1 .. T``) once per step:

- **DDPM** (Ho et al. 2020): ``x_{t-1} = c0_t x0_hat + ct_t x_t + sigma_t z`` over all ``T`` steps, with
  ``sigma_t^2 = beta_t`` (``variance="beta"``, the paper's choice) or ``beta~_t`` (``"posterior"``);
- **DDIM** (Song et al. 2021) on ``S`` steps ``tau_1 < ... < tau_S = T``:
  ``x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z`` with
  ``sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)``; ``eta = 0`` is
  deterministic, and ``eta = 1`` with ``S = T`` is DDPM with ``beta~_t`` (:func:`ddim_sigmas` shows it).

``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` is clipped to the data range when
``clip`` is given (images in ``[-1, 1]``), as both papers' code does; ``eps_hat`` is then recomputed
from the clipped value. The last step adds no noise.

The whole loop is one ``tf.function`` (a ``tf.while_loop`` over the steps; XLA when
``jit_compile``), like lecture 04's cached PixelCNN sampler: no Python round trip per step.
Random numbers are stateless (``seed`` and the step index), so a seed gives the same samples.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np

from coursekit.diffusion.schedules import NoiseSchedule


def sampling_steps(T: int, S: Optional[int] = None) -> np.ndarray:
    """``S`` steps ``1 = tau_1 < ... < tau_S = T``, evenly spaced (all ``T`` when ``S`` is None)."""
    S = T if S is None else S
    if isinstance(S, bool) or not isinstance(S, (int, np.integer)) or not 1 <= S <= T:
        raise ValueError(f"the number of sampling steps S must be an integer in 1 .. T = {T}, got {S!r}")
    if S == 1:
        return np.array([T])
    steps = np.unique(np.round(np.linspace(1, T, int(S))).astype("int64"))
    if len(steps) != S:  # pragma: no cover - linspace over integers >= S apart cannot collide
        raise AssertionError(f"could not space {S} distinct steps in 1 .. {T}")
    return steps


def ddim_sigmas(schedule: NoiseSchedule, steps, eta: float) -> np.ndarray:
    """DDIM's noise level of each transition ``tau_i -> tau_{i-1}`` (``(S,)``; ``abar`` before ``tau_1`` is 1)."""
    steps = schedule.check_steps(np.asarray(steps), "steps")
    if not (0.0 <= float(eta) <= 1.0):
        raise ValueError(f"eta must lie in [0, 1] (0 = deterministic DDIM, 1 = DDPM's noise), got {eta!r}")
    abar = schedule.alpha_bars[steps - 1]
    prev = np.concatenate([[1.0], abar[:-1]])
    return float(eta) * np.sqrt((1.0 - prev) / (1.0 - abar)) * np.sqrt(1.0 - abar / prev)


class Sampler:
    """A compiled sampler for one noise predictor, one schedule and one method.

    Args:
        eps_fn: ``eps_fn(x_t, t) -> eps`` (a Keras model called as ``model([x, t])`` can be wrapped
            as ``lambda x, t: model([x, t], training=False)``); with ``conditional=True`` it is
            ``eps_fn(x_t, t, cond)``.
        schedule: the training schedule.
        method: ``"ddpm"`` or ``"ddim"``.
        steps: DDIM's ``S`` (``None`` = all ``T``); DDPM always uses all ``T``.
        eta: DDIM's noise scale in ``[0, 1]``.
        variance: DDPM's ``sigma_t^2``: ``"beta"`` or ``"posterior"``.
        clip: ``(low, high)`` range of ``x0_hat``, or ``None`` (2-D points).
        conditional: whether ``eps_fn`` takes a third argument (labels).
        jit_compile: compile the loop with XLA.

    Call it with ``sampler(n, shape, seed=0, cond=None, record=False)``; it returns ``(n, *shape)``
    float32 samples as NumPy (with ``record``: also ``(S + 1, n, *shape)``, ``x_T`` first). The
    measured speed of the last call is ``sampler.last_seconds``.
    """

    def __init__(self, eps_fn: Callable, schedule: NoiseSchedule, *, method: str = "ddim",
                 steps: Optional[int] = None, eta: float = 0.0, variance: str = "beta",
                 clip: Optional[tuple] = (-1.0, 1.0), conditional: bool = False, jit_compile: bool = False):
        if method not in ("ddpm", "ddim"):
            raise ValueError(f"method must be 'ddpm' or 'ddim', got {method!r}")
        if variance not in ("beta", "posterior"):
            raise ValueError(f"variance must be 'beta' or 'posterior', got {variance!r}")
        self.eps_fn, self.schedule, self.method = eps_fn, schedule, method
        self.conditional, self.clip = conditional, clip
        self.steps = sampling_steps(schedule.T, None if method == "ddpm" else steps)
        abar = schedule.alpha_bars[self.steps - 1]
        prev = np.concatenate([[1.0], abar[:-1]])
        if method == "ddim":
            sigma = ddim_sigmas(schedule, self.steps, eta)
        else:
            var = schedule.betas if variance == "beta" else schedule.posterior_variance
            sigma = np.sqrt(var)
        sigma = sigma.copy()
        sigma[0] = 0.0  # the last step returns the mean: no noise on the final sample
        c0, ct = schedule.posterior_coefficients
        self.sigmas = sigma
        self._tables = {"t": self.steps.astype("int32"), "abar": abar, "prev": prev, "sigma": sigma,
                        "c0": c0[self.steps - 1], "ct": ct[self.steps - 1]}
        self._jit = jit_compile
        self._fn = None
        self.last_seconds = float("nan")

    def _build(self):
        import tensorflow as tf

        tab = {k: tf.constant(v, tf.int32 if k == "t" else tf.float32) for k, v in self._tables.items()}
        n_steps = len(self.steps)
        ddim = self.method == "ddim"
        clip = self.clip

        def run(x, seed, cond, record: bool):
            n = tf.shape(x)[0]
            trail = tf.TensorArray(tf.float32, size=n_steps + 1 if record else 1, element_shape=x.shape)
            trail = trail.write(0, x)

            def body(i, x, trail):
                k = n_steps - 1 - i  # from tau_S = T down to tau_1
                t = tf.fill([n], tab["t"][k])
                eps = self.eps_fn(x, t, cond) if self.conditional else self.eps_fn(x, t)
                eps = tf.cast(eps, tf.float32)
                a, s = tf.sqrt(tab["abar"][k]), tf.sqrt(1.0 - tab["abar"][k])
                x0 = (x - s * eps) / a
                if clip is not None:
                    x0 = tf.clip_by_value(x0, clip[0], clip[1])
                    eps = (x - a * x0) / s
                z = tf.random.stateless_normal(tf.shape(x), seed=tf.stack([seed, k]))
                sigma = tab["sigma"][k]
                if ddim:
                    prev = tab["prev"][k]
                    direction = tf.sqrt(tf.maximum(1.0 - prev - sigma * sigma, 0.0))
                    x = tf.sqrt(prev) * x0 + direction * eps + sigma * z
                else:
                    x = tab["c0"][k] * x0 + tab["ct"][k] * x + sigma * z
                if record:
                    trail = trail.write(i + 1, x)
                return i + 1, x, trail

            _, x, trail = tf.while_loop(lambda i, *_: i < n_steps, body, (tf.constant(0), x, trail))
            return x, (trail.stack() if record else tf.zeros([0]))

        self._fn = {flag: tf.function(lambda x, seed, cond, flag=flag: run(x, seed, cond, flag),
                                      jit_compile=self._jit, reduce_retracing=True) for flag in (False, True)}

    def __call__(self, n: int, shape: tuple, *, seed: int = 0, cond=None, record: bool = False):
        import tensorflow as tf

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n (number of samples) must be a positive integer, got {n!r}")
        if self.conditional and cond is None:
            raise ValueError("this sampler is conditional: pass cond=labels, one per sample")
        if self._fn is None:
            self._build()
        rng = np.random.default_rng(seed)
        x_T = tf.constant(rng.standard_normal((int(n), *shape)).astype("float32"))
        c = tf.constant(np.asarray(cond)) if cond is not None else tf.zeros([0])
        start = time.perf_counter()
        x, trail = self._fn[bool(record)](x_T, tf.constant(int(seed) % (2 ** 31 - 1), tf.int32), c)
        x = x.numpy()
        self.last_seconds = time.perf_counter() - start
        if not np.all(np.isfinite(x)):
            raise FloatingPointError("the sampler produced NaN or inf values: the noise predictor returns "
                                     "non-finite outputs (was the model trained? a NaN loss?)")
        return (x, trail.numpy()) if record else x


def classifier_free_guidance(eps_fn: Callable, w: float, null_label: int) -> Callable:
    """Ho & Salimans' guided noise ``(1 + w) eps(x, t, y) - w eps(x, t, null)``, in one batched call.

    Args:
        eps_fn: ``eps_fn(x, t, labels)`` of a model trained with label dropout (the label
            ``null_label`` meaning "no condition").
        w: guidance weight >= 0; ``0`` is the plain conditional model.
        null_label: the integer label the model was trained with for "unconditional".

    Returns:
        ``guided(x, t, labels) -> eps`` for :class:`Sampler` with ``conditional=True``.
    """
    import tensorflow as tf

    if not np.isfinite(w) or w < 0:
        raise ValueError(f"the guidance weight w must be a finite number >= 0, got {w!r}")

    def guided(x, t, labels):
        labels = tf.cast(labels, tf.int32)
        both = eps_fn(tf.concat([x, x], 0), tf.concat([t, t], 0),
                      tf.concat([labels, tf.fill(tf.shape(labels), null_label)], 0))
        cond, uncond = tf.split(tf.cast(both, tf.float32), 2, axis=0)
        return (1.0 + w) * cond - w * uncond

    return guided
