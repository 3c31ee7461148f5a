"""Invertible layers of a normalizing flow, each with its own log-determinant (lecture 10).

Every layer is a :class:`FlowLayer`: a bijection ``y = f(x)`` with

- ``forward(x) -> (y, log|det df/dx|)`` and ``inverse(y) -> (x, log|det df^-1/dy|)``, the second
  log-det the negative of the first at the same point; log-dets are per example, shape ``(B,)``,
  in nats;
- inputs of shape ``(B, D)`` (vectors, the 2-D flows) or ``(B, H, W, C)`` (images).

The layers (Dinh et al. 2017, RealNVP; Kingma & Dhariwal 2018, Glow):

- :class:`AffineCoupling`: ``y = x * exp(s(x * m)) + t(x * m)`` on the positions where the mask
  ``m`` is 0; where it is 1, ``y = x``. The Jacobian is triangular, so the log-det is ``sum(s)``.
  Masks: :func:`alternating_mask` (vectors), :func:`checkerboard_mask` and :func:`channel_mask`
  (images).
- :class:`SplineCoupling`: the same coupling with a monotone rational-quadratic spline in place of
  ``x * exp(s) + t`` (Durkan et al. 2019), for ``(B, D)`` vectors; :func:`rational_quadratic_spline`
  is the spline itself, with its exact inverse and log-slope.
- :class:`ActNorm`: a per-channel affine map ``y = (x + b) * exp(log_scale)`` whose first call with
  ``init=True`` sets ``b`` and ``log_scale`` so that the data leave it with mean 0 and standard
  deviation 1 per channel (data-dependent initialisation).
- :class:`Squeeze`: ``(B, H, W, C) -> (B, H/2, W/2, 4C)``, a permutation (log-det 0).
- :class:`Invertible1x1Conv`: a learned ``C x C`` matrix mixing the channels at every pixel
  (log-det ``H * W * log|det W|``).
- :class:`Logit`: ``y in (0, 1) -> logit(alpha + (1 - 2 alpha) y)``, the pre-transform of image
  flows (its log-det is part of the model's likelihood); RealNVP writes ``logit(alpha + (1 - alpha) y)``,
  this is the symmetric variant.
- :class:`Chain` (layers one after the other) and :class:`FactorOut` (multi-scale: the first
  half of the channels leaves the flow, the other half goes through a child flow).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def sum_per_example(t):
    """``t`` of shape ``(B, ...)`` summed over everything but the batch axis -> ``(B,)``."""
    return ops.sum(ops.reshape(t, (ops.shape(t)[0], -1)), axis=1)


def _checked(t, where: str, check: bool):
    """``t`` unchanged; with ``check``, a NaN or inf in it stops training with ``where`` in the message."""
    return tf.debugging.check_numerics(t, f"layer '{where}'") if check else t


class FlowLayer(keras.layers.Layer):
    """Base class: a bijection with its log-determinant (see the module docstring)."""

    def _ensure_built(self, shape) -> None:
        if not self.built:
            self.build(tuple(shape))

    def forward(self, x, init: bool = False, check: bool = False):
        """``(y, log|det dy/dx|)``: ``y`` shaped like the layer's output, log-det ``(B,)`` in nats.

        ``init=True`` lets data-dependent layers (ActNorm) set their parameters from this batch;
        ``check=True`` raises on NaN or inf outputs, naming the layer.
        """
        raise NotImplementedError

    def inverse(self, y):
        """``(x, log|det dx/dy|)``, the log-det the negative of ``forward``'s at ``x``."""
        raise NotImplementedError

    def call(self, x):
        return self.forward(x)[0]


# --------------------------------------------------------------------------- masks
def alternating_mask(dim: int, parity: int) -> np.ndarray:
    """``(dim,)`` float32 mask, 1 on the coordinates with index ``% 2 == parity`` (those pass unchanged)."""
    if dim < 2:
        raise ValueError(f"a coupling needs at least 2 dimensions, got dim={dim}")
    return (np.arange(dim) % 2 == parity % 2).astype("float32")


def checkerboard_mask(height: int, width: int, channels: int, parity: int) -> np.ndarray:
    """``(H, W, C)`` float32 mask, 1 on the pixels with ``(row + column) % 2 == parity`` (all channels)."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    board = ((rows + cols) % 2 == parity % 2).astype("float32")
    return np.repeat(board[..., None], channels, axis=-1)


def channel_mask(height: int, width: int, channels: int, parity: int) -> np.ndarray:
    """``(H, W, C)`` float32 mask, 1 on the first half of the channels (``parity`` 0) or the second (1)."""
    if channels < 2:
        raise ValueError(f"a channel mask needs at least 2 channels, got {channels}; squeeze the image first "
                         "or use a checkerboard mask")
    first = (np.arange(channels) < channels // 2).astype("float32")
    return np.broadcast_to(first if parity % 2 == 0 else 1 - first, (height, width, channels)).copy()


# --------------------------------------------------------------------------- layers
class AffineCoupling(FlowLayer):
    """RealNVP's affine coupling: ``y = x * exp(s) + t`` where the mask is 0, ``y = x`` where it is 1.

    ``s, t = net(x * mask)``, so they depend only on the unchanged coordinates and the Jacobian is
    triangular with ``exp(s)`` on its diagonal: ``log|det| = sum(s)``. ``s = scale * tanh(raw)``
    (a learned per-feature ``scale``, as in RealNVP) keeps the first steps from exploding.
    The last layer of ``net`` starts at zero, so an untrained coupling is the identity.

    Args:
        mask: ``(D,)`` for vector inputs ``(B, D)`` (an MLP conditioner) or ``(H, W, C)`` for
            images ``(B, H, W, C)`` (a 3x3 / 1x1 / 3x3 convolutional conditioner).
        hidden: units (or filters) of the conditioner's hidden layers.
        depth: hidden layers of the MLP conditioner.
    """

    def __init__(self, mask, hidden: int = 64, depth: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.mask_array = np.asarray(mask, "float32")
        if self.mask_array.min() < 0 or self.mask_array.max() > 1 or not np.all(np.isin(self.mask_array, (0, 1))):
            raise ValueError("the mask must hold only 0 (transformed) and 1 (passed through)")
        if self.mask_array.all() or not self.mask_array.any():
            raise ValueError("the mask must pass some coordinates through and transform the others")
        self.hidden, self.depth = int(hidden), int(depth)

    def build(self, input_shape):
        shape = tuple(input_shape[1:])
        if shape != self.mask_array.shape:
            raise ValueError(f"layer {self.name!r}: input of shape {tuple(input_shape)} does not fit its mask of "
                             f"shape {self.mask_array.shape}")
        features = shape[-1]
        last = dict(kernel_initializer="zeros", bias_initializer="zeros", name="s_and_t")
        if len(shape) == 1:
            hidden = [keras.layers.Dense(self.hidden, activation="relu", name=f"hidden{i}") for i in range(self.depth)]
            self.net = keras.Sequential([*hidden, keras.layers.Dense(2 * features, **last)], name="conditioner")
        elif len(shape) == 3:
            self.net = keras.Sequential([
                keras.layers.Conv2D(self.hidden, 3, padding="same", activation="relu", name="conv_in"),
                keras.layers.Conv2D(self.hidden, 1, activation="relu", name="conv_mid"),
                keras.layers.Conv2D(2 * features, 3, padding="same", **last),
            ], name="conditioner")
        else:
            raise ValueError(f"AffineCoupling takes (B, D) vectors or (B, H, W, C) images, got shape {input_shape}")
        self.net.build((None, *shape))
        self.scale = self.add_weight(shape=(features,), initializer="ones", name="scale")
        self.mask = ops.convert_to_tensor(self.mask_array)
        self.built = True

    def _s_t(self, x_masked):
        raw_s, t = ops.split(self.net(x_masked), 2, axis=-1)
        free = 1.0 - self.mask
        return self.scale * ops.tanh(raw_s) * free, t * free

    def forward(self, x, init=False, check=False):
        self._ensure_built(x.shape)
        s, t = self._s_t(x * self.mask)
        return x * ops.exp(s) + t, sum_per_example(s)

    def inverse(self, y):
        self._ensure_built(y.shape)
        s, t = self._s_t(y * self.mask)
        return (y - t) * ops.exp(-s), -sum_per_example(s)


# --------------------------------------------------------------------------- spline coupling
def rational_quadratic_spline(x, widths, heights, derivatives, bound: float, inverse: bool = False,
                              min_bin: float = 1e-3, min_derivative: float = 1e-3):
    """Monotone rational-quadratic spline on ``[-bound, bound]``, the identity outside (Durkan et al. 2019).

    Args:
        x: ``(B, F)`` values to transform (``y`` when ``inverse``).
        widths, heights: ``(B, F, K)`` unnormalised bin widths and heights (softmax inside).
        derivatives: ``(B, F, K - 1)`` unconstrained slopes at the inner knots (softplus inside; the
            two end knots have slope 1, so the spline joins the identity tails smoothly). All zeros
            give the identity map.
        bound: the spline acts on ``[-bound, bound]`` in ``x`` and in ``y``.
        inverse: compute ``x`` from ``y`` (the root of a quadratic in each bin).

    Returns:
        ``(out (B, F), log|d out / d in| (B, F))``, elementwise, in nats.
    """
    k = widths.shape[-1]
    # bin sizes (each at least min_bin of the interval) and knot slopes; the bin of a value is picked
    # with one-hot masks rather than gathers, which keeps the traced graph (and its gradient) small
    w = 2 * bound * (min_bin + (1 - min_bin * k) * ops.softmax(widths, axis=-1))
    h = 2 * bound * (min_bin + (1 - min_bin * k) * ops.softmax(heights, axis=-1))
    shift = math.log(math.expm1(1 - min_derivative))  # softplus(0 + shift) + min_derivative = 1
    d = ops.pad(min_derivative + ops.softplus(derivatives + shift), [[0, 0], [0, 0], [1, 1]], constant_values=1.0)

    inside = ops.logical_and(x >= -bound, x <= bound)
    xc = ops.clip(x, -bound, bound)[..., None]
    right = -bound + ops.cumsum(h if inverse else w, axis=-1)  # the right edge of every bin, (B, F, K)
    idx = ops.minimum(ops.sum(ops.cast(xc >= right, "int32"), axis=-1), k - 1)  # the bin of each value
    this = ops.one_hot(idx, k, dtype=x.dtype)  # (B, F, K)
    below = ops.cast(ops.arange(k) < idx[..., None], x.dtype)  # the bins left of it
    wk, hk = ops.sum(w * this, axis=-1), ops.sum(h * this, axis=-1)
    x0, y0 = -bound + ops.sum(w * below, axis=-1), -bound + ops.sum(h * below, axis=-1)
    d0 = ops.sum(d[..., :k] * this, axis=-1)
    d1 = ops.sum(d[..., 1:] * this, axis=-1)
    sk = hk / wk
    xc = xc[..., 0]
    if inverse:
        dy = xc - y0
        a = hk * (sk - d0) + dy * (d1 + d0 - 2 * sk)
        b = hk * d0 - dy * (d1 + d0 - 2 * sk)
        c = -sk * dy
        xi = ops.clip(2 * c / (-b - ops.sqrt(ops.maximum(b * b - 4 * a * c, 0.0))), 0.0, 1.0)
        out = x0 + xi * wk
    else:
        xi = (xc - x0) / wk
        out = y0 + hk * (sk * xi ** 2 + d0 * xi * (1 - xi)) / (sk + (d1 + d0 - 2 * sk) * xi * (1 - xi))
    denom = sk + (d1 + d0 - 2 * sk) * xi * (1 - xi)
    logdet = ops.log(sk ** 2 * (d1 * xi ** 2 + 2 * sk * xi * (1 - xi) + d0 * (1 - xi) ** 2)) - 2 * ops.log(denom)
    return ops.where(inside, out, x), ops.where(inside, -logdet if inverse else logdet, 0.0)


class SplineCoupling(FlowLayer):
    """A coupling whose transformed coordinates go through a monotone rational-quadratic spline.

    Where the mask is 1, ``y = x``; where it is 0, ``y = spline(x)`` on ``[-bound, bound]`` (the
    identity outside), with ``K = bins`` bins whose widths, heights and knot slopes an MLP computes
    from the kept coordinates (Durkan et al. 2019, neural spline flows). An affine coupling maps each
    conditional distribution by a straight line, so it stays one-peaked; a spline can bend it into
    several peaks in one layer. log-det: the sum of the spline's log-slopes. Vectors ``(B, D)`` only;
    an untrained coupling is the identity.

    Args:
        mask: ``(D,)`` of 0 (transformed) and 1 (passed through).
        bins: ``K``, the spline's bins.
        bound: the interval ``[-bound, bound]`` (in the units the layer sees; after an ActNorm, standard
            deviations).
        hidden, depth: the MLP conditioner's width and hidden layers.
    """

    def __init__(self, mask, bins: int = 16, bound: float = 3.0, hidden: int = 64, depth: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.mask_array = np.asarray(mask, "float32")
        if self.mask_array.ndim != 1:
            raise ValueError(f"SplineCoupling takes a (D,) mask for (B, D) vectors, got shape {self.mask_array.shape}")
        if not np.all(np.isin(self.mask_array, (0, 1))) or self.mask_array.all() or not self.mask_array.any():
            raise ValueError("the mask must hold 0 (transformed) and 1 (passed through), and some of each")
        if int(bins) < 2 or not bound > 0:
            raise ValueError(f"bins must be >= 2 and bound > 0, got bins={bins}, bound={bound}")
        self.bins, self.bound, self.hidden, self.depth = int(bins), float(bound), int(hidden), int(depth)

    def build(self, input_shape):
        if tuple(input_shape[1:]) != self.mask_array.shape:
            raise ValueError(f"layer {self.name!r}: input of shape {tuple(input_shape)} does not fit its mask of "
                             f"shape {self.mask_array.shape}")
        features = self.mask_array.shape[0]
        hidden = [keras.layers.Dense(self.hidden, activation="relu", name=f"hidden{i}") for i in range(self.depth)]
        out = keras.layers.Dense(features * (3 * self.bins - 1), kernel_initializer="zeros",
                                 bias_initializer="zeros", name="spline_parameters")
        self.net = keras.Sequential([*hidden, out], name="conditioner")
        self.net.build((None, features))
        self.mask = ops.convert_to_tensor(self.mask_array)
        self.built = True

    def _transform(self, x, inverse):
        self._ensure_built(x.shape)
        k = self.bins
        # the conditioner sees only the kept coordinates; every coordinate gets spline parameters and
        # the kept ones are put back unchanged (cheaper to trace than gathering the free columns)
        params = ops.reshape(self.net(x * self.mask), (-1, self.mask_array.shape[0], 3 * k - 1))
        widths, heights, derivatives = ops.split(params, [k, 2 * k], axis=-1)
        out, logdet = rational_quadratic_spline(x, widths, heights, derivatives, self.bound, inverse=inverse)
        free = 1.0 - self.mask
        return x * self.mask + out * free, ops.sum(logdet * free, axis=1)

    def forward(self, x, init=False, check=False):
        return self._transform(x, inverse=False)

    def inverse(self, y):
        return self._transform(y, inverse=True)


class ActNorm(FlowLayer):
    """Glow's activation normalisation: ``y = (x + bias) * exp(log_scale)``, per channel (last axis).

    ``forward(x, init=True)`` sets ``bias = -mean`` and ``log_scale = -log(std)`` over the batch
    (and the pixels), so that batch leaves the layer with mean 0 and std 1 in every channel, and
    records that it was initialised (``initialized`` = 1, saved with the weights). log-det:
    ``(number of pixels) * sum(log_scale)`` per example.
    """

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")
        self.log_scale = self.add_weight(shape=(channels,), initializer="zeros", name="log_scale")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized")
        self.built = True

    def forward(self, x, init=False, check=False):
        self._ensure_built(x.shape)
        if init:
            axes = tuple(range(len(x.shape) - 1))
            mean, std = ops.mean(x, axis=axes), ops.std(x, axis=axes)
            self.bias.assign(-mean)
            self.log_scale.assign(-ops.log(std + 1e-6))
            self.initialized.assign(1.0)
        pixels = float(np.prod(x.shape[1:-1])) if len(x.shape) > 2 else 1.0
        logdet = pixels * ops.sum(self.log_scale) * ops.ones((ops.shape(x)[0],))
        return (x + self.bias) * ops.exp(self.log_scale), logdet

    def inverse(self, y):
        self._ensure_built(y.shape)
        pixels = float(np.prod(y.shape[1:-1])) if len(y.shape) > 2 else 1.0
        logdet = -pixels * ops.sum(self.log_scale) * ops.ones((ops.shape(y)[0],))
        return y * ops.exp(-self.log_scale) - self.bias, logdet


class Squeeze(FlowLayer):
    """``(B, H, W, C) -> (B, H/2, W/2, 4C)``: each 2x2 block of pixels becomes 4 channels (log-det 0)."""

    def forward(self, x, init=False, check=False):
        b, h, w, c = x.shape
        if h is None or w is None or h % 2 or w % 2:
            raise ValueError(f"layer {self.name!r} needs an even height and width, got an input of shape {x.shape}")
        y = ops.reshape(x, (-1, h // 2, 2, w // 2, 2, c))
        y = ops.reshape(ops.transpose(y, (0, 1, 3, 2, 4, 5)), (-1, h // 2, w // 2, 4 * c))
        return y, ops.zeros((ops.shape(x)[0],))

    def inverse(self, y):
        b, h, w, c4 = y.shape
        x = ops.reshape(y, (-1, h, w, 2, 2, c4 // 4))
        x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, 2 * h, 2 * w, c4 // 4))
        return x, ops.zeros((ops.shape(y)[0],))


class Invertible1x1Conv(FlowLayer):
    """Glow's invertible 1x1 convolution: every pixel's channel vector times a learned ``C x C`` matrix.

    Starts as a random rotation (log-det 0); log-det ``H * W * log|det W|``. Inputs ``(B, H, W, C)``.
    """

    def __init__(self, seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.kernel = self.add_weight(shape=(c, c), initializer=keras.initializers.Orthogonal(seed=self.seed),
                                      name="kernel")
        self.built = True

    def _logdet(self, x, sign):
        pixels = float(np.prod(x.shape[1:-1]))
        return sign * pixels * tf.linalg.slogdet(self.kernel)[1] * ops.ones((ops.shape(x)[0],))

    def forward(self, x, init=False, check=False):
        self._ensure_built(x.shape)
        return ops.einsum("...c,cd->...d", x, self.kernel), self._logdet(x, 1.0)

    def inverse(self, y):
        self._ensure_built(y.shape)
        return ops.einsum("...c,cd->...d", y, tf.linalg.inv(self.kernel)), self._logdet(y, -1.0)


class Logit(FlowLayer):
    """``y in (0, 1) -> z = logit(alpha + (1 - 2 alpha) y)``, the symmetric variant of RealNVP's pre-transform.

    RealNVP (Dinh et al. 2017) writes ``logit(alpha + (1 - alpha) y)``; with ``1 - 2 alpha`` both ends of
    ``[0, 1]`` stay ``alpha`` away from 0 and 1.

    ``alpha`` keeps the logit away from 0 and 1 (RealNVP: 0.05). log-det per dimension:
    ``log(1 - 2 alpha) - log(p) - log(1 - p)`` with ``p = alpha + (1 - 2 alpha) y``.
    """

    def __init__(self, alpha: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= alpha < 0.5:
            raise ValueError(f"alpha must be in [0, 0.5), got {alpha}")
        self.alpha = float(alpha)

    def forward(self, x, init=False, check=False):
        p = self.alpha + (1 - 2 * self.alpha) * x
        z = ops.log(p) - ops.log(1 - p)
        return z, sum_per_example(math.log(1 - 2 * self.alpha) - ops.log(p) - ops.log(1 - p))

    def inverse(self, y):
        p = ops.sigmoid(y)
        x = (p - self.alpha) / (1 - 2 * self.alpha)
        return x, -sum_per_example(math.log(1 - 2 * self.alpha) - ops.log(p) - ops.log(1 - p))


class Chain(FlowLayer):
    """Layers one after the other; log-dets add up."""

    def __init__(self, steps: Sequence[FlowLayer], **kwargs):
        super().__init__(**kwargs)
        if not steps:
            raise ValueError("a Chain needs at least one layer")
        self.steps = list(steps)

    def build(self, input_shape):
        self.built = True  # each step builds itself on its first input

    def forward(self, x, init=False, check=False):
        total = ops.zeros((ops.shape(x)[0],))
        for step in self.steps:
            x, logdet = step.forward(x, init=init, check=check)
            x, logdet = _checked(x, step.name, check), _checked(logdet, step.name, check)
            total = total + logdet
        return x, total

    def inverse(self, y):
        total = ops.zeros((ops.shape(y)[0],))
        for step in reversed(self.steps):
            y, logdet = step.inverse(y)
            total = total + logdet
        return y, total


class FactorOut(FlowLayer):
    """Multi-scale step: the first ``C // 2`` channels leave unchanged (to the prior), the rest go through ``child``.

    ``y = concat(x[..., :C//2], child(x[..., C//2:]))`` when ``child`` keeps the shape; a child that
    squeezes (``(H, W, C/2) -> (H/2, W/2, 2C)``) is undone on its output, so ``y`` has the shape of
    ``x``. log-det: the child's.
    """

    def __init__(self, child: FlowLayer, **kwargs):
        super().__init__(**kwargs)
        self.child = child

    def build(self, input_shape):
        self.built = True

    def forward(self, x, init=False, check=False):
        k = x.shape[-1] // 2
        if k < 1:
            raise ValueError(f"layer {self.name!r} needs at least 2 channels, got an input of shape {x.shape}")
        h, logdet = self.child.forward(x[..., k:], init=init, check=check)
        self._factor = x.shape[1] // h.shape[1]
        return ops.concatenate([x[..., :k], self._back(h, x[..., k:].shape)], axis=-1), logdet

    def inverse(self, y):
        k = y.shape[-1] // 2
        kept = y[..., k:]
        h, logdet = self.child.inverse(self._there(kept))
        return ops.concatenate([y[..., :k], h], axis=-1), logdet

    @staticmethod
    def _back(h, shape):
        """The child's output reshaped (un-squeezed) to the input half's shape."""
        if tuple(h.shape[1:]) == tuple(shape[1:]):
            return h
        factor = shape[1] // h.shape[1]
        return _unsqueeze(h, factor)

    def _there(self, kept):
        # the child's output shape for an input like ``kept``: computed from a squeeze count
        factor = getattr(self, "_factor", None)
        if factor is None:
            probe = ops.zeros((1, *kept.shape[1:]))
            out = self.child.forward(probe)[0]
            factor = self._factor = kept.shape[1] // out.shape[1]
        return kept if factor == 1 else _squeeze_by(kept, factor)


def _unsqueeze(h, factor):
    while factor > 1:
        h = Squeeze().inverse(h)[0]
        factor //= 2
    return h


def _squeeze_by(x, factor):
    while factor > 1:
        x = Squeeze().forward(x)[0]
        factor //= 2
    return x
