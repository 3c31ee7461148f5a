import keras
import numpy as np
import pytest

from coursekit.gan.packing import PacGAN, pack


def test_pack_joins_consecutive_samples_along_the_last_axis():
    points = np.arange(12, dtype="float32").reshape(6, 2)  # samples (0,1), (2,3), ...
    np.testing.assert_array_equal(pack(points, 2).numpy(), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    np.testing.assert_array_equal(pack(points, 3).numpy(), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    images = np.arange(2 * 2 * 2 * 3, dtype="float32").reshape(2, 2, 2, 3)
    packed = pack(images, 2).numpy()
    assert packed.shape == (1, 2, 2, 6)
    np.testing.assert_array_equal(packed[0, ..., :3], images[0])
    np.testing.assert_array_equal(packed[0, ..., 3:], images[1])
    np.testing.assert_array_equal(pack(points, 1).numpy(), points)


def constant_generator(value, latent=3):
    g = keras.Sequential([keras.Input((latent,)), keras.layers.Dense(len(value))])
    g.layers[0].kernel.assign(np.zeros((latent, len(value)), "float32"))
    g.layers[0].bias.assign(np.asarray(value, "float32"))
    return g


def linear_discriminator(w):
    d = keras.Sequential([keras.Input((len(w),)), keras.layers.Dense(1)])
    d.layers[0].kernel.assign(np.asarray(w, "float32")[:, None])
    d.layers[0].bias.assign([0.0])
    return d


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_one_discriminator_step_on_packs_is_the_known_sgd_update():
    real = np.array([[1.0, 2.0], [3.0, 0.0], [-1.0, 1.0], [1.0, 1.0], [9.0, 9.0]], "float32")  # last one dropped
    c, w, lr, y = np.array([0.5, -1.0]), np.array([0.1, -0.2, 0.3, 0.4]), 0.1, 0.9
    gan = PacGAN(constant_generator(c), linear_discriminator(w), 3, packing=2, real_label=y, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(0.0))
    gan.train_on_batch(real)
    real_packs = real[:4].reshape(2, 4)
    fake_packs = np.tile(c, 2)[None, :]
    # d/dw of mean BCE(y, sigmoid(w . p_real)) + mean BCE(0, sigmoid(w . p_fake))
    grad_real = ((sigmoid(real_packs @ w) - y)[:, None] * real_packs).mean(axis=0)
    grad_fake = (sigmoid(fake_packs @ w)[:, None] * fake_packs).mean(axis=0)
    grad = grad_real + grad_fake
    np.testing.assert_allclose(gan.discriminator.layers[0].kernel.numpy()[:, 0], w - lr * grad, rtol=1e-5)


def test_the_discriminator_must_take_packs():
    with pytest.raises(ValueError, match="packs of 2"):
        PacGAN(constant_generator([0.0, 0.0]), linear_discriminator([1.0, 0.0]), 3, packing=2)
    with pytest.raises(ValueError, match="packing"):
        PacGAN(constant_generator([0.0, 0.0]), linear_discriminator([1.0, 0.0]), 3, packing=0)


def test_fit_runs_and_reports_the_gan_keys():
    rng = np.random.default_rng(0)
    real = np.tanh(rng.normal(size=(64, 2))).astype("float32")
    keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    gan = PacGAN(g, d, 3, packing=3, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    history = gan.fit(real, batch_size=32, epochs=2, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "d_acc_real", "d_acc_fake"}
    assert gan.image_shape == (2,) and gan.sample(4, seed=0).shape == (4, 2)


def test_points_outside_the_image_range_need_check_range_false():
    points = np.array([[4.0, -4.0], [2.0, 0.0]] * 8, "float32")  # the 2-D grid's units
    g = constant_generator([0.0, 0.0])
    gan = PacGAN(g, linear_discriminator([0.1, 0.2, 0.3, 0.4]), 3, packing=2, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        gan.fit(points, batch_size=4, epochs=1, verbose=0)
    free = PacGAN(g, linear_discriminator([0.1, 0.2, 0.3, 0.4]), 3, packing=2, seed=0, check_range=False)
    free.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    free.fit(points, batch_size=4, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        free.fit(points * np.nan, batch_size=4, epochs=1, verbose=0)
