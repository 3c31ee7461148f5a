"""CycleGAN: the loss terms with known values, the pool of past fakes, training, save/resume (lecture 08).

The networks of the loss tests are known affine maps (fixed 1x1 convolutions), so every term has
an exact value that a swapped argument, a wrong pair or a missing term changes.
"""

import collections

import keras
import numpy as np
import pytest
import tensorflow as tf

from _disconnect import Interrupt, InterruptAfter
from coursekit import training
from coursekit.gan.cyclegan import (TERMS, CycleGAN, ImagePool, cycle_loss, identity_loss, lsgan_discriminator_loss,
                                    lsgan_generator_loss, unpaired_dataset)
from coursekit.gan.patchgan import patchgan_discriminator
from coursekit.gan.unet import unet_generator

SHAPE = (4, 4, 1)
CALLS = collections.Counter()


class Count(keras.layers.Layer):
    """Identity layer that counts its (eager) calls."""

    def __init__(self, key, **kwargs):
        super().__init__(**kwargs)
        self.key = key

    def call(self, x):
        CALLS[self.key] += 1
        return x


def affine(scale, shift, key, shape=SHAPE):
    """``x -> scale * x + shift`` per pixel, as a keras.Model with one (fixed-valued, trainable) 1x1 conv."""
    inputs = keras.Input(shape)
    x = keras.layers.Conv2D(1, 1, kernel_initializer=keras.initializers.Constant(scale),
                            bias_initializer=keras.initializers.Constant(shift))(inputs)
    return keras.Model(inputs, Count(key)(x), name=key)


def known_cyclegan(**kwargs):
    # g_ab: 0.5 a + 0.1; g_ba: -b + 0.2; d_a: x; d_b: 2 x + 0.5
    return CycleGAN(affine(0.5, 0.1, "g_ab"), affine(-1.0, 0.2, "g_ba"), affine(1.0, 0.0, "d_a"),
                    affine(2.0, 0.5, "d_b"), **kwargs)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return (rng.uniform(-1, 1, (3, *SHAPE)).astype("float32"), rng.uniform(-1, 1, (3, *SHAPE)).astype("float32"))


def expected_terms(a, b):
    a, b = a.astype("float64"), b.astype("float64")
    g_ab, g_ba = (lambda x: 0.5 * x + 0.1), (lambda x: -x + 0.2)
    d_a, d_b = (lambda x: x), (lambda x: 2 * x + 0.5)
    return {
        "adv_ab": np.mean((d_b(g_ab(a)) - 1) ** 2),   # d_b judges fake_b
        "adv_ba": np.mean((d_a(g_ba(b)) - 1) ** 2),   # d_a judges fake_a
        "cycle_a": np.mean(np.abs(a - g_ba(g_ab(a)))),  # a against its own round trip
        "cycle_b": np.mean(np.abs(b - g_ab(g_ba(b)))),
        "identity_a": np.mean(np.abs(a - g_ba(a))),   # g_ba fed an image of A
        "identity_b": np.mean(np.abs(b - g_ab(b))),   # g_ab fed an image of B
    }


def values(losses):
    return {k: float(v) for k, v in losses.items()}


# --- the loss functions ------------------------------------------------------------------------

def test_lsgan_losses_known_values():
    assert float(lsgan_discriminator_loss([1.0, 1.0], [0.0, 0.0])) == 0.0
    assert float(lsgan_discriminator_loss([0.5, 0.5], [0.5, 0.5])) == pytest.approx(0.25)
    # real [0, 2]: mean (r - 1)^2 = 1; fake [1, 3]: mean f^2 = 5; halved: 3 (swapped arguments would give 2)
    assert float(lsgan_discriminator_loss([0.0, 2.0], [1.0, 3.0])) == pytest.approx(3.0)
    assert float(lsgan_discriminator_loss([1.0, 3.0], [0.0, 2.0])) == pytest.approx(2.0)
    assert float(lsgan_generator_loss([0.0, 3.0])) == pytest.approx(2.5)
    assert float(lsgan_generator_loss(np.ones((2, 4, 4, 1)))) == 0.0


def test_l1_losses_known_values_and_shape_check():
    real, other = np.array([[0.0, 1.0], [-1.0, 0.5]]), np.array([[0.5, 1.0], [1.0, 0.5]])
    assert float(cycle_loss(real, other)) == pytest.approx((0.5 + 0 + 2 + 0) / 4)
    assert float(identity_loss(real, other)) == pytest.approx(0.625)
    with pytest.raises(ValueError, match="same shape"):
        cycle_loss(np.zeros((2, 4, 4, 1)), np.zeros((2, 4, 4, 3)))


# --- the generators' terms -----------------------------------------------------------------------

def test_each_term_has_its_exact_value(batch):
    a, b = batch
    model = known_cyclegan()
    got = values(model.generator_losses(a, b))
    want = expected_terms(a, b)
    assert set(got) == set(TERMS) | {"g_loss"}
    for key in TERMS:
        assert got[key] == pytest.approx(want[key], rel=1e-5), key
    total = want["adv_ab"] + want["adv_ba"] + 10 * (want["cycle_a"] + want["cycle_b"]) \
        + 5 * (want["identity_a"] + want["identity_b"])
    assert got["g_loss"] == pytest.approx(total, rel=1e-5)


def test_swapped_cycle_or_identity_pairs_would_give_other_values(batch):
    """The known networks make every wrong pairing distinguishable from the right one."""
    a, b = batch
    got = values(known_cyclegan().generator_losses(a, b))
    a64, b64 = a.astype("float64"), b.astype("float64")
    fake_b, fake_a = 0.5 * a64 + 0.1, -b64 + 0.2
    wrong = {
        "cycle_a": [np.mean(np.abs(a64 - fake_b)),                 # a vs its translation
                    np.mean(np.abs(a64 - (0.5 * fake_a + 0.1))),   # a vs b's round trip
                    np.mean(np.abs(b64 - (-fake_b + 0.2)))],       # b vs a's round trip
        "identity_a": [np.mean(np.abs(a64 - fake_b)),              # g_ab instead of g_ba
                       np.mean(np.abs(b64 - (-b64 + 0.2)))],
        "identity_b": [np.mean(np.abs(b64 - fake_a))],
        "adv_ab": [np.mean((fake_b - 1) ** 2)],                    # judged by d_a instead of d_b
    }
    for key, alternatives in wrong.items():
        for value in alternatives:
            assert abs(got[key] - value) > 1e-3, key


def test_identity_terms_involve_no_discriminator(batch):
    a, b = batch
    model = known_cyclegan()
    CALLS.clear()
    base = values(model.generator_losses(a, b))
    assert CALLS["d_a"] == 1 and CALLS["d_b"] == 1  # the two adversarial terms only
    assert CALLS["g_ab"] == 3 and CALLS["g_ba"] == 3  # translation, round trip, identity
    for d in (model.d_a, model.d_b):
        d.layers[1].kernel.assign(d.layers[1].kernel * 3.0)
    changed = values(model.generator_losses(a, b))
    for key in ("cycle_a", "cycle_b", "identity_a", "identity_b"):
        assert changed[key] == base[key]
    assert changed["adv_ab"] != base["adv_ab"] and changed["adv_ba"] != base["adv_ba"]


@pytest.mark.parametrize("weights, absent, g_calls", [
    (dict(identity_weight=0.0), ("identity_a", "identity_b"), 2),
    (dict(cycle_weight=0), ("cycle_a", "cycle_b"), 2),
    (dict(cycle_weight=0.0, identity_weight=0.0), ("cycle_a", "cycle_b", "identity_a", "identity_b"), 1),
])
def test_zero_weight_removes_the_term_and_its_computation(batch, weights, absent, g_calls):
    a, b = batch
    model = known_cyclegan(**weights)
    want = expected_terms(a, b)
    CALLS.clear()
    got = values(model.generator_losses(a, b))
    assert CALLS["g_ab"] == g_calls and CALLS["g_ba"] == g_calls
    assert set(got) == (set(TERMS) - set(absent)) | {"g_loss"}
    assert set(model.metric_names()) == {"d_a_loss", "d_b_loss", "g_loss"} | set(TERMS) - set(absent)
    cycle_w, identity_w = weights.get("cycle_weight", 10.0), weights.get("identity_weight", 5.0)
    total = want["adv_ab"] + want["adv_ba"] + cycle_w * (want["cycle_a"] + want["cycle_b"]) \
        + identity_w * (want["identity_a"] + want["identity_b"])
    assert got["g_loss"] == pytest.approx(total, rel=1e-5)
    # the switched-off terms can still be measured, without entering the total
    everything = values(model.generator_losses(a, b, all_terms=True))
    for key in TERMS:
        assert everything[key] == pytest.approx(want[key], rel=1e-5)
    assert everything["g_loss"] == pytest.approx(total, rel=1e-5)


def test_one_train_step_is_plain_gradient_descent_on_each_networks_own_loss(batch):
    """With SGD, every network moves by -lr x the gradient of its loss: both generators on g_loss, each
    discriminator on its LSGAN loss for the fakes made before the generators' update (the pool, still
    filling, hands them back unchanged)."""
    a, b = batch
    model = known_cyclegan()
    lr = 0.1
    model.compile(*[keras.optimizers.SGD(lr) for _ in range(4)])
    nets = {key: getattr(model, key) for key in ("g_ab", "g_ba", "d_a", "d_b")}
    before = {key: [v.numpy().copy() for v in net.trainable_variables] for key, net in nets.items()}
    with tf.GradientTape(persistent=True) as tape:
        g_loss = model.generator_losses(a, b, training=True)["g_loss"]
        d = model.discriminator_losses(a, b, model.g_ba(b), model.g_ab(a), training=True)
    want = {key: tape.gradient(g_loss, nets[key].trainable_variables) for key in ("g_ab", "g_ba")}
    want["d_a"] = tape.gradient(d["d_a_loss"], nets["d_a"].trainable_variables)
    want["d_b"] = tape.gradient(d["d_b_loss"], nets["d_b"].trainable_variables)
    model.train_step((tf.constant(a), tf.constant(b)))
    for key, net in nets.items():
        for old, grad, var in zip(before[key], want[key], net.trainable_variables):
            np.testing.assert_allclose(var.numpy(), old - lr * grad.numpy(), rtol=1e-5, atol=1e-7, err_msg=key)
        assert not np.allclose(before[key][0], net.trainable_variables[0].numpy())


def test_bad_weights_networks_and_shapes_are_refused():
    for bad in (-1.0, float("nan"), float("inf"), "10", True):
        with pytest.raises(ValueError, match="cycle_weight"):
            known_cyclegan(cycle_weight=bad)
    with pytest.raises(ValueError, match="identity_weight"):
        known_cyclegan(identity_weight=-0.5)
    g = affine(1.0, 0.0, "g")
    with pytest.raises(ValueError, match="four different"):
        CycleGAN(g, g, affine(1.0, 0.0, "d_a"), affine(1.0, 0.0, "d_b"))
    # A has 1 channel, B has 3: the identity loss is impossible, the message says what to do
    rgb = (4, 4, 3)
    g_ab = keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(3, 1)])
    g_ba = keras.Sequential([keras.Input(rgb), keras.layers.Conv2D(1, 1)])
    d_a = keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(1, 1)])
    d_b = keras.Sequential([keras.Input(rgb), keras.layers.Conv2D(1, 1)])
    with pytest.raises(ValueError, match="identity_weight=0"):
        CycleGAN(g_ab, g_ba, d_a, d_b)
    model = CycleGAN(g_ab, g_ba, d_a, d_b, identity_weight=0)
    assert model.a_shape == SHAPE and model.b_shape == rgb
    sigmoid_d = keras.Sequential([keras.Input(rgb), keras.layers.Conv2D(1, 1, activation="sigmoid")])
    with pytest.raises(ValueError, match="sigmoid"):
        CycleGAN(g_ab, g_ba, d_a, sigmoid_d, identity_weight=0)


# --- the pool of past fakes ----------------------------------------------------------------------

def constant_images(values_):
    return np.asarray(values_, "float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")


def run_pool(pool, call, calls, batch_size, start=1.0):
    """Feed batches of uniquely valued fakes; check every call's invariants; return the fraction swapped."""
    next_value, swapped, full_draws = start, 0, 0
    for _ in range(calls):
        before = pool.images.numpy()[:int(pool.count.numpy()), 0, 0, 0].tolist()
        fakes = np.arange(next_value, next_value + batch_size, dtype="float32")
        next_value += batch_size
        out = np.asarray(call(constant_images(fakes)))
        assert out.shape == (batch_size, 2, 2, 1) and np.all(out == out[:, :1, :1, :])
        out = out[:, 0, 0, 0]
        count = int(pool.count.numpy())
        after = pool.images.numpy()[:count, 0, 0, 0].tolist()
        # nothing is lost or invented: every image is returned or kept in the pool (while filling: both)
        n_fill = max(0, min(batch_size, pool.pool_size - len(before)))
        assert sorted(before + fakes.tolist() + fakes[:n_fill].tolist()) == sorted(after + out.tolist())
        for i, (fake, got) in enumerate(zip(fakes, out)):
            filling = len(before) + i < pool.pool_size
            if filling:
                assert got == fake  # the first pool_size fakes are stored and returned
            else:
                full_draws += 1
                assert got == fake or got in before or got in fakes[:i]  # the new fake or a stored one
                swapped += got != fake
        assert count == min(len(before) + batch_size, pool.pool_size)
    return swapped / max(full_draws, 1)


@pytest.mark.parametrize("compiled", [False, True])
def test_pool_stores_the_first_fakes_then_swaps_half_of_the_time(compiled):
    pool = ImagePool(50, seed=3)
    pool.build((None, 2, 2, 1))
    call = tf.function(pool.__call__, jit_compile=True) if compiled else pool
    first = np.asarray(call(constant_images(np.arange(1, 17))))
    assert np.array_equal(first[:, 0, 0, 0], np.arange(1, 17)) and int(pool.count.numpy()) == 16
    fraction = run_pool(pool, call, calls=30, batch_size=16, start=17.0)
    assert 0.4 < fraction < 0.6  # 446 draws with p = 1/2
    small = ImagePool(3, seed=0)
    small.build((None, 2, 2, 1))
    run_pool(small, small, calls=6, batch_size=2)


def test_pool_of_size_zero_returns_the_fakes_and_bad_sizes_are_refused():
    pool = ImagePool(0)
    pool.build((None, 2, 2, 1))
    x = constant_images([1.0, 2.0])
    assert np.array_equal(np.asarray(pool(x)), x)
    for bad in (-1, 2.5, "50", True):
        with pytest.raises(ValueError, match="pool_size"):
            ImagePool(bad)


# --- training, saving, resuming --------------------------------------------------------------------

IMG = (8, 8, 1)


def small_cyclegan(seed, init_seed=None, **kwargs):
    keras.utils.set_random_seed(seed if init_seed is None else init_seed)
    nets = [unet_generator(IMG, filters=4, depth=2, norm="instance", name="g_ab"),
            unet_generator(IMG, filters=4, depth=2, norm="instance", name="g_ba"),
            patchgan_discriminator(IMG, filters=4, n_layers=1, norm="instance", name="d_a"),
            patchgan_discriminator(IMG, filters=4, n_layers=1, norm="instance", name="d_b")]
    keras.utils.set_random_seed(seed)  # Keras' global seed is one of the run's settings
    model = CycleGAN(*nets, pool_size=5, seed=seed, **kwargs)
    model.compile(*[keras.optimizers.Adam(1e-3, beta_1=0.5) for _ in range(4)])
    return model


def unpaired_data():
    rng = np.random.default_rng(1)
    a = np.tanh(rng.normal(0.2, 0.6, (16, *IMG))).astype("float32")
    b = np.tanh(rng.normal(-0.3, 0.4, (16, *IMG))).astype("float32")
    return tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(a).batch(8),
                                tf.data.Dataset.from_tensor_slices(b).batch(8)))


def state(model):
    return [v.numpy().copy() for v in model.weights] + [
        v.numpy().copy() for key in model.OPTIMIZERS for v in getattr(model, key).variables]


def test_fit_resume_and_load_restore_four_networks_four_optimizers_and_the_pools():
    data, kwargs = unpaired_data(), dict(epochs=2, verbose=0, shuffle=False)
    straight = small_cyclegan(0)
    h_straight = training.fit_or_load(straight, data, run_name="cyclegan-straight", **kwargs)
    assert set(h_straight) == {"d_a_loss", "d_b_loss", "g_loss", *TERMS}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in h_straight.values())
    for key in straight.OPTIMIZERS:
        assert int(getattr(straight, key).iterations.numpy()) == 4  # 2 batches x 2 epochs, each network once
    assert int(straight.pool_a.count.numpy()) == 5

    with pytest.raises(Interrupt):
        training.fit_or_load(small_cyclegan(0), data, run_name="cyclegan-resume", callbacks=[InterruptAfter(1)],
                             **kwargs)
    resumed = small_cyclegan(0)
    h_resumed = training.fit_or_load(resumed, data, run_name="cyclegan-resume", **kwargs)
    for key in h_straight:
        np.testing.assert_allclose(h_resumed[key], h_straight[key], rtol=1e-4, atol=1e-6)
    for x, y in zip(state(resumed), state(straight)):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)

    loaded = small_cyclegan(0, init_seed=7)  # other initial weights and pool state, same settings
    assert training.fit_or_load(loaded, data, run_name="cyclegan-resume", **kwargs) == h_resumed
    for x, y in zip(state(loaded), state(resumed)):
        np.testing.assert_array_equal(x, y)
    assert int(loaded.pool_b.count.numpy()) == 5
    assert len(loaded._random_states()) >= 2
    for x, y in zip(loaded._random_states(), resumed._random_states()):
        np.testing.assert_array_equal(x.numpy(), y.numpy())  # the pools draw the same coins next
    a = next(iter(data))[0].numpy()
    np.testing.assert_array_equal(loaded.translate_ab(a), resumed.translate_ab(a))


def test_unpaired_dataset_shuffles_each_domain_on_its_own_every_epoch():
    a = constant_images(np.arange(10))  # values 0..9
    b = constant_images(np.arange(100, 107))  # 7 images: 3 full batches of 2
    ds = unpaired_dataset(a, b, batch_size=2, seed=0)
    epochs = [[(x.numpy()[:, 0, 0, 0], y.numpy()[:, 0, 0, 0]) for x, y in ds] for _ in range(2)]
    for epoch in epochs:
        assert len(epoch) == 3 and all(len(x) == 2 and len(y) == 2 for x, y in epoch)  # full batches only
        a_seen = np.concatenate([x for x, _ in epoch])
        b_seen = np.concatenate([y for _, y in epoch])
        assert len(set(a_seen)) == 6 and set(a_seen) <= set(range(10))  # no repeats within an epoch
        assert len(set(b_seen)) == 6 and set(b_seen) <= set(range(100, 107))
    pairs = [{(float(u), float(v)) for x, y in epoch for u, v in zip(x, y)} for epoch in epochs]
    assert pairs[0] != pairs[1]  # new partners every epoch
    for bad in (0, 8, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            unpaired_dataset(a, b, batch_size=bad)
    with pytest.raises(ValueError, match="b must be"):
        unpaired_dataset(a, b[0], batch_size=2)


def test_fit_checks_the_data_and_translate_checks_its_input():
    model = small_cyclegan(0, identity_weight=0.0)
    a = np.zeros((4, *IMG), "float32") - 0.5
    with pytest.raises(ValueError, match="unpaired_dataset"):
        model.fit(a, a, verbose=0)  # two arrays would be a fixed pairing
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.fit(unpaired_dataset(a, np.full((4, *IMG), 0.5, "float32"), 2), verbose=0)
    with pytest.raises(ValueError, match="shape"):
        model.fit(unpaired_dataset(a, np.zeros((4, 8, 8, 3), "float32"), 2), verbose=0)
    with pytest.raises(ValueError, match=r"\(a, b\) tuples"):
        model.fit(tf.data.Dataset.from_tensor_slices(a).batch(2), verbose=0)
    with pytest.raises(ValueError, match="different optimizer objects"):
        opt = keras.optimizers.Adam()
        model.compile(opt, opt, keras.optimizers.Adam(), keras.optimizers.Adam())
    assert model.translate_ab(a, batch_size=3).shape == (4, *IMG)
    np.testing.assert_allclose(model.translate_ba(a, batch_size=3), model.translate_ba(a), atol=1e-6)
    with pytest.raises(ValueError, match="x\\[None\\]"):
        model.translate_ab(a[0])
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        model.translate_ab(a * 4)
