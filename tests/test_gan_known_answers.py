"""Known-answer tests of every number the GAN trainer reports: d_loss, g_loss, d_acc_real, d_acc_fake.

The networks are built so the answer is known by construction:

- the generator ignores ``z`` and emits fixed constant images, one value per position in the
  batch (``FAKE_VALUES``), so the fakes are known although the trainer draws its own noise;
- the discriminator is ``Flatten -> Dense(1)`` with every kernel entry ``4 / 16`` and bias 0,
  so the logit of an image is exactly ``4 * mean(image)``;
- both optimizers are SGD with learning rate 0, so nothing moves during ``fit``.

The expected values are computed here in float64 NumPy from the formulas of the docstrings
(``D = sigmoid(logit)``; accuracy on real = fraction with ``D > 1/2``, on fake = fraction with
``D < 1/2``; a logit of exactly 0 counts as neither), not by calling the code under test.
"""

import keras
import numpy as np
import pytest
from keras import ops

from coursekit.gan.losses import discriminator_loss, generator_loss
from coursekit.gan.trainer import GAN

SHAPE = (4, 4, 1)
LATENT = 3
FAKE_VALUES = np.array([-0.5, 0.25, -0.75, 0.0], "float32")  # fake logits: -2, 1, -3, 0
REAL_BATCHES = np.array([[0.5, 0.25, -0.25, 0.75],  # real logits: 2, 1, -1, 3
                         [-0.5, 0.0, 0.125, -0.75]], "float32")  # real logits: -2, 0, 0.5, -3


def softplus(x):
    return np.logaddexp(0.0, np.asarray(x, "float64"))


class FixedImages(keras.layers.Layer):
    """``(B, LATENT) -> (B, 4, 4, 1)``: image ``i`` of a batch is the constant ``FAKE_VALUES[i % 4]``.
    One trainable weight (multiplied by 0) gives the generator's optimizer something to hold."""

    def build(self, input_shape):
        self.unused = self.add_weight(shape=(1,), initializer="zeros", name="unused")

    def call(self, z):
        values = ops.take(ops.convert_to_tensor(FAKE_VALUES), ops.arange(ops.shape(z)[0]) % len(FAKE_VALUES))
        return ops.broadcast_to(ops.reshape(values, (-1, 1, 1, 1)), (ops.shape(z)[0], *SHAPE)) + 0.0 * self.unused


def make_gan(**options):
    generator = keras.Sequential([keras.Input((LATENT,)), FixedImages()], name="fixed_g")
    discriminator = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(1)], name="mean_d")
    dense = discriminator.layers[-1]
    dense.set_weights([np.full((16, 1), 4.0 / 16.0, "float32"), np.zeros(1, "float32")])
    gan = GAN(generator, discriminator, LATENT, seed=0, **options)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    return gan


def real_images(batch):
    return np.broadcast_to(REAL_BATCHES[batch].reshape(-1, 1, 1, 1), (4, *SHAPE)).astype("float32")


def expected(batch, real_label=1.0, kind="non_saturating"):
    real = 4.0 * REAL_BATCHES[batch].astype("float64")
    fake = 4.0 * FAKE_VALUES.astype("float64")
    y = real_label
    d_loss = np.mean(y * softplus(-real) + (1 - y) * softplus(real)) + np.mean(softplus(fake))
    g_loss = np.mean(softplus(-fake)) if kind == "non_saturating" else -np.mean(softplus(fake))
    return {"d_loss": d_loss, "g_loss": g_loss,
            "d_acc_real": np.mean(real > 0), "d_acc_fake": np.mean(fake < 0)}


def test_the_construction_gives_the_logits_it_claims():
    gan = make_gan()
    np.testing.assert_allclose(ops.convert_to_numpy(gan.discriminator(real_images(0))).ravel(), [2, 1, -1, 3],
                               atol=1e-6)
    fakes = gan.generate(np.zeros((4, LATENT), "float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(gan.discriminator(fakes)).ravel(), [-2, 1, -3, 0], atol=1e-6)


def test_reference_values_by_hand():
    """The formulas themselves, on hand-computed numbers (D = 1/2: 2 ln 2 and ln 2)."""
    zeros = np.zeros((4, 1), "float32")
    assert float(discriminator_loss(zeros, zeros)) == pytest.approx(2 * np.log(2), rel=1e-6)
    assert float(generator_loss(zeros)) == pytest.approx(np.log(2), rel=1e-6)
    assert float(generator_loss(zeros, "saturating")) == pytest.approx(-np.log(2), rel=1e-6)
    # label smoothing: the real term is never below the binary entropy H(0.9)
    big = np.full((4, 1), 50.0, "float32")
    h = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))
    assert float(discriminator_loss(big, -big, real_label=0.9)) == pytest.approx(0.1 * 50 + 0.0, rel=1e-4)
    assert float(discriminator_loss(np.full((4, 1), np.log(9.0), "float32"), -big, real_label=0.9)) == pytest.approx(
        h, rel=1e-4)


@pytest.mark.parametrize("options", [
    {},
    {"generator_loss": "saturating"},
    {"real_label": 0.9},
    {"d_steps": 2},
    {"d_warmup_steps": 1},
])
def test_one_step_reports_the_known_numbers(options):
    gan = make_gan(**options)
    logs = gan.train_on_batch(real_images(0), return_dict=True)
    want = expected(0, options.get("real_label", 1.0), options.get("generator_loss", "non_saturating"))
    assert set(logs) >= set(want)
    for key, value in want.items():
        assert float(logs[key]) == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert want["d_acc_real"] == 0.75 and want["d_acc_fake"] == 0.5  # 3 of 4 real logits > 0; fakes: -2, -3 < 0


def test_fit_history_is_the_mean_over_batches():
    """Two batches with different answers: each epoch's history value is their mean."""
    gan = make_gan()
    data = np.concatenate([real_images(0), real_images(1)])
    history = gan.fit(data, batch_size=4, shuffle=False, epochs=2, verbose=0).history
    a, b = expected(0), expected(1)
    assert b["d_acc_real"] == 0.25  # logits -2, 0, 0.5, -3: a logit of exactly 0 is not "real"
    for key in a:
        np.testing.assert_allclose(history[key], [(a[key] + b[key]) / 2] * 2, rtol=1e-5, atol=1e-6, err_msg=key)


def test_evaluate_reports_the_same_numbers_without_training():
    gan = make_gan(real_label=0.9)
    logs = gan.evaluate(real_images(1), batch_size=4, verbose=0, return_dict=True)
    for key, value in expected(1, real_label=0.9).items():
        assert float(logs[key]) == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_accuracies_are_not_swapped_or_inverted():
    """A discriminator that calls everything real: accuracy 1 on real, 0 on fake (and the reverse)."""
    for bias, real_acc, fake_acc in ((10.0, 1.0, 0.0), (-10.0, 0.0, 1.0)):
        gan = make_gan()
        dense = gan.discriminator.layers[-1]
        dense.set_weights([np.zeros((16, 1), "float32"), np.full(1, bias, "float32")])
        logs = gan.train_on_batch(real_images(0), return_dict=True)
        assert (float(logs["d_acc_real"]), float(logs["d_acc_fake"])) == (real_acc, fake_acc)
        # and the losses of a confident D: ~0 on the side it gets right, ~|bias| on the other
        assert float(logs["d_loss"]) == pytest.approx(softplus(-bias) + softplus(bias), rel=1e-5)
        assert float(logs["g_loss"]) == pytest.approx(softplus(-bias), rel=1e-5, abs=1e-6)
