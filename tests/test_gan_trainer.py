import keras
import numpy as np
import pytest
import tensorflow as tf

from _disconnect import Interrupt, InterruptAfter
from _gan_nets import LATENT, SHAPE, make_data, make_gan, make_networks, same, weights
from coursekit import training
from coursekit.gan.trainer import GAN


@pytest.fixture
def data():
    return make_data()


def test_bad_networks_and_options_are_refused():
    g, d = make_networks()
    sigmoid_d = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                                  keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="logits"):
        GAN(g, sigmoid_d, LATENT)
    two_outputs = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"\(B, 1\)"):
        GAN(g, two_outputs, LATENT)
    with pytest.raises(ValueError, match="latent"):
        GAN(g, d, LATENT + 1)
    with pytest.raises(ValueError, match="real_label"):
        GAN(g, d, LATENT, real_label=0.3)
    with pytest.raises(ValueError, match="d_steps"):
        GAN(g, d, LATENT, d_steps=0)
    with pytest.raises(ValueError, match="generator_loss"):
        GAN(g, d, LATENT, generator_loss="wasserstein")
    gan = GAN(g, d, LATENT)
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="different"):
        gan.compile(d_optimizer=opt, g_optimizer=opt)


def test_training_data_must_be_in_tanh_range(data):
    gan = make_gan()
    with pytest.raises(ValueError, match="to_tanh_range"):
        gan.fit((data + 1) / 2, epochs=1, verbose=0)  # [0, 1] images
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        gan.fit(data * 200, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="to_tanh_range"):
        gan.fit(tf.data.Dataset.from_tensor_slices((data + 1) / 2).batch(8), epochs=1, verbose=0)


# --- what the options do -----------------------------------------------------------------------
def test_one_step_updates_both_networks_and_logs_metrics(data):
    gan = make_gan()
    g0, d0 = weights(gan.generator), weights(gan.discriminator)
    history = gan.fit(data, batch_size=8, epochs=2, verbose=0, shuffle=False).history
    assert set(history) == {"d_loss", "g_loss", "d_acc_real", "d_acc_fake"}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in history.values())
    assert all(0.0 <= a <= 1.0 for a in history["d_acc_real"] + history["d_acc_fake"])
    assert not same(g0, weights(gan.generator)) and not same(d0, weights(gan.discriminator))
    assert int(gan.d_optimizer.iterations) == 8 and int(gan.g_optimizer.iterations) == 8  # 4 batches x 2 epochs


def test_d_steps_advances_the_discriminator_optimizer_k_times(data):
    gan = make_gan(d_steps=2)
    gan.fit(data, batch_size=8, epochs=1, verbose=0)  # 4 generator steps
    assert int(gan.g_optimizer.iterations) == 4
    assert int(gan.d_optimizer.iterations) == 8


def test_warmup_leaves_the_generator_unchanged(data):
    gan = make_gan(d_warmup_steps=4)
    g0, d0 = weights(gan.generator), weights(gan.discriminator)
    history = gan.fit(data, batch_size=8, epochs=1, verbose=0).history  # exactly the 4 warm-up steps
    assert same(g0, weights(gan.generator)), "G must not move during the warm-up"
    assert int(gan.g_optimizer.iterations) == 0
    assert not same(d0, weights(gan.discriminator)) and int(gan.d_optimizer.iterations) == 4
    assert np.isfinite(history["g_loss"][0])  # still reported during the warm-up
    gan.fit(data[:8], batch_size=8, epochs=1, verbose=0)  # step 5: G trains now
    assert not same(g0, weights(gan.generator)) and int(gan.g_optimizer.iterations) == 1


def test_saturating_loss_is_the_one_used(data):
    h_sat = make_gan(generator_loss="saturating").fit(data, batch_size=8, epochs=1, verbose=0).history
    h_ns = make_gan(generator_loss="non_saturating").fit(data, batch_size=8, epochs=1, verbose=0).history
    assert h_sat["g_loss"][0] < 0 < h_ns["g_loss"][0]  # log(1 - D) < 0 < -log D


def test_label_smoothing_changes_the_discriminator_update(data):
    plain = make_gan(seed=3)
    smooth = make_gan(seed=3, real_label=0.9)
    plain.fit(data[:8], batch_size=8, epochs=1, verbose=0, shuffle=False)
    smooth.fit(data[:8], batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert not same(weights(plain.discriminator), weights(smooth.discriminator))


def test_sampling_helpers():
    gan = make_gan()
    z = gan.sample_latent(10, seed=1)
    assert z.shape == (10, LATENT) and z.dtype == np.float32
    np.testing.assert_array_equal(z, gan.sample_latent(10, seed=1))
    x = gan.generate(z, batch_size=3)
    assert x.shape == (10, *SHAPE) and x.min() >= -1 and x.max() <= 1
    # different batch shapes may take different float32 kernels: compare with float32's tolerance
    np.testing.assert_allclose(x, gan(z).numpy(), rtol=1e-5, atol=1e-6)
    assert gan.sample(3, seed=0).shape == (3, *SHAPE)
    with pytest.raises(ValueError, match="shape"):
        gan.generate(np.zeros((2, LATENT + 1)))


# --- resume and load through fit_or_load --------------------------------------------------------

def optimizer_state(opt):
    return [v.numpy().copy() for v in opt.variables]


def test_fit_or_load_resumes_and_loads_with_both_optimizers(data):
    kwargs = dict(batch_size=8, shuffle=False, verbose=0)
    # reference: 4 epochs in one go
    straight = make_gan(dropout=0.2, d_warmup_steps=2)
    h_straight = training.fit_or_load(straight, data, run_name="gan-straight", epochs=4, **kwargs)

    # interrupted after 2 epochs, resumed in a "new kernel": must end exactly where the straight run ends
    with pytest.raises(Interrupt):
        training.fit_or_load(make_gan(dropout=0.2, d_warmup_steps=2), data, run_name="gan-resume", epochs=4,
                             callbacks=[InterruptAfter(2)], **kwargs)
    resumed = make_gan(dropout=0.2, d_warmup_steps=2)
    h_resumed = training.fit_or_load(resumed, data, run_name="gan-resume", epochs=4, **kwargs)
    assert len(h_resumed["d_loss"]) == 4
    assert int(resumed.d_optimizer.iterations) == 16 and int(resumed.g_optimizer.iterations) == 14
    z = straight.sample_latent(6, seed=0)
    np.testing.assert_allclose(resumed.generate(z), straight.generate(z), atol=1e-5)
    for key in h_straight:
        np.testing.assert_allclose(h_resumed[key], h_straight[key], rtol=1e-4, atol=1e-5)

    # finished: loads, reproducing the generator, the discriminator and both optimizers' state exactly
    loaded = make_gan(init_seed=7, dropout=0.2, d_warmup_steps=2)  # other initial weights, same settings
    h_loaded = training.fit_or_load(loaded, data, run_name="gan-resume", epochs=4, **kwargs)
    assert h_loaded == h_resumed
    np.testing.assert_array_equal(loaded.generate(z), resumed.generate(z))
    assert same(weights(loaded.discriminator), weights(resumed.discriminator))
    for a, b in ((loaded.d_optimizer, resumed.d_optimizer), (loaded.g_optimizer, resumed.g_optimizer)):
        assert len(a.variables) > 2 and same(optimizer_state(a), optimizer_state(b))
    assert int(loaded.train_step_counter.numpy()) == 16
