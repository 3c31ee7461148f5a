"""PixelCNN building blocks (lecture 04): masked convolutions, the network, its NLL, samplers.

An autoregressive image model reads the pixels in **raster order** (row by row, left to right)
and, inside a colour pixel, the channels in the order **R -> G -> B**. A masked convolution zeroes
the kernel taps that would let an output see the present or the future:

- type ``"A"`` (first layer): a pixel sees only the pixels before it; with colour groups, output
  group G also sees the R input of the same pixel and B sees R and G;
- type ``"B"`` (every later layer): like A, and each group also sees *its own* group at the
  same pixel (the features there already only depend on the allowed inputs).

Channels are split into ``color_groups`` contiguous blocks (R first): channel ``k`` of ``n``
belongs to group ``k * color_groups // n``. With ``color_groups=1`` (grey images) the rule
reduces to: type A excludes the centre tap, type B keeps it.

Contents:

- :func:`causal_mask`, :class:`MaskedConv2D`: the masks and a Keras 3 layer that applies them;
- :func:`build_pixelcnn`: a residual PixelCNN (optionally class-conditional) giving Bernoulli
  logits ``(B, H, W, C)`` for binary images or categorical logits ``(B, H, W, C, levels)``;
- :func:`categorical_nll` (and, for binary images, :func:`coursekit.likelihood.bernoulli_nll`): exact NLL
  per image in **nats**;
- :func:`dependency_map`: which input pixels/channels each output depends on (a gradient check);
- :func:`receptive_field`, :func:`sample`: pixel-by-pixel sampling, naive (``method="full"``: the
  whole image through the network for every pixel), windowed (``method="window"``: only the
  crop that can influence the current pixel) or cached (``method="cached"``, the default: every
  layer computed at the current position only, from cached activations, in one XLA-compiled
  loop; :func:`cached_sampler`). With the same ``seed`` all give the same samples.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import keras
import numpy as np
from keras import ops


MASK_TYPES = ("A", "B")


def channel_groups(n_channels: int, color_groups: int) -> np.ndarray:
    """The colour group (0 = R, 1 = G, 2 = B, ...) of each of ``n_channels`` channels, ``(n_channels,)`` int.

    Raises:
        ValueError: when ``n_channels`` is not a positive multiple of ``color_groups``.
    """
    if color_groups < 1:
        raise ValueError(f"color_groups must be >= 1, got {color_groups}")
    if n_channels < 1 or n_channels % color_groups:
        raise ValueError(
            f"{n_channels} channels cannot be split into {color_groups} colour groups; "
            f"use a multiple of {color_groups} filters"
        )
    return np.arange(n_channels) * color_groups // n_channels


def causal_mask(kernel_size, mask_type: str, in_channels: int = 1, out_channels: int = 1,
                color_groups: int = 1) -> np.ndarray:
    """The 0/1 mask of a masked convolution kernel, float32 ``(kh, kw, in_channels, out_channels)``.

    Taps in rows above the centre, and left of the centre in the centre row, are 1; taps right of
    the centre and in rows below are 0. At the centre tap, input group ``gi`` feeds output group
    ``go`` when ``gi < go`` (type ``"A"``) or ``gi <= go`` (type ``"B"``).

    Args:
        kernel_size: odd int or ``(kh, kw)`` pair of odd ints.
        mask_type: ``"A"`` or ``"B"``.
        in_channels, out_channels: channel counts, multiples of ``color_groups``.
        color_groups: 1 for grey images, 3 for RGB.
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if kh < 1 or kw < 1 or kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the centre tap is the current pixel), got {kernel_size}")
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be 'A' (first layer) or 'B' (later layers), got {mask_type!r}")
    gin = channel_groups(in_channels, color_groups)
    gout = channel_groups(out_channels, color_groups)
    mask = np.zeros((kh, kw, in_channels, out_channels), dtype="float32")
    ch, cw = kh // 2, kw // 2
    mask[:ch] = 1.0  # rows above the current one
    mask[ch, :cw] = 1.0  # left of the current pixel in the current row
    allowed = gin[:, None] < gout[None, :] if mask_type == "A" else gin[:, None] <= gout[None, :]
    mask[ch, cw] = allowed.astype("float32")
    return mask


@keras.saving.register_keras_serializable(package="coursekit")
class MaskedConv2D(keras.layers.Conv2D):
    """A ``Conv2D`` (stride 1, ``"same"`` padding) whose kernel is multiplied by a causal mask.

    Args:
        filters: output channels (a multiple of ``color_groups``).
        kernel_size: odd int or pair.
        mask_type: ``"A"`` (the first layer: the current pixel is hidden) or ``"B"`` (later layers).
        color_groups: 1 for grey images, 3 for RGB (channel order R, G, B in contiguous blocks).
        **kwargs: passed to ``Conv2D`` (``activation``, ``use_bias``, initialisers, ``name``...);
            ``strides``, ``padding`` and ``dilation_rate`` are fixed.

    Input ``(B, H, W, C_in)`` -> output ``(B, H, W, filters)``. The mask is applied inside
    ``convolution_op``, so the masked weights get zero gradient and never matter.
    """

    def __init__(self, filters: int, kernel_size, mask_type: str = "B", color_groups: int = 1, **kwargs):
        for fixed in ("strides", "padding", "dilation_rate", "data_format", "groups"):
            kwargs.pop(fixed, None)
        if mask_type not in MASK_TYPES:
            raise ValueError(f"mask_type must be 'A' (first layer) or 'B' (later layers), got {mask_type!r}")
        channel_groups(filters, color_groups)  # validates filters
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.mask_type = mask_type
        self.color_groups = int(color_groups)
        self.mask = None

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        try:
            channel_groups(in_channels, self.color_groups)
        except ValueError as err:
            raise ValueError(f"{self.name}: the input has {err}") from None
        super().build(input_shape)
        self.mask = ops.convert_to_tensor(
            causal_mask(self.kernel_size, self.mask_type, in_channels, self.filters, self.color_groups))

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * self.mask)

    def get_config(self):
        config = super().get_config()
        for fixed in ("strides", "padding", "dilation_rate", "data_format", "groups"):
            config.pop(fixed, None)
        config.update(mask_type=self.mask_type, color_groups=self.color_groups)
        return config


def _check_image_shape(image_shape) -> tuple:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (H, W, C), got {image_shape}")
    return shape


def build_pixelcnn(image_shape, *, levels: int = 2, filters: int = 64, residual_blocks: int = 5,
                   first_kernel: int = 7, kernel: int = 3, head_filters: Optional[int] = None,
                   num_classes: Optional[int] = None, name: str = "pixelcnn") -> keras.Model:
    """A residual PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks", fig. 5).

    Layout: masked ``first_kernel`` conv type A (``2h = filters`` channels), then
    ``residual_blocks`` blocks of [ReLU, 1x1 (h), ReLU, ``kernel`` x ``kernel`` type B (h), ReLU,
    1x1 (2h)] + skip, then ReLU, 1x1 (``head_filters``), ReLU, 1x1 to the logits. Every conv is a
    :class:`MaskedConv2D` with ``color_groups = C``, so a colour image is modelled R -> G -> B.

    Args:
        image_shape: ``(H, W, C)``; inputs are images in ``[0, 1]`` (binary images are {0, 1},
            ``levels`` > 2 means values ``k / (levels - 1)``).
        levels: 2 gives one Bernoulli logit per channel, output ``(B, H, W, C)``; more gives a
            ``levels``-way softmax per channel, output ``(B, H, W, C, levels)``.
        filters: ``2h``, the channels between blocks (a multiple of ``2 C``).
        residual_blocks: number of residual blocks.
        num_classes: when set, the model is class-conditional: its inputs are
            ``[images, labels]`` (labels ``(B,)`` int in ``[0, num_classes)``) and a one-hot label,
            projected by a dense layer, is added to the pre-activation of every layer.
    """
    h_, w_, c_ = _check_image_shape(image_shape)
    if levels < 2:
        raise ValueError(f"levels must be >= 2 (2 = binary pixels, 256 = 8-bit pixels), got {levels}")
    if filters % (2 * c_):
        raise ValueError(f"filters={filters} must be a multiple of 2*C = {2 * c_} (two halves, C colour groups)")
    head_filters = head_filters or filters
    groups = c_
    # Height and width stay open (None) so that the sampler can feed crops of the image.
    images = keras.Input((None, None, c_), name="images")
    inputs = [images]
    onehot = None
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)
        onehot = ops.one_hot(labels, int(num_classes))

    def conditioned(x, width, tag):
        if onehot is None:
            return x
        bias = keras.layers.Dense(width, use_bias=False, name=f"{tag}_label_bias")(onehot)
        return x + bias[:, None, None, :]

    def conv(x, width, size, mask_type, tag):
        y = MaskedConv2D(width, size, mask_type, color_groups=groups, name=tag)(x)
        return conditioned(y, width, tag)

    x = images * 2.0 - 1.0  # centre the inputs: [0, 1] -> [-1, 1]
    x = conv(x, filters, first_kernel, "A", "conv_A")
    half = filters // 2
    for b in range(residual_blocks):
        y = conv(ops.relu(x), half, 1, "B", f"block{b}_in")
        y = conv(ops.relu(y), half, kernel, "B", f"block{b}_conv_B")
        y = conv(ops.relu(y), filters, 1, "B", f"block{b}_out")
        x = x + y
    x = conv(ops.relu(x), head_filters, 1, "B", "head")
    out_per_channel = 1 if levels == 2 else levels
    logits = MaskedConv2D(c_ * out_per_channel, 1, "B", color_groups=groups, name="logits")(ops.relu(x))
    if levels > 2:
        logits = SplitChannels(c_, levels, name="per_channel_logits")(logits)  # R block first
    model = keras.Model(inputs if len(inputs) > 1 else images, logits, name=name)
    model.image_shape, model.levels, model.num_classes = (h_, w_, c_), int(levels), num_classes
    return model


@keras.saving.register_keras_serializable(package="coursekit")
class SplitChannels(keras.layers.Layer):
    """``(B, H, W, C * levels)`` -> ``(B, H, W, C, levels)``: one block of ``levels`` logits per channel."""

    def __init__(self, channels: int, levels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.levels = int(channels), int(levels)

    def call(self, x):
        s = ops.shape(x)
        return ops.reshape(x, (s[0], s[1], s[2], self.channels, self.levels))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:3]) + (self.channels, self.levels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "levels": self.levels}


def _check_shapes(a, b, what: str) -> None:
    """Compare two static shapes; an unknown dimension (None) matches anything."""
    ok = len(a) == len(b) and all(p is None or q is None or int(p) == int(q) for p, q in zip(a, b))
    if not ok:
        raise ValueError(f"{what}: x has shape {tuple(a)}, logits {tuple(b)} (without the levels axis)")


def to_levels(x, levels: int):
    """Images in ``[0, 1]`` -> integer levels ``0 .. levels - 1`` (int32, same shape)."""
    return ops.cast(ops.round(ops.convert_to_tensor(x, "float32") * (levels - 1)), "int32")


def categorical_nll(x, logits):
    """NLL in nats per image of images ``x`` in ``[0, 1]`` ``(B, H, W, C)`` under a per-channel softmax.

    Args:
        x: images whose values are ``k / (levels - 1)``; they are rounded to levels.
        logits: ``(B, H, W, C, levels)``.

    Returns:
        ``(B,)``: minus the log-probability of each image, summed over pixels and channels.
    """
    levels = int(logits.shape[-1])
    x = ops.convert_to_tensor(x, "float32")
    _check_shapes(x.shape, logits.shape[:-1], "logits must have x's shape + (levels,)")
    target = to_levels(x, levels)
    log_p = ops.log_softmax(logits, axis=-1)
    picked = ops.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]
    return -ops.sum(ops.reshape(picked, (ops.shape(picked)[0], -1)), axis=1)


def _model_spec(model):
    """(image_shape, levels, conditional) of a model made by :func:`build_pixelcnn`."""
    if not hasattr(model, "image_shape") or not hasattr(model, "levels"):
        raise ValueError(f"model {model.name!r} was not made by coursekit.pixelcnn.build_pixelcnn")
    return tuple(model.image_shape), int(model.levels), getattr(model, "num_classes", None) is not None


def _output_groups(model, logits):
    """Logits -> ``(B, H, W, C, K)`` with one group per image channel."""
    s = ops.shape(logits)
    return ops.reshape(logits, (s[0], s[1], s[2], int(model.image_shape[2]), -1))


def dependency_map(model, x=None, labels=None, seed: int = 0) -> np.ndarray:
    """How strongly each output depends on each input, by automatic differentiation.

    Returns ``D`` float64 ``(H, W, C, H, W, C)``: ``D[r, c, k, r2, c2, k2]`` =
    ``|d m / d x[r2, c2, k2]|`` where ``m`` is a fixed random positive mixture of the logits of
    output channel ``k`` at pixel ``(r, c)``. A causal model
    has ``D == 0`` exactly wherever ``(r2, c2, k2)`` comes at or after ``(r, c, k)`` in the order
    raster-then-R->G->B. ``x`` defaults to a random image (one image, ``(1, H, W, C)``).
    """
    import tensorflow as tf

    image_shape, _, conditional = _model_spec(model)
    if x is None:
        x = np.random.default_rng(seed).random((1,) + image_shape).astype("float32")
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape[0] != 1:
        raise ValueError(f"dependency_map takes one image (1, H, W, C), got {tuple(x.shape)}")
    with tf.GradientTape() as tape:
        tape.watch(x)
        if conditional:
            lab = tf.zeros((1,), tf.int32) if labels is None else tf.convert_to_tensor(labels, tf.int32)
            logits = model([x, lab], training=False)
        else:
            logits = model(x, training=False)
        grouped = _output_groups(model, logits)[0]  # (H, W, C, K)
        # One random mixture of the K logits of each output channel: a random projection is
        # non-zero wherever some logit depends on the input, and exactly zero where none does.
        weights = tf.constant(np.random.default_rng(seed + 1).uniform(0.5, 1.5, grouped.shape[-1]), tf.float32)
        mixed = tf.reduce_sum(grouped * weights, axis=-1)  # (H, W, C)
    jac = tape.jacobian(mixed, x)  # (H, W, C, 1, H, W, C)
    return np.abs(jac.numpy().astype("float64"))[:, :, :, 0]


def causal_order_mask(image_shape) -> np.ndarray:
    """Boolean ``(H, W, C, H, W, C)``: True where input ``(r2, c2, k2)`` is *allowed* to influence
    output ``(r, c, k)``, i.e. comes strictly before it in raster order, then channel order."""
    h, w, c = _check_image_shape(image_shape)
    order = np.arange(h * w * c).reshape(h, w, c)
    return order[:, :, :, None, None, None] > order[None, None, None, :, :, :]


def receptive_field(model) -> tuple:
    """``(rows_up, cols_side)``: how far up and sideways a pixel's output can see (an upper bound:
    the sum of the half kernel sizes over all masked convolutions)."""
    rows = cols = 0
    for layer in model.layers:
        if isinstance(layer, MaskedConv2D):
            rows += layer.kernel_size[0] // 2
            cols += layer.kernel_size[1] // 2
    return rows, cols


def _draw(logits_np, u, levels):
    """One draw per row of ``logits_np`` with the given uniforms (inverse CDF), float64 maths."""
    if levels == 2:
        p = 1.0 / (1.0 + np.exp(-logits_np.astype("float64")))
        return (u < p).astype("float32")
    z = logits_np.astype("float64")
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    cdf = np.cumsum(z / z.sum(axis=-1, keepdims=True), axis=-1)
    k = np.minimum((cdf < u[:, None]).sum(axis=-1), levels - 1)
    return (k / (levels - 1)).astype("float32")


SAMPLER_METHODS = ("full", "window", "cached")


def sample(model, n: Optional[int] = None, *, labels: Optional[Sequence[int]] = None, seed: int = 0,
           method: str = "cached", progress: bool = True, batch_size: int = 256) -> np.ndarray:
    """Draw images pixel by pixel (raster order, then R -> G -> B) from a PixelCNN.

    Args:
        model: a model made by :func:`build_pixelcnn`.
        n: number of images (unconditional model); for a conditional model ``len(labels)``.
        labels: ``(n,)`` class of each image (conditional models only).
        seed: seeds the uniform random numbers behind every draw (``np.random.default_rng(seed)
            .random((n, H, W, C))``, one per pixel and channel, used by inverse CDF); the same seed
            gives the same images whatever the ``method``.
        method: ``"full"`` runs the whole image through the network for every pixel and channel
            (the naive sampler: ``H * W * C`` full forward passes, each a Python loop turn);
            ``"window"`` runs only the crop of rows ``r - R .. r`` and columns ``c - R' .. c + R'``
            (clipped to the image) that can influence pixel ``(r, c)``, with
            ``(R, R') = receptive_field(model)``; rows below ``r`` are never needed because the
            masks never look down. ``"cached"`` (the default) keeps every layer's activations and
            computes, for each pixel and channel, only that one position of every layer, inside one
            compiled TensorFlow loop (see :func:`cached_sampler`). All three compute the same
            logits for each pixel (up to float32 rounding).
        progress: show a progress bar (one tick per row; ``"cached"`` runs in one call, no bar).
        batch_size: images per forward pass (``"full"`` and ``"window"``).

    Returns:
        ``(n, H, W, C)`` float32 images in ``[0, 1]`` (``k / (levels - 1)``).
    """
    import tensorflow as tf

    image_shape, levels, conditional = _model_spec(model)
    h, w, c = image_shape
    if method not in SAMPLER_METHODS:
        raise ValueError(f"method must be 'full' (naive), 'window' or 'cached' (fast), got {method!r}")
    if conditional:
        if labels is None:
            raise ValueError("this PixelCNN is class-conditional: pass labels=[...] (one class per image)")
        labels = np.asarray(labels, dtype="int32").reshape(-1)
        if n is not None and n != len(labels):
            raise ValueError(f"n={n} but {len(labels)} labels were given")
        n = len(labels)
    elif labels is not None:
        raise ValueError("labels were given but the model is unconditional")
    if n is None or n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}")
    uniforms = np.random.default_rng(seed).random((n, h, w, c))
    lab_all = np.zeros((n,), "int32") if labels is None else labels
    if method == "cached":
        return cached_sampler(model)(tf.constant(uniforms, tf.float64), tf.constant(lab_all)).numpy()
    x = np.zeros((n, h, w, c), dtype="float32")

    rows_up, cols_side = receptive_field(model)
    ww = w if method == "full" else min(w, 2 * cols_side + 1)

    # One trace for every crop size: height and width are left open in the signature.
    @tf.function(input_signature=[tf.TensorSpec((None, None, None, c), tf.float32), tf.TensorSpec((None,), tf.int32),
                                  tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.int32),
                                  tf.TensorSpec((), tf.int32)])
    def forward(crop, lab, row, col, channel):
        """The logits of one pixel and channel, (b, K), computed from ``crop``."""
        out = model([crop, lab], training=False) if conditional else model(crop, training=False)
        return _output_groups(model, out)[:, row, col, channel]

    bar = keras.utils.Progbar(h, unit_name="row", interval=2.0) if progress else None
    for r in range(h):
        # window: rows r - R .. r (nothing below row r can matter: the masks never look down)
        r0, r1 = (0, h) if method == "full" else (max(0, r - rows_up), r + 1)
        for col in range(w):
            c0 = min(max(0, col - cols_side), w - ww) if method == "window" else 0
            for k in range(c):
                for s in range(0, n, batch_size):
                    crop = x[s:s + batch_size, r0:r1, c0:c0 + ww]
                    logit = forward(tf.constant(crop), tf.constant(lab_all[s:s + batch_size]),
                                    tf.constant(r - r0), tf.constant(col - c0), tf.constant(k)).numpy()  # (b, K)
                    x[s:s + batch_size, r, col, k] = _draw(logit[:, 0] if levels == 2 else logit,
                                                           uniforms[s:s + batch_size, r, col, k], levels)
        if bar is not None:
            bar.update(r + 1)
    return x


def _draw_tf(logits, u, levels: int):
    """:func:`_draw` in TensorFlow: ``logits`` float32 ``(n, K)``, ``u`` float64 ``(n,)`` -> int32 level ``(n,)``."""
    import tensorflow as tf

    z = tf.cast(logits, tf.float64)
    if levels == 2:
        return tf.cast(u < 1.0 / (1.0 + tf.exp(-z[:, 0])), tf.int32)
    z = tf.exp(z - tf.reduce_max(z, axis=-1, keepdims=True))
    cdf = tf.cumsum(z / tf.reduce_sum(z, axis=-1, keepdims=True), axis=-1)
    k = tf.reduce_sum(tf.cast(cdf < u[:, None], tf.int32), axis=-1)
    return tf.minimum(k, levels - 1)


def _cached_layers(model) -> tuple:
    """``(names, blocks)``: the layer names of a :func:`build_pixelcnn` network in the order of its
    forward pass, and the ``(in, conv_B, out)`` names of each residual block."""
    present = {layer.name for layer in model.layers}
    blocks = []
    while f"block{len(blocks)}_in" in present:
        blocks.append(tuple(f"block{len(blocks)}_{part}" for part in ("in", "conv_B", "out")))
    names = ["conv_A"] + [name for block in blocks for name in block] + ["head", "logits"]
    missing = [name for name in names if name not in present]
    if missing:
        raise ValueError(f"model {model.name!r} lacks the layers {missing} of coursekit.pixelcnn.build_pixelcnn; "
                         f"use method='window' or 'full' for other architectures")
    return names, blocks


def cached_sampler(model, jit_compile: bool = True):
    """The compiled sampler behind ``sample(method="cached")``: ``f(uniforms, labels) -> images``.

    The naive sampler pays, for each of the ``H * W * C`` draws, a full forward pass over the
    whole image plus a Python loop turn, a call into TensorFlow and a copy of the logits back to
    numpy. Two changes remove almost all of it (the idea of Fast PixelCNN++, Ramachandran et
    al. 2017):

    - **activation caching**: when pixel ``p`` is drawn, the activations of every layer at every
      *earlier* position are final (masked layers never look forward). So the sampler keeps, for
      every masked convolution wider than ``1 x 1``, a zero-padded buffer of its input, and at
      step ``p`` computes each layer *at position p only*: the rows of the kernel down to the
      centre times the patch above and beside ``p`` (``1 x 1`` layers: one matrix product). That
      is ``1 / (H W)`` of a full pass per layer. The activations at ``p`` of the last channel's
      pass do not depend on that channel (nothing at ``p`` sees it), so they are the final ones
      left in the buffers.
    - **no host round trip**: the whole raster loop (a ``tf.while_loop`` over ``H * W * C``
      steps) is one ``tf.function``, compiled with XLA when ``jit_compile``; the random numbers
      go in once, the images come out once, the draw (inverse CDF in float64, like the naive
      sampler) happens inside the loop.

    Args:
        model: a model made by :func:`build_pixelcnn` (the layers are read by name; the current
            weights are read at each call, so the function stays valid while the model trains).
        jit_compile: compile the loop with XLA (on a 2-core CPU about 10x faster per step than
            without, for a compile of about a second on the first call per batch size).

    Returns:
        a ``tf.function`` taking ``uniforms`` float64 ``(n, H, W, C)`` in ``[0, 1)`` and ``labels``
        int32 ``(n,)`` (ignored by an unconditional model) and returning float32 images
        ``(n, H, W, C)`` with values ``k / (levels - 1)``. One function per model and setting is
        kept on the model, so only the first call per batch size pays for tracing and compiling.

    Raises:
        ValueError: when the model was not made by :func:`build_pixelcnn`.
    """
    import tensorflow as tf

    cache = model.__dict__.setdefault("_coursekit_cached_samplers", {})
    if jit_compile in cache:
        return cache[jit_compile]
    (h, w, c), levels, conditional = _model_spec(model)
    names, blocks = _cached_layers(model)
    layers = {name: model.get_layer(name) for name in names}
    out_per_channel = 1 if levels == 2 else levels
    pad = {name: (layers[name].kernel_size[0] // 2, layers[name].kernel_size[1] // 2) for name in names}
    # the layers that read a neighbourhood keep a buffer of their input; the first one's is the image
    spatial = ["conv_A"] + [conv for _, conv, _ in blocks if pad[conv] != (0, 0)]

    def weights(labels):
        """Per layer: ``y(inputs) = inputs @ kernel + bias [+ label bias]`` at one position."""
        onehot = tf.one_hot(labels, int(model.num_classes)) if conditional else None

        def layer_fn(name):
            layer = layers[name]
            kernel = tf.convert_to_tensor(layer.kernel) * tf.convert_to_tensor(layer.mask)
            kernel = tf.reshape(kernel[:pad[name][0] + 1], (-1, kernel.shape[-1]))  # rows below the centre: masked
            bias = tf.convert_to_tensor(layer.bias)
            label_bias = None
            if conditional and name != "logits":  # the network adds conv + bias, then the label bias
                label_bias = tf.matmul(onehot, tf.convert_to_tensor(model.get_layer(f"{name}_label_bias").kernel))

            def apply(inputs):
                y = tf.matmul(inputs, kernel) + bias
                return y if label_bias is None else y + label_bias
            return apply
        return {name: layer_fn(name) for name in names}

    def run(uniforms, labels):
        n = tf.shape(uniforms)[0]
        layer_at = weights(labels)
        # Zero-padded input buffers (rows above and the current row only; columns on both sides),
        # position-major (rows, columns, n, channels) so that writing one position is one slice.
        buffers = [tf.zeros(tf.stack([pad[s][0] + h, w + 2 * pad[s][1], n, layers[s].kernel.shape[2]]), tf.float32)
                   for s in spatial]
        u_all = tf.transpose(uniforms, (1, 2, 3, 0))  # (H, W, C, n)
        chosen = tf.zeros(tf.stack([h, w, c, n]), tf.int32)
        images = tf.range(n)

        def write(buffer, name, r, col, values):
            """The input of layer ``name`` at pixel (r, col) := values (n, channels)."""
            ph, pw = pad[name]
            return tf.tensor_scatter_nd_update(buffer, tf.stack([r + ph, col + pw])[None], values[None])

        def patch(buffer, name, r, col):
            """The input of layer ``name`` at rows r - ph .. r, columns col - pw .. col + pw: (n, -1)."""
            ph, pw = pad[name]
            block = tf.slice(buffer, tf.stack([r, col, 0, 0]), tf.stack([ph + 1, 2 * pw + 1, -1, -1]))
            return tf.reshape(tf.transpose(block, (2, 0, 1, 3)), (n, -1))

        def step(t, chosen, buffers):
            pixel, k = t // c, t % c
            r, col = pixel // w, pixel % w
            buffers = dict(zip(spatial, buffers))
            x = layer_at["conv_A"](patch(buffers["conv_A"], "conv_A", r, col))
            for name_in, name_conv, name_out in blocks:
                y = tf.nn.relu(layer_at[name_in](tf.nn.relu(x)))
                if name_conv in buffers:
                    buffers[name_conv] = write(buffers[name_conv], name_conv, r, col, y)
                    y = patch(buffers[name_conv], name_conv, r, col)
                y = layer_at[name_conv](y)
                x = x + layer_at[name_out](tf.nn.relu(y))
            logits = layer_at["logits"](tf.nn.relu(layer_at["head"](tf.nn.relu(x))))
            logits = tf.gather(tf.reshape(logits, (n, c, out_per_channel)), k, axis=1)  # (n, K) of channel k
            level = _draw_tf(logits, u_all[r, col, k], levels)
            chosen = tf.tensor_scatter_nd_update(chosen, tf.stack([r, col, k])[None], level[None])
            # what the network does to its input: the value k / (levels - 1) in float32, then 2 x - 1
            value = tf.cast(tf.cast(level, tf.float64) / (levels - 1), tf.float32) * 2.0 - 1.0
            ph, pw = pad["conv_A"]
            where = tf.stack([tf.fill([n], r + ph), tf.fill([n], col + pw), images, tf.fill([n], k)], axis=1)
            buffers["conv_A"] = tf.tensor_scatter_nd_update(buffers["conv_A"], where, value)
            return t + 1, chosen, [buffers[s] for s in spatial]

        _, chosen, _ = tf.while_loop(lambda t, *_: t < h * w * c, step, (tf.constant(0), chosen, buffers),
                                     parallel_iterations=1)
        return tf.cast(tf.cast(tf.transpose(chosen, (3, 0, 1, 2)), tf.float64) / (levels - 1), tf.float32)

    fn = tf.function(run, jit_compile=jit_compile, reduce_retracing=True, autograph=False,
                     input_signature=[tf.TensorSpec((None, h, w, c), tf.float64), tf.TensorSpec((None,), tf.int32)])
    cache[jit_compile] = fn
    return fn


def time_sampler(model, n: Optional[int] = None, **kwargs) -> tuple:
    """``(images, seconds)`` of one :func:`sample` call (for comparing the samplers)."""
    start = time.perf_counter()
    images = sample(model, n, **kwargs)
    return images, time.perf_counter() - start
