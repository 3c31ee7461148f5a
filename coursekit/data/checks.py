"""Input checks shared by every loader and model: bad data gets a clear error, never a silent run."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


class DataError(ValueError):
    """Missing, partial, corrupt or malformed data. The message says what is wrong and how to fix it."""


def check_images(
    x,
    *,
    name: str = "images",
    value_range: Sequence[float] = (0.0, 1.0),
    shape: Optional[Sequence[Optional[int]]] = None,
) -> np.ndarray:
    """Check a batch of images and return it as a NumPy array.

    Args:
        x: array-like of shape ``(N, H, W, C)`` (or the given ``shape``).
        name: what the array is, for error messages.
        value_range: inclusive ``(low, high)`` the values must lie in, e.g. ``(0, 1)``
            for sigmoid decoders or ``(-1, 1)`` for tanh generators.
        shape: expected shape without the batch axis; ``None`` entries match anything.

    Raises:
        DataError: on a wrong rank or shape, non-finite values, an empty batch, or values
            outside ``value_range`` (with the usual rescaling named as the fix).
    """
    arr = np.asarray(x)
    if shape is not None:
        expected = (None, *shape)
        if arr.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected, arr.shape)):
            shown = tuple("N" if e is None else e for e in expected)
            raise DataError(f"{name} must have shape {shown}, got {arr.shape}")
    if arr.size == 0:
        raise DataError(f"{name} is empty (shape {arr.shape}); check the data source")
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{name} must be numeric, got dtype {arr.dtype}")
    finite = np.isfinite(arr)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise DataError(f"{name} contains {int((~finite).sum()):,} NaN or infinite values "
                        f"(the first at index {first}); "
                        "the data is corrupt: reload it from its source (the loader's message names the file), "
                        "or find the step that produced them")
    low, high = float(value_range[0]), float(value_range[1])
    lo, hi = float(arr.min()), float(arr.max())
    if lo < low - 1e-6 or hi > high + 1e-6:
        raise DataError(f"{name} must be in [{low:g}, {high:g}], got min={lo:g} max={hi:g}; "
                        + _range_fix(arr, lo, hi, low, high))
    return arr


def _range_fix(arr: np.ndarray, lo: float, hi: float, low: float, high: float) -> str:
    """The rescaling that would fix values out of ``[low, high]``, only when the values show which one applies."""
    whole = np.issubdtype(arr.dtype, np.integer) or bool(np.all(arr == np.round(arr)))
    if whole and lo >= 0 and 1 < hi <= 255 and high <= 1:  # looks like 8-bit pixels that were not scaled
        tanh = " (or by 127.5 and subtract 1 for [-1, 1])" if low < 0 else ""
        return "they look like 8-bit pixels: divide by 255" + tanh
    if -1 - 1e-6 <= lo < 0 and hi <= 1 + 1e-6 and low >= 0:
        return "they look like tanh outputs in [-1, 1]: map them to [0, 1] with (x + 1) / 2"
    return "the values do not look like a simple rescaling of valid pixels: the data is corrupt or was scaled twice"


def check_labels(y, *, n: int, num_classes: int, name: str = "labels") -> np.ndarray:
    """Check integer class labels of length ``n`` in ``[0, num_classes)`` and return them."""
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise DataError(f"{name} must have shape ({n},) to match the images, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= num_classes:
        raise DataError(f"{name} must be in [0, {num_classes - 1}], got min={arr.min()} max={arr.max()}")
    return arr
