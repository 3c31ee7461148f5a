"""Importance-sampled log-likelihood (coursekit.likelihood): checked on models whose marginal is known."""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats

from coursekit.likelihood import bernoulli_log_likelihood, importance_sampled_log_likelihood, log_mean_exp

# A linear-Gaussian model: z ~ N(0, I_2), x | z ~ N(W z + b, S2 I_3). W has orthogonal columns, so the
# exact posterior is a diagonal Gaussian and a diagonal q can equal it.
W = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
B = np.array([0.5, -1.0, 0.3])
S2 = 0.25


def linear_gaussian_log_px(x):
    cov = W @ W.T + S2 * np.eye(3)
    return scipy.stats.multivariate_normal(B, cov).logpdf(x)


def linear_gaussian_posterior(x):
    prec = np.diag(1.0 + np.sum(W**2, axis=0) / S2)  # diagonal because W's columns are orthogonal
    var = 1.0 / np.diag(prec)
    mu = ((x - B) @ W / S2) * var
    return mu, np.broadcast_to(np.log(var), mu.shape)


def linear_gaussian_log_lik(x, z):
    mean = z.astype("float64") @ W.T + B
    return np.sum(-0.5 * ((x - mean) ** 2 / S2 + math.log(2 * math.pi * S2)), axis=1)


@pytest.fixture
def xs():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 2))
    return z @ W.T + B + math.sqrt(S2) * rng.standard_normal((50, 3))


def test_log_mean_exp_is_stable_and_correct():
    a = np.array([[-1000.0, -1001.0, -1002.0], [0.0, 1.0, 2.0]])
    expected = scipy.special.logsumexp(a, axis=1) - math.log(3)
    np.testing.assert_allclose(log_mean_exp(a, axis=1), expected, rtol=1e-12)
    assert np.isfinite(log_mean_exp(a, axis=1)).all()
    assert log_mean_exp(np.full(5, -3.0)) == pytest.approx(-3.0)  # the mean of equal weights is that weight


def test_exact_posterior_gives_exact_log_px_with_one_sample(xs):
    """With q = the true posterior every weight equals p(x): the estimate is exact, and so is the ELBO."""
    res = importance_sampled_log_likelihood(xs, encode=linear_gaussian_posterior,
                                            log_likelihood=linear_gaussian_log_lik, k=1, batch_size=7)
    np.testing.assert_allclose(res["log_px"], linear_gaussian_log_px(xs), atol=1e-4)
    np.testing.assert_allclose(res["elbo"], linear_gaussian_log_px(xs), atol=1e-4)


def test_poor_proposal_elbo_gap_is_the_kl_and_is_estimate_converges(xs):
    """With a wrong q: ELBO = log p(x) - KL(q || posterior); the IS estimate climbs to log p(x) with K."""
    def poor_q(x):
        mu, logvar = linear_gaussian_posterior(x)
        return mu + 0.1, logvar + 0.7  # shifted, and twice the variance

    exact = linear_gaussian_log_px(xs)
    mu_p, logvar_p = linear_gaussian_posterior(xs)
    mu_q, logvar_q = poor_q(xs)
    kl = 0.5 * np.sum(logvar_p - logvar_q + (np.exp(logvar_q) + (mu_q - mu_p) ** 2) / np.exp(logvar_p) - 1, axis=1)
    assert kl.min() > 0.05  # the test is not trivial

    big = importance_sampled_log_likelihood(xs, encode=poor_q, log_likelihood=linear_gaussian_log_lik, k=20_000, seed=1)
    np.testing.assert_allclose(big["elbo"], exact - kl, atol=0.08)  # per example: Monte Carlo error
    assert big["elbo"].mean() == pytest.approx((exact - kl).mean(), abs=0.01)
    np.testing.assert_allclose(big["log_px"], exact, atol=0.02)
    assert big["log_px"].mean() == pytest.approx(exact.mean(), abs=0.005)
    assert np.all(big["log_px"] >= big["elbo"]), "on the same draws log-mean-exp >= mean (Jensen)"

    means = [importance_sampled_log_likelihood(xs, encode=poor_q, log_likelihood=linear_gaussian_log_lik, k=k,
                                               seed=2)["log_px"].mean()
             for k in (1, 10, 100)]
    assert means[0] < means[1] < means[2] <= exact.mean() + 0.01, f"the IS bound must tighten with K: {means}"
    assert means[0] == pytest.approx((exact - kl).mean(), abs=0.1), "K = 1 is the ELBO"


def test_bernoulli_decoder_matches_quadrature():
    """A 1-D latent with Bernoulli pixels: the exact log p(x) is a 1-D integral we can do on a grid."""
    a = np.array([3.0, -2.0, 1.0, 0.5, -4.0, 2.5])
    b = np.array([0.0, 0.5, -1.0, 1.0, 0.2, -0.3])
    rng = np.random.default_rng(3)
    z_true = rng.standard_normal(20)
    x = (rng.random((20, 6)) < scipy.special.expit(z_true[:, None] * a + b)).astype("float64")

    grid = np.linspace(-10, 10, 20_001)
    log_joint = bernoulli_log_likelihood(np.broadcast_to(x[:, None], (20, len(grid), 6)).reshape(-1, 6),
                                         (grid[None, :, None] * a + b).repeat(20, axis=0).reshape(-1, 6))
    log_joint = log_joint.reshape(20, -1)
    log_joint += scipy.stats.norm.logpdf(grid)
    exact = scipy.special.logsumexp(log_joint, axis=1) + math.log(grid[1] - grid[0])

    def prior_as_proposal(xb):  # q(z|x) = p(z): a valid (if poor) proposal
        return np.zeros((len(xb), 1)), np.zeros((len(xb), 1))

    def log_lik(x_rep, z):
        return bernoulli_log_likelihood(x_rep, z.astype("float64") * a + b)

    res = importance_sampled_log_likelihood(x, encode=prior_as_proposal, log_likelihood=log_lik, k=50_000, seed=0)
    np.testing.assert_allclose(res["log_px"], exact, atol=0.03)
    assert np.all(res["elbo"] < res["log_px"])


def test_bad_arguments_are_named():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="k .* must be >= 1"):
        importance_sampled_log_likelihood(x, encode=linear_gaussian_posterior, log_likelihood=linear_gaussian_log_lik,
                                          k=0)
    with pytest.raises(ValueError, match="encode must return"):
        importance_sampled_log_likelihood(x, encode=lambda xb: (np.zeros((len(xb), 2)), np.zeros((len(xb), 3))),
                                          log_likelihood=linear_gaussian_log_lik, k=2)
    with pytest.raises(ValueError, match="one value per"):
        importance_sampled_log_likelihood(x, encode=linear_gaussian_posterior,
                                          log_likelihood=lambda xr, z: np.zeros(3), k=2)
