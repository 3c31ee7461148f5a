"""Anime faces (lecture 06 onwards), offline first.

Two sources, one return type (:class:`AnimeFaces`, an :class:`ImageDataset` with attribute labels):

- ``"folder"``: a local copy of the Kaggle *Anime Face Dataset* (Mckinsey666 / splcher,
  63,565 face crops scraped from getchu.com; ``kaggle datasets download splcher/animefacedataset``).
  Every image file under the folder (searched recursively) is centre-cropped to a square,
  resized to ``size x size`` and scaled to ``[0, 1]``. The images carry **no labels**:
  ``y`` is all zeros with ``num_classes=1`` and there are no attributes.
  The folder is given by ``path=`` or by the environment variable ``COURSEKIT_ANIME_DIR``.
- ``"standin"``: small anime-style faces drawn in code by :func:`draw_standin_faces`
  (NumPy only, vectorised, deterministic from the seed): head, big eyes with highlights,
  hair fringe and side hair, mouth, blush, shoulders. Four attributes vary independently and
  are returned as labels: ``hair_colour`` (6 classes, also used as ``y``), ``hair_style`` (3),
  ``eye_colour`` (4) and ``background`` (4); position, scale, tilt and colours are jittered.
  A real, structured learning task with known factors, so later lectures can condition on
  an attribute and measure how many hair colours a generator covers.

``source="auto"`` uses the folder when ``path`` or ``$COURSEKIT_ANIME_DIR`` is set, else the
stand-in. Images are ``(N, size, size, 3)`` float32 in ``[0, 1]``; map them to ``[-1, 1]``
(``coursekit.data.transforms.to_tanh_range``) for a ``tanh`` generator.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from coursekit.data.checks import DataError
from coursekit.data.images import (IMAGE_EXTENSIONS, ImageDataset, quiet_bomb_warnings, read_image_file,
                                   scan_image_folder)

ANIME_DIR_ENV = "COURSEKIT_ANIME_DIR"
SOURCES = ("auto", "standin", "folder")
KAGGLE_DATASET = "splcher/animefacedataset"
KAGGLE_SIZE = 63_565
MIN_FOLDER_IMAGES = 2  # one to train on, one to hold out

#: Class names of each stand-in attribute, in label order.
ATTRIBUTES = {
    "hair_colour": ("black", "brown", "blonde", "red", "blue", "pink"),
    "hair_style": ("short spiky", "long straight", "twin tails"),
    "eye_colour": ("blue", "green", "red", "purple"),
    "background": ("sky", "cream", "mint", "lilac"),
}

# RGB in [0, 1], one row per class of the attribute above.
_HAIR_RGB = np.array([[0.16, 0.14, 0.22], [0.50, 0.31, 0.16], [0.98, 0.86, 0.42],
                      [0.88, 0.20, 0.16], [0.22, 0.44, 0.92], [0.97, 0.55, 0.78]], dtype="float32")
_EYE_RGB = np.array([[0.15, 0.45, 0.98], [0.12, 0.70, 0.30], [0.90, 0.12, 0.12], [0.62, 0.30, 0.88]], dtype="float32")
_BG_RGB = np.array([[0.78, 0.88, 0.98], [0.98, 0.95, 0.82], [0.82, 0.96, 0.86], [0.92, 0.85, 0.98]], dtype="float32")
_SHIRT_RGB = np.array([[0.16, 0.20, 0.42], [0.95, 0.95, 0.95], [0.20, 0.40, 0.28], [0.55, 0.15, 0.20]], dtype="float32")
_SKIN_RGB = np.array([1.0, 0.89, 0.80], dtype="float32")
_DARK = np.array([0.10, 0.07, 0.10], dtype="float32")
_WHITE = np.array([1.0, 1.0, 1.0], dtype="float32")


# ---------------------------------------------------------------------------------------------
# The procedural stand-in
# ---------------------------------------------------------------------------------------------

def _balanced(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``n`` labels in ``[0, k)``, every class ``n // k`` or ``n // k + 1`` times, shuffled."""
    return rng.permutation(np.arange(n) % k).astype("int32")


def _tri(x):
    """Triangle wave with period 1: 0 at integers, 1 half-way between."""
    return 1.0 - np.abs(2.0 * (x - np.floor(x)) - 1.0)


class _Canvas:
    """Soft (anti-aliased) shapes in face coordinates for a chunk of ``m`` images at once.

    ``u`` (right) and ``v`` (down) are ``(m, S, S)`` face coordinates: the head is a unit-ish
    shape around the origin, already moved, scaled and tilted per image. ``px`` is pixels per
    face unit, ``(m, 1, 1)``: edges are blurred over one pixel, which anti-aliases them.
    """

    def __init__(self, u, v, px, img):
        self.u, self.v, self.px, self.img = u, v, px, img

    def ellipse(self, cx, cy, rx, ry, u=None):
        u = self.u if u is None else u
        q = np.sqrt(((u - cx) / rx) ** 2 + ((self.v - cy) / ry) ** 2)
        return np.clip(0.5 - (q - 1.0) * min(rx, ry) * self.px, 0.0, 1.0)

    def below(self, line):
        """1 where ``v > line`` (``line`` broadcastable to ``(m, S, S)``)."""
        return np.clip(0.5 + (self.v - line) * self.px, 0.0, 1.0)

    def left_of(self, line, u=None):
        u = self.u if u is None else u
        return np.clip(0.5 - (u - line) * self.px, 0.0, 1.0)

    def paint(self, alpha, colour):
        """Alpha-composite ``colour`` ((3,), (3,m,1,1) or (3,m,S,S)) with coverage ``alpha`` (m,S,S).

        The canvas is channels-first, ``(3, m, S, S)``: one pass per channel is several times
        faster than broadcasting over a trailing channel axis.
        """
        colour = np.asarray(colour, dtype="float32")
        if colour.ndim == 1:
            colour = colour[:, None, None, None]
        for ch in range(3):
            self.img[ch] += alpha * (colour[ch] - self.img[ch])


def _render(p: dict, size: int) -> np.ndarray:
    """Draw one chunk of faces from the parameter arrays in ``p`` (each ``(m,)`` or ``(m, 3)``)."""
    m = len(p["cx"])
    col = lambda a: a.T[:, :, None, None]  # noqa: E731  (m, 3) -> (3, m, 1, 1), channels first
    sc = lambda a: a[:, None, None]  # noqa: E731  (m,) -> (m, 1, 1)
    grid = ((np.arange(size, dtype="float32") + 0.5) / size) * 2.0 - 1.0
    x, y = grid[None, None, :], grid[None, :, None]
    cos, sin, s = sc(np.cos(p["tilt"])), sc(np.sin(p["tilt"])), sc(p["scale"])
    dx, dy = x - sc(p["cx"]), y - sc(p["cy"])
    u = (dx * cos + dy * sin) / s
    v = (-dx * sin + dy * cos) / s
    px = s * (size / 2.0)
    au = np.abs(u)

    # background: the class colour with a soft vertical gradient
    img = np.broadcast_to(col(p["bg"]) * (1.0 - 0.12 * (y + 1.0) / 2.0), (3, m, size, size)).copy()
    c = _Canvas(u, v, px, img)

    style = sc(p["style"])
    short, long_, twin = (style == 0).astype("float32"), (style == 1).astype("float32"), (style == 2).astype("float32")
    hair = col(p["hair"]) * (1.05 - 0.35 * np.clip((v + 0.55) / 1.4, 0.0, 1.0))  # lit from above
    ring = np.exp(-(((v + 0.32 - 0.35 * u**2) / 0.035) ** 2) - (u / 0.3) ** 2)  # the anime "angel ring" highlight
    hair = np.clip(hair + 0.30 * ring * (1.0 - hair), 0.0, 1.0)

    # hair behind the head: the cap (spiky outline for the short style), long hair, twin tails
    angle = np.arctan2(v + 0.08, u)
    spikes = 1.0 + short * 0.18 * _tri(angle * 9.0 / (2 * np.pi) + sc(p["phase"])) * (v < -0.05)
    r = np.sqrt(u**2 + (v + 0.08) ** 2) / spikes
    cap = np.clip(0.5 - (r - 0.55) * px, 0.0, 1.0)
    long_hair = c.left_of(0.60, au) * c.below(-0.15) * (1 - c.below(0.85 - 0.10 * _tri(u * 4.0 + sc(p["phase"]))))
    tails = c.ellipse(0.66, 0.28, 0.16, 0.46, u=au)
    back = np.maximum(cap, np.maximum(long_ * long_hair, twin * tails))
    c.paint(back, hair * 0.82)

    # shoulders and neck
    c.paint(c.ellipse(0.0, 1.08, 0.66, 0.34), col(p["shirt"]))
    c.paint(c.left_of(0.11, au) * c.below(0.30) * (1 - c.below(0.90)), _SKIN_RGB * 0.85)

    # head: rounder on top, tapering to a small chin
    ry = np.where(v < 0, np.float32(0.46), np.float32(0.56))
    rx = 0.46 * (1.0 - 0.42 * np.clip(v / 0.56, 0.0, 1.0) ** 1.6)
    q = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    skin = col(p["skin"])
    c.paint(np.clip(0.5 - (q - 1.0) * 0.46 * px, 0.0, 1.0), skin)
    c.paint(0.45 * c.ellipse(0.27, 0.27, 0.08, 0.035, u=au), np.array([1.0, 0.55, 0.60], dtype="float32"))

    # eyes: dark outline, white, iris (darker at the top), pupil, two highlights, thick upper lash
    eye = col(p["eye"])
    iris = eye * (0.55 + 0.6 * np.clip(v / 0.25, 0.0, 1.0))
    for side in (-1.0, 1.0):
        ex, ey = side * 0.20, 0.10
        c.paint(c.ellipse(ex, ey, 0.135, 0.165), _DARK)
        c.paint(c.ellipse(ex, ey + 0.012, 0.112, 0.142), _WHITE)
        c.paint(c.ellipse(ex, ey + 0.025, 0.090, 0.128), np.clip(iris, 0, 1))
        c.paint(c.ellipse(ex, ey + 0.035, 0.045, 0.070), eye * 0.25)
        c.paint(c.ellipse(ex + 0.035, ey - 0.030, 0.036, 0.036), _WHITE)
        c.paint(c.ellipse(ex - 0.035, ey + 0.075, 0.018, 0.018), _WHITE)
        c.paint(c.ellipse(ex, ey - 0.015, 0.150, 0.165) * (1 - c.below(ey - 0.075)), _DARK)

    # mouth: a small smile (lower half of a flat ellipse)
    c.paint(c.ellipse(0.0, 0.355, 0.065, 0.035) * c.below(0.355), np.array([0.62, 0.18, 0.24], dtype="float32"))

    # side locks framing the face (long and twin-tail styles), pointed at the bottom
    lock = (c.left_of(0.52, au) * (1 - c.left_of(0.34, au)) * c.below(-0.20)
            * (1 - c.below(0.52 - 2.0 * np.abs(au - 0.43))))
    c.paint(np.maximum(long_, twin) * lock, hair)

    # the fringe: front hair over the forehead down to a zig-zag line whose shape is the style
    fringe_line = np.where(
        style == 0, -0.14 + 0.20 * _tri(u * 3.2 + sc(p["phase"])),  # few long spikes
        np.where(style == 1, -0.06 + 0.06 * _tri(u * 6.0),
                 -0.12 + 0.13 * _tri(au * 4.0) - 0.20 * (au < 0.05).astype("float32")))
    front = np.minimum(cap, 1 - c.below(fringe_line))
    c.paint(front, hair)

    # ribbons holding the twin tails
    c.paint(twin * c.ellipse(0.52, -0.24, 0.07, 0.07, u=au), col(p["ribbon"]))
    return np.clip(np.moveaxis(c.img, 0, -1), 0.0, 1.0)


def _check_hair_map(hair_map) -> np.ndarray:
    """``hair_map`` as ``(6,)`` int32 class indices, or a ValueError naming the bad value."""
    k = len(ATTRIBUTES["hair_colour"])
    arr = np.asarray(hair_map)
    if arr.shape != (k,) or not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= k:
        raise ValueError(f"hair_map must be {k} hair-colour class indices in [0, {k - 1}] (one per class of "
                         f"{ATTRIBUTES['hair_colour']}), got {hair_map!r}")
    return arr.astype("int32")


def draw_standin_faces(n: int, size: int = 64, seed=0, hair_map=None):
    """Draw ``n`` anime-style faces procedurally, with their attribute labels.

    Each face has a head with a pointed chin, big eyes (outline, white, coloured iris, pupil,
    two highlights, thick upper lash), a smiling mouth, blush, neck and shoulders, hair behind
    the head and a fringe in front. The attributes in :data:`ATTRIBUTES` are drawn
    independently and balanced (each class ``n // k`` or ``n // k + 1`` times); position
    (+-0.08 of the half-width), scale (1.0-1.25), tilt (+-7 degrees), skin, shirt, ribbon
    and exact colours (+-0.04 per channel) are jittered. The same ``(n, size, seed)`` gives
    the same images bit for bit.

    Args:
        n: number of faces (>= 1).
        size: height = width in pixels (>= 16; 32 and 64 are what the course uses).
        seed: an int (or anything ``np.random.default_rng`` takes).
        hair_map: ``None``, or 6 hair-colour class indices: a face drawn with hair class ``c``
            is painted with colour ``hair_map[c]`` (same jitter) and labelled so; everything
            else (the random stream included) stays as without it. Two calls with one seed and
            two maps draw the same characters with different hair, pixel for pixel aligned
            (``coursekit.data.translation`` uses it). ``None`` is the identity.

    Returns:
        ``(images, attributes)``: images ``(n, size, size, 3)`` float32 in ``[0, 1]``;
        attributes ``{name: (n,) int32}`` for every name in :data:`ATTRIBUTES`.
    """
    n, size = int(n), int(size)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if size < 16:
        raise ValueError(f"size must be >= 16 pixels for the faces to be recognisable, got {size}")
    rng = np.random.default_rng(seed)
    attrs = {name: _balanced(rng, n, len(classes)) for name, classes in ATTRIBUTES.items()}
    if hair_map is not None:
        attrs["hair_colour"] = _check_hair_map(hair_map)[attrs["hair_colour"]]

    def jitter(rgb, amount=0.04):
        return np.clip(rgb + rng.uniform(-amount, amount, size=rgb.shape), 0, 1).astype("float32")

    p = {
        "cx": rng.uniform(-0.08, 0.08, n), "cy": rng.uniform(-0.02, 0.10, n),
        "scale": rng.uniform(1.0, 1.25, n), "tilt": rng.uniform(-0.12, 0.12, n),
        "phase": rng.uniform(0.0, 1.0, n),
        "hair": jitter(_HAIR_RGB[attrs["hair_colour"]]), "eye": jitter(_EYE_RGB[attrs["eye_colour"]]),
        "bg": jitter(_BG_RGB[attrs["background"]], 0.02), "style": attrs["hair_style"],
        "skin": jitter(np.broadcast_to(_SKIN_RGB, (n, 3)), 0.03),
        "shirt": jitter(_SHIRT_RGB[rng.integers(0, len(_SHIRT_RGB), n)]),
        "ribbon": jitter(np.array([[0.95, 0.2, 0.3], [1.0, 1.0, 1.0], [1.0, 0.85, 0.2]],
                                  dtype="float32")[rng.integers(0, 3, n)]),
    }
    p = {k: np.asarray(val, dtype="int32" if k == "style" else "float32") for k, val in p.items()}
    chunk = max(1, 2**20 // (size * size))  # about a million pixels per chunk keeps memory small
    images = np.empty((n, size, size, 3), dtype="float32")
    for start in range(0, n, chunk):
        sl = slice(start, start + chunk)
        images[sl] = _render({k: val[sl] for k, val in p.items()}, size)
    return images, attrs


# ---------------------------------------------------------------------------------------------
# The dataset type and the loaders
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnimeFaces(ImageDataset):
    """An :class:`ImageDataset` of faces plus per-image attribute labels.

    ``attributes_train`` / ``attributes_test``: ``{name: (N,) int32}`` (the names and class
    names are in :data:`ATTRIBUTES`); empty dicts for the unlabeled Kaggle folder.
    ``y_train`` / ``y_test`` are the ``hair_colour`` labels (stand-in) or zeros (folder).
    """

    attributes_train: dict = field(default_factory=dict)
    attributes_test: dict = field(default_factory=dict)

    def subset(self, n_train: Optional[int] = None, n_test: Optional[int] = None) -> "AnimeFaces":
        """The first ``n_train`` / ``n_test`` examples, attributes included."""
        small = super().subset(n_train, n_test)
        return replace(
            small,
            attributes_train={k: a[: len(small.x_train)] for k, a in self.attributes_train.items()},
            attributes_test={k: a[: len(small.x_test)] for k, a in self.attributes_test.items()},
        )


def _load_standin(size: int, n_train: Optional[int], n_test: Optional[int], seed: int) -> AnimeFaces:
    n_train = 5000 if n_train is None else int(n_train)
    n_test = 1000 if n_test is None else int(n_test)
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got n_train={n_train}, n_test={n_test}")
    train_seed, test_seed = np.random.SeedSequence([int(seed), 6]).spawn(2)
    x_train, a_train = draw_standin_faces(n_train, size, train_seed)
    x_test, a_test = draw_standin_faces(n_test, size, test_seed)
    k = len(ATTRIBUTES["hair_colour"])
    return AnimeFaces(
        x_train=x_train, y_train=a_train["hair_colour"], x_test=x_test, y_test=a_test["hair_colour"],
        name="anime faces (stand-in)",
        provenance=(f"anime faces: procedural offline stand-in drawn by coursekit (seed {seed}), {n_train:,} train / "
                    f"{n_test:,} test at {size}x{size}; labels: {k} hair colours (y), 3 hair styles, 4 eye colours, "
                    f"4 backgrounds (the real Kaggle faces: path= or ${ANIME_DIR_ENV})"),
        num_classes=k, attributes_train=a_train, attributes_test=a_test,
    )


def _fewer(available: int, n_test: int) -> str:
    """Advice for a folder with ``available`` images, in the names a caller and lecture 06 can pass."""
    if available < MIN_FOLDER_IMAGES:
        return f"add images (at least {MIN_FOLDER_IMAGES}), or use source='standin'"
    test = max(1, min(n_test, max(available // 10, min(10, available - 1))))  # lecture 06 holds out >= 10
    train = available - test
    return (f"ask for at most {available:,} in all, e.g. n_train={train}, n_test={test} (in lecture 06: "
            f"N_TRAIN = {train} and N_TEST = {test} in the parameters cell), or use source='standin'")


def _load_folder(folder, size, n_train, n_test, seed, skip_corrupt) -> AnimeFaces:
    folder = Path(folder).expanduser()
    fetch_hint = (f"download the Kaggle Anime Face Dataset ({KAGGLE_DATASET}) and unzip it there, e.g. "
                  f"`kaggle datasets download -d {KAGGLE_DATASET} --unzip -p {folder}`, or use source='standin'")
    if not folder.exists():
        raise DataError(f"the anime faces folder {folder} does not exist; {fetch_hint}")
    if not folder.is_dir():
        raise DataError(f"the anime faces path {folder} is a file, not a folder; pass the folder that holds the images")
    scan = scan_image_folder(folder)
    files = scan.files
    if not files:
        zips = [f for f in scan.other if f.suffix.lower() == ".zip"]
        found = f" ({scan.skipped()})" if scan.skipped() else ""
        unzip = f"; it holds {zips[0].name}: unzip it there" if zips else ""
        raise DataError(f"the anime faces folder {folder} holds no image files ({', '.join(IMAGE_EXTENSIONS)}), "
                        f"searched recursively{found}{unzip}; {fetch_hint}")
    if len(files) < MIN_FOLDER_IMAGES:
        raise DataError(f"the anime faces folder {folder} holds only {len(files)} image file(s); at least "
                        f"{MIN_FOLDER_IMAGES} are needed (one to train on, one to hold out); {fetch_hint}")
    take_all = n_train is None  # all that are not held out: counted after corrupt files are left out
    n_test = min(1000, max(1, len(files) // 10)) if n_test is None else int(n_test)
    n_train = len(files) - n_test if take_all else int(n_train)
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got n_train={n_train}, n_test={n_test}")
    if n_train + n_test > len(files):
        raise DataError(f"asked for {n_train:,} train + {n_test:,} test images but {folder} holds only {len(files):,}; "
                        + _fewer(len(files), n_test))
    order = np.random.default_rng(seed).permutation(len(files))

    def read(path):
        try:
            return read_image_file(path, size)
        except DataError:
            if skip_corrupt:
                return None
            raise

    needed, images, bad, start = (len(files) if take_all else n_train + n_test), [], [], 0
    with quiet_bomb_warnings(), ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 1)) as pool:
        while len(images) < needed and start < len(files):  # with skip_corrupt, read on past bad files
            batch = [files[i] for i in order[start: start + needed - len(images)]]
            start += len(batch)
            for f, im in zip(batch, pool.map(read, batch)):
                (bad.append(str(f)) if im is None else images.append(im))
    if take_all:
        n_train = len(images) - n_test
        needed = n_train + n_test
    if n_train < 1 or len(images) < needed:
        example = bad[0] if bad else "-"
        raise DataError(f"{len(bad)} corrupt image file(s) left out of {folder} (e.g. {example}) leave {len(images):,} "
                        f"readable, too few for {max(n_train, 1):,} train + {n_test:,} test; repair the folder, or "
                        + _fewer(len(images), n_test))
    images = images[:needed]
    x = np.stack(images).astype("float32")
    x /= 255.0  # in place: the full Kaggle set at 64x64 is 3 GB as float32
    skipped = f", {len(bad)} corrupt file(s) left out" if bad else ""
    if scan.skipped():
        skipped += f" ({scan.skipped()})"
    is_kaggle = abs(len(files) - KAGGLE_SIZE) <= 10
    what = f"Kaggle Anime Face Dataset ({KAGGLE_DATASET})" if is_kaggle else "a folder of face images"
    return AnimeFaces(
        x_train=x[:n_train], y_train=np.zeros(n_train, "int32"), x_test=x[n_train:], y_test=np.zeros(n_test, "int32"),
        name="anime faces (folder)",
        provenance=(f"anime faces: {what} at {folder}, {len(files):,} image files{skipped}; {n_train:,} train / "
                    f"{n_test:,} test, centre-cropped and resized to {size}x{size}; "
                    "unlabeled (y = 0, num_classes = 1)"),
        num_classes=1,
    )


#: Environment variable where kagglehub keeps its downloads (its default: ``~/.cache/kagglehub``).
KAGGLEHUB_CACHE_ENV = "KAGGLEHUB_CACHE"
#: Seconds the whole Kaggle download may take at most, however steadily it progresses.
KAGGLE_MAX_SECONDS = 3600.0


def _folder_progress(folder: Path) -> tuple:
    """``(files, bytes)`` below ``folder`` (0, 0 when it does not exist yet): grows while kagglehub works."""
    n = size = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                size += os.stat(os.path.join(root, name)).st_size
                n += 1
            except OSError:  # a file renamed or removed while we look
                pass
    return n, size


def download_kaggle_faces(dataset: str = KAGGLE_DATASET, *, timeout: Optional[float] = None,
                          max_seconds: float = KAGGLE_MAX_SECONDS, poll: float = 1.0) -> Path:
    """``kagglehub.dataset_download(dataset)`` that cannot wait forever; returns the folder it gives.

    kagglehub takes no timeout, so the download runs in a worker thread while this one watches
    kagglehub's cache folder (``$KAGGLEHUB_CACHE``, default ``~/.cache/kagglehub``): when
    nothing in it grows for ``timeout`` seconds (the course's download timeout,
    :data:`coursekit.data.registry.DOWNLOAD_TIMEOUT_S`, by default), or the whole call takes
    longer than ``max_seconds``, it gives up with a :class:`DataError` naming the time-out and
    the offline stand-in. The worker is a daemon thread: it cannot be killed, but it cannot keep
    Python from exiting either, and a later call starts afresh (kagglehub reuses what it finished).
    ``COURSEKIT_OFFLINE=1`` refuses at once.

    Args:
        dataset: the Kaggle dataset handle (``owner/name``).
        timeout: seconds without progress before giving up.
        max_seconds: seconds the download may take in all.
        poll: seconds between two looks at the cache folder.

    Raises:
        DataError: offline mode, kagglehub missing, its own error, or a time-out (each with the fallback).
    """
    import importlib
    import threading
    import time

    from coursekit.data.registry import DOWNLOAD_TIMEOUT_S
    from coursekit.runtime import OFFLINE_ENV, offline_forced

    timeout = DOWNLOAD_TIMEOUT_S if timeout is None else float(timeout)
    if not timeout > 0 or not max_seconds > 0:
        raise ValueError(f"timeout and max_seconds must be > 0 seconds, got timeout={timeout}, "
                         f"max_seconds={max_seconds}")
    fallback = ("without it, leave DOWNLOAD_KAGGLE = False (and ANIME_DIR = None) for the offline stand-in faces "
                "(source='standin')")
    call = f"kagglehub.dataset_download({dataset!r})"
    if offline_forced():
        raise DataError(f"{call} needs the network, but {OFFLINE_ENV}=1 switches downloads off; unset "
                        f"{OFFLINE_ENV} to download, or {fallback}")
    try:
        kagglehub = importlib.import_module("kagglehub")
    except ImportError as err:
        raise DataError(f"the Kaggle download needs the kagglehub package (preinstalled on Colab): pip install "
                        f"kagglehub; or {fallback}") from err
    cache = Path(os.environ.get(KAGGLEHUB_CACHE_ENV) or Path.home() / ".cache" / "kagglehub").expanduser()
    result: dict = {}

    def work():
        try:
            result["path"] = kagglehub.dataset_download(dataset)
        except BaseException as err:  # handed to the waiting thread, which raises it as a DataError
            result["error"] = err

    worker = threading.Thread(target=work, name=f"kagglehub {dataset}", daemon=True)
    started = last_change = time.monotonic()
    seen = _folder_progress(cache)
    worker.start()
    while True:
        worker.join(poll)
        if not worker.is_alive():
            break
        now, progress = time.monotonic(), _folder_progress(cache)
        if progress != seen:
            seen, last_change = progress, now
        elif now - last_change > timeout:
            raise DataError(f"{call} made no progress for {timeout:g} s (nothing new in {cache}): the network or "
                            f"Kaggle is down or stalled. Check the connection (and Kaggle credentials) and run "
                            f"again; {fallback}")
        if now - started > max_seconds:
            raise DataError(f"{call} did not finish within {max_seconds:g} s; run again on a faster connection, "
                            f"or {fallback}")
    if "error" in result:
        err = result["error"]
        raise DataError(f"{call} failed ({type(err).__name__}: {err}); check the network and Kaggle credentials "
                        f"(kagglehub.login()), or {fallback}") from err
    path = Path(result["path"])
    if not path.is_dir():
        raise DataError(f"{call} returned {path}, which is not a folder; delete it and download again, or {fallback}")
    return path


def load_anime_faces(
    source: str = "auto",
    size: int = 64,
    n_train: Optional[int] = None,
    n_test: Optional[int] = None,
    path=None,
    seed: int = 0,
    verbose: bool = True,
    skip_corrupt: bool = False,
) -> AnimeFaces:
    """Load anime faces and print one line of provenance.

    Args:
        source: ``"auto"`` (the folder when ``path`` or ``$COURSEKIT_ANIME_DIR`` is set, else the
            stand-in), ``"folder"`` (a local copy of the Kaggle Anime Face Dataset) or
            ``"standin"`` (drawn in code, offline, labelled).
        size: height = width of the returned images in pixels (64 for the DCGAN of the
            source material, 32 for CPU runs).
        n_train, n_test: number of images. Stand-in defaults: 5,000 / 1,000. Folder defaults:
            ``n_test = min(1000, 10% of the files)`` held out, all the others for training.
        path: the folder (default ``$COURSEKIT_ANIME_DIR``); searched recursively (Kaggle's zip
            unpacks to ``images/*.jpg``) for ``.jpg .jpeg .png .bmp .gif .webp .tif .tiff`` files.
            Hidden and system files (``.DS_Store``, ``Thumbs.db``, a Mac's ``._*`` resource forks,
            ``__MACOSX/``) and other files are skipped, and counted in the provenance line. Each
            image is turned upright by its EXIF orientation and converted to 8-bit RGB (the
            ranges of each pixel format: :func:`coursekit.data.images.to_rgb8`).
        seed: fixes the stand-in drawing and the folder's random train/test split.
        verbose: print the provenance line.
        skip_corrupt: leave unreadable image files out of the folder instead of raising.

    Returns:
        an :class:`AnimeFaces`: images ``(N, size, size, 3)`` float32 in ``[0, 1]``; ``y`` the
        hair-colour class (stand-in, 6 classes) or zeros (folder, ``num_classes=1``: the
        Kaggle images are unlabeled); ``attributes_train`` / ``attributes_test`` (stand-in).

    Raises:
        DataError: a missing or empty folder, a corrupt image file or a decompression bomb
            (named), too few images.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    folder = path if path is not None else (os.environ.get(ANIME_DIR_ENV) or None)
    if source == "auto":
        source = "folder" if folder is not None else "standin"
    if source == "folder":
        if folder is None:
            raise DataError(f"source='folder' needs the folder of the Kaggle Anime Face Dataset: pass path=... or set "
                            f"${ANIME_DIR_ENV}; or use source='standin' for the offline stand-in")
        data = _load_folder(folder, int(size), n_train, n_test, seed, skip_corrupt)
    else:
        data = _load_standin(int(size), n_train, n_test, seed)
    if verbose:
        print(data.provenance)
    return data


def attribute_labels(requests, names=("hair_colour", "eye_colour")) -> np.ndarray:
    """Turn attribute requests by name into the integer label rows of a conditional model.

    Args:
        requests: a dict ``{"hair_colour": "blonde", "eye_colour": "green"}`` or a list of them.
        names: the attributes, in the order of the label columns (keys of :data:`ATTRIBUTES`).

    Returns:
        ``(N, len(names))`` int32 class indices (``N = 1`` for a single dict).

    Raises:
        ValueError: an unknown attribute or class name (naming the choices), or a request that
            misses or adds an attribute.
    """
    unknown = [n for n in names if n not in ATTRIBUTES]
    if unknown:
        raise ValueError(f"unknown attribute {unknown[0]!r}; the stand-in faces have {sorted(ATTRIBUTES)}")
    rows = [requests] if isinstance(requests, dict) else list(requests)
    out = np.zeros((len(rows), len(names)), "int32")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != set(names):
            raise ValueError(f"request {i} must name exactly the attributes {list(names)}, got {row!r}")
        for j, name in enumerate(names):
            choices = ATTRIBUTES[name]
            if row[name] not in choices:
                raise ValueError(f"unknown {name} {row[name]!r} in request {i}; choose one of {list(choices)}")
            out[i, j] = choices.index(row[name])
    return out
