"""Density and coverage (Naeem et al. 2020): known answers, by hand and from the paper's expectations."""

import numpy as np
import pytest

from coursekit.density_coverage import density_coverage, expected_coverage
from coursekit.metrics import precision_recall


def test_a_small_case_computed_by_hand():
    """Real points 0, 1, 3 on a line. k = 1: radii 1, 1, 2 (balls [-1, 1], [0, 2], [1, 5]).
    Fakes 0.5 and 0.6 each lie in the first two balls, 10 in none: density = 4 / (1 * 3);
    the ball around 3 holds no fake (nearest 0.6 is 2.4 away): coverage = 2 / 3.
    k = 2: radii 3, 2, 3 (balls [-3, 3], [-1, 3], [0, 6]): 0.5 and 0.6 in all three balls,
    density = 6 / (2 * 3) = 1; every ball holds a fake: coverage 1."""
    real = np.array([[0.0], [1.0], [3.0]])
    fake = np.array([[0.5], [0.6], [10.0]])
    np.testing.assert_allclose(density_coverage(real, fake, k=1), (4 / 3, 2 / 3))
    np.testing.assert_allclose(density_coverage(real, fake, k=2), (1.0, 1.0))
    np.testing.assert_allclose(density_coverage(real, fake, k=2, chunk=1), (1.0, 1.0))  # chunking changes nothing


def test_boundary_points_count_as_inside():
    real = np.array([[0.0], [1.0], [3.0]])
    # 2.0 lies on the edges of the balls [0, 2] and [1, 5]: two balls per fake, density 4 / (1 * 2)
    assert density_coverage(real, np.array([[2.0], [2.0]]), k=1) == (2.0, 2 / 3)


def test_identical_sets_cover_everything():
    """Each real point's ball holds itself and its k neighbours: coverage 1, density exactly (k + 1) / k
    (without ties)."""
    x = np.random.default_rng(0).normal(size=(300, 4))
    density, coverage = density_coverage(x, x.copy(), k=5)
    assert coverage == 1.0
    assert density == pytest.approx(6 / 5)


def test_far_disjoint_sets_score_zero():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + 100.0
    assert density_coverage(real, fake) == (0.0, 0.0)


def test_samples_of_the_real_distribution_have_density_one_and_the_expected_coverage():
    """The paper's expectations: E[density] = 1 and E[coverage] = 1 - prod (N - i) / (N + M - i), over 40 draws.
    The tolerances are about 4 standard errors of the 40-draw mean (measured: 0.005-0.008 and 0.0025-0.003)."""
    rng = np.random.default_rng(2)
    n, m, k = 200, 200, 5
    scores = np.array([density_coverage(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)), k=k) for _ in range(40)])
    assert abs(scores[:, 0].mean() - 1.0) < 0.03, scores[:, 0].mean()
    assert abs(scores[:, 1].mean() - expected_coverage(n, m, k)) < 0.012, scores[:, 1].mean()
    assert expected_coverage(n, m, k) == pytest.approx(0.969, abs=0.002)  # close to 1 - 2^-5 = 0.96875


def test_expected_coverage_known_values():
    assert expected_coverage(2, 1, k=1) == pytest.approx(1 - 1 / 2)  # the only other point is real half the time
    assert expected_coverage(10_000, 10_000, k=5) == pytest.approx(1 - 2**-5, abs=1e-3)
    assert expected_coverage(1000, 1, k=1) == pytest.approx(1 / 1000)
    with pytest.raises(ValueError, match="1 <= k < n_real"):
        expected_coverage(5, 5, k=5)


def test_coverage_sees_a_collapsed_generator():
    """Samples crowded at the mode (a third of the spread): still realistic, but most real balls stay empty."""
    rng = np.random.default_rng(3)
    real, crowded = rng.normal(size=(500, 2)), 0.3 * rng.normal(size=(500, 2))
    _, coverage = density_coverage(real, crowded)
    assert coverage < 0.6 < 0.95 < expected_coverage(500, 500)


def test_a_real_outlier_fools_precision_not_density():
    """The paper's case against precision: one real outlier has a huge k-NN ball, so 100 fakes far from the
    data (half-way to it) count as realistic. Density counts each of them in that one ball only, divided by
    k: about (400 * 5 + 100) / (5 * 500) = 0.84 instead of about 1."""
    rng = np.random.default_rng(3)
    real = np.concatenate([rng.normal(size=(500, 2)), [[30.0, 30.0]]])
    fakes = np.concatenate([rng.normal(size=(400, 2)), rng.normal(size=(100, 2)) + [15.0, 15.0]])
    precision, _ = precision_recall(real, fakes, k=5)
    density, _ = density_coverage(real, fakes, k=5)
    assert precision > 0.95 and density < 0.9
    clean_density, _ = density_coverage(real, rng.normal(size=(500, 2)), k=5)
    assert clean_density > 0.9


@pytest.mark.parametrize("kwargs, message", [
    ({"real_feats": np.zeros((5, 2)), "fake_feats": np.zeros((5, 3))}, "same dimension"),
    ({"real_feats": np.zeros((5, 2)), "fake_feats": np.zeros((5, 2)), "k": 5}, r"k must be an integer in \[1, 4\]"),
    ({"real_feats": np.zeros((5, 2)), "fake_feats": np.zeros((5, 2)), "k": 2.5}, "got 2.5"),
    ({"real_feats": np.zeros(5), "fake_feats": np.zeros((5, 2))}, "real_feats must be a 2-D array"),
    ({"real_feats": np.full((5, 2), np.nan), "fake_feats": np.zeros((5, 2))}, "NaN"),
    ({"real_feats": np.zeros((5, 2)), "fake_feats": np.zeros((5, 2)), "k": 2, "chunk": 0}, "chunk must be >= 1"),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        density_coverage(**kwargs)
