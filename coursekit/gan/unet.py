"""The U-Net generator of pix2pix (Isola et al., 2017) and the normalisation layers of lecture 08.

An encoder halves the image ``depth`` times with stride-2 convolutions; a decoder doubles it back
with transposed convolutions; **skip connections** concatenate each encoder level's feature maps
to the decoder level of the same size. Low-level structure (edges, where things are) crosses the
network through the skips; the bottleneck only has to carry what needs the whole image.

Layout (``f = filters``, channel counts ``f * min(2**i, 8)`` at level ``i``, like the paper's
64-128-256-512-512...), every convolution 4x4:

- down ``i = 0``: ``Conv2D(s=2) -> LeakyReLU(0.2)`` (no normalisation on the input level);
- down ``0 < i < depth - 1``: ``Conv2D(s=2) -> norm -> LeakyReLU(0.2)``;
- bottleneck ``i = depth - 1``: ``Conv2D(s=2) -> ReLU``, named ``"<name>_bottleneck"``, no
  normalisation: at a 1x1 map, instance normalisation would output the constant ``beta`` for
  every image (and batch normalisation of a batch of one the same);
- up ``i = depth - 2 ... 0``: ``Conv2DTranspose(s=2) -> norm -> [Dropout] -> ReLU``, then
  concatenated with the down level ``i`` output; ``Dropout(dropout)`` in the three innermost up
  blocks only (where the paper puts its 0.5 dropout, its source of noise instead of ``z``);
- output: ``Conv2DTranspose(out_channels, s=2) -> tanh``: images in ``[-1, 1]``.

Weights start from ``N(0, 0.02)`` as in the paper.
"""

from __future__ import annotations

from typing import Optional

import keras

NORMS = ("batch", "instance", "none")
MAX_DEPTH = 8  # pix2pix's 256x256 U-Net halves 8 times, down to 1x1


def check_image_shape(image_shape, what: str = "image_shape") -> tuple:
    """``image_shape`` as a tuple ``(H, W, C)`` of positive ints, or a ``ValueError`` naming it."""
    try:
        shape = tuple(int(d) for d in image_shape)
        ok = len(shape) == 3 and all(d >= 1 for d in shape) and all(int(d) == d for d in image_shape)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{what} must be (height, width, channels) with positive integers, e.g. (32, 32, 3); "
                         f"got {image_shape!r}")
    return shape


def normalization(norm: str, name: Optional[str] = None) -> keras.layers.Layer:
    """A normalisation layer by name: ``"batch"``, ``"instance"`` or ``"none"`` (identity).

    ``"instance"`` is ``keras.layers.GroupNormalization(groups=-1)``: one group per channel, so each
    channel of each image is normalised over its own pixels: instance normalisation (Ulyanov et
    al., 2016), which CycleGAN uses. Keras 3 has no ``InstanceNormalization`` layer (it lived in
    ``tensorflow_addons``, which is discontinued and does not work with Keras 3); a group per
    channel is exactly the same computation. Unlike batch normalisation it keeps no running
    statistics, so training and inference behave the same and one image never depends on the
    others in its batch.

    ``"batch"``: ``BatchNormalization(momentum=0.9, epsilon=1e-5)`` (PyTorch's defaults, which the
    papers' code uses).
    """
    if norm == "batch":
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
    if norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    if norm == "none":
        return keras.layers.Identity(name=name)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def default_depth(height: int, width: int) -> int:
    """How many times both sides halve exactly (at most 8): down to 1x1 for power-of-two squares.

    ``32x32 -> 5`` (1x1), ``128x128 -> 7`` (1x1), ``256x256 -> 8`` (1x1), ``48x48 -> 4`` (3x3),
    ``28x28 -> 2`` (7x7).
    """
    depth = 0
    while depth < MAX_DEPTH and height % 2 ** (depth + 1) == 0 and width % 2 ** (depth + 1) == 0:
        depth += 1
    return depth


def unet_generator(image_shape, out_channels: Optional[int] = None, filters: int = 32, depth: Optional[int] = None,
                   norm: str = "batch", dropout: float = 0.0, name: str = "unet") -> keras.Model:
    """A pix2pix U-Net: images ``(B, H, W, C)`` -> images ``(B, H, W, out_channels)`` in ``[-1, 1]``.

    Args:
        image_shape: ``(H, W, C)`` of the input images; ``H`` and ``W`` divisible by ``2**depth``.
        out_channels: channels of the output (default ``C``); e.g. 1 -> 3 for sketch to colour.
        filters: channels of the first level (the paper: 64); level ``i`` has ``filters * min(2**i, 8)``.
        depth: number of stride-2 halvings (default :func:`default_depth`: as deep as the image
            allows, down to a 1x1 bottleneck for power-of-two sizes, at most 8).
        norm: ``"batch"`` (pix2pix), ``"instance"`` (CycleGAN) or ``"none"``; see :func:`normalization`.
        dropout: dropout rate in the three innermost decoder blocks (the paper: 0.5; 0 = none).
        name: model name; layers are prefixed with it.

    Returns:
        a functional ``keras.Model`` (weights created; ``model.summary()`` shows the skips).
    """
    height, width, channels = check_image_shape(image_shape)
    out_channels = channels if out_channels is None else out_channels
    if isinstance(out_channels, bool) or int(out_channels) != out_channels or out_channels < 1:
        raise ValueError(f"out_channels must be a positive integer (e.g. 3 for colour images), got {out_channels!r}")
    if isinstance(filters, bool) or int(filters) != filters or filters < 1:
        raise ValueError(f"filters must be a positive integer (channels of the first level), got {filters!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be a rate in [0, 1) (the paper: 0.5), got {dropout!r}")
    if depth is None:
        depth = default_depth(height, width)
        if depth == 0:
            raise ValueError(f"image_shape {height}x{width} cannot be halved even once; the U-Net needs even "
                             "sizes (pad or resize the images, e.g. to 32x32)")
    if isinstance(depth, bool) or int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be a positive integer (number of halvings), got {depth!r}")
    depth = int(depth)
    if height % 2 ** depth or width % 2 ** depth:
        raise ValueError(f"image_shape {height}x{width} is not divisible by 2**depth = {2 ** depth} "
                         f"(depth={depth}); use depth <= {default_depth(height, width)} or resize the images")

    def level_filters(i):
        return int(filters) * min(2 ** i, 8)

    inputs = keras.Input((height, width, channels), name=f"{name}_input")
    x = inputs
    skips = []
    for i in range(depth):
        bottleneck = i == depth - 1
        normed = 0 < i < depth - 1 and norm != "none"
        x = keras.layers.Conv2D(level_filters(i), 4, strides=2, padding="same", use_bias=not normed,
                                kernel_initializer=_init(),
                                name=f"{name}_bottleneck" if bottleneck else f"{name}_down{i}")(x)
        if normed:
            x = normalization(norm, name=f"{name}_down{i}_norm")(x)
        if bottleneck:
            x = keras.layers.ReLU(name=f"{name}_bottleneck_relu")(x)
        else:
            x = keras.layers.LeakyReLU(0.2, name=f"{name}_down{i}_lrelu")(x)
            skips.append(x)
    for i in reversed(range(depth - 1)):
        x = keras.layers.Conv2DTranspose(level_filters(i), 4, strides=2, padding="same", use_bias=norm == "none",
                                         kernel_initializer=_init(), name=f"{name}_up{i}")(x)
        x = normalization(norm, name=f"{name}_up{i}_norm")(x)
        if dropout > 0 and i >= depth - 4:
            x = keras.layers.Dropout(float(dropout), name=f"{name}_up{i}_dropout")(x)
        x = keras.layers.ReLU(name=f"{name}_up{i}_relu")(x)
        x = keras.layers.Concatenate(name=f"{name}_skip{i}")([x, skips[i]])
    x = keras.layers.Conv2DTranspose(int(out_channels), 4, strides=2, padding="same", kernel_initializer=_init(),
                                     name=f"{name}_output")(x)
    outputs = keras.layers.Activation("tanh", name=f"{name}_tanh")(x)
    return keras.Model(inputs, outputs, name=name)
