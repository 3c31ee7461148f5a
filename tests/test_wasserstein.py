import keras
import numpy as np
import pytest

from coursekit.gan.wasserstein import WGANGP, critic_loss, wasserstein_generator_loss


def constant_generator(value, latent=3):
    """G(z) = value for every z (zero kernel), so the fake batch is known."""
    g = keras.Sequential([keras.Input((latent,)), keras.layers.Dense(len(value))])
    g.layers[0].kernel.assign(np.zeros((latent, len(value)), "float32"))
    g.layers[0].bias.assign(np.asarray(value, "float32"))
    return g


def linear_critic(w):
    c = keras.Sequential([keras.Input((len(w),)), keras.layers.Dense(1)])
    c.layers[0].kernel.assign(np.asarray(w, "float32")[:, None])
    c.layers[0].bias.assign([0.0])
    return c


def test_losses_known_values():
    assert float(critic_loss([[1.0], [3.0]], [[0.0], [-2.0]])) == pytest.approx(-1.0 - 2.0)
    assert float(wasserstein_generator_loss([[1.0], [2.0]])) == pytest.approx(-1.5)


def test_one_critic_step_is_the_known_sgd_update():
    real = np.array([[1.0, 2.0], [3.0, 0.0], [-1.0, 1.0], [1.0, 1.0]], "float32")
    c, w, lam, lr = np.array([0.5, -1.0]), np.array([3.0, 4.0]), 10.0, 0.01
    gan = WGANGP(constant_generator(c), linear_critic(w), 3, gp_weight=lam, d_steps=1, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(0.0))
    gan.train_on_batch(real)
    # d/dw [ mean f(fake) - mean f(real) + lam (|w| - 1)^2 ] = c - mean(real) + 2 lam (|w| - 1) w / |w|
    grad = c - real.mean(axis=0) + 2 * lam * (np.linalg.norm(w) - 1) * w / np.linalg.norm(w)
    np.testing.assert_allclose(gan.discriminator.layers[0].kernel.numpy()[:, 0], w - lr * grad, rtol=1e-5)


def test_fit_reports_the_wasserstein_estimate():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(64, 2)).astype("float32") * 0.3
    keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    gan = WGANGP(g, linear_critic([0.1, 0.1]), 3, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.9),
                g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.9))
    history = gan.fit(real, batch_size=32, epochs=2, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "w_distance", "gradient_penalty"}
    assert all(np.isfinite(v).all() for v in history.values())
    assert gan.sample(5, seed=1).shape == (5, 2)


def test_options_of_the_cross_entropy_gan_are_refused():
    with pytest.raises(ValueError, match="real_label"):
        WGANGP(constant_generator([0.0, 0.0]), linear_critic([1.0, 0.0]), 3, real_label=0.9)
    with pytest.raises(ValueError, match="gp_weight"):
        WGANGP(constant_generator([0.0, 0.0]), linear_critic([1.0, 0.0]), 3, gp_weight=-1)
