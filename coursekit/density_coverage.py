"""Density and coverage (Naeem et al. 2020), the k-NN fidelity and diversity of generated samples.

Naeem, Oh, Uh, Choi and Yoo, "Reliable Fidelity and Diversity Metrics for Generative Models"
(ICML 2020), repair two faults of improved precision and recall
(:func:`coursekit.metrics.precision_recall`): one real outlier with a huge k-NN ball makes
precision and recall count a whole region as "real", and neither has a known value for two sets
drawn from the same distribution. Both measures look only at balls around the **real** points,
``B(x_i, r_i)`` with ``r_i`` the distance from ``x_i`` to its ``k``-th nearest real neighbour:

- **density** = ``1 / (k M) * sum_j sum_i 1[y_j in B(x_i, r_i)]``: how many real balls each of
  the ``M`` generated samples falls in, averaged and divided by ``k``. Its expectation is exactly
  **1** when the generated samples come from the real distribution; above 1 the samples crowd
  where the real data is dense, below 1 they stray into sparse regions or off the data.
  Unbounded above.
- **coverage** = ``1 / N * sum_i 1[some y_j in B(x_i, r_i)]``: the fraction of the ``N`` real
  balls that hold at least one generated sample, in ``[0, 1]``. For samples from the real
  distribution its expectation is :func:`expected_coverage` (``1 - 2^-k`` for ``M = N`` large:
  0.969 at the paper's ``k = 5``), the floor to read a model's coverage against.

Features, not pixels: pass the lecture's scorer features (``Scorer.features``), ``(N, D)``.
"""

from __future__ import annotations

import numpy as np

from coursekit.metrics import _as_features

#: The paper's neighbourhood size (Naeem et al. 2020 use k = 5 with 10,000 real and fake samples).
DEFAULT_K = 5


def density_coverage(real_feats, fake_feats, k: int = DEFAULT_K, chunk: int = 1024) -> tuple:
    """Density and coverage of generated features against real ones (Naeem et al. 2020).

    The k-NN radii come from ``sklearn.neighbors.NearestNeighbors`` on the real set (the point
    itself excluded); a sample on a ball's boundary counts as inside.

    Args:
        real_feats: ``(N, D)`` features of real data (N > k).
        fake_feats: ``(M, D)`` features of generated samples (M >= 2), same ``D``.
        k: neighbourhood size (5 in the paper); compare runs only at the same ``k``, ``N`` and ``M``.
        chunk: rows of the ``(M, N)`` distance matrix computed at once (memory).

    Returns:
        ``(density, coverage)``: density >= 0 (1 in expectation for samples of the real
        distribution), coverage in ``[0, 1]`` (:func:`expected_coverage` for those).

    Raises:
        ValueError: wrong shapes, NaN/inf, mismatched dimensions, ``k`` out of range (each named).
    """
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors

    real, fake = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must have the same dimension, got {real.shape[1]} and {fake.shape[1]}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < len(real):
        raise ValueError(f"k must be an integer in [1, {len(real) - 1}] for {len(real)} real samples, got {k!r}")
    chunk = int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 rows, got {chunk}")
    k = int(k)
    # k + 1 neighbours: the nearest of each real point is the point itself
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(real).kneighbors(real)
    radii = dist[:, k] * (1 + 1e-9) + 1e-12  # boundary points count as inside, whatever the rounding
    balls_per_fake = np.zeros(len(fake), dtype="int64")
    covered = np.zeros(len(real), dtype=bool)
    for i in range(0, len(fake), chunk):
        inside = pairwise_distances(fake[i:i + chunk], real) <= radii[None, :]  # (chunk, N)
        balls_per_fake[i:i + chunk] = inside.sum(axis=1)
        covered |= inside.any(axis=0)
    density = float(balls_per_fake.sum() / (k * len(fake)))
    return density, float(covered.mean())


def expected_coverage(n_real: int, n_fake: int, k: int = DEFAULT_K) -> float:
    """Expected coverage when the ``n_fake`` samples come from the real distribution (continuous).

    A real point's ball is empty of fakes when its ``k`` nearest neighbours among all the other
    ``n_real - 1 + n_fake`` points are all real; by symmetry that has probability
    ``prod_{i=1..k} (n_real - i) / (n_real + n_fake - i)`` (Naeem et al. 2020, section
    3.2), so coverage's expectation is one minus it: ``1 - 2^-k`` for ``n_fake = n_real`` large.

    Args:
        n_real: real samples N (> k).
        n_fake: generated samples M (>= 1).
        k: the neighbourhood size used by :func:`density_coverage`.

    Returns:
        the expected coverage, a fraction in ``[0, 1]``.
    """
    n_real, n_fake, k = int(n_real), int(n_fake), int(k)
    if not 1 <= k < n_real or n_fake < 1:
        raise ValueError(f"need 1 <= k < n_real and n_fake >= 1, got k={k}, n_real={n_real}, n_fake={n_fake}")
    i = np.arange(1, k + 1)
    return float(1.0 - np.prod((n_real - i) / (n_real + n_fake - i)))
