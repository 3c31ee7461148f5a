"""Pixel transforms shared by several lectures, each checking its input range.

- :func:`binarize`: ``[0, 1]`` grey levels to ``{0, 1}`` (fixed threshold or stochastic), the
  binarised MNIST of the likelihood literature (lectures 03 and 04);
- :func:`to_tanh_range` / :func:`from_tanh_range`: ``[0, 1]`` <-> ``[-1, 1]`` for GAN generators
  with a ``tanh`` output (lectures 05-09);
- :func:`add_gaussian_noise`: corrupted inputs for the denoising autoencoder (lecture 02).
"""

from __future__ import annotations

import numpy as np

from coursekit.data.checks import DataError


def _check_range(x, low: float, high: float, name: str, fix: str) -> np.ndarray:
    arr = np.asarray(x, dtype="float32")
    if arr.size == 0:
        raise DataError(f"{name} is empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{name} contains NaN or inf values; check how it was loaded")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < low - 1e-6 or hi > high + 1e-6:
        raise DataError(f"{name} must lie in [{low:g}, {high:g}], but its values span [{lo:.3g}, {hi:.3g}]; {fix}")
    return arr


def binarize(x, *, threshold: float = 0.5, stochastic: bool = False, seed: int = 0) -> np.ndarray:
    """Binarise grey levels in ``[0, 1]`` to float32 ``{0, 1}`` of the same shape.

    Args:
        x: array of any shape with values in ``[0, 1]``.
        threshold: pixel > threshold becomes 1 (deterministic binarisation).
        stochastic: instead draw each pixel from Bernoulli(grey level) (the binarisation of
            Salakhutdinov & Murray 2008 used for the published MNIST NLLs), seeded.
    """
    arr = _check_range(x, 0.0, 1.0, "binarize input", "scale images to [0, 1] first (divide uint8 by 255)")
    if stochastic:
        rng = np.random.default_rng(seed)
        return (rng.random(arr.shape) < arr).astype("float32")
    return (arr > threshold).astype("float32")


def to_tanh_range(x) -> np.ndarray:
    """Map images from ``[0, 1]`` to ``[-1, 1]`` (the range of a ``tanh`` generator)."""
    arr = _check_range(x, 0.0, 1.0, "to_tanh_range input", "pass images scaled to [0, 1]")
    return arr * 2.0 - 1.0


def from_tanh_range(x) -> np.ndarray:
    """Map images from ``[-1, 1]`` back to ``[0, 1]`` (values are clipped against rounding)."""
    arr = _check_range(x, -1.0, 1.0, "from_tanh_range input", "pass generator outputs in [-1, 1]")
    return np.clip((arr + 1.0) / 2.0, 0.0, 1.0)


def add_gaussian_noise(x, *, std: float = 0.5, seed: int = 0, clip: bool = True) -> np.ndarray:
    """Corrupt ``[0, 1]`` images with additive Gaussian noise of standard deviation ``std``.

    Returns float32 of the same shape, clipped back to ``[0, 1]`` when ``clip``.
    """
    if std < 0:
        raise ValueError(f"noise std must be >= 0, got {std}")
    arr = _check_range(x, 0.0, 1.0, "add_gaussian_noise input", "scale images to [0, 1] first")
    noisy = arr + np.random.default_rng(seed).normal(0.0, std, size=arr.shape).astype("float32")
    return np.clip(noisy, 0.0, 1.0) if clip else noisy
