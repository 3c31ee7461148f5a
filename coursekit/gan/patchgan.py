"""The PatchGAN discriminator (pix2pix, CycleGAN) and its receptive field (lecture 08).

A PatchGAN does not output one real/fake logit per image but a **map** of logits ``(B, h, w, 1)``:
each one judges the patch of the input that it sees, its *receptive field*. The paper's default
(``n_layers=3``, 4x4 kernels, strides 2, 2, 2, 1, 1) sees 70x70 pixels: the "70x70 PatchGAN". The
losses average over the map, so the discriminator asks "is every patch realistic?", which
penalises high-frequency structure, while the L1 (pix2pix) or cycle (CycleGAN) loss takes care
of the low frequencies.

Layout (``f = filters``), every convolution 4x4, ``padding="same"``, LeakyReLU(0.2):

- ``Conv2D(f, s=2)`` (no normalisation on the input level);
- for ``n = 1 .. n_layers - 1``: ``Conv2D(f * min(2**n, 8), s=2) -> norm``;
- ``Conv2D(f * min(2**n_layers, 8), s=1) -> norm``;
- ``Conv2D(1, s=1)``: the logits (no sigmoid), named ``"<name>_logits"``.

The output map is ``ceil(H / 2**n_layers) x ceil(W / 2**n_layers)``.

Conditional (pix2pix): with ``condition_channels > 0`` the model takes **two inputs**,
``[condition (B, H, W, condition_channels), image (B, H, W, C)]``, and concatenates them along the
channels as its first layer, so the discriminator judges the pair ("is this B a real
translation of this A?"). Two named inputs make the order explicit in ``summary()`` and in the
trainer's ``discriminator([a, b])``.
"""

from __future__ import annotations

import keras

from coursekit.gan.unet import NORMS, check_image_shape, normalization


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def patchgan_discriminator(image_shape, condition_channels: int = 0, filters: int = 32, n_layers: int = 3,
                           norm: str = "batch", name: str = "patchgan") -> keras.Model:
    """A PatchGAN: images (and, if conditional, condition images) -> logit map ``(B, h, w, 1)``.

    Args:
        image_shape: ``(H, W, C)`` of the images judged.
        condition_channels: channels of the condition image (pix2pix: the input domain A, same
            ``H, W``); 0 = unconditional, one input (CycleGAN).
        filters: channels of the first layer (the paper: 64).
        n_layers: stride-2 layers (3 = the paper's 70x70 PatchGAN; 1 sees 16x16, 2 sees 34x34).
        norm: ``"batch"`` (pix2pix), ``"instance"`` (CycleGAN) or ``"none"``.
        name: model name; layers are prefixed with it.

    Returns:
        a functional ``keras.Model`` whose output is logits (``D = sigmoid(logit)`` for the
        cross-entropy; used raw by the least-squares loss).
    """
    height, width, channels = check_image_shape(image_shape)
    if isinstance(condition_channels, bool) or int(condition_channels) != condition_channels or condition_channels < 0:
        raise ValueError(f"condition_channels must be an integer >= 0 (0 = unconditional), got {condition_channels!r}")
    if isinstance(filters, bool) or int(filters) != filters or filters < 1:
        raise ValueError(f"filters must be a positive integer, got {filters!r}")
    if isinstance(n_layers, bool) or int(n_layers) != n_layers or n_layers < 1:
        raise ValueError(f"n_layers must be an integer >= 1 (3 = the paper's 70x70 PatchGAN), got {n_layers!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    image = keras.Input((height, width, channels), name=f"{name}_image")
    if condition_channels:
        condition = keras.Input((height, width, int(condition_channels)), name=f"{name}_condition")
        inputs = [condition, image]
        x = keras.layers.Concatenate(name=f"{name}_pair")([condition, image])
    else:
        inputs = image
        x = image
    x = keras.layers.Conv2D(int(filters), 4, strides=2, padding="same", kernel_initializer=_init(),
                            name=f"{name}_conv0")(x)
    x = keras.layers.LeakyReLU(0.2, name=f"{name}_conv0_lrelu")(x)
    for n in range(1, int(n_layers) + 1):
        stride = 2 if n < n_layers else 1
        x = keras.layers.Conv2D(int(filters) * min(2 ** n, 8), 4, strides=stride, padding="same",
                                use_bias=norm == "none", kernel_initializer=_init(), name=f"{name}_conv{n}")(x)
        x = normalization(norm, name=f"{name}_conv{n}_norm")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"{name}_conv{n}_lrelu")(x)
    logits = keras.layers.Conv2D(1, 4, strides=1, padding="same", kernel_initializer=_init(),
                                 name=f"{name}_logits")(x)
    return keras.Model(inputs, logits, name=name)


def _pair(value, what: str, layer) -> int:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(values)) != 1:
        raise ValueError(f"layer {layer.name!r} has a non-square {what} {values}; receptive_field handles square "
                         "kernels, strides and pools only")
    return int(values[0])


def _spatial_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _spatial_layers(layer)
        elif isinstance(layer, (keras.layers.Conv2DTranspose, keras.layers.UpSampling2D)):
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) enlarges the feature map; the receptive "
                             "field of an output pixel is defined for down-sampling networks such as a PatchGAN")
        elif isinstance(layer, keras.layers.Conv2D):
            dilation = _pair(layer.dilation_rate, "dilation", layer)
            kernel = dilation * (_pair(layer.kernel_size, "kernel", layer) - 1) + 1
            yield layer.name, kernel, _pair(layer.strides, "stride", layer)
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            yield layer.name, _pair(layer.pool_size, "pool size", layer), _pair(layer.strides, "stride", layer)


def receptive_field_table(model) -> list:
    """Per spatial layer, in order: ``{"layer", "kernel", "stride", "jump", "receptive_field"}``.

    The standard recursion over the chain of convolutions (and pools): start with ``r = 1``,
    ``jump = 1``; for each layer with kernel ``k`` (dilated: ``d (k - 1) + 1``) and stride ``s``:
    ``r = r + (k - 1) * jump`` then ``jump = jump * s``. ``receptive_field`` is the width in input
    pixels seen by one output position after that layer; ``jump`` the distance in input pixels
    between neighbouring positions of its output. Padding does not change the size of the field.
    The model's ``Conv2D``/pooling layers must form one chain (true of a PatchGAN).
    """
    rows, field, jump = [], 1, 1
    for name, kernel, stride in _spatial_layers(model):
        field += (kernel - 1) * jump
        jump *= stride
        rows.append({"layer": name, "kernel": kernel, "stride": stride, "jump": jump, "receptive_field": field})
    if not rows:
        raise ValueError(f"model {model.name!r} has no Conv2D or pooling layers, so no receptive field to compute")
    return rows


def receptive_field(model) -> int:
    """Receptive field in input pixels of one output position of ``model`` (70 for the paper's PatchGAN).

    Computed from the model's layers (see :func:`receptive_field_table`).
    """
    return receptive_field_table(model)[-1]["receptive_field"]
