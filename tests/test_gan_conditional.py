"""The conditional GAN trainer: labels reach both networks, AC-GAN terms, bad labels, resume."""

import keras
import numpy as np
import pytest

from _disconnect import Interrupt, InterruptAfter
from coursekit import training
from coursekit.gan.conditional import ConditionalGAN, check_labels
from coursekit.gan.layers import OneHotLabels, Projection

LATENT, SHAPE, K = 3, (4, 4, 1), (3, 2)


def generator(seed=0):
    keras.utils.set_random_seed(seed)
    z, y = keras.Input((LATENT,)), keras.Input((len(K),), dtype="int32")
    h = keras.layers.Concatenate()([z, OneHotLabels(K)(y)])
    x = keras.layers.Reshape(SHAPE)(keras.layers.Dense(16, activation="tanh")(h))
    return keras.Model([z, y], x, name="g")


def projection_discriminator():
    x, y = keras.Input(SHAPE), keras.Input((len(K),), dtype="int32")
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(x))
    logit = keras.layers.Add()([keras.layers.Dense(1)(h), Projection(K)([h, y])])
    return keras.Model([x, y], logit, name="d_proj")


def acgan_discriminator():
    x = keras.Input(SHAPE)
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(x))
    return keras.Model(x, [keras.layers.Dense(1)(h), keras.layers.Dense(K[0])(h), keras.layers.Dense(K[1])(h)],
                       name="d_ac")


def make(disc="projection", seed=0, **kwargs):
    g = generator(seed)
    d = projection_discriminator() if disc == "projection" else acgan_discriminator()
    gan = ConditionalGAN(g, d, LATENT, K, seed=seed, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    return gan


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = np.tanh(rng.normal(size=(24, *SHAPE))).astype("float32")
    y = np.stack([np.arange(24) % 3, np.arange(24) % 2], axis=1).astype("int32")
    return x, y


def test_one_hot_and_projection_values():
    labels = np.array([[2, 0], [0, 1]])
    np.testing.assert_array_equal(OneHotLabels(K)(labels).numpy(), [[0, 0, 1, 1, 0], [1, 0, 0, 0, 1]])
    proj = Projection(K)
    h = np.array([[1.0, 2.0], [3.0, -1.0]], "float32")
    out = proj([h, labels]).numpy()
    e0, e1 = proj.tables[0].numpy(), proj.tables[1].numpy()
    expected = [e0[2] @ h[0] + e1[0] @ h[0], e0[0] @ h[1] + e1[1] @ h[1]]
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_labels_change_the_generated_image():
    gan = make()
    z = np.repeat(gan.sample_latent(1, seed=0), 3, axis=0)
    images = gan.generate(z, [[0, 0], [1, 0], [0, 1]])
    assert images.shape == (3, *SHAPE)
    assert not np.allclose(images[0], images[1]) and not np.allclose(images[0], images[2])


@pytest.mark.parametrize("disc", ["projection", "acgan"])
def test_training_updates_both_networks_and_reports_metrics(data, disc):
    gan = make(disc)
    g0 = [v.numpy().copy() for v in gan.generator.trainable_variables]
    d0 = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    history = gan.fit(*data, batch_size=8, epochs=2, verbose=0).history
    expected = ({"d_loss", "g_loss", "d_acc_real", "d_acc_fake"}
                | ({"cls_acc_real", "cls_acc_fake"} if disc == "acgan" else set()))
    assert set(history) == expected
    assert all(np.all(np.isfinite(v)) for v in history.values())
    assert int(gan.d_optimizer.iterations) == 6 and int(gan.g_optimizer.iterations) == 6
    assert not all(np.array_equal(a, v.numpy()) for a, v in zip(g0, gan.generator.trainable_variables))
    assert not all(np.array_equal(a, v.numpy()) for a, v in zip(d0, gan.discriminator.trainable_variables))


def test_acgan_adds_the_classifier_term_to_the_discriminator_loss(data):
    x, y = data
    plain, aux = make("acgan", aux_weight=0.0), make("acgan", aux_weight=1.0)
    h_plain = plain.fit(x, y, batch_size=24, epochs=1, verbose=0, shuffle=False).history
    h_aux = aux.fit(x, y, batch_size=24, epochs=1, verbose=0, shuffle=False).history
    # same networks, same first batch: the auxiliary cross-entropies (>= 0, about ln 3 + ln 2 each side) add up
    assert h_aux["d_loss"][0] - h_plain["d_loss"][0] > 1.0


def test_bad_labels_get_clear_errors(data):
    x, y = data
    gan = make()
    with pytest.raises(ValueError, match=r"labels\[:, 0\] must be in \[0, 3\).*got 3"):
        gan.fit(x, np.column_stack([np.full(24, 3), y[:, 1]]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        gan.fit(x, y[:, 0], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="needs labels"):
        gan.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="one label row per latent"):
        gan.generate(gan.sample_latent(2), [[0, 0]])
    with pytest.raises(ValueError, match="integer class indices"):
        check_labels([0.5, 1.0], 3)
    np.testing.assert_array_equal(check_labels([2, 0], 3), [[2], [0]])
    with pytest.raises(ValueError, match="num_classes"):
        OneHotLabels([1])


def test_networks_that_ignore_the_labels_are_refused():
    x = keras.Input(SHAPE)
    unconditional = keras.Model(x, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    with pytest.raises(ValueError, match="does neither"):
        ConditionalGAN(generator(), unconditional, LATENT, K)
    with pytest.raises(ValueError, match="one class-logit head per attribute"):
        h = keras.layers.Flatten()(x)
        ConditionalGAN(generator(), keras.Model(x, [keras.layers.Dense(1)(h), keras.layers.Dense(5)(h)]), LATENT, K)


def test_resume_reproduces_the_straight_run(data):
    x, y = data
    kwargs = dict(batch_size=8, shuffle=False, verbose=0)
    straight = make()
    training.fit_or_load(straight, x, y=y, run_name="cgan-straight", epochs=3, **kwargs)
    with pytest.raises(Interrupt):
        training.fit_or_load(make(), x, y=y, run_name="cgan-resume", epochs=3, callbacks=[InterruptAfter(1)], **kwargs)
    resumed = make()
    training.fit_or_load(resumed, x, y=y, run_name="cgan-resume", epochs=3, **kwargs)
    z = straight.sample_latent(4, seed=1)
    labels = [[0, 0], [1, 1], [2, 0], [2, 1]]
    np.testing.assert_allclose(resumed.generate(z, labels), straight.generate(z, labels), atol=1e-5)


# --- known answers: every number the conditional trainer reports -----------------------------
class _FixedFakes(keras.layers.Layer):
    """``[z, labels] -> (B, 4, 4, 1)``: image ``i`` is the constant ``FAKES[i]`` (z and labels ignored)."""

    def build(self, input_shape):
        self.unused = self.add_weight(shape=(1,), initializer="zeros", name="unused")

    def call(self, inputs):
        z, _ = inputs
        values = keras.ops.convert_to_tensor(FAKES)[: keras.ops.shape(z)[0]]
        return keras.ops.broadcast_to(keras.ops.reshape(values, (-1, 1, 1, 1)), (keras.ops.shape(z)[0], 4, 4, 1)) \
            + 0.0 * self.unused


FAKES = np.array([-0.5, 0.25, -0.75, 0.0], "float32")
REALS = np.array([0.5, 0.25, -0.25, 0.75], "float32")
LABELS = np.array([0, 1, 2, 0], "int32")


def _softplus(x):
    return np.logaddexp(0.0, np.asarray(x, "float64"))


def _ce(logits, labels):
    logits = np.asarray(logits, "float64")
    return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(labels)), labels]))


def test_acgan_reports_known_losses_and_accuracies():
    z, y = keras.Input((LATENT,)), keras.Input((1,), dtype="int32")
    generator = keras.Model([z, y], _FixedFakes()([z, y]), name="fixed_g")
    image = keras.Input(SHAPE)
    flat = keras.layers.Flatten()(image)
    logit_layer, class_layer = keras.layers.Dense(1), keras.layers.Dense(3)
    discriminator = keras.Model(image, [logit_layer(flat), class_layer(flat)], name="fixed_d")
    logit_layer.set_weights([np.full((16, 1), 4 / 16, "float32"), np.zeros(1, "float32")])  # logit = 4 mean
    class_layer.set_weights([np.tile(np.array([[1, 0, -1]], "float32") / 16, (16, 1)), np.zeros(3, "float32")])
    gan = ConditionalGAN(generator, discriminator, LATENT, 3, aux_weight=0.5, real_label=0.9, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    x = np.broadcast_to(REALS.reshape(-1, 1, 1, 1), (4, *SHAPE)).astype("float32")
    h = gan.fit(x, LABELS, batch_size=4, epochs=1, shuffle=False, verbose=0).history

    real_logit, fake_logit = 4 * REALS, 4 * FAKES
    real_cls, fake_cls = np.outer(REALS, [1, 0, -1]), np.outer(FAKES, [1, 0, -1])
    bce = np.mean(0.9 * _softplus(-real_logit) + 0.1 * _softplus(real_logit)) + np.mean(_softplus(fake_logit))
    expected = {
        "d_loss": bce + 0.5 * (_ce(real_cls, LABELS) + _ce(fake_cls, LABELS)),
        "g_loss": np.mean(_softplus(-fake_logit)) + 0.5 * _ce(fake_cls, LABELS),
        "d_acc_real": np.mean(real_logit > 0),  # 1, 1, -1, 3 -> 3/4
        "d_acc_fake": np.mean(fake_logit < 0),  # -2, 1, -3, 0 -> 2/4
        "cls_acc_real": 3 / 4,  # argmax of mean * [1, 0, -1]: 0, 0, 2, 0 against 0, 1, 2, 0
        "cls_acc_fake": 2 / 4,  # 2, 0, 2, 0 (a tie at mean 0 goes to class 0) against 0, 1, 2, 0
    }
    for key, value in expected.items():
        assert h[key][0] == pytest.approx(value, rel=1e-5, abs=1e-6), key
