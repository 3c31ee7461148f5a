import math

import numpy as np
import pytest
import tensorflow as tf

from coursekit.gan import losses as L


def test_discriminator_loss_values():
    zero = np.zeros((5, 1), "float32")
    assert float(L.discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2), rel=1e-6)
    # the label does not matter when D says 1/2: BCE(y, 1/2) = ln 2 for every y
    assert float(L.discriminator_loss(zero, zero, real_label=0.9)) == pytest.approx(2 * math.log(2), rel=1e-6)
    confident_real, confident_fake = np.full((5, 1), 30.0, "float32"), np.full((5, 1), -30.0, "float32")
    assert float(L.discriminator_loss(confident_real, confident_fake)) < 1e-6  # a perfect D: 0
    # one-sided smoothing: a perfect, confident D is now penalised (0.1 * 30 nats on the real half)
    loss = float(L.discriminator_loss(confident_real, confident_fake, real_label=0.9))
    assert loss == pytest.approx(0.1 * 30, rel=1e-3)
    # its best real logit is log(0.9/0.1), where the loss is the binary entropy H(0.9)
    h09 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    best = np.full((5, 1), math.log(9.0), "float32")
    assert float(L.discriminator_loss(best, confident_fake, real_label=0.9)) == pytest.approx(h09, abs=1e-5)
    # mixed logits against an explicit formula: -log sigmoid(l) on real, -log(1 - sigmoid(l)) on fake
    real, fake = np.array([[2.0], [-1.0]], "float32"), np.array([[0.5], [-3.0]], "float32")
    sig = lambda logit: 1 / (1 + np.exp(-logit))  # noqa: E731
    expected = -np.mean(np.log(sig(real))) - np.mean(np.log(1 - sig(fake)))
    assert float(L.discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-5)


def test_generator_loss_values_and_gradients():
    d_of_fake = np.array([0.1, 0.5, 0.9], "float32")
    logits = np.log(d_of_fake / (1 - d_of_fake))[:, None]
    assert float(L.generator_loss(logits, "non_saturating")) == pytest.approx(-np.mean(np.log(d_of_fake)), rel=1e-5)
    assert float(L.generator_loss(logits, "saturating")) == pytest.approx(np.mean(np.log(1 - d_of_fake)), rel=1e-5)
    assert float(L.generator_loss(np.zeros((3, 1)), "non_saturating")) == pytest.approx(math.log(2), rel=1e-6)
    assert float(L.generator_loss(np.zeros((3, 1)), "saturating")) == pytest.approx(-math.log(2), rel=1e-6)

    # the point of the non-saturating loss: where D(G(z)) ~ 0 (G is bad) its gradient is ~1, the other's ~0
    bad = tf.Variable(np.full((4, 1), math.log(0.01 / 0.99), "float32"))
    grads = {}
    for kind in L.GENERATOR_LOSSES:
        with tf.GradientTape() as tape:
            loss = L.generator_loss(bad, kind)
        grads[kind] = tape.gradient(loss, bad).numpy() * 4  # per example (the loss is a batch mean)
    np.testing.assert_allclose(grads["non_saturating"], -0.99, rtol=1e-4)  # -(1 - D)
    np.testing.assert_allclose(grads["saturating"], -0.01, rtol=1e-3)  # -D
    with pytest.raises(ValueError, match="minimax"):
        L.generator_loss(bad, "minimax")


# --- construction and bad input ---------------------------------------------------------------
