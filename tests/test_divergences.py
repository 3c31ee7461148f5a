import math

import numpy as np
import pytest
import scipy.stats
from keras import ops

from coursekit import divergences as dv

P = np.array([9, 12, 4]) / 25  # Binomial(2, 0.4)
Q = np.full(3, 1 / 3)


def test_kl_worked_example_both_directions():
    assert dv.kl_divergence(P, Q) == pytest.approx(0.0852996, abs=1e-7)
    assert dv.kl_divergence(Q, P) == pytest.approx(0.097455, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_kl_matches_scipy_and_direction(seed):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    assert dv.kl_divergence(p, q) == pytest.approx(scipy.stats.entropy(p, q), rel=1e-10)
    assert dv.kl_divergence(q, p) == pytest.approx(scipy.stats.entropy(q, p), rel=1e-10)


def test_kl_properties():
    assert dv.kl_divergence(P, P) == 0.0
    assert dv.kl_divergence([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(math.log(2))
    assert dv.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


@pytest.mark.parametrize("p, q", [([0.5, 0.6], [0.5, 0.5]), ([-0.1, 1.1], [0.5, 0.5]), ([1.0], [0.5, 0.5])])
def test_kl_rejects_non_distributions(p, q):
    with pytest.raises(ValueError):
        dv.kl_divergence(p, q)


def test_gaussian_log_pdf_matches_scipy():
    x = np.linspace(-5, 5, 11)
    got = ops.convert_to_numpy(dv.gaussian_log_pdf(x, 0.7, 1.9))
    np.testing.assert_allclose(got, scipy.stats.norm.logpdf(x, 0.7, 1.9), rtol=1e-5)


def test_mixture_log_pdf_is_stable_in_the_tails():
    w, m, s = [0.3, 0.7], [-2.0, 1.5], [0.6, 1.0]
    x = np.array([0.0, 20.0, 60.0, -80.0])
    ref = scipy.special.logsumexp(scipy.stats.norm.logpdf(x[:, None], m, s), b=w, axis=1)
    got = ops.convert_to_numpy(dv.mixture_log_pdf(x, w, m, s))
    assert np.all(np.isfinite(got)), "log-sum-exp must not underflow to -inf"
    np.testing.assert_allclose(got, ref, rtol=1e-4)


def test_mixture_rejects_bad_weights():
    with pytest.raises(ValueError, match="sum to 1"):
        dv.mixture_log_pdf([0.0], [0.5, 0.6], [0, 1], [1, 1])


def test_gaussian_kl_closed_form_against_monte_carlo_and_asymmetry():
    rng = np.random.default_rng(0)
    mu_q, s_q, mu_p, s_p = 1.0, 0.5, -0.5, 2.0
    closed = float(dv.gaussian_kl([mu_q], [2 * math.log(s_q)], mu_p, 2 * math.log(s_p)))
    x = rng.normal(mu_q, s_q, 400_000)
    mc = np.mean(scipy.stats.norm.logpdf(x, mu_q, s_q) - scipy.stats.norm.logpdf(x, mu_p, s_p))
    assert closed == pytest.approx(mc, abs=5e-3)
    reverse = float(dv.gaussian_kl([mu_p], [2 * math.log(s_p)], mu_q, 2 * math.log(s_q)))
    assert abs(reverse - closed) > 0.5  # flipping q and p changes the value


def test_gaussian_kl_standard_normal_default_and_sum_over_last_axis():
    mu = np.array([[0.0, 1.0], [2.0, 0.0]])
    logvar = np.array([[0.0, 0.0], [0.0, math.log(4.0)]])
    got = ops.convert_to_numpy(dv.gaussian_kl(mu, logvar))
    expected = 0.5 * np.sum(np.exp(logvar) + mu**2 - 1 - logvar, axis=-1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)  # float32 arithmetic inside
    assert got.shape == (2,)


def test_grid_kl_matches_gaussian_closed_form_in_both_directions():
    xs = np.linspace(-15, 15, 6001).astype("float32")
    dx = float(xs[1] - xs[0])
    lp = dv.gaussian_log_pdf(xs, 0.0, 1.0)
    lq = dv.gaussian_log_pdf(xs, 1.0, 2.0)
    fwd = float(dv.grid_kl(lp, lq, dx))  # KL(p || q)
    rev = float(dv.grid_kl(lq, lp, dx))  # KL(q || p)
    assert fwd == pytest.approx(float(dv.gaussian_kl([0.0], [0.0], 1.0, math.log(4.0))), abs=1e-4)
    assert rev == pytest.approx(float(dv.gaussian_kl([1.0], [math.log(4.0)], 0.0, 0.0)), abs=1e-4)


def test_float64_numpy_inputs_are_accepted_everywhere():
    """The docstrings allow NumPy arrays; float64 ones (NumPy's default) used to raise a dtype TypeError."""
    x = np.linspace(-1.0, 1.0, 5)  # float64
    mu_q, logvar_q = np.zeros((2, 3)), np.log(np.full((2, 3), 4.0))
    kl = np.asarray(dv.gaussian_kl(mu_q, logvar_q, np.ones(3), np.zeros(3)))
    # KL(N(0, 4) || N(1, 1)) per dimension = 0.5 * (4 + 1 - 1 - log 4), three dimensions
    np.testing.assert_allclose(kl, [1.5 * (4.0 - math.log(4.0))] * 2, rtol=1e-5)
    logp = np.asarray(dv.gaussian_log_pdf(x, np.float64(0.5), np.array([2.0])))
    np.testing.assert_allclose(logp, scipy.stats.norm(0.5, 2.0).logpdf(x), rtol=1e-5)
