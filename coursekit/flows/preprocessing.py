"""8-bit images as a flow sees them: checks, uniform dequantization and its log-det (lecture 10).

A flow is a density on continuous values; 8-bit pixels take 256 levels. **Uniform
dequantization** (Theis et al. 2016; RealNVP) adds noise inside each level's bin:

    y = (k + u) / 256,   k = 255 x in {0, ..., 255},   u ~ U[0, 1)^D,

so ``y`` lies in ``[0, 1)^D``. For the discrete probability of the image,

    log P(k) >= E_u[ log p_Y((k + u) / 256) ] - D log 256,

the ``- D log 256`` being the log-det of ``k -> y`` (``dy/dk = 1/256`` per dimension): it is counted
**once**, here, in :meth:`UniformDequantization.forward`. A model uniform on ``[0, 1)^D``
(``log p_Y = 0``) thus gets exactly ``log2 256 = 8`` bits per dimension.
"""

from __future__ import annotations

import math
from typing import Optional

import keras
import numpy as np
from keras import ops

LEVELS = 256
#: how far from a level ``k / 255`` a float32 pixel may lie and still count as on the 8-bit grid
GRID_TOLERANCE = 1e-3


def check_images(x, event_shape, *, quantized: bool, what: str = "x") -> np.ndarray:
    """Check data before a flow scores or trains on it; returns ``x`` as float32.

    Args:
        x: ``(N, *event_shape)`` values.
        event_shape: the shape of one example the flow was built for, e.g. ``(28, 28, 1)`` or ``(2,)``.
        quantized: the flow dequantizes 8-bit data: values must be in ``[0, 1]`` and on the grid
            ``k / 255``.
        what: the name of the argument, for the message.

    Raises:
        ValueError: wrong shape, NaN or inf, values outside ``[0, 1]`` or off the 8-bit grid
            (the message names the value found and the fix).
    """
    arr = np.asarray(x, dtype="float32")
    shape = tuple(int(s) for s in event_shape)
    if arr.ndim != len(shape) + 1 or tuple(arr.shape[1:]) != shape:
        raise ValueError(f"{what} must have shape (N, {', '.join(map(str, shape))}) for this flow, got {arr.shape}"
                         + ("; add the channel axis with x[..., None]" if arr.shape[1:] == shape[:-1] else ""))
    if len(arr) == 0:
        raise ValueError(f"{what} is empty (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{what} holds {int(bad.sum()):,} NaN or inf values; nothing is scored or trained on them")
    if quantized:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0 or hi > 1:
            hint = "; these look like 0-255 pixels: divide by 255" if 2 < hi <= 255 and lo >= 0 else ""
            raise ValueError(f"{what} must be 8-bit images scaled to [0, 1], got min={lo:.4g} max={hi:.4g}{hint}")
        off = np.abs(arr * 255 - np.round(arr * 255))
        if off.max() > GRID_TOLERANCE * 255:
            i = np.unravel_index(int(off.argmax()), arr.shape)
            raise ValueError(
                f"{what} must be on the 8-bit grid k/255 (this flow dequantizes 256 levels), but {what}{list(i)} = "
                f"{float(arr[i]):.6g} is {float(off[i]) / 255:.3g} away from the nearest level; quantize with "
                "np.round(x * 255) / 255, or build the flow without dequantization for continuous data")
    return arr


class UniformDequantization(keras.layers.Layer):
    """``x = k / 255 -> y = (k + u) / 256`` with ``u ~ U[0, 1)``; log-det ``-D log 256`` (see the module docstring).

    Not a bijection (the noise is drawn), so it is no :class:`~coursekit.flows.layers.FlowLayer`;
    :meth:`quantize` maps ``y`` back to the level it came from.
    """

    def __init__(self, seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def forward(self, x, noise=None):
        """``(y, logdet (B,))``; ``noise`` ``(B, ...)`` in ``[0, 1)`` fixes ``u`` (else it is drawn)."""
        if noise is None:
            noise = keras.random.uniform(ops.shape(x), seed=self.seed_generator)
        dims = float(np.prod(x.shape[1:]))
        k = ops.round(x * (LEVELS - 1))
        return (k + noise) / LEVELS, -dims * math.log(LEVELS) * ops.ones((ops.shape(x)[0],))

    @staticmethod
    def quantize(y):
        """Continuous values in ``[0, 1]`` -> the 8-bit level whose bin holds them, as ``k / 255`` (numpy)."""
        k = np.clip(np.floor(np.asarray(y, "float64") * LEVELS), 0, LEVELS - 1)
        return (k / (LEVELS - 1)).astype("float32")

    def call(self, x):
        return self.forward(x)[0]
