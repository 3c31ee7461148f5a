"""Images as the course holds them, and image files as people have them.

- :class:`ImageDataset`: a labelled image dataset held in memory, with ``tf.data`` pipelines
  on demand.
- :func:`scan_image_folder` and :func:`read_image_file`: a folder of image files (a Kaggle
  download, a phone's export, a folder copied from a Mac or Windows) -> the image files in it,
  with the hidden, system and non-image files skipped and counted; one file -> an 8-bit RGB
  square of a given size, upright (EXIF orientation applied), whatever its pixel format, or a
  :class:`~coursekit.data.checks.DataError` naming the file.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
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


# ---------------------------------------------------------------------------------------------
# Image files as people have them
# ---------------------------------------------------------------------------------------------

#: File name endings read as images (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: Files an operating system leaves in folders (lower case): never images, always skipped.
SYSTEM_FILES = (".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r")
#: Folders of metadata that zip tools add (``__MACOSX`` holds a Mac's resource forks).
SYSTEM_FOLDERS = ("__macosx",)
#: What to do about an unreadable file, for the error message.
UNREADABLE_FIX = "Delete it (or re-download the dataset), or pass skip_corrupt=True to leave such files out"


def is_hidden(relative: Path) -> bool:
    """True for a path (relative to the folder scanned) that a file browser hides or a system made.

    Hidden: any part starting with ``.`` (``.DS_Store``, a Mac's ``._face.jpg`` resource fork,
    ``.ipynb_checkpoints/``), any part inside ``__MACOSX/``, and the system files of
    :data:`SYSTEM_FILES` (``Thumbs.db``, ``desktop.ini``). Only the parts *below* the scanned
    folder count: a folder under ``~/.cache`` (where kagglehub stores downloads) is read.
    """
    parts = Path(relative).parts
    return any(p.startswith(".") or p.lower() in SYSTEM_FOLDERS for p in parts) or parts[-1].lower() in SYSTEM_FILES


@dataclass(frozen=True)
class ImageFolder:
    """What :func:`scan_image_folder` found below a folder (searched recursively, sorted paths).

    Attributes:
        folder: the folder scanned.
        files: the image files to read (by :data:`IMAGE_EXTENSIONS`, not hidden).
        hidden: hidden and system files skipped (see :func:`is_hidden`).
        other: visible files that are not images (by their ending: ``notes.txt``, ``faces.zip``).
    """

    folder: Path
    files: tuple
    hidden: tuple
    other: tuple

    def skipped(self) -> str:
        """``""``, or a clause for a provenance line: ``"skipped 2 hidden or system files (e.g. .DS_Store)
        and 1 non-image file (e.g. notes.txt)"``."""
        parts = []
        for what, found in (("hidden or system", self.hidden), ("non-image", self.other)):
            if found:
                plural = "" if len(found) == 1 else "s"
                parts.append(f"{len(found):,} {what} file{plural} (e.g. {found[0].relative_to(self.folder)})")
        return ("skipped " + " and ".join(parts)) if parts else ""


def scan_image_folder(folder) -> ImageFolder:
    """The image files below ``folder`` (any depth, as in Kaggle's zips: ``images/1.jpg``), sorted.

    Hidden and system files (:func:`is_hidden`: ``.DS_Store``, ``Thumbs.db``, ``._*`` resource
    forks, anything under ``__MACOSX/`` or a ``.folder/``) and files of other types are skipped
    and returned separately, so that a loader can say how many it left out.
    """
    folder = Path(folder)
    files, hidden, other = [], [], []
    for f in sorted(folder.rglob("*")):
        if not f.is_file():
            continue
        rel = f.relative_to(folder)
        if is_hidden(rel):
            hidden.append(f)
        elif f.suffix.lower() in IMAGE_EXTENSIONS:
            files.append(f)
        else:
            other.append(f)
    return ImageFolder(folder=folder, files=tuple(files), hidden=tuple(hidden), other=tuple(other))


#: PIL modes with an alpha channel (transparent pixels are composited over white).
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
#: PIL modes of 16-bit (or 32-bit integer) grey images: scaled by 255 / 65535 to 8 bits.
_WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def to_rgb8(im, name):
    """Any pixel format PIL opens -> an 8-bit RGB ``PIL.Image`` with the same look, or a DataError naming ``name``.

    The ranges, per PIL mode:

    - ``1`` (bilevel, 0/1), ``L`` (grey 0-255), ``RGB``, ``YCbCr``: converted directly (1 -> 255).
    - ``P`` (palette, indices 0-255 into 256 RGB colours): the palette's colours; a palette with
      a transparent index is composited over white.
    - ``LA``, ``PA``, ``RGBA`` (alpha 0 = transparent .. 255 = opaque): composited over white.
    - ``CMYK`` (ink 0-255 per channel): PIL's conversion ``R = (255 - C) (255 - K) / 255``, and
      likewise G from M and B from Y.
    - ``I;16`` (16-bit grey, 0-65535, PNG's 16-bit) and ``I`` (32-bit integer grey holding
      0-65535): scaled by 255 / 65535 and rounded, so 65535 is white and 32768 mid-grey (not
      clipped at 255). ``I`` values outside 0-65535 are refused by name.
    - ``F`` (32-bit float, no agreed range): refused by name.
    """
    from PIL import Image


    mode = im.mode
    if mode == "P" and "transparency" in im.info:
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in _WIDE_GREY_MODES:
        wide = np.asarray(im, dtype="float64")
        if wide.min() < 0 or wide.max() > 65535:
            raise DataError(f"the image file {name} is a {mode} image with values {wide.min():g}..{wide.max():g}, "
                            "outside 16 bits; save it as an 8- or 16-bit PNG or a JPEG, or delete it")
        return Image.fromarray(np.round(wide * (255.0 / 65535.0)).astype("uint8"), "L").convert("RGB")
    if mode == "F":
        raise DataError(f"the image file {name} holds floating-point pixels (PIL mode F), which have no standard "
                        "range; "
                        "save it as an 8- or 16-bit PNG or a JPEG, or delete it (skip_corrupt=True leaves it out)")
    if mode in _ALPHA_MODES:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def _bomb_error(name, width: int, height: int, limit: int):

    return DataError(
        f"the image file {name} is {width:,} x {height:,} = {width * height:,} pixels, more than Pillow's "
        f"decompression-bomb limit of {limit:,} (PIL.Image.MAX_IMAGE_PIXELS): it may be a file made to exhaust "
        "memory, or a huge scan. The course reads small images: shrink it or delete it (skip_corrupt=True leaves "
        "it out); if you trust it, raise PIL.Image.MAX_IMAGE_PIXELS before loading")


@contextmanager
def quiet_bomb_warnings():
    """Silence Pillow's ``DecompressionBombWarning`` inside the block (for all threads).

    :func:`read_image_file` refuses such files with its own error naming the file, so the
    warning says nothing new. Enter it once around a thread pool, not in each worker:
    ``warnings.catch_warnings`` is process-wide.
    """
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def read_image_file(source, size: int, *, name=None, fix: str = UNREADABLE_FIX) -> np.ndarray:
    """One image -> ``(size, size, 3)`` uint8 RGB in ``[0, 255]``, upright, centre-cropped to a square, resized.

    Steps: refuse a decompression bomb (more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``,
    read from the header before any pixel is decoded); decode; turn it upright by its EXIF
    orientation (``PIL.ImageOps.exif_transpose``: a phone photo taken sideways is stored
    sideways with a tag saying so); convert the pixel format to 8-bit RGB (:func:`to_rgb8`
    states each mode's range); crop the central square; resize it (bicubic).

    Args:
        source: a path, or a binary file object (e.g. ``io.BytesIO`` of a zip member).
        size: height = width of the result in pixels.
        name: how the file is named in errors (default: ``source`` itself).
        fix: the advice given when the file is unreadable.

    Raises:
        DataError: naming the file: unreadable or not an image, a decompression bomb, a pixel
            format with no standard range.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError


    name = source if name is None else name
    try:
        with Image.open(source) as im:
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and im.size[0] * im.size[1] > limit:
                raise _bomb_error(name, im.size[0], im.size[1], limit)
            im.load()
            im = to_rgb8(ImageOps.exif_transpose(im), name)
            w, h = im.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
            return np.asarray(im, dtype="uint8")
    except Image.DecompressionBombError as err:  # over twice the limit: Image.open itself refuses
        limit = Image.MAX_IMAGE_PIXELS or 0
        raise DataError(f"the image file {name} is more than twice Pillow's decompression-bomb limit of {limit:,} "
                        f"pixels (PIL.Image.MAX_IMAGE_PIXELS; Pillow: {err}): it may be a file made to exhaust "
                        "memory, or a huge scan. The course reads small images: shrink it or delete it "
                        "(skip_corrupt=True leaves it out); if you trust it, raise PIL.Image.MAX_IMAGE_PIXELS "
                        "before loading") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise DataError(f"cannot read the image file {name} ({type(err).__name__}: {err}); it is corrupt or not an "
                        f"image. {fix}") from err
