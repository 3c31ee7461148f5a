import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

from _disconnect import Interrupt, InterruptAfter
from coursekit import gan as G
from coursekit import training

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


def make_gan(seed=0, dropout=0.0, **kwargs):
    g, d = make_networks(seed, dropout)
    gan = G.GAN(g, d, LATENT, seed=seed, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5), g_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5))
    return gan


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return np.tanh(rng.normal(0.3, 0.5, size=(32, *SHAPE))).astype("float32")


def weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# --- losses on fixed logits ------------------------------------------------------------------
def test_discriminator_loss_values():
    zero = np.zeros((5, 1), "float32")
    assert float(G.discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2), rel=1e-6)
    # the label does not matter when D says 1/2: BCE(y, 1/2) = ln 2 for every y
    assert float(G.discriminator_loss(zero, zero, real_label=0.9)) == pytest.approx(2 * math.log(2), rel=1e-6)
    confident_real, confident_fake = np.full((5, 1), 30.0, "float32"), np.full((5, 1), -30.0, "float32")
    assert float(G.discriminator_loss(confident_real, confident_fake)) < 1e-6  # a perfect D: 0
    # one-sided smoothing: a perfect, confident D is now penalised (0.1 * 30 nats on the real half)
    assert float(G.discriminator_loss(confident_real, confident_fake, real_label=0.9)) == pytest.approx(0.1 * 30, rel=1e-3)
    # its best real logit is log(0.9/0.1), where the loss is the binary entropy H(0.9)
    h09 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    best = np.full((5, 1), math.log(9.0), "float32")
    assert float(G.discriminator_loss(best, confident_fake, real_label=0.9)) == pytest.approx(h09, abs=1e-5)
    # mixed logits against an explicit formula: -log sigmoid(l) on real, -log(1 - sigmoid(l)) on fake
    real, fake = np.array([[2.0], [-1.0]], "float32"), np.array([[0.5], [-3.0]], "float32")
    sig = lambda l: 1 / (1 + np.exp(-l))  # noqa: E731
    expected = -np.mean(np.log(sig(real))) - np.mean(np.log(1 - sig(fake)))
    assert float(G.discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-5)


def test_generator_loss_values_and_gradients():
    d_of_fake = np.array([0.1, 0.5, 0.9], "float32")
    logits = np.log(d_of_fake / (1 - d_of_fake))[:, None]
    assert float(G.generator_loss(logits, "non_saturating")) == pytest.approx(-np.mean(np.log(d_of_fake)), rel=1e-5)
    assert float(G.generator_loss(logits, "saturating")) == pytest.approx(np.mean(np.log(1 - d_of_fake)), rel=1e-5)
    assert float(G.generator_loss(np.zeros((3, 1)), "non_saturating")) == pytest.approx(math.log(2), rel=1e-6)
    assert float(G.generator_loss(np.zeros((3, 1)), "saturating")) == pytest.approx(-math.log(2), rel=1e-6)

    # the point of the non-saturating loss: where D(G(z)) ~ 0 (G is bad) its gradient is ~1, the other's ~0
    bad = tf.Variable(np.full((4, 1), math.log(0.01 / 0.99), "float32"))
    grads = {}
    for kind in G.GENERATOR_LOSSES:
        with tf.GradientTape() as tape:
            loss = G.generator_loss(bad, kind)
        grads[kind] = tape.gradient(loss, bad).numpy() * 4  # per example (the loss is a batch mean)
    np.testing.assert_allclose(grads["non_saturating"], -0.99, rtol=1e-4)  # -(1 - D)
    np.testing.assert_allclose(grads["saturating"], -0.01, rtol=1e-3)  # -D
    with pytest.raises(ValueError, match="minimax"):
        G.generator_loss(bad, "minimax")


# --- construction and bad input ---------------------------------------------------------------
def test_bad_networks_and_options_are_refused():
    g, d = make_networks()
    sigmoid_d = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="logits"):
        G.GAN(g, sigmoid_d, LATENT)
    two_outputs = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"\(B, 1\)"):
        G.GAN(g, two_outputs, LATENT)
    with pytest.raises(ValueError, match="latent"):
        G.GAN(g, d, LATENT + 1)
    with pytest.raises(ValueError, match="real_label"):
        G.GAN(g, d, LATENT, real_label=0.3)
    with pytest.raises(ValueError, match="d_steps"):
        G.GAN(g, d, LATENT, d_steps=0)
    with pytest.raises(ValueError, match="generator_loss"):
        G.GAN(g, d, LATENT, generator_loss="wasserstein")
    gan = G.GAN(g, d, LATENT)
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
    np.testing.assert_allclose(x, gan(z).numpy(), rtol=1e-6)
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
    loaded = make_gan(seed=7, dropout=0.2, d_warmup_steps=2)
    h_loaded = training.fit_or_load(loaded, data, run_name="gan-resume", epochs=4, **kwargs)
    assert h_loaded == h_resumed
    np.testing.assert_array_equal(loaded.generate(z), resumed.generate(z))
    assert same(weights(loaded.discriminator), weights(resumed.discriminator))
    for a, b in ((loaded.d_optimizer, resumed.d_optimizer), (loaded.g_optimizer, resumed.g_optimizer)):
        assert len(a.variables) > 2 and same(optimizer_state(a), optimizer_state(b))
    assert int(loaded.train_step_counter.numpy()) == 16


# --- callbacks and plots -----------------------------------------------------------------------
def test_gan_monitor_saves_grids_and_tensorboard(data, tmp_path):
    gan = make_gan()
    z = gan.sample_latent(6, seed=0)
    monitor = G.GANMonitor(z, tmp_path / "samples", every=2, log_dir=tmp_path / "tb", ncols=3)
    gan.fit(data, batch_size=8, epochs=3, verbose=0, callbacks=[monitor])
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_002.png", "epoch_003.png"]
    assert sorted(monitor.images) == [2, 3]
    np.testing.assert_allclose(monitor.last_images, gan.generate(z), rtol=1e-6)
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    with pytest.raises(ValueError, match="z_fixed"):
        G.GANMonitor(np.zeros(4), tmp_path)


def test_step_timer(data, tmp_path):
    gan = make_gan()
    timer = G.StepTimer(save_to=tmp_path / "t.json")
    gan.fit(data, batch_size=8, epochs=2, verbose=0, callbacks=[timer])
    assert len(timer.step_ms) == 8 and 0 < timer.ms_per_step < 5000
    assert G.StepTimer.load(tmp_path / "t.json") == pytest.approx(timer.ms_per_step)
    assert json.loads((tmp_path / "t.json").read_text())["steps"] == 8
    assert math.isnan(G.StepTimer.load(tmp_path / "missing.json"))


def test_tile_images():
    images = np.linspace(-1, 1, 5 * 2 * 3).reshape(5, 2, 3, 1)
    mosaic = G.tile_images(images, ncols=2, pad=1)
    assert mosaic.shape == (3 * 3 - 1, 2 * 4 - 1, 1)
    assert mosaic.min() == pytest.approx(0.0) and mosaic.max() == pytest.approx(1.0)
    np.testing.assert_allclose(mosaic[:2, :3, 0], (images[0, ..., 0] + 1) / 2, rtol=1e-5)


def test_plot_gan_history():
    history = {"d_loss": [1.4, 1.2, 1.0], "g_loss": [0.7, 0.9, 1.1], "d_acc_real": [0.5, 0.6, 0.7],
               "d_acc_fake": [0.4, 0.6, 0.8]}
    fig = G.plot_gan_history(history)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [[l.get_label() for l in ax.get_lines()] for ax in fig.axes]
    assert labels[0][:2] == ["d_loss", "g_loss"] and labels[1][:2] == ["d_acc_real", "d_acc_fake"]
    np.testing.assert_array_equal(fig.axes[1].get_lines()[1].get_ydata(), history["d_acc_fake"])
    with pytest.raises(KeyError, match="d_acc_fake"):
        G.plot_gan_history({k: v for k, v in history.items() if k != "d_acc_fake"})
