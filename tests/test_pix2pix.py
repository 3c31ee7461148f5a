"""pix2pix: the L1 term uses the pairs, the halved D loss, one step moves both networks the right way,
save/load keeps both networks and both optimizers (lecture 08)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from coursekit.gan.patchgan import patchgan_discriminator
from coursekit.gan.pix2pix import Pix2Pix
from coursekit.gan.unet import unet_generator

A_SHAPE, B_SHAPE = (8, 8, 1), (8, 8, 3)


def halving_generator():
    """``a (8, 8, 1) -> b (8, 8, 3)``, each channel ``0.5 * a``: a known translation."""
    inputs = keras.Input(A_SHAPE)
    out = keras.layers.Conv2D(3, 1, use_bias=False, kernel_initializer=keras.initializers.Constant(0.5))(inputs)
    return keras.Model(inputs, out, name="halve")


def small_pix2pix(seed=0, generator=None, **kwargs):
    keras.utils.set_random_seed(seed)
    generator = generator or unet_generator(A_SHAPE, out_channels=3, filters=4, depth=2, norm="none")
    discriminator = patchgan_discriminator(B_SHAPE, condition_channels=1, filters=4, n_layers=1, norm="none")
    model = Pix2Pix(generator, discriminator, **kwargs)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    return model


@pytest.fixture
def pairs():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (4, *A_SHAPE)).astype("float32")
    return a, np.repeat(0.5 * a, 3, axis=-1)  # b is exactly the halving generator's translation


def softplus(x):
    return np.logaddexp(0.0, x)


def test_l1_term_compares_each_translation_with_its_own_pair(pairs):
    a, b = pairs
    model = small_pix2pix(generator=halving_generator())
    aligned = {k: float(v) for k, v in model.generator_losses(a, b).items()}
    assert aligned["g_l1"] == pytest.approx(0.0, abs=1e-7)  # perfect translations
    swapped = b[[1, 0, 2, 3]]  # two pairs of the batch misaligned
    want = np.mean(np.abs(swapped.astype("float64") - np.repeat(0.5 * a, 3, axis=-1)))
    got = {k: float(v) for k, v in model.generator_losses(a, swapped).items()}
    assert want > 0.05 and got["g_l1"] == pytest.approx(want, rel=1e-5)
    assert got["g_adv"] == pytest.approx(aligned["g_adv"], rel=1e-6)  # D sees (a, G(a)) either way
    assert got["g_loss"] == pytest.approx(got["g_adv"] + 100.0 * want, rel=1e-5)


def test_discriminator_judges_pairs_with_the_halved_cross_entropy(pairs):
    a, b = pairs
    model = small_pix2pix(generator=halving_generator())
    fake = model.generator(a)
    d_loss, real_logits, fake_logits = model.discriminator_losses(a, b + 0.1, fake)
    real_logits, fake_logits = np.asarray(real_logits, "float64"), np.asarray(fake_logits, "float64")
    np.testing.assert_allclose(real_logits, model.discriminator([a, b + 0.1]).numpy(), rtol=1e-6)
    assert real_logits.shape == (4, 4, 4, 1)  # a map of patch logits
    want = 0.5 * (np.mean(softplus(-real_logits)) + np.mean(softplus(fake_logits)))
    assert float(d_loss) == pytest.approx(want, rel=1e-5)
    # the condition matters: the same b with other a's is judged differently
    other = model.discriminator([a[::-1], b + 0.1]).numpy()
    assert not np.allclose(other, real_logits)


def test_one_step_moves_both_networks_the_right_way(pairs):
    a, b = pairs
    b = np.tanh(b * 3 + 0.2).astype("float32")
    model = small_pix2pix(seed=1)
    # SGD for G (a plain gradient step); Adam for D, whose first step is ~lr per weight whatever the
    # (tiny, at initialisation) gradient scale
    model.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.Adam(1e-2))
    fake0 = model.generator(a)
    d0 = float(model.discriminator_losses(a, b, fake0)[0])
    l1_0 = float(model.generator_losses(a, b)["g_l1"])
    g_weights = [v.numpy().copy() for v in model.generator.trainable_variables]
    logs = model.train_step((tf.constant(a), tf.constant(b)))
    assert float(logs["d_loss"]) == pytest.approx(d0, rel=1e-4)  # measured before the update
    assert float(model.discriminator_losses(a, b, fake0)[0]) < d0 - 1e-4   # D got better at these pairs
    assert float(model.generator_losses(a, b)["g_l1"]) < l1_0 - 1e-2       # G moved towards the pairs
    assert int(model.g_optimizer.iterations.numpy()) == 1 and int(model.d_optimizer.iterations.numpy()) == 1
    assert not all(np.array_equal(x, v.numpy()) for x, v in zip(g_weights, model.generator.trainable_variables))


def test_fit_save_and_load_keep_both_networks_and_both_optimizers(tmp_path, pairs):
    a, b = pairs
    model = small_pix2pix(generator=None)
    ds = tf.data.Dataset.from_tensor_slices((np.tile(a, (2, 1, 1, 1)), np.tile(b, (2, 1, 1, 1)))).batch(4)
    history = model.fit(ds, epochs=2, verbose=0, shuffle=False).history
    assert set(history) == {"d_loss", "g_adv", "g_l1", "g_loss", "d_acc_real", "d_acc_fake"}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in history.values())
    assert all(0 <= x <= 1 for x in history["d_acc_real"] + history["d_acc_fake"])
    path = str(tmp_path / "p2p.weights.h5")
    model.save_weights(path)
    loaded = small_pix2pix(seed=5)
    loaded.load_weights(path)
    for key in ("g_optimizer", "d_optimizer"):
        assert int(getattr(loaded, key).iterations.numpy()) == 4
        for x, y in zip(getattr(loaded, key).variables, getattr(model, key).variables):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    for x, y in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    np.testing.assert_array_equal(loaded.translate(a), model.translate(a))
    # arrays work too, and evaluate() measures without updating
    model.fit(a, b, batch_size=2, epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations.numpy()) == 6
    assert set(model.evaluate(a, b, verbose=0, return_dict=True)) == set(history)
    assert int(model.g_optimizer.iterations.numpy()) == 6


def test_bad_networks_data_and_options_are_refused(pairs):
    a, b = pairs
    g = unet_generator(A_SHAPE, out_channels=3, filters=4, depth=2)
    single = patchgan_discriminator(B_SHAPE, filters=4, n_layers=1)
    with pytest.raises(ValueError, match="two inputs"):
        Pix2Pix(g, single)
    for bad in (-1, float("nan"), None):
        with pytest.raises(ValueError, match="l1_weight"):
            Pix2Pix(g, patchgan_discriminator(B_SHAPE, condition_channels=1, filters=4, n_layers=1), l1_weight=bad)
    model = small_pix2pix()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.fit(a, (b + 1) / 2, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        model.fit(a, a, verbose=0)
    with pytest.raises(ValueError, match="as many"):
        model.fit(a, b[:3], verbose=0)
    with pytest.raises(ValueError, match="d_optimizer"):
        model.compile(g_optimizer="adam", d_optimizer="adam", loss="mse")
    fresh = Pix2Pix(g, patchgan_discriminator(B_SHAPE, condition_channels=1, filters=4, n_layers=1))
    with pytest.raises(ValueError, match="compile"):
        fresh.train_step((a, b))
    out = model.translate(a, batch_size=3)
    assert out.shape == (4, *B_SHAPE) and np.abs(out).max() <= 1
    with pytest.raises(ValueError, match="shape"):
        model.translate(b)
