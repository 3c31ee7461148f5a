"""Small GAN networks and data shared by the GAN tests (4x4 images, latent size 4)."""

import keras
import numpy as np

from coursekit.gan.trainer import GAN

LATENT = 4
SHAPE = (4, 4, 1)


def make_networks(seed=0, dropout=0.0):
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential([
        keras.Input((LATENT,)),
        keras.layers.Dense(16, activation="tanh"),
        keras.layers.Reshape(SHAPE),
    ], name="g")
    discriminator = keras.Sequential([
        keras.Input(SHAPE),
        keras.layers.Flatten(),
        keras.layers.Dense(8),
        keras.layers.LeakyReLU(0.2),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(1),
    ], name="d")
    return generator, discriminator


def make_gan(seed=0, dropout=0.0, init_seed=None, **kwargs):
    """A small GAN; `init_seed` (default `seed`) draws the initial weights, `seed` is the trainer's setting."""
    g, d = make_networks(seed if init_seed is None else init_seed, dropout)
    keras.utils.set_random_seed(seed)  # Keras' global seed is one of the run's settings
    gan = GAN(g, d, LATENT, seed=seed, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5))
    return gan


def make_data():
    rng = np.random.default_rng(0)
    return np.tanh(rng.normal(0.3, 0.5, size=(32, *SHAPE))).astype("float32")


def weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))
