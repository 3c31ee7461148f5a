"""Masked convolutions, causality, NLLs and samplers of coursekit.pixelcnn (lecture 04)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from coursekit import pixelcnn
from coursekit.likelihood import bernoulli_log_likelihood, bernoulli_nll
from coursekit.pixelcnn import MaskedConv2D, causal_mask

# The 5x5 type-A mask of the lecture notes (seed 000, "masked convolutions").
LECTURE_MASK_A = np.array([
    [1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1],
    [1, 1, 0, 0, 0],
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
])


# ----------------------------------------------------------------------------- masks
def test_type_a_mask_is_the_lecture_mask():
    m = causal_mask(5, "A")
    assert m.shape == (5, 5, 1, 1) and m.dtype == np.float32
    assert np.array_equal(m[:, :, 0, 0], LECTURE_MASK_A)


def test_type_b_adds_only_the_centre():
    diff = causal_mask(5, "B")[:, :, 0, 0] - causal_mask(5, "A")[:, :, 0, 0]
    expected = np.zeros((5, 5))
    expected[2, 2] = 1
    assert np.array_equal(diff, expected)
    assert np.array_equal(causal_mask(1, "B")[..., 0, 0], [[1]])
    assert np.array_equal(causal_mask(1, "A")[..., 0, 0], [[0]])


def test_rectangular_kernel_mask():
    m = causal_mask((3, 5), "A")[:, :, 0, 0]
    assert np.array_equal(m, [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]])


def test_colour_group_centre_tap():
    a = causal_mask(3, "A", 3, 3, color_groups=3)
    b = causal_mask(3, "B", 3, 3, color_groups=3)
    # [input group, output group]: A lets G see R, B see R and G; B also lets each group see itself.
    assert np.array_equal(a[1, 1], [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    assert np.array_equal(b[1, 1], [[1, 1, 1], [0, 1, 1], [0, 0, 1]])
    # off-centre taps connect every channel to every channel (the past is fully visible)
    assert a[0].all() and a[1, 0].all() and not a[2].any() and not a[1, 2].any()
    # hidden layers: channels are split into contiguous groups R..R G..G B..B
    h = causal_mask(1, "B", 6, 9, color_groups=3)[0, 0]
    assert np.array_equal(pixelcnn.channel_groups(9, 3), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert np.array_equal(h, np.repeat(np.repeat(b[1, 1], 2, axis=0), 3, axis=1))


@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel_size=4, mask_type="A"), "odd"),
    (dict(kernel_size=3, mask_type="C"), "'A'"),
    (dict(kernel_size=3, mask_type="A", in_channels=4, out_channels=3, color_groups=3), "multiple of 3"),
])
def test_mask_errors_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        causal_mask(**kwargs)


def test_layer_applies_the_mask_and_serialises():
    layer = MaskedConv2D(4, 5, "A", name="m")
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype("float32")
    y = layer(x)
    assert tuple(y.shape) == (2, 6, 6, 4)
    # the masked kernel gives the same output as a plain convolution with the masked weights
    ref = tf.nn.conv2d(x, layer.kernel * causal_mask(5, "A", 1, 4), 1, "SAME") + layer.bias
    np.testing.assert_allclose(y, ref, atol=1e-6)
    # gradients of masked taps are exactly zero
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grad = tape.gradient(loss, layer.kernel).numpy()
    assert np.all(grad[causal_mask(5, "A", 1, 4) == 0] == 0) and np.any(grad != 0)
    clone = MaskedConv2D.from_config(layer.get_config())
    assert clone.mask_type == "A" and clone.kernel_size == (5, 5) and clone.padding == "same"


def test_layer_rejects_channels_that_do_not_split_into_groups():
    with pytest.raises(ValueError, match="multiple of 3"):
        MaskedConv2D(4, 3, "B", color_groups=3)
    with pytest.raises(ValueError, match="input has"):
        MaskedConv2D(6, 3, "B", color_groups=3)(np.zeros((1, 5, 5, 4), "float32"))


# ----------------------------------------------------------------------------- causality
def _stack(first_type, size=7, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1)),
        MaskedConv2D(16, 5, first_type, activation="relu"),
        MaskedConv2D(16, 3, "B", activation="relu"),
        MaskedConv2D(16, 3, "B", activation="relu"),
        MaskedConv2D(16, 3, "B", activation="relu"),
        MaskedConv2D(1, 1, "B"),
    ])


def _raster_gradients(model, size=7, n_inputs=3):
    """G[i, r, c] = max over random inputs of |d out(pixel i) / d in(r, c)|, with tf.GradientTape."""
    rng = np.random.default_rng(0)
    grads = np.zeros((size * size, size, size))
    for _ in range(n_inputs):
        x = tf.constant(rng.random((1, size, size, 1)), tf.float32)
        for i in range(size * size):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = model(x)[0, i // size, i % size, 0]
            grads[i] = np.maximum(grads[i], np.abs(tape.gradient(y, x).numpy()[0, :, :, 0]))
    return grads


def _at_or_after(size=7):
    order = np.arange(size * size).reshape(size, size)
    return order[None] >= np.arange(size * size)[:, None, None]


def test_stack_a_then_b_is_causal_over_all_positions():
    grads = _raster_gradients(_stack("A"))
    future = _at_or_after()
    assert np.all(grads[future] == 0.0), "an output depends on its own or a later input pixel"
    # ... and it is not trivially causal: every pixel but the first depends on earlier ones,
    # in particular on its left neighbour and on the pixel above
    earlier = grads * ~future
    assert np.all(earlier[1:].max(axis=(1, 2)) > 0)
    for i in range(1, 49):
        r, c = divmod(i, 7)
        if c > 0:
            assert grads[i, r, c - 1] > 0
        if r > 0:
            assert grads[i, r - 1, c] > 0


def test_causality_check_detects_a_wrong_mask():
    grads = _raster_gradients(_stack("B"), n_inputs=1)
    own = grads[np.arange(49), np.arange(49) // 7, np.arange(49) % 7]
    assert np.all(own > 0), "with a type-B first layer every output sees its own pixel"
    assert not np.all(grads[_at_or_after()] == 0.0)


def test_stack_of_b_layers_sees_the_current_pixel_but_not_later_ones():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5, 5, 1)), MaskedConv2D(8, 3, "B", activation="relu"),
                              MaskedConv2D(1, 3, "B")])
    grads = _raster_gradients(model, size=5)
    order = np.arange(25).reshape(5, 5)
    after = order[None] > np.arange(25)[:, None, None]
    assert np.all(grads[after] == 0.0)
    assert np.all(grads[np.arange(25), np.arange(25) // 5, np.arange(25) % 5] > 0)


def test_residual_pixelcnn_is_causal_and_uses_the_past():
    keras.utils.set_random_seed(0)
    net = pixelcnn.build_pixelcnn((7, 7, 1), filters=16, residual_blocks=3, first_kernel=5)
    dep = np.max([pixelcnn.dependency_map(net, seed=s) for s in range(3)], axis=0)
    allowed = pixelcnn.causal_order_mask((7, 7, 1))
    assert np.all(dep[~allowed] == 0.0)
    past = np.where(allowed, dep, 0.0).reshape(49, -1).max(axis=1)
    assert past[0] == 0 and np.all(past[1:] > 0)


def test_colour_pixelcnn_respects_raster_and_channel_order():
    keras.utils.set_random_seed(0)
    net = pixelcnn.build_pixelcnn((5, 5, 3), levels=256, filters=24, residual_blocks=2, first_kernel=3)
    dep = np.max([pixelcnn.dependency_map(net, seed=s) for s in range(3)], axis=0)
    allowed = pixelcnn.causal_order_mask((5, 5, 3))
    assert np.all(dep[~allowed] == 0.0), "a channel sees itself, a later channel or a later pixel"
    for r, c in [(0, 0), (2, 2), (4, 4)]:
        within = dep[r, c, :, r, c, :] > 0  # [output channel, input channel] at the same pixel
        assert np.array_equal(within, [[0, 0, 0], [1, 0, 0], [1, 1, 0]]), within


def test_conditional_pixelcnn_is_causal_and_uses_the_label():
    keras.utils.set_random_seed(0)
    net = pixelcnn.build_pixelcnn((6, 6, 1), filters=16, residual_blocks=2, first_kernel=3, num_classes=4)
    for layer in net.layers:  # make the label matter (zero-initialised layers would hide a bug)
        if layer.name.endswith("label_bias"):
            layer.set_weights([np.random.default_rng(0).normal(size=w.shape) for w in layer.get_weights()])
    dep = pixelcnn.dependency_map(net, labels=[2])
    assert np.all(dep[~pixelcnn.causal_order_mask((6, 6, 1))] == 0.0)
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype("float32")
    a, b = net([x, np.array([0, 0])]), net([x, np.array([3, 3])])
    assert not np.allclose(a, b)


# ----------------------------------------------------------------------------- NLLs
def test_bernoulli_nll_of_a_binary_image_matches_the_numpy_log_likelihood():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 4, 1)).astype("float32") * 5
    x = (rng.random((3, 4, 4, 1)) < 0.5).astype("float32")
    nll = np.asarray(bernoulli_nll(x, tf.constant(logits)))
    np.testing.assert_allclose(nll, -bernoulli_log_likelihood(x, logits), rtol=1e-5)
    assert np.allclose(bernoulli_nll(x, tf.zeros_like(logits)), 16 * math.log(2))


def test_categorical_nll_matches_numpy_and_the_uniform_case():
    rng = np.random.default_rng(1)
    levels = 256
    k = rng.integers(0, levels, size=(2, 3, 3, 3))
    x = (k / (levels - 1)).astype("float32")
    logits = rng.normal(size=(2, 3, 3, 3, levels)).astype("float32")
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_p, k[..., None], -1).reshape(2, -1).sum(1)
    np.testing.assert_allclose(pixelcnn.categorical_nll(x, tf.constant(logits)), expected, rtol=1e-5)
    uniform = pixelcnn.categorical_nll(x, tf.zeros((2, 3, 3, 3, levels)))
    np.testing.assert_allclose(uniform, 27 * math.log(levels), rtol=1e-5)  # = 8 bits per dimension; float32 sum


def test_nll_shape_errors():
    with pytest.raises(ValueError, match="shape"):
        bernoulli_nll(np.zeros((2, 4, 4, 1)), tf.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match="levels"):
        pixelcnn.categorical_nll(np.zeros((2, 4, 4, 3)), tf.zeros((2, 4, 4, 1, 256)))


def test_build_pixelcnn_shapes_and_errors():
    net = pixelcnn.build_pixelcnn((8, 8, 3), levels=256, filters=12, residual_blocks=1)
    assert tuple(net(np.zeros((2, 8, 8, 3), "float32")).shape) == (2, 8, 8, 3, 256)
    assert pixelcnn.receptive_field(net) == (3 + 1, 3 + 1)  # 7x7 type A + one 3x3 type B
    with pytest.raises(ValueError, match="multiple of 2\\*C"):
        pixelcnn.build_pixelcnn((8, 8, 3), filters=16)
    with pytest.raises(ValueError, match="levels"):
        pixelcnn.build_pixelcnn((8, 8, 1), levels=1)


# ----------------------------------------------------------------------------- samplers
def _random_net(shape, levels, num_classes=None, seed=0):
    keras.utils.set_random_seed(seed)
    return pixelcnn.build_pixelcnn(shape, levels=levels, filters=2 * shape[-1] * 4, residual_blocks=2,
                                   first_kernel=3, num_classes=num_classes)


def _first_difference_is_a_tie(net, a, b, labels, seed, atol=1e-4):
    """Where two samplers' images differ, is the first differing draw of each image a near-tie?

    Both samplers compute the same logits up to float32 rounding (different summation orders), so
    a draw whose uniform lies within rounding of a CDF boundary may legitimately come out
    differently, and then every later pixel of that image differs too. Before the first
    difference both images are identical, so the full network applied to ``a`` gives the exact
    conditional of that draw (causality): it must put the uniform within ``atol`` of a boundary.
    """
    (h, w, c), levels = net.image_shape, net.levels
    u = np.random.default_rng(seed).random(a.shape)
    inputs = a if labels is None else [a, np.asarray(labels, "int32")]
    logits = net(inputs).numpy().astype("float64").reshape(a.shape + (-1,))
    for i in np.flatnonzero((a != b).reshape(len(a), -1).any(axis=1)):
        first = np.flatnonzero((a[i] != b[i]).reshape(-1))[0]
        r, col, k = np.unravel_index(first, (h, w, c))
        z = logits[i, r, col, k]
        if levels == 2:
            boundaries = 1.0 / (1.0 + np.exp(-z))
        else:
            p = np.exp(z - z.max())
            boundaries = np.cumsum(p / p.sum())
        if np.abs(boundaries - u[i, r, col, k]).min() > atol:
            return False
    return True


def _assert_same_samples(net, reference, other, labels, seed):
    """``other`` equals ``reference`` exactly, except after a draw that float32 rounding can flip."""
    assert other.shape == reference.shape and other.dtype == reference.dtype
    assert np.array_equal(reference, other) or _first_difference_is_a_tie(net, reference, other, labels, seed), \
        "the samplers drew different images from the same random numbers"


@pytest.mark.parametrize("shape, levels, num_classes", [
    ((9, 10, 1), 2, None),  # binary, window smaller than the image in both directions
    ((6, 6, 3), 256, None),  # colour, 256-way softmax
    ((8, 8, 1), 2, 3),  # class-conditional
])
def test_window_sampler_draws_exactly_the_naive_samples(shape, levels, num_classes):
    net = _random_net(shape, levels, num_classes)
    rows, cols = pixelcnn.receptive_field(net)
    assert rows + 1 < shape[0] or 2 * cols + 1 < shape[1] or shape[-1] == 3
    labels = None if num_classes is None else [0, 1, 2]
    n = None if labels else 3
    full = pixelcnn.sample(net, n, labels=labels, seed=5, method="full", progress=False)
    fast = pixelcnn.sample(net, n, labels=labels, seed=5, method="window", progress=False)
    assert full.shape == (3,) + shape and full.dtype == np.float32
    _assert_same_samples(net, full, fast, labels, seed=5)
    assert 0.0 <= full.min() and full.max() <= 1.0
    values = np.unique(np.round(full * (levels - 1)))
    assert len(values) > 1 and np.allclose(values, np.round(values))
    other = pixelcnn.sample(net, n, labels=labels, seed=6, method="window", progress=False)
    assert not np.array_equal(fast, other), "another seed must give other samples"


def _label_sensitive(net):
    """Give the zero-initialised label layers random weights, so that a label bug shows."""
    for layer in net.layers:
        if layer.name.endswith("label_bias"):
            layer.set_weights([np.random.default_rng(1).normal(size=w.shape) for w in layer.get_weights()])
    return net


@pytest.mark.parametrize("jit_compile", [True, False])
@pytest.mark.parametrize("shape, levels, num_classes, kernel", [
    ((9, 10, 1), 2, None, 3),  # binary digits
    ((6, 5, 3), 256, None, 3),  # colour, R -> G -> B, 256-way softmax
    ((8, 7, 1), 2, 3, 3),  # class-conditional binary
    ((5, 6, 3), 256, 4, 3),  # class-conditional colour
    ((6, 6, 1), 2, None, 1),  # 1x1 block convolutions: only the first layer reads a neighbourhood
])
def test_cached_sampler_draws_exactly_the_naive_samples(shape, levels, num_classes, kernel, jit_compile):
    keras.utils.set_random_seed(0)
    net = pixelcnn.build_pixelcnn(shape, levels=levels, filters=2 * shape[-1] * 4, residual_blocks=2, kernel=kernel,
                                  first_kernel=3, num_classes=num_classes)
    if num_classes:
        _label_sensitive(net)
    labels = None if num_classes is None else [0, num_classes - 1, 1]
    n = None if labels else 3
    full = pixelcnn.sample(net, n, labels=labels, seed=5, method="full", progress=False)
    images = pixelcnn.cached_sampler(net, jit_compile=jit_compile)(
        tf.constant(np.random.default_rng(5).random((3,) + shape)), tf.constant(labels or [0, 0, 0], tf.int32))
    _assert_same_samples(net, full, images.numpy(), labels, seed=5)
    assert len(np.unique(full)) > 1
    cached = pixelcnn.sample(net, n, labels=labels, seed=5, method="cached", progress=False)
    _assert_same_samples(net, full, cached, labels, seed=5)
    assert not np.array_equal(cached, pixelcnn.sample(net, n, labels=labels, seed=6, progress=False))


def test_cached_sampler_uses_the_label_and_is_reused():
    net = _label_sensitive(_random_net((6, 6, 1), 2, num_classes=3))
    a = pixelcnn.sample(net, labels=[0, 0, 0, 0], seed=1)
    b = pixelcnn.sample(net, labels=[2, 2, 2, 2], seed=1)
    assert not np.array_equal(a, b), "the label must change what is drawn"
    assert pixelcnn.cached_sampler(net) is pixelcnn.cached_sampler(net), "one compiled sampler per model"
    assert pixelcnn.cached_sampler(net, jit_compile=False) is not pixelcnn.cached_sampler(net)


def test_window_logits_equal_full_image_logits():
    net = _random_net((12, 12, 1), 2)
    rows, cols = pixelcnn.receptive_field(net)
    x = (np.random.default_rng(0).random((2, 12, 12, 1)) < 0.5).astype("float32")
    full = net(x).numpy()
    r, c = 11, 6
    r0, c0 = r - rows, c - cols
    crop = net(x[:, r0:r + 1, c0:c + cols + 1]).numpy()
    np.testing.assert_allclose(crop[:, r - r0, c - c0], full[:, r, c], atol=1e-5)
    # a crop one row too short changes the logits: the receptive field is not overestimated by much
    too_small = net(x[:, r0 + 1:r + 1, c0:c + cols + 1]).numpy()
    assert not np.allclose(too_small[:, r - r0 - 1, c - c0], full[:, r, c], atol=1e-5)


@pytest.mark.parametrize("method", pixelcnn.SAMPLER_METHODS)
def test_sampler_follows_the_model(method):
    """A model whose logits are huge and positive draws all ones, huge negative all zeros; the
    cached sampler reads the weights at each call (it is compiled once, the model changes)."""
    net = _random_net((4, 4, 1), 2)
    last = net.get_layer("logits")
    w, b = last.get_weights()
    last.set_weights([np.zeros_like(w), np.full_like(b, 30.0)])
    assert pixelcnn.sample(net, 2, method=method, progress=False).min() == 1.0
    last.set_weights([np.zeros_like(w), np.full_like(b, -30.0)])
    assert pixelcnn.sample(net, 2, method=method, progress=False).max() == 0.0


def test_sample_errors():
    net = _random_net((4, 4, 1), 2, num_classes=3)
    with pytest.raises(ValueError, match="labels"):
        pixelcnn.sample(net, 2, progress=False)
    with pytest.raises(ValueError, match="method"):
        pixelcnn.sample(net, labels=[0], method="fast", progress=False)
    with pytest.raises(ValueError, match="build_pixelcnn"):
        pixelcnn.sample(keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Dense(1)]), 1)
    other = keras.Sequential([keras.Input((4, 4, 1)), MaskedConv2D(2, 3, "A", name="conv_A")])
    other.image_shape, other.levels, other.num_classes = (4, 4, 1), 2, None
    with pytest.raises(ValueError, match="lacks the layers .*'window'"):
        pixelcnn.sample(other, 1, method="cached")
