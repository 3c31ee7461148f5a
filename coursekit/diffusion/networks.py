"""Noise-prediction networks ``eps_theta(x_t, t [, y])`` of lecture 11.

- :class:`SinusoidalEmbedding`: the step ``t`` as Transformer-style features (Vaswani et al. 2017;
  Ho et al. 2020), ``[sin(t w_k), cos(t w_k)]`` with frequencies ``w_k`` from 1 down to ``1/10000``;
- :func:`build_eps_mlp`: for 2-D points (the ring and grid mixtures of lecture 09);
- :func:`build_eps_unet`: for images: a small U-Net (residual blocks with group normalisation and
  SiLU, average-pool down and nearest up, skips concatenated) as in the DDPM paper, without
  attention at MNIST's size. The embedding enters every block as a per-channel scale and shift
  after the second group normalisation (``h * (1 + scale) + shift``, Dhariwal & Nichol's
  "adaptive group normalisation"; the scale starts at 0).

Both take ``[x, t]`` or, with ``num_classes``, ``[x, t, y]`` (``y`` int in ``0 .. num_classes``, the
extra label ``num_classes`` meaning "no condition", for classifier-free guidance), and return a
prediction of the shape of ``x``. The label has its own learned embedding, of unit scale like the
sinusoidal features, **concatenated** to the step's before the embedding MLP. (Added to them with
Keras' default initialisation, uniform in +-0.05, the label started 20 times weaker than the step;
in lecture 11's cpu run the trained network then changed its prediction by only 1 % of its size
between a label and "none", and guidance had no measurable effect.) The output layer starts at
zero, so an untrained network predicts ``eps = 0``.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import keras
from keras import layers, ops

from coursekit.gan.unet import check_image_shape


@keras.saving.register_keras_serializable(package="coursekit")
class SinusoidalEmbedding(layers.Layer):
    """``(B,)`` int steps -> ``(B, dim)`` features ``[sin(t w_k), cos(t w_k)]``, ``w_k = 10000^(-k / (dim/2))``."""

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        if dim < 2 or dim % 2:
            raise ValueError(f"the embedding size must be an even integer >= 2, got {dim!r}")
        self.dim = int(dim)

    def call(self, t):
        half = self.dim // 2
        freqs = ops.exp(-math.log(10000.0) * ops.arange(half, dtype="float32") / half)
        angles = ops.reshape(ops.cast(t, "float32"), (-1, 1)) * ops.reshape(freqs, (1, -1))
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable(package="coursekit")
class SpaceToDepth(layers.Layer):
    """``(B, H, W, C)`` -> ``(B, H/p, W/p, p*p*C)``: each ``p x p`` patch of pixels becomes one pixel's channels.

    ``inverse=True`` undoes it, ``(B, H, W, p*p*C)`` -> ``(B, H*p, W*p, C)``. Nothing is learned and
    nothing is lost: the two are exact inverses (a reshape and a transpose).
    """

    def __init__(self, patch: int, inverse: bool = False, **kwargs):
        super().__init__(**kwargs)
        if int(patch) != patch or patch < 1:
            raise ValueError(f"the patch size must be a positive integer, got {patch!r}")
        self.patch, self.inverse = int(patch), bool(inverse)

    def call(self, x):
        p = self.patch
        _, h, w, c = x.shape
        if self.inverse:
            x = ops.reshape(x, (-1, h, w, p, p, c // (p * p)))
            return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, h * p, w * p, c // (p * p)))
        x = ops.reshape(x, (-1, h // p, p, w // p, p, c))
        return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, h // p, w // p, p * p * c))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        p = self.patch
        return (b, h * p, w * p, c // (p * p)) if self.inverse else (b, h // p, w // p, c * p * p)

    def get_config(self):
        return {**super().get_config(), "patch": self.patch, "inverse": self.inverse}


def _inputs(x_shape, num_classes: Optional[int], time_dim: int, name: str):
    x = keras.Input(x_shape, name=f"{name}_x")
    t = keras.Input((), dtype="int32", name=f"{name}_t")
    emb = SinusoidalEmbedding(time_dim, name=f"{name}_time")(t)
    inputs = [x, t]
    if num_classes is not None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1 (or None for an unconditional model), got {num_classes!r}")
        y = keras.Input((), dtype="int32", name=f"{name}_y")
        label = layers.Embedding(num_classes + 1, time_dim, embeddings_initializer=keras.initializers.RandomNormal(
            stddev=1.0), name=f"{name}_label")(y)
        emb = layers.Concatenate(name=f"{name}_time_label")([emb, layers.Flatten()(label)])
        inputs.append(y)
    emb = layers.Dense(time_dim * 2, activation="silu", name=f"{name}_emb1")(emb)
    emb = layers.Dense(time_dim * 2, activation="silu", name=f"{name}_emb2")(emb)
    return inputs, x, emb


def build_eps_mlp(dim: int = 2, *, hidden: int = 128, depth: int = 3, time_dim: int = 32,
                  num_classes: Optional[int] = None, name: str = "eps_mlp") -> keras.Model:
    """An MLP noise predictor for ``(B, dim)`` points: the step (and label) embedding joins every layer."""
    inputs, x, emb = _inputs((int(dim),), num_classes, time_dim, name)
    h = layers.Dense(hidden, name=f"{name}_in")(x)
    for i in range(int(depth)):
        h = layers.Add()([h, layers.Dense(hidden, name=f"{name}_t{i}")(emb)])
        h = layers.Dense(hidden, activation="silu", name=f"{name}_h{i}")(layers.Activation("silu")(h))
    out = layers.Dense(int(dim), kernel_initializer="zeros", name=f"{name}_out")(h)
    return keras.Model(inputs, out, name=name)


def _res_block(h, emb, width: int, groups: int, tag: str):
    skip = h if h.shape[-1] == width else layers.Conv2D(width, 1, name=f"{tag}_proj")(h)
    h = layers.Activation("silu")(layers.GroupNormalization(min(groups, h.shape[-1]), name=f"{tag}_gn1")(h))
    h = layers.Conv2D(width, 3, padding="same", name=f"{tag}_conv1")(h)
    h = layers.GroupNormalization(min(groups, width), name=f"{tag}_gn2")(h)
    scale = layers.Reshape((1, 1, width))(layers.Dense(width, kernel_initializer="zeros", name=f"{tag}_tscale")(emb))
    shift = layers.Reshape((1, 1, width))(layers.Dense(width, name=f"{tag}_tshift")(emb))
    h = layers.Activation("silu")(layers.Add()([h, layers.Multiply()([h, scale]), shift]))
    h = layers.Conv2D(width, 3, padding="same", name=f"{tag}_conv2")(h)
    return layers.Add()([skip, h])


def build_eps_unet(image_shape=(28, 28, 1), *, widths: Sequence[int] = (32, 64, 128), time_dim: int = 64,
                   groups: int = 8, num_classes: Optional[int] = None, patch: int = 1,
                   name: str = "eps_unet") -> keras.Model:
    """A U-Net noise predictor for ``(B, H, W, C)`` images in ``[-1, 1]`` (``H, W`` divisible by ``2^(levels-1)``).

    Args:
        image_shape: ``(H, W, C)``, e.g. ``(28, 28, 1)``: 28 -> 14 -> 7 with three widths.
        widths: channels per resolution level, one residual block per level on the way down and
            one on the way up.
        time_dim: size of the sinusoidal step embedding (the MLP after it doubles it).
        groups: groups of the group normalisation (at most the channel count).
        num_classes: ``None`` (unconditional) or the number of labels; label ``num_classes`` = none.
        patch: ``p > 1`` folds each ``p x p`` patch of pixels into channels before the first block and
            unfolds the output (:class:`SpaceToDepth`; Hoogeboom et al. 2023's "simple diffusion" also lowers
            the first layer's resolution, with a wavelet transform or a strided convolution): the
            network then works at ``H/p x W/p``, e.g. 28 -> 14 -> 7 with ``patch=2`` and two widths.
            On a CPU the full-resolution level costs most of a step (its normalisations and
            activations touch the most values), so this buys several times the steps per second.
    """
    h_in, w_in, c_in = check_image_shape(image_shape)
    levels = len(widths)
    if levels < 1:
        raise ValueError("widths must name at least one level, e.g. (32, 64)")
    if int(patch) != patch or patch < 1:
        raise ValueError(f"patch must be a positive integer (1: no folding), got {patch!r}")
    patch = int(patch)
    factor = 2 ** (levels - 1) * patch
    if h_in % factor or w_in % factor:
        raise ValueError(f"image_shape {image_shape!r} cannot be folded in {patch}x{patch} patches and halved "
                         f"{levels - 1} times: height and width must be divisible by {factor}; use fewer widths, "
                         f"another patch or pad the images")
    inputs, x, emb = _inputs((h_in, w_in, c_in), num_classes, time_dim, name)
    if patch > 1:
        x = SpaceToDepth(patch, name=f"{name}_fold")(x)
    h = layers.Conv2D(widths[0], 3, padding="same", name=f"{name}_in")(x)
    skips = []
    for i, width in enumerate(widths):
        h = _res_block(h, emb, width, groups, f"{name}_down{i}")
        skips.append(h)
        if i < levels - 1:
            h = layers.AveragePooling2D(2, name=f"{name}_pool{i}")(h)
    h = _res_block(h, emb, widths[-1], groups, f"{name}_mid")
    for i in reversed(range(levels)):
        if i < levels - 1:
            h = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up{i}")(h)
        h = layers.Concatenate()([h, skips[i]])
        h = _res_block(h, emb, widths[i], groups, f"{name}_upblock{i}")
    h = layers.Activation("silu")(layers.GroupNormalization(min(groups, widths[0]), name=f"{name}_gn_out")(h))
    out = layers.Conv2D(c_in * patch * patch, 3, padding="same", kernel_initializer="zeros", name=f"{name}_out")(h)
    if patch > 1:
        out = SpaceToDepth(patch, inverse=True, name=f"{name}_unfold")(out)
    return keras.Model(inputs, out, name=name)
