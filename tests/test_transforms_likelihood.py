import math

import numpy as np
import pytest

from coursekit.data.checks import DataError
from coursekit.data.transforms import add_gaussian_noise, binarize, from_tanh_range, to_tanh_range
from coursekit.likelihood import bernoulli_log_likelihood, bits_per_dim


def test_binarize_threshold_and_stochastic():
    x = np.array([[0.0, 0.4, 0.6, 1.0]])
    assert binarize(x).tolist() == [[0, 0, 1, 1]]
    big = np.full((200, 200), 0.3)
    frac = binarize(big, stochastic=True, seed=1).mean()
    assert abs(frac - 0.3) < 0.01
    assert np.array_equal(binarize(big, stochastic=True, seed=1), binarize(big, stochastic=True, seed=1))


def test_range_errors_name_the_fix():
    with pytest.raises(DataError, match="divide uint8 by 255"):
        binarize(np.array([0.0, 255.0]))
    with pytest.raises(DataError, match=r"\[-1, 1\]"):
        from_tanh_range(np.array([0.0, 2.0]))


def test_tanh_range_round_trip():
    x = np.linspace(0, 1, 11, dtype="float32")
    y = to_tanh_range(x)
    assert y.min() == -1 and y.max() == 1
    np.testing.assert_allclose(from_tanh_range(y), x, atol=1e-6)


def test_noise_is_clipped_and_seeded():
    x = np.full((10, 28, 28, 1), 0.5, dtype="float32")
    n = add_gaussian_noise(x, std=0.5, seed=3)
    assert n.min() >= 0 and n.max() <= 1 and n.std() > 0.2
    assert np.array_equal(n, add_gaussian_noise(x, std=0.5, seed=3))


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)


def test_bernoulli_log_likelihood_matches_direct_formula_and_is_stable():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 4))
    x = (rng.random((3, 4, 4)) < 0.5).astype(float)
    p = 1 / (1 + np.exp(-logits))
    direct = (x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(3, -1).sum(1)
    np.testing.assert_allclose(bernoulli_log_likelihood(x, logits), direct, rtol=1e-10)
    # a confident right answer costs ~0 nats, a confident wrong one ~|logit| nats, never inf
    assert bernoulli_log_likelihood(np.array([[1.0]]), np.array([[800.0]]))[0] == pytest.approx(0.0)
    assert bernoulli_log_likelihood(np.array([[0.0]]), np.array([[800.0]]))[0] == pytest.approx(-800.0)
