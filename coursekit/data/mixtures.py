"""2-D Gaussian mixtures for studying mode collapse (lecture 09), and the mode-coverage protocol.

The papers that measure mode collapse train small GANs on two mixtures whose modes are known:

- :func:`ring`: 8 Gaussians evenly spaced on a circle. Radius 2 and standard deviation 0.02 by
  default, the ring of the Unrolled GAN paper (Metz et al., 2017) that VEEGAN (Srivastava et al.,
  2017) reuses. PacGAN's code (Lin et al., 2018) uses radius 1 and sigma 0.01: the same ring
  scaled by 1/2, so the scale-free coverage numbers below are comparable.
- :func:`grid`: 25 Gaussians with means on ``{-4, -2, 0, 2, 4}^2`` and sigma 0.05 (VEEGAN and
  PacGAN).

:func:`mode_coverage` is the protocol of VEEGAN (section 5.1) and of PacGAN's code: a sample is
**high quality** when it lies within ``3 sigma`` of the nearest mode's mean; a mode is **covered**
when at least ``min_count`` high-quality samples have it as nearest mode (``min_count=1`` in both
papers, on 2,500 samples: "the number of mixture components whose mean is nearest to at least one
high quality sample", VEEGAN); the **reverse KL** is ``KL(q || uniform)`` of the histogram ``q`` of
the high-quality samples over the modes (PacGAN, Table 1), in nats: 0 when every mode gets the same
share, ``ln K`` when all high-quality samples sit in one mode.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

#: the number of generated samples both papers score (VEEGAN section 5.1; PacGAN's code)
PROTOCOL_SAMPLES = 2500


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of isotropic 2-D Gaussians with the same standard deviation.

    Attributes:
        name: e.g. ``"ring"``, ``"grid"``.
        means: ``(K, 2)`` float64 mode centres.
        sigma: standard deviation of every component (same units as ``means``).
    """

    name: str
    means: np.ndarray
    sigma: float

    def __post_init__(self):
        means = np.asarray(self.means, dtype="float64")
        if means.ndim != 2 or means.shape[1] != 2 or len(means) < 1:
            raise ValueError(f"means must be a (K, 2) array of mode centres, got shape {means.shape}")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a positive number, got {self.sigma}")
        object.__setattr__(self, "means", means)

    @property
    def n_modes(self) -> int:
        return len(self.means)

    def sample(self, n: int, seed: Optional[int] = None, *, return_modes: bool = False):
        """``n`` points ``(n, 2)`` float32: a mode drawn uniformly, then Gaussian noise of std ``sigma``.

        ``return_modes=True`` also returns the ``(n,)`` int64 index of each point's component.
        """
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise ValueError(f"n must be a whole number >= 1, got {n!r}")
        rng = np.random.default_rng(seed)
        modes = rng.integers(0, self.n_modes, size=int(n))
        points = (self.means[modes] + self.sigma * rng.standard_normal((int(n), 2))).astype("float32")
        return (points, modes) if return_modes else points

    def log_density(self, points, scale: float = 1.0) -> np.ndarray:
        """``(N,)`` float64 ``log p(x)`` in nats of ``(N, 2)`` points: a log-sum-exp over the components.

        ``scale``: the points are the mixture's divided by ``scale`` (lecture 11 trains on points / 2);
        the density of ``x / scale`` is ``p(scale * x) * scale^2``.
        """
        pts = np.asarray(points, dtype="float64")
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must be an (N, 2) array, got shape {pts.shape}")
        from scipy.special import logsumexp

        d2 = ((pts[:, None, :] * scale - self.means[None]) ** 2).sum(-1)
        return (logsumexp(-d2 / (2 * self.sigma ** 2), axis=1) - np.log(self.n_modes)
                - np.log(2 * np.pi * self.sigma ** 2) + 2 * np.log(scale))


def ring(n_modes: int = 8, radius: float = 2.0, sigma: float = 0.02) -> GaussianMixture2D:
    """``n_modes`` Gaussians on a circle of ``radius``: mean ``k`` at angle ``2 pi k / n_modes``.

    Defaults: the ring of Metz et al. (2017) and VEEGAN (radius 2, sigma 0.02). PacGAN: radius 1,
    sigma 0.01.
    """
    if isinstance(n_modes, bool) or int(n_modes) != n_modes or n_modes < 2:
        raise ValueError(f"n_modes must be a whole number >= 2, got {n_modes!r}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    angles = 2 * np.pi * np.arange(int(n_modes)) / int(n_modes)
    return GaussianMixture2D("ring", radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), sigma)


def grid(size: int = 5, spacing: float = 2.0, sigma: float = 0.05) -> GaussianMixture2D:
    """``size x size`` Gaussians on a square grid centred at 0; defaults: means on ``{-4,-2,0,2,4}^2``, sigma 0.05.

    Modes are numbered row by row: mode ``k`` has ``x`` index ``k // size`` and ``y`` index ``k % size``.
    """
    if isinstance(size, bool) or int(size) != size or size < 1:
        raise ValueError(f"size must be a whole number >= 1, got {size!r}")
    if not spacing > 0:
        raise ValueError(f"spacing must be positive, got {spacing}")
    ticks = spacing * (np.arange(int(size)) - (int(size) - 1) / 2)
    xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture2D("grid", np.stack([xs.ravel(), ys.ravel()], axis=1), sigma)


def nearest_mode(samples, mixture: GaussianMixture2D):
    """``(index (N,) int64, distance in units of sigma (N,) float64)`` of each sample's nearest mode mean."""
    x = np.asarray(samples, dtype="float64")
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"samples must be a non-empty (N, 2) array of points, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"samples contain {int(np.sum(~np.isfinite(x)))} NaN or inf values "
                         "(a diverged generator?); scores of such a run mean nothing")
    d2 = ((x[:, None, :] - mixture.means[None, :, :]) ** 2).sum(axis=2)
    index = d2.argmin(axis=1)
    return index, np.sqrt(d2[np.arange(len(x)), index]) / mixture.sigma


def mode_coverage(samples, mixture: GaussianMixture2D, *, n_sigma: float = 3.0, min_count: int = 1) -> dict:
    """The mode-collapse scores of VEEGAN / PacGAN for generated ``samples`` ``(N, 2)``.

    Args:
        samples: generated points, in the mixture's units. Score :data:`PROTOCOL_SAMPLES` (2,500) of
            them to compare with the papers: the number of covered modes grows with ``N``.
        mixture: the target mixture.
        n_sigma: a sample is high quality within ``n_sigma * sigma`` of its nearest mean (3 in both papers).
        min_count: high-quality samples a mode needs to count as covered (1 in both papers; a stricter
            value ignores a few stray samples).

    Returns:
        ``{"counts": (K,) int64 high-quality samples per mode, "modes": covered modes (int),
        "high_quality": fraction of samples that are high quality (in [0, 1]),
        "reverse_kl": KL(q || uniform) in nats over the high-quality histogram (NaN if there is none)}``.
    """
    if not n_sigma > 0:
        raise ValueError(f"n_sigma must be positive, got {n_sigma}")
    if isinstance(min_count, bool) or int(min_count) != min_count or min_count < 1:
        raise ValueError(f"min_count must be a whole number >= 1, got {min_count!r}")
    index, dist = nearest_mode(samples, mixture)
    good = dist <= n_sigma
    counts = np.bincount(index[good], minlength=mixture.n_modes).astype("int64")
    return {
        "counts": counts,
        "modes": int(np.sum(counts >= min_count)),
        "high_quality": float(good.mean()),
        "reverse_kl": reverse_kl_to_uniform(counts),
    }


def reverse_kl_to_uniform(counts) -> float:
    """``KL(q || u) = sum_k q_k ln(K q_k)`` (nats) for ``q = counts / sum(counts)`` and ``u`` uniform on K bins.

    0 for equal counts; ``ln K`` when one bin holds everything; NaN for an all-zero histogram.
    """
    c = np.asarray(counts, dtype="float64")
    if c.ndim != 1 or c.size == 0 or np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError(f"counts must be a non-empty 1-D array of non-negative counts, got {counts!r}")
    if c.sum() == 0:
        return float("nan")
    q = c / c.sum()
    nz = q > 0
    return float(np.sum(q[nz] * np.log(len(q) * q[nz])))


_PUBLISHED_ROW = re.compile(r"^ours: (?P<name>.+?) \((?P<seeds>\d+) seeds\)\s*\|(?P<ring>[^|]+)\|(?P<grid>[^|]+)$",
                            re.MULTILINE)
_MEAN = re.compile(r"(-?[0-9.]+)±[0-9.]+")


def published_coverage(ipynb_path) -> dict:
    """Lecture 09's mode-coverage rows as its executed notebook printed them (mean over its seeds).

    Later lectures (flows, diffusion) set their samplers beside lecture 09's GANs on the same
    protocol; reading the committed outputs keeps those rows equal to what lecture 09 shows.

    Args:
        ipynb_path: lecture 09's executed notebook (``notebooks/09_failure_modes.ipynb``).

    Returns:
        ``{"ring": {method: (modes, high_quality_percent, reverse_kl_nats)}, "grid": {...}, "seeds": {method: n}}``,
        methods in the order printed (e.g. ``"GAN"``, ``"WGAN-GP"``, ``"PacGAN2"``, ``"PacGAN3"``).

    Raises:
        FileNotFoundError: the notebook is missing.
        ValueError: it printed no ``ours: NAME (n seeds) | ring ... | grid ...`` row (not executed,
            or its table changed); publish lecture 09 first.
    """
    path = Path(ipynb_path)
    nb = json.loads(path.read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    out = {"ring": {}, "grid": {}, "seeds": {}}
    for row in _PUBLISHED_ROW.finditer(text):
        parts = {m: [float(v) for v in _MEAN.findall(row[m])] for m in ("ring", "grid")}
        if all(len(v) == 3 for v in parts.values()):
            for m, values in parts.items():
                out[m][row["name"]] = tuple(values)
            out["seeds"][row["name"]] = int(row["seeds"])
    if not out["seeds"]:
        raise ValueError(f"{path.name} printed no mode-coverage rows ('ours: NAME (n seeds) | ...'); "
                         "publish it first: python -m coursekit publish 09")
    return out
