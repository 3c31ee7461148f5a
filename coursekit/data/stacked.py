"""Stacked MNIST (lecture 09b): three MNIST digits as the three channels of one image, 1,000 modes.

The benchmark of the mode-collapse papers (Metz et al. 2017, Unrolled GAN; Srivastava et al. 2017,
VEEGAN; Lin et al. 2018, PacGAN): each image stacks three independently drawn digits as its red,
green and blue channels, so the data has ``10 ** 3 = 1,000`` modes, one per digit triple, all
equally likely. A generator's modes are counted with an MNIST classifier applied to each channel:

- :func:`stacked_mnist`: the images ``(N, H, W, 3)`` in ``[0, 1]`` and their digit triples ``(N, 3)``;
- :func:`channel_digits`: the classifier's digit for each channel of each image, ``(N, 3)``
  (:func:`channel_reads` adds how sure it is, and optionally its features);
- :func:`confident_mode_coverage`: the mode scores on the samples read with probability >= 0.9 only,
  a guard against counting blobs as modes;
- :func:`mode_index`: a triple ``(a, b, c)`` as one mode number ``100 a + 10 b + c`` in ``[0, 1000)``;
- :func:`mode_coverage`: the papers' two scores of a set of triples, the number of modes that
  receive at least one sample and ``KL(p || uniform)`` of the mode histogram ``p`` (nats; PacGAN's
  code, ``model.py`` ``log_metrics``, and VEEGAN Table 2 on 26,000 samples: :data:`PROTOCOL_SAMPLES`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from coursekit.data.mixtures import reverse_kl_to_uniform

#: number of modes: digit triples
N_MODES = 1000
#: generated samples the papers score (VEEGAN section 5.2, PacGAN's code ``num_test_sample``)
PROTOCOL_SAMPLES = 26_000
SIZES = (28, 32)
SPLITS = ("train", "test")


def _check_count(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def stacked_mnist(n: int, seed: int = 0, size: int = 28, *, split: str = "train", mnist=None):
    """``n`` Stacked-MNIST images: three digits of ``split`` drawn independently and uniformly.

    Args:
        n: number of images.
        seed: seed of the draw (the same seed gives the same images and labels).
        size: 28 (the digits as they are, PacGAN's code) or 32 (zero-padded by 2 pixels on each
            side, the size of DCGAN's 32x32 networks).
        split: ``"train"`` or ``"test"``: which digits of the MNIST dataset are stacked (keep the
            test digits for checking a classifier).
        mnist: an :class:`~coursekit.data.ImageDataset` of single-channel digits; ``None`` loads
            :func:`coursekit.data.load_mnist` (offline subset when there is no network).

    Returns:
        ``(images, labels)``: images ``(n, size, size, 3)`` float32 in ``[0, 1]``, channel ``c``
        holding digit ``labels[:, c]``; labels ``(n, 3)`` int64 in ``[0, 9]``.
    """
    n = _check_count(n, "n", 1)
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES} (pixels), got {size!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if mnist is None:
        from coursekit.data.mnist import load_mnist

        mnist = load_mnist(verbose=False)
    x, y = (mnist.x_train, mnist.y_train) if split == "train" else (mnist.x_test, mnist.y_test)
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(f"mnist must hold single-channel 28x28 digits (N, 28, 28, 1), got {x.shape}")
    index = np.random.default_rng(seed).integers(0, len(x), size=(n, 3))
    images = np.concatenate([x[index[:, c]] for c in range(3)], axis=-1).astype("float32")
    if size == 32:
        images = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    return images, np.asarray(y)[index].astype("int64")


def _channel_singles(scorer, images) -> np.ndarray:
    """``(N, H, W, 3)`` -> the 3N single-channel images ``(3N, h, w, 1)``, channel-major (all red, then green, blue)."""
    arr = np.asarray(images, dtype="float32")
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3) Stacked-MNIST images, got shape {arr.shape}")
    want = getattr(scorer, "image_shape", None)
    if want is not None and tuple(want[:2]) == (28, 28) and arr.shape[1:3] == (32, 32):
        arr = arr[:, 2:30, 2:30]
    return np.moveaxis(arr, -1, 0).reshape(3 * len(arr), *arr.shape[1:3], 1)


def channel_reads(scorer, images, *, features: bool = False) -> dict:
    """What a classifier reads in each channel, and how sure it is.

    Args:
        scorer: anything with ``probs(x) -> (M, 10)`` for single-channel images ``(M, h, w, 1)``
            (and ``features_and_probs(x) -> ((M, F), (M, 10))`` when ``features=True``), e.g.
            :class:`coursekit.metrics.Scorer`. 32x32 images are cropped to their central 28x28
            pixels when the classifier expects 28x28 (the padding of :func:`stacked_mnist`).
        images: ``(N, H, W, 3)`` in ``[0, 1]``.
        features: also return the classifier's features of every channel (one pass for both).

    Returns:
        ``{"digits": (N, 3) int64, the most probable digit per channel; "confidence": (N, 3)
        float64 in [0.1, 1], the probability of that digit}``, plus ``"features": (N, 3, F)`` with
        ``features=True``.
    """
    n = len(images)
    singles = _channel_singles(scorer, images)
    if features:
        feats, probs = scorer.features_and_probs(singles)
    else:
        feats, probs = None, scorer.probs(singles)
    probs = np.asarray(probs, dtype="float64").reshape(3, n, -1)
    out = {"digits": probs.argmax(axis=-1).T.astype("int64"), "confidence": probs.max(axis=-1).T}
    if features:
        feats = np.asarray(feats, dtype="float64")
        out["features"] = np.moveaxis(feats.reshape(3, n, feats.shape[-1]), 0, 1)
    return out


def channel_digits(scorer, images) -> np.ndarray:
    """The digit a classifier sees in each channel: ``(N, H, W, 3)`` images -> ``(N, 3)`` int64.

    The argmax of :func:`channel_reads` (see there for ``scorer``).
    """
    return channel_reads(scorer, images)["digits"]


def confident_mode_coverage(digits, confidence, *, threshold: float = 0.9) -> dict:
    """Mode scores on the samples whose three channels are all read with probability >= ``threshold``.

    A guard against counting blobs: a classifier must name *some* digit for every channel, so a
    generator of smudges can "cover" many triples. Counting only the confidently read samples (and
    reporting how many there are) shows whether the modes are made of recognisable digits.

    Args:
        digits: ``(N, 3)`` digit triples (``channel_reads(...)["digits"]``).
        confidence: ``(N, 3)`` probabilities of those digits (``channel_reads(...)["confidence"]``).
        threshold: in ``(0, 1]``; 0.9 in lecture 09b.

    Returns:
        ``{"channel_share": fraction of the 3N channels read with probability >= threshold,
        "sample_share": fraction of the N samples with all three channels so read, "n": their
        number, "modes", "kl", "counts": :func:`mode_coverage` of those samples (0 modes and KL
        ``nan`` when there are none)}``. Modes and KL depend on ``n``: compare with the real data
        scored the same way, at about the same ``n``.
    """
    lab = np.asarray(digits)
    conf = np.asarray(confidence, dtype="float64")
    if conf.shape != lab.shape:
        raise ValueError(f"confidence must have the shape of digits {lab.shape}, got {conf.shape}")
    if not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"threshold must be a probability in (0, 1], got {threshold}")
    sure = conf >= threshold
    keep = sure.all(axis=1)
    out = {"channel_share": float(sure.mean()) if sure.size else float("nan"),
           "sample_share": float(keep.mean()) if len(keep) else float("nan"), "n": int(keep.sum())}
    if keep.any():
        out.update(mode_coverage(lab[keep]))
    else:
        out.update(counts=np.zeros(N_MODES, "int64"), modes=0, kl=float("nan"))
    return out


def mode_index(labels) -> np.ndarray:
    """Digit triples ``(N, 3)`` -> mode numbers ``100 a + 10 b + c``, ``(N,)`` int64 in ``[0, 1000)``."""
    lab = np.asarray(labels)
    if lab.ndim != 2 or lab.shape[1] != 3 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be an (N, 3) integer array of digit triples, got shape {lab.shape} "
                         f"dtype {lab.dtype}")
    if lab.size and (lab.min() < 0 or lab.max() > 9):
        raise ValueError(f"digits must be in [0, 9], got values in [{lab.min()}, {lab.max()}]")
    return (100 * lab[:, 0] + 10 * lab[:, 1] + lab[:, 2]).astype("int64")


def mode_coverage(labels, *, min_count: int = 1, expected_n: Optional[int] = None) -> dict:
    """Modes covered and ``KL(p || uniform)`` of digit triples, as in VEEGAN Table 2 / PacGAN Table 2.

    Args:
        labels: ``(N, 3)`` digit triples (from :func:`channel_digits` for generated images).
            Score :data:`PROTOCOL_SAMPLES` (26,000) of them to compare with the papers: both scores
            depend on ``N`` (with ``N`` = 1,000 even perfect data covers only about 632 modes).
        min_count: samples a mode needs to count as covered (1 in the papers' code).
        expected_n: if given, refuse a different number of samples (guards comparisons).

    Returns:
        ``{"counts": (1000,) int64 samples per mode, "modes": covered modes (int),
        "kl": KL(p || uniform) in nats, between 0 and ln 1000 = 6.91}``.
    """
    modes = mode_index(labels)
    if len(modes) == 0:
        raise ValueError("labels is empty: score at least one sample")
    if expected_n is not None and len(modes) != expected_n:
        raise ValueError(f"expected {expected_n} samples (the protocol's number), got {len(modes)}")
    min_count = _check_count(min_count, "min_count", 1)
    counts = np.bincount(modes, minlength=N_MODES).astype("int64")
    return {"counts": counts, "modes": int(np.sum(counts >= min_count)), "kl": reverse_kl_to_uniform(counts)}
