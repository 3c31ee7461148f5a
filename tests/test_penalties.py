import keras
import numpy as np
import pytest

from coursekit.gan.penalties import gradient_penalty, interpolate, r1_penalty


def linear_critic(w, b=0.5):
    critic = keras.Sequential([keras.Input((len(w),)), keras.layers.Dense(1)])
    critic.layers[0].kernel.assign(np.asarray(w, "float32")[:, None])
    critic.layers[0].bias.assign([b])
    return critic


def test_linear_critic_has_the_known_penalties():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 3
    critic = linear_critic([3.0, 4.0])  # gradient (3, 4) everywhere, norm 5
    assert float(gradient_penalty(critic, real, fake, rng.uniform(size=6))) == pytest.approx(16.0, rel=1e-5)
    assert float(r1_penalty(critic, real)) == pytest.approx(25.0, rel=1e-5)
    unit = linear_critic([0.6, -0.8])  # already 1-Lipschitz: no penalty
    assert float(gradient_penalty(unit, real, fake, rng.uniform(size=6))) == pytest.approx(0.0, abs=1e-6)


def test_penalty_is_taken_at_the_interpolates():
    # f(x) = |x|^2 / 2 has gradient x, so the penalty is mean (|x_hat| - 1)^2
    square = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: 0.5 * keras.ops.sum(
        x * x, axis=1, keepdims=True))])
    real = np.array([[3.0, 0.0], [0.0, 2.0]], "float32")
    fake = np.array([[1.0, 0.0], [0.0, -2.0]], "float32")
    alpha = np.array([0.5, 0.25], "float32")  # x_hat = (2, 0) and (0, -1)
    np.testing.assert_allclose(interpolate(real, fake, alpha).numpy(), [[2.0, 0.0], [0.0, -1.0]])
    assert float(gradient_penalty(square, real, fake, alpha)) == pytest.approx(((2 - 1) ** 2 + 0) / 2, rel=1e-5)
    assert float(r1_penalty(square, real)) == pytest.approx((9 + 4) / 2, rel=1e-5)


def test_interpolate_reaches_both_ends_for_images():
    real, fake = np.ones((2, 3, 3, 1), "float32"), np.zeros((2, 3, 3, 1), "float32")
    out = interpolate(real, fake, np.array([1.0, 0.0])).numpy()
    assert np.all(out[0] == 1.0) and np.all(out[1] == 0.0)
