"""The U-Net generator (skips, depth, range, instance norm) and the PatchGAN (map of logits,
receptive field computed and checked against the gradient's footprint), lecture 08."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from coursekit.gan.patchgan import patchgan_discriminator, receptive_field, receptive_field_table
from coursekit.gan.unet import default_depth, normalization, unet_generator


@pytest.mark.parametrize("shape, depth", [((32, 32, 1), 5), ((32, 32, 3), 5), ((128, 128, 3), 7)])
def test_unet_shapes_default_depth_and_tanh_range(shape, depth):
    model = unet_generator(shape, filters=2)
    assert default_depth(*shape[:2]) == depth
    assert model.get_layer("unet_bottleneck").output.shape[1:3] == (1, 1)  # down to 1x1
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in model.layers) == depth - 1
    x = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype("float32")
    y = model(x * 1000.0, training=False).numpy()  # huge inputs saturate tanh, never leave [-1, 1]
    assert y.shape == (2, *shape) and np.all(np.abs(y) <= 1.0)


def test_unet_options_and_errors():
    assert default_depth(28, 28) == 2 and default_depth(48, 48) == 4 and default_depth(256, 256) == 8
    model = unet_generator((8, 8, 1), out_channels=3, filters=4, depth=2, dropout=0.5, norm="instance")
    assert model.output_shape == (None, 8, 8, 3)
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 1  # depth - 1 up blocks
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.GroupNormalization)]
    assert norms and all(layer.groups == layer.input.shape[-1] for layer in norms)  # one group per channel
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth = 16"):
        unet_generator((24, 24, 3), depth=4)
    with pytest.raises(ValueError, match="halved even once"):
        unet_generator((31, 31, 3))
    for kwargs, word in ((dict(norm="layer"), "norm"), (dict(depth=0), "depth"), (dict(filters=0), "filters"),
                         (dict(dropout=1.0), "dropout"), (dict(out_channels=0), "out_channels")):
        with pytest.raises(ValueError, match=word):
            unet_generator((8, 8, 1), **kwargs)
    with pytest.raises(ValueError, match="image_shape"):
        unet_generator((8, 8))


def test_skip_connections_carry_the_image_past_a_dead_bottleneck():
    x = np.random.default_rng(1).uniform(-1, 1, (2, 16, 16, 1)).astype("float32")
    for depth, survives in ((3, True), (1, False)):  # depth 1 has no skip: nothing gets past
        model = unet_generator((16, 16, 1), filters=4, depth=depth, norm="none")
        for v in model.get_layer("unet_bottleneck").weights:
            v.assign(tf.zeros_like(v))
        y = model(x, training=False).numpy()
        assert (not np.allclose(y[0], y[1], atol=1e-7)) == survives


def test_instance_norm_treats_each_image_alone_batch_norm_does_not():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    other = x.copy()
    other[1] *= 10.0  # change the second image only
    for norm, independent in (("instance", True), ("batch", False)):
        layer = normalization(norm)
        first = layer(x, training=True).numpy()[0]
        second = layer(other, training=True).numpy()[0]
        assert np.allclose(first, second, atol=1e-5) == independent
    inst = normalization("instance")(x, training=True).numpy()
    np.testing.assert_allclose(inst.mean(axis=(1, 2)), 0.0, atol=1e-5)  # each channel of each image centred
    with pytest.raises(ValueError, match="norm"):
        normalization("group")


def test_patchgan_outputs_a_map_of_logits_and_takes_the_condition():
    d = patchgan_discriminator((32, 32, 3), filters=4)
    assert d.output_shape == (None, 4, 4, 1) and d.layers[-1].activation is keras.activations.linear
    cond = patchgan_discriminator((32, 32, 3), condition_channels=1, filters=4, n_layers=2)
    assert len(cond.inputs) == 2 and cond.output_shape == (None, 8, 8, 1)
    rng = np.random.default_rng(3)
    a, b = rng.uniform(-1, 1, (2, 32, 32, 1)), rng.uniform(-1, 1, (2, 32, 32, 3))
    assert not np.allclose(cond([a, b]).numpy(), cond([a[::-1], b]).numpy())
    with pytest.raises(ValueError, match="n_layers"):
        patchgan_discriminator((32, 32, 3), n_layers=0)
    with pytest.raises(ValueError, match="condition_channels"):
        patchgan_discriminator((32, 32, 3), condition_channels=-1)


def test_receptive_field_of_the_papers_patchgan_is_70():
    d = patchgan_discriminator((256, 256, 3), condition_channels=3, filters=2)
    rows = receptive_field_table(d)
    assert [(r["kernel"], r["stride"]) for r in rows] == [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]
    assert [r["receptive_field"] for r in rows] == [4, 10, 22, 46, 70]
    assert receptive_field(d) == 70
    assert receptive_field(patchgan_discriminator((32, 32, 3), n_layers=1)) == 16
    assert receptive_field(patchgan_discriminator((32, 32, 3), n_layers=2)) == 34


def test_receptive_field_hand_computed_case_with_pool_and_dilation():
    model = keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(2, 3),                     # r = 3, jump 1
        keras.layers.Conv2D(2, 3, strides=2),          # r = 3 + 2 = 5, jump 2
        keras.layers.MaxPooling2D(2),                  # r = 5 + 1 * 2 = 7, jump 4
        keras.layers.Conv2D(1, 3, dilation_rate=2),    # kernel 5: r = 7 + 4 * 4 = 23
    ])
    assert [r["receptive_field"] for r in receptive_field_table(model)] == [3, 5, 7, 23]
    assert receptive_field(model) == 23
    with pytest.raises(ValueError, match="enlarges"):
        receptive_field(unet_generator((8, 8, 1), filters=2))
    with pytest.raises(ValueError, match="no Conv2D"):
        receptive_field(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]))


@pytest.mark.parametrize("n_layers", [1, 2])
def test_receptive_field_matches_the_footprint_of_the_gradient(n_layers):
    """The pixels that one output logit depends on span exactly the computed receptive field."""
    d = patchgan_discriminator((64, 64, 1), filters=2, n_layers=n_layers, norm="none")
    x = tf.constant(np.random.default_rng(4).normal(size=(1, 64, 64, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = d(x)
        centre = out[0, out.shape[1] // 2, out.shape[2] // 2, 0]
    grad = np.abs(tape.gradient(centre, x).numpy()[0, :, :, 0])
    rows, cols = np.nonzero(grad.sum(axis=1))[0], np.nonzero(grad.sum(axis=0))[0]
    assert rows.max() - rows.min() + 1 == receptive_field(d)
    assert cols.max() - cols.min() + 1 == receptive_field(d)
