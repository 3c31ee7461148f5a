"""Noise schedules of a diffusion model: the betas and every quantity derived from them.

The forward process adds Gaussian noise in ``T`` steps, ``q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1},
beta_t I)``, so that ``q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)`` with
``abar_t = prod_{s <= t} (1 - beta_s)``. Steps are numbered ``t = 1 .. T`` as in the papers; the
arrays of :class:`NoiseSchedule` hold step ``t`` at index ``t - 1``, and ``abar_0 = 1`` (no noise).

- :func:`linear_schedule`: Ho et al. (2020), betas linear from ``1e-4`` to ``0.02`` for ``T = 1000``
  (scaled by ``1000 / T`` for other ``T``, as Nichol & Dhariwal 2021 do, so that the end point stays
  about as noisy);
- :func:`cosine_schedule`: Nichol & Dhariwal (2021), ``abar_t = f(t) / f(0)`` with
  ``f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2)``, betas clipped at 0.999;
- :func:`schedule_from_alpha_bars`: any decreasing ``abar`` (checked).

A schedule is plain NumPy (float64), so its formulas can be checked exactly; the samplers and the
bound turn the arrays they need into tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class NoiseSchedule:
    """``T`` betas and what follows from them (float64 arrays of shape ``(T,)``, index ``t - 1``).

    Attributes:
        betas: ``beta_t`` in ``(0, 1)``: the variance added at step ``t``.
        name: e.g. ``"linear"`` or ``"cosine"`` (shown in plots and run names).
    """

    betas: np.ndarray
    name: str = "custom"
    alpha_bars: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        betas = np.asarray(self.betas, dtype="float64")
        if betas.ndim != 1 or len(betas) < 1:
            raise ValueError(f"betas must be a 1-D array of T >= 1 values, got shape {betas.shape}")
        if not np.all(np.isfinite(betas)):
            raise ValueError("betas contain NaN or inf values")
        bad = np.flatnonzero((betas <= 0) | (betas >= 1))
        if bad.size:
            raise ValueError(f"every beta_t must lie in (0, 1); beta_{bad[0] + 1} = {betas[bad[0]]!r}. "
                             "A zero beta adds no noise and a beta of 1 destroys the signal in one step")
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "alpha_bars", np.cumprod(1.0 - betas))

    @property
    def T(self) -> int:  # noqa: N802 - the papers' name
        """Number of diffusion steps."""
        return len(self.betas)

    @property
    def alphas(self) -> np.ndarray:
        """``alpha_t = 1 - beta_t``."""
        return 1.0 - self.betas

    @property
    def alpha_bars_prev(self) -> np.ndarray:
        """``abar_{t-1}`` for ``t = 1 .. T`` (the first is ``abar_0 = 1``)."""
        return np.concatenate([[1.0], self.alpha_bars[:-1]])

    @property
    def snr(self) -> np.ndarray:
        """Signal-to-noise ratio of ``x_t``: ``abar_t / (1 - abar_t)`` (dimensionless, decreasing in t)."""
        return self.alpha_bars / (1.0 - self.alpha_bars)

    @property
    def posterior_variance(self) -> np.ndarray:
        """``beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)``: the variance of ``q(x_{t-1} | x_t, x_0)``.

        It is 0 at ``t = 1`` (given ``x_0``, nothing is uncertain) and below ``beta_t`` everywhere.
        """
        return self.betas * (1.0 - self.alpha_bars_prev) / (1.0 - self.alpha_bars)

    @property
    def posterior_coefficients(self) -> tuple:
        """``(c0, ct)`` with ``mean of q(x_{t-1} | x_t, x_0) = c0 * x_0 + ct * x_t``."""
        c0 = np.sqrt(self.alpha_bars_prev) * self.betas / (1.0 - self.alpha_bars)
        ct = np.sqrt(self.alphas) * (1.0 - self.alpha_bars_prev) / (1.0 - self.alpha_bars)
        return c0, ct

    def check_steps(self, t, what: str = "t") -> np.ndarray:
        """``t`` as an int64 array after checking that every step lies in ``1 .. T``."""
        arr = np.asarray(t)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError(f"{what} must hold whole diffusion steps, got {arr.ravel()[:5]!r}")
        arr = arr.astype("int64")
        if arr.size and (arr.min() < 1 or arr.max() > self.T):
            bad = arr.min() if arr.min() < 1 else arr.max()
            raise ValueError(f"{what} = {int(bad)} is out of range: steps run from 1 to T = {self.T} "
                             f"(schedule {self.name!r})")
        return arr


def linear_schedule(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:
    """Ho et al.'s linear betas; for ``T != 1000`` both ends are scaled by ``1000 / T``.

    Args:
        T: number of steps, >= 2.
        beta_start, beta_end: the betas at ``t = 1`` and ``t = T`` for ``T = 1000``.
    """
    T = _check_T(T)
    scale = 1000.0 / T
    return NoiseSchedule(np.linspace(beta_start * scale, min(beta_end * scale, 0.999), T), name="linear")


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:
    """Nichol & Dhariwal's cosine schedule: ``abar_t = f(t) / f(0)``, betas clipped at ``max_beta``.

    The offset ``s`` keeps ``beta_1`` from being vanishingly small; the clip keeps the last steps
    from being singular (``f(T) = 0``).
    """
    T = _check_T(T)
    steps = np.arange(T + 1, dtype="float64")
    f = np.cos((steps / T + s) / (1.0 + s) * math.pi / 2.0) ** 2
    abar = f / f[0]
    betas = np.clip(1.0 - abar[1:] / abar[:-1], 1e-12, max_beta)
    return NoiseSchedule(betas, name="cosine")


def schedule_from_alpha_bars(alpha_bars, name: str = "custom") -> NoiseSchedule:
    """A schedule from ``abar_1 .. abar_T``, which must decrease strictly and lie in ``(0, 1)``."""
    abar = np.asarray(alpha_bars, dtype="float64")
    if abar.ndim != 1 or len(abar) < 1:
        raise ValueError(f"alpha_bars must be a 1-D array of T >= 1 values, got shape {abar.shape}")
    if not np.all((abar > 0) & (abar < 1)):
        raise ValueError(f"every alpha_bar must lie in (0, 1), got min {abar.min()!r} and max {abar.max()!r}")
    rises = np.flatnonzero(np.diff(abar) >= 0)
    if rises.size:
        i = int(rises[0])
        raise ValueError(f"the schedule is not monotone: alpha_bar_{i + 2} = {abar[i + 1]:.6g} is not below "
                         f"alpha_bar_{i + 1} = {abar[i]:.6g}. Noise must grow with t: sort the values "
                         "in decreasing order")
    prev = np.concatenate([[1.0], abar[:-1]])
    return NoiseSchedule(1.0 - abar / prev, name=name)


def _check_T(T) -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 2:
        raise ValueError(f"T (the number of diffusion steps) must be an integer >= 2, got {T!r}")
    return int(T)
