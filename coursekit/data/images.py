"""A labelled image dataset held in memory, with ``tf.data`` pipelines on demand."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from coursekit.data.checks import DataError, check_images, check_labels


@dataclass(frozen=True)
class ImageDataset:
    """Train and test images with integer labels.

    Attributes:
        x_train: ``(N, H, W, C)`` float32 in ``[0, 1]``.
        y_train: ``(N,)`` int32 class labels in ``[0, num_classes)``.
        x_test: ``(M, H, W, C)`` float32 in ``[0, 1]``.
        y_test: ``(M,)`` int32.
        name: e.g. ``"MNIST"``.
        provenance: one line saying where the data came from (printed by the loader).
        num_classes: number of classes.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    provenance: str
    num_classes: int

    def __post_init__(self):
        for split in ("train", "test"):
            x = check_images(getattr(self, f"x_{split}"), name=f"{self.name} x_{split}")
            if x.ndim != 4:
                raise DataError(f"{self.name} x_{split} must be (N, H, W, C), got shape {x.shape}")
            check_labels(getattr(self, f"y_{split}"), n=len(x), num_classes=self.num_classes,
                         name=f"{self.name} y_{split}")

    @property
    def image_shape(self) -> tuple:
        """``(H, W, C)``."""
        return tuple(self.x_train.shape[1:])

    def subset(self, n_train: Optional[int] = None, n_test: Optional[int] = None) -> "ImageDataset":
        """The first ``n_train`` / ``n_test`` examples (the loaders shuffle, so classes stay mixed)."""
        n_train = len(self.x_train) if n_train is None else int(n_train)
        n_test = len(self.x_test) if n_test is None else int(n_test)
        if n_train < 1 or n_test < 1:
            raise ValueError(f"subset sizes must be positive, got n_train={n_train}, n_test={n_test}")
        return replace(
            self,
            x_train=self.x_train[:n_train],
            y_train=self.y_train[:n_train],
            x_test=self.x_test[:n_test],
            y_test=self.y_test[:n_test],
            provenance=f"{self.provenance}; using {min(n_train, len(self.x_train))} train / "
            f"{min(n_test, len(self.x_test))} test",
        )

    def dataset(self, split: str = "train", batch_size: int = 128, *, labels: bool = False,
                shuffle: bool = True, seed: int = 0, drop_remainder: bool = False):
        """A batched ``tf.data.Dataset`` of images (``(B, H, W, C)``), or ``(images, labels)`` pairs.

        Args:
            split: ``"train"`` or ``"test"``.
            batch_size: examples per batch.
            labels: also yield the ``(B,)`` int32 labels.
            shuffle: reshuffle every epoch (seeded).
        """
        import tensorflow as tf

        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
        ds = tf.data.Dataset.from_tensor_slices((x, y) if labels else x)
        if shuffle:
            ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
