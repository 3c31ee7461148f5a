import hashlib
import zipfile

import numpy as np
import pytest

from coursekit.data import DataError, draw_standin_faces, load_registry
from coursekit.data import anime as anime_module
from coursekit.data import translation as tr
from coursekit.data.anime import ATTRIBUTES
from coursekit.data.translation import (
    HAIR_MAP,
    LINE_HIGH,
    TranslationData,
    line_art,
    load_digit_translation,
    load_face_translation,
    load_horse2zebra,
    read_cyclegan_zip,
    resize_bilinear,
)

HAIR = ATTRIBUTES["hair_colour"]


@pytest.fixture(scope="module")
def faces():
    return load_face_translation(n_train=120, n_test=40, size=32, seed=3, verbose=False)


@pytest.fixture(scope="module")
def digits():
    return load_digit_translation(size=32, n_test=100, seed=0, verbose=False)


def _rows(x):
    """Each image as bytes, to find it again among others."""
    return [im.tobytes() for im in x]


def _exactly_equal_fraction(a, b):
    """Per pair: the fraction of pixels whose three channels are bit for bit equal, ``(N,)``."""
    return (a == b).all(-1).reshape(len(a), -1).mean(1)


def _hair_votes(x, changed):
    """Per image, how many changed pixels match each hair palette colour (shaded by a factor in [0.55, 1.15])."""
    palette = anime_module._HAIR_RGB
    t = np.clip((x @ palette.T) / (palette**2).sum(1), 0.55, 1.15)
    dist = np.linalg.norm(x[..., None, :] - t[..., None] * palette, axis=-1)
    best, close = dist.argmin(-1), (dist.min(-1) < 0.1) & changed
    return np.stack([((best == c) & close).sum((1, 2)) for c in range(len(palette))], axis=1)


# --- the face task: B is A's character with the hair dyed -------------------------------------------

def test_face_shapes_ranges_and_labels(faces):
    d = faces
    assert d.paired and d.test_paired and d.image_shape == (32, 32)
    for split, n in (("train", 120), ("test", 40)):
        for dom in "ab":
            x = getattr(d, f"{dom}_{split}")
            assert x.shape == (n, 32, 32, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
            labels = getattr(d, f"labels_{dom}_{split}")
            assert set(labels) == set(ATTRIBUTES)
            assert all(v.shape == (n,) and v.dtype == np.int32 for v in labels.values())
    natural = [HAIR.index(c) for c in HAIR_MAP]
    dyed = [HAIR.index(c) for c in HAIR_MAP.values()]
    counts_a = np.bincount(d.labels_a_train["hair_colour"], minlength=6)
    assert set(np.flatnonzero(counts_a)) == set(natural) and counts_a[natural].min() == 40  # 120 / 3 each
    assert set(np.unique(d.labels_b_train["hair_colour"])) == set(dyed)


def test_hair_map_changes_every_natural_colour_into_a_dyed_one():
    assert set(HAIR_MAP) == {"black", "brown", "blonde"} and set(HAIR_MAP.values()) == {"blue", "red", "pink"}
    assert set(HAIR_MAP) | set(HAIR_MAP.values()) == set(HAIR)


@pytest.mark.parametrize("split", ["train", "test"])
def test_each_b_image_is_its_a_image_with_only_the_hair_dyed(faces, split):
    a, b = getattr(faces, f"a_{split}"), getattr(faces, f"b_{split}")
    la, lb = getattr(faces, f"labels_a_{split}"), getattr(faces, f"labels_b_{split}")
    # the labels: the same character, hair colour mapped by name
    for name in ("hair_style", "eye_colour", "background"):
        np.testing.assert_array_equal(la[name], lb[name])
    np.testing.assert_array_equal([HAIR_MAP[HAIR[c]] for c in la["hair_colour"]], [HAIR[c] for c in lb["hair_colour"]])
    # the pixels: most are bit for bit equal (background, face, eyes, shirt), the background corner always
    same = _exactly_equal_fraction(a, b)
    assert same.min() > 0.4, f"pair {same.argmin()} shares only {same.min():.0%} of its pixels"
    np.testing.assert_array_equal(a[:, 0, 0], b[:, 0, 0])
    # ... and the pixels that changed are hair: A's own natural colour before, B's dyed colour after
    changed = np.abs(a - b).max(-1) > 0.1
    frac = changed.reshape(len(a), -1).mean(1)
    assert frac.min() > 0.03 and frac.max() < 0.6
    np.testing.assert_array_equal(_hair_votes(a, changed).argmax(1), la["hair_colour"])
    np.testing.assert_array_equal(_hair_votes(b, changed).argmax(1), lb["hair_colour"])


def test_a_misaligned_pair_is_caught_by_the_pixel_check(faces):
    """The check above goes red when B is shifted by one character (different faces share almost no pixels)
    or by one pixel row (the background's vertical gradient no longer matches)."""
    assert _exactly_equal_fraction(faces.a_train[:-1], faces.b_train[1:]).max() < 0.1
    assert _exactly_equal_fraction(faces.a_train, np.roll(faces.b_train, 1, axis=1)).max() < 0.1


def test_b_is_the_renderer_drawing_the_same_stream_with_the_hair_map(faces):
    """The loader pairs index i with index i: B equals the renderer's own drawing of A's characters with B's map."""
    train_seed, _ = np.random.SeedSequence([3, 8]).spawn(2)
    b, lb = draw_standin_faces(120, 32, train_seed, hair_map=tr._B_HAIR)
    np.testing.assert_array_equal(b, faces.b_train)
    np.testing.assert_array_equal(lb["hair_colour"], faces.labels_b_train["hair_colour"])


def test_the_hair_map_hook_keeps_the_default_drawing_and_changes_only_hair():
    x, attrs = draw_standin_faces(40, 32, seed=5)
    same, same_attrs = draw_standin_faces(40, 32, seed=5, hair_map=np.arange(6))
    np.testing.assert_array_equal(x, same)
    dyed, dyed_attrs = draw_standin_faces(40, 32, seed=5, hair_map=[5, 0, 1, 2, 3, 4])
    np.testing.assert_array_equal(dyed_attrs["hair_colour"], (attrs["hair_colour"] + 5) % 6)
    np.testing.assert_array_equal(dyed_attrs["eye_colour"], attrs["eye_colour"])
    assert _exactly_equal_fraction(x, dyed).min() > 0.4 and not np.array_equal(x, dyed)
    for bad in ([0, 1, 2], [0, 1, 2, 3, 4, 6], [0.0, 1, 2, 3, 4, 5], "abcdef"):
        with pytest.raises(ValueError, match="hair_map must be 6 hair-colour class indices"):
            draw_standin_faces(4, 16, seed=0, hair_map=bad)


def test_training_and_test_characters_differ(faces):
    train = set(_rows(faces.a_train)) | set(_rows(faces.b_train))
    assert not train & (set(_rows(faces.a_test)) | set(_rows(faces.b_test)))
    assert _exactly_equal_fraction(faces.a_train[:40], faces.a_test).max() < 0.1


def test_face_task_is_deterministic_from_the_seed(faces):
    again = load_face_translation(n_train=120, n_test=40, size=32, seed=3, verbose=False)
    for key in ("a_train", "b_train", "a_test", "b_test"):
        np.testing.assert_array_equal(getattr(again, key), getattr(faces, key))
    other = load_face_translation(n_train=120, n_test=40, size=32, seed=4, verbose=False)
    assert np.abs(other.a_train - faces.a_train).mean() > 0.05


def test_face_task_prints_its_provenance(capsys):
    d = load_face_translation(n_train=4, n_test=2, size=16, seed=0)
    out = capsys.readouterr().out
    assert out.strip() == d.provenance and "black->blue" in out and "4 train / 2 test pairs at 16x16" in out


@pytest.mark.parametrize("kwargs, message", [
    ({"n_train": 1}, "n_train must be >= 2"),
    ({"n_test": 0}, "n_test >= 1"),
    ({"size": 8}, "size must be >= 16"),
])
def test_face_task_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_face_translation(**{"n_train": 4, "n_test": 2, "size": 16, "verbose": False, **kwargs})


# --- the sketch task: B is A's line art ------------------------------------------------------------------

def test_sketch_task_pairs_each_face_with_its_own_line_art():
    d = load_face_translation(n_train=60, n_test=20, size=32, seed=1, task="sketch", verbose=False)
    assert d.paired and d.test_paired and d.name == "face sketch"
    for split in ("train", "test"):
        a, b = getattr(d, f"a_{split}"), getattr(d, f"b_{split}")
        assert b.shape == a.shape and b.dtype == np.float32 and 0 <= b.min() and b.max() <= 1
        np.testing.assert_array_equal(b, line_art(a))  # pair i is face i's drawing, for every i
        np.testing.assert_array_equal(b[..., 0], b[..., 2])  # grey
        for name in ATTRIBUTES:
            np.testing.assert_array_equal(getattr(d, f"labels_a_{split}")[name], getattr(d, f"labels_b_{split}")[name])
    assert len(np.unique(d.labels_a_train["hair_colour"])) == 6
    ink = 1 - d.b_train[..., 0]
    assert (ink[:, :3, :3] == 0).all(), "paper is white where the background is flat"
    frac = (ink > 0.5).reshape(60, -1).mean(1)
    assert frac.min() > 0.05 and frac.max() < 0.5, "lines, not blank pages or ink blots"
    assert (line_art(np.roll(d.a_train, 1, axis=0)) != d.b_train).any((1, 2, 3)).all()


def test_line_art_draws_a_line_at_a_colour_step_only():
    x = np.zeros((1, 16, 16, 3), "float32")
    x[:, :, 8:, 0] = 1.0  # red right half: one vertical step
    ink = 1 - line_art(x)[0, ..., 0]
    np.testing.assert_array_equal(ink[:, 7:9], 1.0)  # a black line two pixels wide on the step
    np.testing.assert_array_equal(np.delete(ink, [7, 8], axis=1), 0.0)  # white elsewhere
    gentle = np.linspace(0, 0.5, 16, dtype="float32")[None, None, :, None] * np.ones((1, 16, 1, 3), "float32")
    assert (line_art(gentle) == 1).all(), "a slope of 1/30 a pixel is shading, not a line"
    assert LINE_HIGH > 0
    with pytest.raises(DataError, match="must be in"):
        line_art(x * 255)
    with pytest.raises(ValueError, match="task must be one of"):
        load_face_translation(n_train=4, n_test=2, size=16, task="cartoon", verbose=False)


# --- unpaired(): CycleGAN's training sets -----------------------------------------------------------

def test_unpaired_training_sets_are_disjoint_shuffled_and_labelled(faces):
    u = faces.unpaired(seed=1)
    assert not u.paired and u.test_paired and "training unpaired (seed 1)" in u.provenance
    assert len(u.a_train) == len(u.b_train) == 60
    where_a = {row: i for i, row in enumerate(_rows(faces.a_train))}
    where_b = {row: i for i, row in enumerate(_rows(faces.b_train))}
    ia = np.array([where_a[row] for row in _rows(u.a_train)])
    ib = np.array([where_b[row] for row in _rows(u.b_train)])
    assert not set(ia) & set(ib), "a character is in both domains: its counterpart is there to be copied"
    assert sorted(set(ia) | set(ib)) == list(range(120))
    assert not np.array_equal(ia, np.sort(ia)) and not np.array_equal(ib, np.sort(ib))
    assert _exactly_equal_fraction(u.a_train, u.b_train).max() < 0.1, "no training pair may stay aligned"
    for name in ATTRIBUTES:  # labels travel with their images
        np.testing.assert_array_equal(u.labels_a_train[name], faces.labels_a_train[name][ia])
        np.testing.assert_array_equal(u.labels_b_train[name], faces.labels_b_train[name][ib])
    # the test pairs are the ground truth, untouched
    np.testing.assert_array_equal(u.a_test, faces.a_test)
    np.testing.assert_array_equal(u.b_test, faces.b_test)
    assert _exactly_equal_fraction(u.a_test, u.b_test).min() > 0.4


def test_unpaired_is_seeded_and_refuses_twice(faces):
    np.testing.assert_array_equal(faces.unpaired(seed=2).a_train, faces.unpaired(seed=2).a_train)
    assert not np.array_equal(faces.unpaired(seed=2).a_train, faces.unpaired(seed=3).a_train)
    with pytest.raises(ValueError, match="already unpaired"):
        faces.unpaired().unpaired()


def test_subset_keeps_pairs_and_labels(faces):
    small = faces.subset(10, 5)
    assert len(small.a_train) == len(small.b_train) == 10 and len(small.b_test) == 5
    np.testing.assert_array_equal(small.b_train, faces.b_train[:10])
    assert len(small.labels_b_test["hair_colour"]) == 5 and small.paired
    with pytest.raises(ValueError, match="positive"):
        faces.subset(0)


# --- the type refuses malformed data ------------------------------------------------------------------

def _arrays(n=4, size=8):
    x = np.full((n, size, size, 3), 0.5, "float32")
    return {"a_train": x, "b_train": x.copy(), "a_test": x[:2], "b_test": x[:2].copy()}


def _make(**changes):
    kwargs = {"name": "toy", "a_name": "A", "b_name": "B", "paired": True, "test_paired": True,
              "provenance": "toy", **_arrays(), **changes}
    return TranslationData(**kwargs)


@pytest.mark.parametrize("changes, message", [
    ({"a_train": np.full((4, 8, 8, 3), 255.0, "float32")}, r"toy a_train must be in \[0, 1\].*divide by 255"),
    ({"b_train": np.full((4, 8, 8, 3), 0.5, "float64")}, "b_train must be float32.*astype"),
    ({"a_test": np.full((2, 8, 8), 0.5, "float32")}, r"a_test must be a NumPy array of shape \(N, H, W, C\)"),
    ({"b_test": np.full((2, 8, 8, 1), 0.5, "float32")}, "b_train images are .* but b_test images are"),
    ({"b_train": np.full((4, 16, 16, 3), 0.5, "float32"), "b_test": np.full((2, 16, 16, 3), 0.5, "float32")},
     "domain A images are .* domain B images are"),
    ({"b_train": np.full((3, 8, 8, 3), 0.5, "float32")}, "marked paired but has 4 A and 3 B"),
    ({"labels_a_train": {"digit": np.zeros(3, "int32")}}, r"labels_a_train\['digit'\] must have shape \(4,\)"),
    ({"labels_b_test": {"digit": np.zeros(2, "float32")}}, "integer class indices"),
    ({"paired": "yes"}, "paired must be True or False"),
])
def test_translation_data_refuses_malformed_data(changes, message):
    with pytest.raises(DataError, match=message):
        _make(**changes)


def test_translation_data_accepts_two_channel_counts():
    grey = np.full((4, 8, 8, 1), 0.5, "float32")
    d = _make(b_train=grey, b_test=grey[:2], paired=False, test_paired=False)
    assert d.image_shape == (8, 8)
    with pytest.raises(ValueError, match="already unpaired"):
        d.unpaired()


# --- the digit task: MNIST <-> scikit-learn's 8x8 digits ------------------------------------------------

def test_digit_task_shapes_ranges_and_balance(digits):
    d = digits
    assert not d.paired and not d.test_paired
    assert d.a_train.shape == (4000, 32, 32, 1) and d.a_test.shape == (100, 32, 32, 1)
    assert d.b_train.shape == (1697, 32, 32, 1) and d.b_test.shape == (100, 32, 32, 1)
    for x in (d.a_train, d.b_train, d.a_test, d.b_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and 0.9 < x.max() <= 1.0
        assert x[:, 0, 0].max() == 0.0, "white digits on a black background: the corners are blank"
    np.testing.assert_array_equal(np.bincount(d.labels_a_train["digit"]), [400] * 10)
    for labels in (d.labels_a_test, d.labels_b_test):
        assert np.bincount(labels["digit"], minlength=10).min() >= 9  # stratified: 10 +- 1 per class
    counts_b = np.bincount(d.labels_b_train["digit"], minlength=10)
    assert counts_b.sum() == 1697 and counts_b.max() <= 1.05 * counts_b.min() + 1


def test_digit_task_splits_are_disjoint_and_cover_scikit_learns_digits(digits):
    from sklearn.datasets import load_digits

    raw = load_digits()
    framed = resize_bilinear(np.pad(raw.images / 16.0, ((0, 0), (1, 1), (1, 1))), 32)[..., None]
    mine = sorted(_rows(digits.b_train) + _rows(digits.b_test))
    assert mine == sorted(_rows(framed)), "train + test must be scikit-learn's 1,797 digits, each once"
    # every B image carries the label scikit-learn gives it
    label_of = {}
    for row, y in zip(_rows(framed), raw.target):
        label_of.setdefault(row, set()).add(int(y))
    for x, labels in ((digits.b_train, digits.labels_b_train), (digits.b_test, digits.labels_b_test)):
        assert all(int(y) in label_of[row] for row, y in zip(_rows(x), labels["digit"]))


def _nearest_mean_accuracy(x, y, xt, yt):
    means = np.stack([x[y == k].reshape(-1, x[0].size).mean(0) for k in range(10)])
    dist = ((xt.reshape(len(xt), -1)[:, None] - means[None]) ** 2).sum(-1)
    return float((dist.argmin(1) == yt).mean())


def test_digit_labels_are_right_in_both_domains(digits):
    """Class means of the training digits classify the held-out digits of the same domain (chance: 0.1)."""
    d = digits
    acc_a = _nearest_mean_accuracy(d.a_train, d.labels_a_train["digit"], d.a_test, d.labels_a_test["digit"])
    acc_b = _nearest_mean_accuracy(d.b_train, d.labels_b_train["digit"], d.b_test, d.labels_b_test["digit"])
    assert acc_a > 0.65 and acc_b > 0.75, (acc_a, acc_b)
    wrong = np.roll(d.labels_b_train["digit"], 1)  # the same test goes red on mislabelled digits
    assert _nearest_mean_accuracy(d.b_train, wrong, d.b_test, d.labels_b_test["digit"]) < 0.4


def test_digits_fill_a_similar_part_of_the_frame(digits):
    """Padding the 8x8 digits keeps the scale of both domains close (ink height and width within 20%)."""
    def extent(x):
        ink = x[..., 0] > 0.3
        return np.array([ink.any(2).sum(1).mean(), ink.any(1).sum(1).mean()])

    ratio = extent(digits.b_train) / extent(digits.a_train)
    assert np.all((0.8 < ratio) & (ratio < 1.2)), ratio


def test_digit_task_is_seeded_and_refuses_bad_arguments(digits):
    again = load_digit_translation(size=32, n_test=100, seed=0, verbose=False)
    np.testing.assert_array_equal(again.b_test, digits.b_test)
    with pytest.raises(ValueError, match="n_test must be between 10"):
        load_digit_translation(n_test=5, verbose=False)
    with pytest.raises(ValueError, match="size must be >= 8"):
        load_digit_translation(size=4, verbose=False)


def test_tampered_scikit_learn_digits_are_refused(monkeypatch):
    import sklearn.datasets

    real_load = sklearn.datasets.load_digits
    real = real_load()

    def tampered():
        bunch = real_load()
        bunch.images[0, 3, 3] = 16 - bunch.images[0, 3, 3]
        return bunch

    monkeypatch.setattr(sklearn.datasets, "load_digits", tampered)
    with pytest.raises(DataError, match="not the data the course was written for.*--force-reinstall scikit-learn"):
        tr._read_sklearn_digits()
    monkeypatch.setattr(sklearn.datasets, "load_digits", lambda: type(real)(images=real.images[:100],
                                                                             target=real.target[:100]))
    with pytest.raises(DataError, match="incomplete.*reinstall scikit-learn"):
        tr._read_sklearn_digits()
    monkeypatch.setattr(sklearn.datasets, "load_digits", real_load)
    monkeypatch.setattr("coursekit.data.registry.embedded_file",
                        lambda name: (_ for _ in ()).throw(DataError("not installed: pip install sklearn")))
    with pytest.raises(DataError, match="digits are missing.*pip install --force-reinstall scikit-learn"):
        tr._read_sklearn_digits()


def test_resize_bilinear_interpolates_between_pixel_centres():
    x = np.array([[[0.0, 1.0]]])  # one row of two pixels
    np.testing.assert_allclose(resize_bilinear(np.repeat(x, 2, axis=1), 4)[0, 0], [0.0, 0.25, 0.75, 1.0])
    flat = resize_bilinear(np.full((2, 8, 8), 0.3), 32)
    assert flat.shape == (2, 32, 32) and flat.dtype == np.float32 and np.allclose(flat, 0.3)
    rng = np.random.default_rng(0)
    img = rng.random((1, 28, 28))
    small = resize_bilinear(img, 14)  # shrinking averages (antialiased): the mean stays, the noise drops
    assert abs(small.mean() - img.mean()) < 0.01 and small.std() < 0.7 * img.std()
    from PIL import Image

    pil = np.asarray(Image.fromarray(img[0].astype("float32"), "F").resize((40, 40), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(resize_bilinear(img, 40)[0], pil, atol=1e-4)


# --- horse2zebra: registry, offline error, reading the archive ---------------------------------------------

def test_horse2zebra_is_registered_with_the_papers_url_and_a_checksum():
    entry = load_registry()["horse2zebra"]
    assert entry["url"] == "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"
    assert len(entry["sha256"]) == 64 and int(entry["sha256"], 16) >= 0
    assert entry["licence"] and "ImageNet" in entry["licence"]


def test_horse2zebra_offline_names_the_offline_tasks(monkeypatch):
    import keras

    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("downloaded although offline"))
    with pytest.raises(DataError, match=r"horse2zebra needs a download.*COURSEKIT_OFFLINE=1.*load_face_translation"):
        load_horse2zebra(size=32, verbose=False)


def _registry_with(monkeypatch, **entry):
    registry = {k: dict(v) for k, v in load_registry().items()}
    registry["horse2zebra"].update(entry)
    monkeypatch.setattr("coursekit.data.registry.load_registry", lambda: registry)


def test_horse2zebra_unreachable_server_names_the_offline_tasks(monkeypatch):
    monkeypatch.setenv("COURSEKIT_OFFLINE", "0")
    _registry_with(monkeypatch, url="http://127.0.0.1:9/horse2zebra.zip")  # nothing listens there
    with pytest.raises(DataError, match=r"could not download horse2zebra.*load_face_translation\(\)"):
        load_horse2zebra(size=32, verbose=False)


def _image_bytes(colour, size=(40, 30), mode="RGB", fmt="JPEG"):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, fmt)
    return buf.getvalue()


def _cyclegan_zip(path, skip=(), corrupt=None):
    """A tiny archive laid out as the CycleGAN authors' zips: red horses, blue zebras (one grey PNG)."""
    files = {
        "horse2zebra/trainA/h0.jpg": _image_bytes((220, 30, 30)),
        "horse2zebra/trainA/h1.jpg": _image_bytes((220, 30, 30)),
        "horse2zebra/trainA/h2.jpg": _image_bytes((220, 30, 30), size=(30, 40)),
        "horse2zebra/trainB/z0.jpg": _image_bytes((30, 30, 220)),
        "horse2zebra/trainB/z1.png": _image_bytes(128, mode="L", fmt="PNG"),
        "horse2zebra/testA/h9.jpg": _image_bytes((220, 30, 30)),
        "horse2zebra/testB/z9.jpg": _image_bytes((30, 30, 220)),
        "horse2zebra/README.txt": b"not an image",
        "__MACOSX/horse2zebra/trainA/._h0.jpg": b"a resource fork, not an image",
    }
    if corrupt:
        files[corrupt] = b"\xff\xd8 truncated"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            if not any(f"/{folder}/" in name for folder in skip):
                zf.writestr(name, data)
    return path


def test_a_cyclegan_zip_is_read_into_the_four_sets(tmp_path):
    d = load_horse2zebra(size=16, path=_cyclegan_zip(tmp_path / "h2z.zip"), verbose=False)
    assert (len(d.a_train), len(d.b_train), len(d.a_test), len(d.b_test)) == (3, 2, 1, 1)
    assert d.a_train.shape == (3, 16, 16, 3) and d.a_train.dtype == np.float32 and not d.paired
    assert d.labels_a_train == {} and "3 horses / 2 zebras to train" in d.provenance
    np.testing.assert_allclose(d.a_train.mean((0, 1, 2)), np.array([220, 30, 30]) / 255, atol=0.03)
    np.testing.assert_allclose(d.b_test.mean((0, 1, 2)), np.array([30, 30, 220]) / 255, atol=0.03)
    grey = d.b_train[np.argmin(np.ptp(d.b_train.mean((1, 2)), axis=1))]  # the grey PNG became RGB
    np.testing.assert_allclose(grey, 128 / 255, atol=0.01)
    small = read_cyclegan_zip(tmp_path / "h2z.zip", 8, n_train=2, n_test=1)
    assert len(small["a_train"]) == 2 and small["counts"]["trainA"] == 3


def test_a_verified_cached_archive_is_used_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    (tmp_path / "datasets").mkdir()
    cached = _cyclegan_zip(tmp_path / "datasets" / "horse2zebra.zip")
    _registry_with(monkeypatch, sha256=hashlib.sha256(cached.read_bytes()).hexdigest())
    d = load_horse2zebra(size=16, verbose=False)
    assert len(d.b_train) == 2 and "sha256-checked" in d.provenance


@pytest.mark.parametrize("make, message", [
    (lambda p: _cyclegan_zip(p, skip=("testB",)), "has no images in testB"),
    (lambda p: _cyclegan_zip(p, corrupt="horse2zebra/trainB/z2.jpg"),
     "cannot read the image file horse2zebra/trainB/z2.jpg inside the archive"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip") and p, "not a readable zip file"),
])
def test_a_damaged_archive_gets_a_clear_error(tmp_path, make, message):
    path = tmp_path / "horse2zebra.zip"
    make(path)
    with pytest.raises(DataError, match=message + ".*delete it"):
        load_horse2zebra(size=16, path=path, verbose=False)


def test_horse2zebra_refuses_bad_arguments(tmp_path):
    with pytest.raises(DataError, match="no file .*load_face_translation"):
        load_horse2zebra(path=tmp_path / "missing.zip", verbose=False)
    with pytest.raises(ValueError, match="size must be >= 16"):
        load_horse2zebra(size=8, verbose=False)
    with pytest.raises(ValueError, match="n_train must be >= 1"):
        load_horse2zebra(n_train=0, verbose=False)
