"""coursekit.vae: reparameterisation layer, Bernoulli NLL, dynamic binarisation, latent grid."""

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from _disconnect import Interrupt, InterruptAfter
from coursekit.likelihood import bernoulli_log_likelihood
from coursekit.likelihood import bernoulli_nll
from coursekit.vae import Sampling, dynamic_binarize, gaussian_quantile_grid


def test_sampling_draws_from_the_right_gaussian():
    mu = np.tile(np.array([[1.0, -2.0, 0.0]], "float32"), (40_000, 1))
    logvar = np.tile(np.log(np.array([[0.25, 4.0, 1.0]], "float32")), (40_000, 1))
    z = keras.ops.convert_to_numpy(Sampling(seed=0)([mu, logvar]))
    assert z.shape == mu.shape
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0, 0.0], atol=0.03)
    np.testing.assert_allclose(z.std(axis=0), [0.5, 2.0, 1.0], rtol=0.02)


def test_sampling_is_differentiable_in_mu_and_logvar():
    """z = mu + exp(logvar/2) eps: dz/dmu = 1 and dz/dlogvar = (z - mu) / 2."""
    mu = tf.Variable(np.array([[0.5, -1.0]], "float32"))
    logvar = tf.Variable(np.array([[0.2, -0.4]], "float32"))
    with tf.GradientTape(persistent=True) as tape:
        z = Sampling(seed=1)([mu, logvar])
        total = tf.reduce_sum(z)
    g_mu, g_logvar = tape.gradient(total, [mu, logvar])
    np.testing.assert_allclose(g_mu.numpy(), 1.0)
    # z - mu cancels in float32: an absolute tolerance for values near 0
    np.testing.assert_allclose(g_logvar.numpy(), 0.5 * (z.numpy() - mu.numpy()), rtol=1e-5, atol=1e-6)


def test_sampling_in_a_functional_model_and_config_round_trip():
    inp = keras.Input((4,))
    z = Sampling(seed=3, name="z")([keras.layers.Dense(2)(inp), keras.layers.Dense(2)(inp)])
    model = keras.Model(inp, z)
    assert model.output.shape == (None, 2)
    clone = Sampling.from_config(model.get_layer("z").get_config())
    assert clone.seed == 3


def test_sampling_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        Sampling()([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])


def test_bernoulli_nll_matches_numpy_log_likelihood_and_is_stable():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3, size=(5, 6, 6, 1)).astype("float32")
    x = (rng.random((5, 6, 6, 1)) < 0.4).astype("float32")
    nll = keras.ops.convert_to_numpy(bernoulli_nll(x, logits))
    assert nll.shape == (5,)
    np.testing.assert_allclose(nll, -bernoulli_log_likelihood(x, logits), rtol=1e-5)
    extreme = keras.ops.convert_to_numpy(bernoulli_nll(np.array([[1.0, 0.0]]), np.array([[800.0, 800.0]])))
    assert extreme[0] == pytest.approx(800.0), "a confident wrong pixel costs |logit| nats, not inf"
    with pytest.raises(ValueError, match="same shape"):
        bernoulli_nll(np.zeros((2, 4)), np.zeros((2, 5)))


def test_dynamic_binarize_draws_bernoulli_pixels():
    grey = np.full((100, 28, 28, 1), 0.3, "float32")
    grey[:, 0] = 0.0
    grey[:, 1] = 1.0
    out = keras.ops.convert_to_numpy(dynamic_binarize(grey, seed=0))
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert out[:, 0].max() == 0.0 and out[:, 1].min() == 1.0
    assert abs(out[:, 2:].mean() - 0.3) < 0.01
    gen = keras.random.SeedGenerator(0)
    assert not np.array_equal(dynamic_binarize(grey, seed=gen), dynamic_binarize(grey, seed=gen)), \
        "a new draw each call"


def test_gaussian_quantile_grid_layout():
    g = gaussian_quantile_grid(5, tail=0.05)
    assert g.shape == (25, 2)
    edge = scipy.stats.norm.ppf(0.95)
    np.testing.assert_allclose(g[0], [-edge, edge], rtol=1e-5)  # top-left: smallest z1, largest z2
    np.testing.assert_allclose(g[-1], [edge, -edge], rtol=1e-5)
    np.testing.assert_allclose(g[12], [0.0, 0.0], atol=1e-6)  # centre of an odd grid is the prior mean
    # equal steps in prior mass: the CDF of the axis values is evenly spaced
    np.testing.assert_allclose(np.diff(scipy.stats.norm.cdf(g[:5, 0])), 0.225, rtol=1e-5)
    with pytest.raises(ValueError, match="n >= 2"):
        gaussian_quantile_grid(1)
    with pytest.raises(ValueError, match="tail"):
        gaussian_quantile_grid(4, tail=0.6)


class _TinyVAE(keras.Model):
    """The lecture's VAE in miniature: Sampling + closed-form KL + Bernoulli NLL, custom train_step."""

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        from coursekit.divergences import gaussian_kl

        self.kl_fn = gaussian_kl
        self.encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
        self.decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        self.sampling = Sampling(seed=seed)
        self.binarize_seed = keras.random.SeedGenerator(seed + 1)
        self.tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.tracker]

    def call(self, x):
        h = self.encoder(x)
        return self.decoder(self.sampling([h[:, :2], h[:, 2:]]))

    def train_step(self, x):
        x = dynamic_binarize(x, seed=self.binarize_seed)
        with tf.GradientTape() as tape:
            h = self.encoder(x)
            mu, logvar = h[:, :2], h[:, 2:]
            loss = keras.ops.mean(bernoulli_nll(x, self.decoder(self.sampling([mu, logvar]))) + self.kl_fn(mu, logvar))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}


def _fresh_vae(x):
    vae = _TinyVAE(seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    vae(x[:1])  # subclassed models must be built before fit_or_load
    return vae


def test_subclassed_vae_resumes_and_loads_through_fit_or_load():
    """Lecture 03 trains a subclassed VAE with fit_or_load: an interrupted run resumes, a finished one loads."""
    from coursekit.training import fit_or_load

    x = np.random.default_rng(0).random((64, 6)).astype("float32")
    with pytest.raises(Interrupt):
        fit_or_load(_fresh_vae(x), x, run_name="tiny_vae", epochs=3, batch_size=16, verbose=0,
                    callbacks=[InterruptAfter(1)])
    resumed = _fresh_vae(x)  # a restarted kernel: new objects
    history = fit_or_load(resumed, x, run_name="tiny_vae", epochs=3, batch_size=16, verbose=0)
    assert len(history["loss"]) == 3 and all(np.isfinite(history["loss"]))
    loaded = _fresh_vae(x)
    fit_or_load(loaded, x, run_name="tiny_vae", epochs=3, batch_size=16, verbose=0)
    for a, b in zip(resumed.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
