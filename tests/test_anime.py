import numpy as np
import pytest

from coursekit.data import AnimeFaces, DataError, draw_standin_faces, load_anime_faces
from coursekit.data import anime as anime_module
from coursekit.data.anime import ANIME_DIR_ENV, ATTRIBUTES
from _image_cases import pixel_format_cases


@pytest.fixture(scope="module")
def faces32():
    return draw_standin_faces(1200, 32, seed=1)


@pytest.fixture(scope="module")
def held_out32():
    return draw_standin_faces(400, 32, seed=2)


def _pixel(coord, size=32):
    """Image coordinate in [-1, 1] -> pixel index."""
    return int((coord + 1) / 2 * size)


def _nearest_class_mean_accuracy(feats, labels, test_feats, test_labels, k):
    centroids = np.stack([feats[labels == c].mean(0) for c in range(k)])
    dist = ((test_feats[:, None, :] - centroids[None]) ** 2).sum(-1)
    return float((dist.argmin(1) == test_labels).mean())


# --- the procedural stand-in --------------------------------------------------------------------

def test_shapes_ranges_and_labels(faces32):
    x, attrs = faces32
    assert x.shape == (1200, 32, 32, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.15
    assert set(attrs) == set(ATTRIBUTES)
    for name, a in attrs.items():
        assert a.shape == (1200,) and a.dtype == np.int32
        assert a.min() == 0 and a.max() == len(ATTRIBUTES[name]) - 1
    x64, _ = draw_standin_faces(5, 64, seed=0)
    assert x64.shape == (5, 64, 64, 3) and x64.dtype == np.float32 and 0 <= x64.min() and x64.max() <= 1


def test_deterministic_from_the_seed():
    a, la = draw_standin_faces(50, 32, seed=3)
    b, lb = draw_standin_faces(50, 32, seed=3)
    np.testing.assert_array_equal(a, b)
    for name in la:
        np.testing.assert_array_equal(la[name], lb[name])
    c, _ = draw_standin_faces(50, 32, seed=4)
    assert np.abs(a - c).mean() > 0.05


def test_attributes_are_balanced_and_independent(faces32):
    _, attrs = faces32
    for name, a in attrs.items():
        counts = np.bincount(a, minlength=len(ATTRIBUTES[name]))
        assert counts.max() - counts.min() <= 1, (name, counts)
    # independent draws: hair colour does not predict the hair style
    table = np.zeros((6, 3))
    np.add.at(table, (attrs["hair_colour"], attrs["hair_style"]), 1)
    assert table.min() > 0.5 * table.mean()


def test_hair_colour_is_visible_in_the_hair_region(faces32, held_out32):
    (x, a), (xt, at) = faces32, held_out32
    region = lambda imgs: (imgs[:, _pixel(-0.5):_pixel(-0.4), _pixel(-0.15):_pixel(0.15)]  # noqa: E731
                           .reshape(len(imgs), -1, 3).mean(1))
    means = np.stack([region(x)[a["hair_colour"] == c].mean(0) for c in range(6)])
    gaps = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(6, 1)]
    assert gaps.min() > 0.15, f"two hair colours look alike in the hair region: {np.round(means, 2)}"
    acc = _nearest_class_mean_accuracy(region(x), a["hair_colour"], region(xt), at["hair_colour"], 6)
    assert acc > 0.95


def test_background_style_and_eye_colour_are_visible(faces32, held_out32):
    (x, a), (xt, at) = faces32, held_out32
    corner = lambda imgs: imgs[:, :3, :3].reshape(len(imgs), -1, 3).mean(1)  # noqa: E731
    assert _nearest_class_mean_accuracy(corner(x), a["background"], corner(xt), at["background"], 4) > 0.95
    flat = lambda imgs: imgs.reshape(len(imgs), -1)  # noqa: E731
    assert _nearest_class_mean_accuracy(flat(x), a["hair_style"], flat(xt), at["hair_style"], 3) > 0.8  # chance 1/3
    band = lambda imgs: imgs[:, _pixel(-0.1):_pixel(0.4)].reshape(len(imgs), -1)  # noqa: E731
    assert _nearest_class_mean_accuracy(band(x), a["eye_colour"], band(xt), at["eye_colour"], 4) > 0.6  # chance 1/4
    # and the eye colour changes the image where the eyes are: left and right of centre, below the middle
    overall = x.mean(0)
    for c in range(4):
        diff = np.abs(x[a["eye_colour"] == c].mean(0) - overall).sum(-1)
        row, col = np.unravel_index(diff.argmax(), diff.shape)
        assert 16 <= row <= 23 and abs(col - 15.5) >= 2, (c, row, col)


def test_faces_are_structured_not_noise(faces32):
    x, _ = faces32
    # neighbouring pixels agree (flat regions with edges), unlike noise
    assert np.abs(np.diff(x, axis=2)).mean() < 0.1  # uniform noise: 0.33
    # below the eyes, in the middle, most images show skin (a face)
    cheeks = np.median(x[:, 19:22, 14:18].reshape(len(x), -1, 3), axis=1)
    skin = (cheeks[:, 0] > 0.85) & (cheeks[:, 0] > cheeks[:, 2] + 0.1)
    assert skin.mean() > 0.9


def test_bad_arguments():
    with pytest.raises(ValueError, match="n must be"):
        draw_standin_faces(0)
    with pytest.raises(ValueError, match="size"):
        draw_standin_faces(4, size=8)
    with pytest.raises(ValueError, match="source"):
        load_anime_faces(source="kaggle")


# --- load_anime_faces -----------------------------------------------------------------------------

def test_standin_loader(capsys):
    d = load_anime_faces(source="standin", size=32, n_train=120, n_test=60, seed=5)
    assert isinstance(d, AnimeFaces) and d.num_classes == 6
    assert d.x_train.shape == (120, 32, 32, 3) and d.x_test.shape == (60, 32, 32, 3)
    np.testing.assert_array_equal(d.y_train, d.attributes_train["hair_colour"])
    assert "stand-in" in capsys.readouterr().out
    again = load_anime_faces(source="standin", size=32, n_train=120, n_test=60, seed=5, verbose=False)
    np.testing.assert_array_equal(again.x_test, d.x_test)
    assert np.abs(d.x_train[:60] - d.x_test).mean() > 0.05  # train and test are different draws
    small = d.subset(10, 5)
    assert len(small.attributes_train["eye_colour"]) == 10 and len(small.attributes_test["background"]) == 5
    np.testing.assert_array_equal(small.attributes_train["hair_style"], d.attributes_train["hair_style"][:10])


def test_auto_picks_folder_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(ANIME_DIR_ENV, raising=False)
    assert load_anime_faces(size=16, n_train=6, n_test=6, verbose=False).num_classes == 6
    _write_faces(tmp_path, 4)
    monkeypatch.setenv(ANIME_DIR_ENV, str(tmp_path))
    d = load_anime_faces(size=16, verbose=False)
    assert d.num_classes == 1 and len(d.x_train) + len(d.x_test) == 4
    monkeypatch.delenv(ANIME_DIR_ENV)
    with pytest.raises(DataError, match=ANIME_DIR_ENV):
        load_anime_faces(source="folder")


def _write_faces(folder, n, size=(20, 20)):
    from PIL import Image

    rng = np.random.default_rng(0)
    sub = folder / "images"
    sub.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(sub / f"{i}_2019.{'jpg' if i % 2 else 'png'}")
    (folder / "notes.txt").write_text("not an image, ignored")


def test_folder_loader_crops_resizes_and_splits(tmp_path):
    from PIL import Image

    _write_faces(tmp_path, 9)
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, :10] = wide[:, 20:] = (255, 0, 0)
    wide[:, 10:20] = (0, 0, 255)  # only the centre square is blue
    Image.fromarray(wide).save(tmp_path / "images" / "wide.png")
    Image.fromarray(np.full((12, 12), 128, np.uint8)).save(tmp_path / "grey.png")  # greyscale -> RGB
    d = load_anime_faces(source="folder", path=tmp_path, size=16, n_test=3, seed=0, verbose=False)
    assert d.x_train.shape == (8, 16, 16, 3) and d.x_test.shape == (3, 16, 16, 3)
    assert d.num_classes == 1 and not d.y_train.any() and d.attributes_train == {}
    assert 0 <= d.x_train.min() and d.x_train.max() <= 1 and "11 image files" in d.provenance
    everything = np.concatenate([d.x_train, d.x_test])
    blue = [im for im in everything if im[..., 2].mean() > 0.95]
    assert len(blue) == 1 and blue[0][..., 0].max() < 0.05, "the wide image must be centre-cropped to its blue square"
    again = load_anime_faces(source="folder", path=tmp_path, size=16, n_test=3, seed=0, verbose=False)
    np.testing.assert_array_equal(again.x_test, d.x_test)
    other = load_anime_faces(source="folder", path=tmp_path, size=16, n_test=3, seed=1, verbose=False)
    assert not np.array_equal(other.x_test, d.x_test)


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist.*kaggle datasets download"):
        load_anime_faces(source="folder", path=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="no image files"):
        load_anime_faces(source="folder", path=tmp_path / "empty")
    with pytest.raises(DataError, match="is a file"):
        load_anime_faces(source="folder", path=tmp_path / "empty" / "readme.txt")
    _write_faces(tmp_path / "one", 1)
    with pytest.raises(DataError, match="only 1 image"):
        load_anime_faces(source="folder", path=tmp_path / "one")
    _write_faces(tmp_path / "few", 5)
    with pytest.raises(DataError, match="holds only 5"):
        load_anime_faces(source="folder", path=tmp_path / "few", n_train=10, n_test=1)


def test_corrupt_file_is_named_and_can_be_skipped(tmp_path):
    _write_faces(tmp_path, 6)
    bad = tmp_path / "images" / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(DataError, match="broken.jpg.*corrupt.*skip_corrupt=True"):
        load_anime_faces(source="folder", path=tmp_path, size=16, n_test=1, verbose=False)
    d = load_anime_faces(source="folder", path=tmp_path, size=16, n_train=5, n_test=1, skip_corrupt=True, verbose=False)
    assert len(d.x_train) == 5 and "1 corrupt file(s) left out" in d.provenance
    with pytest.raises(DataError, match="too few"):
        load_anime_faces(source="folder", path=tmp_path, size=16, n_train=6, n_test=1, skip_corrupt=True)


def test_kaggle_folder_is_recognised_by_its_size(tmp_path, monkeypatch):
    _write_faces(tmp_path, 3)
    monkeypatch.setattr(anime_module, "KAGGLE_SIZE", 3)
    d = load_anime_faces(source="folder", path=tmp_path, size=16, n_test=1, verbose=False)
    assert "Kaggle Anime Face Dataset" in d.provenance


def test_attribute_labels_by_name_and_clear_errors():
    from coursekit.data.anime import attribute_labels

    np.testing.assert_array_equal(attribute_labels({"hair_colour": "blonde", "eye_colour": "green"}), [[2, 1]])
    rows = attribute_labels([{"hair_colour": "pink", "eye_colour": "blue"},
                             {"hair_colour": "black", "eye_colour": "purple"}])
    np.testing.assert_array_equal(rows, [[5, 0], [0, 3]])
    with pytest.raises(ValueError, match=r"unknown hair_colour 'green'.*'black'"):
        attribute_labels({"hair_colour": "green", "eye_colour": "blue"})
    with pytest.raises(ValueError, match="unknown attribute 'hat'"):
        attribute_labels({"hat": "red"}, names=("hat",))
    with pytest.raises(ValueError, match="exactly the attributes"):
        attribute_labels({"hair_colour": "red"})


# --- faults: every pixel format a folder can hold (cases in test_image_files), corrupt files, small folders -

def test_a_folder_of_mixed_pixel_formats_loads_into_zero_one(tmp_path):
    for name, write, _ in pixel_format_cases():
        write(tmp_path / name)
    d = load_anime_faces(source="folder", path=tmp_path, size=8, n_test=2, verbose=False)
    x = np.concatenate([d.x_train, d.x_test])
    assert len(x) == len(pixel_format_cases()) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1


def test_skip_corrupt_counts_the_images_after_skipping(tmp_path):
    """n_train=None takes every readable image that is not held out, however many were skipped."""
    _write_faces(tmp_path, 10)
    for i in range(3):
        (tmp_path / "images" / f"broken{i}.png").write_bytes(b"not a png")
    d = load_anime_faces(source="folder", path=tmp_path, size=8, n_test=2, skip_corrupt=True, verbose=False)
    assert (len(d.x_train), len(d.x_test)) == (8, 2) and "3 corrupt file(s) left out" in d.provenance
    d = load_anime_faces(source="folder", path=tmp_path, size=8, skip_corrupt=True, verbose=False)  # default n_test
    assert len(d.x_train) + len(d.x_test) == 10


def test_a_small_folder_gets_advice_lecture_06_can_follow(tmp_path):
    """Lecture 06 passes N_TRAIN / N_TEST (None means 'from the profile', not 'all'): the advice names numbers."""
    _write_faces(tmp_path, 30)
    with pytest.raises(DataError, match=r"holds only 30; ask for at most 30 in all, e.g. n_train=20, n_test=10 "
                                        r"\(in lecture 06: N_TRAIN = 20 and N_TEST = 10") as err:
        load_anime_faces(source="folder", path=tmp_path, size=8, n_train=6000, n_test=1000, verbose=False)
    assert "n_train=None" not in str(err.value)
    d = load_anime_faces(source="folder", path=tmp_path, size=8, n_train=20, n_test=10, verbose=False)  # it works
    assert (len(d.x_train), len(d.x_test)) == (20, 10)
    # lecture 06 checks N_TEST >= 10 where it reads it: the suggested numbers pass that check
    from coursekit.profiles import select_profile

    import re

    suggested = int(re.search(r"N_TEST = (\d+)", str(err.value)).group(1))
    assert select_profile("smoke").resolve("N_TEST", suggested, smoke=128, cpu=1000, gpu=2000, low=10) == suggested


def test_a_folder_as_people_have_it_is_read_and_the_skipped_files_counted(tmp_path):
    """Kaggle's zip unpacked on a Mac, then opened on Windows: nested folders, resource forks, thumbnails."""
    root = tmp_path / "archive"
    _write_faces(root / "animefacedataset", 6)  # archive/animefacedataset/images/*.jpg|png
    junk = [".DS_Store", "animefacedataset/.DS_Store", "animefacedataset/images/Thumbs.db",
            "animefacedataset/images/._0_2019.png", "__MACOSX/animefacedataset/images/._1_2019.jpg"]
    for rel in junk:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\x00\x05\x16\x07Mac OS X resource fork")  # would be a corrupt image if read
    d = load_anime_faces(source="folder", path=root, size=8, n_test=2, verbose=False)
    assert len(d.x_train) + len(d.x_test) == 6
    assert "6 image files (skipped 5 hidden or system files (e.g. " in d.provenance
    assert "and 1 non-image file (e.g. animefacedataset/notes.txt))" in d.provenance


def test_a_folder_holding_only_the_zip_says_unzip_it(tmp_path):
    (tmp_path / "animefacedataset.zip").write_bytes(b"PK\x03\x04")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    with pytest.raises(DataError, match=r"no image files .*skipped 1 hidden or system file .*and 1 non-image file "
                                        r".*it holds animefacedataset\.zip: unzip it there"):
        load_anime_faces(source="folder", path=tmp_path, verbose=False)


def test_a_decompression_bomb_in_the_folder_is_named_and_can_be_skipped(tmp_path, monkeypatch):
    import warnings

    from PIL import Image

    _write_faces(tmp_path, 4)  # 20 x 20 = 400 pixels each
    Image.new("RGB", (30, 30)).save(tmp_path / "images" / "poster.png")  # 900 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 600)  # over the limit, under twice it: Pillow only warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's warning must not leak out of the loader's threads
        with pytest.raises(DataError, match=r"poster\.png is 30 x 30 = 900 pixels, more than Pillow's "
                                            r"decompression-bomb limit of 600"):
            load_anime_faces(source="folder", path=tmp_path, size=8, n_test=1, verbose=False)
        d = load_anime_faces(source="folder", path=tmp_path, size=8, n_test=1, skip_corrupt=True, verbose=False)
    assert len(d.x_train) + len(d.x_test) == 4 and "1 corrupt file(s) left out" in d.provenance


# --- the Kaggle download: kagglehub has no timeout of its own --------------------------------------

class _FakeKagglehub:
    """Stands in for the kagglehub module: ``dataset_download`` runs ``behave(cache)``."""

    def __init__(self, behave, cache):
        self.behave, self.cache, self.calls = behave, cache, []

    def dataset_download(self, handle):
        self.calls.append(handle)
        return self.behave(self.cache)


@pytest.fixture
def fake_kagglehub(monkeypatch, tmp_path):
    import sys

    monkeypatch.delenv("COURSEKIT_OFFLINE", raising=False)
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))

    def install(behave):
        fake = _FakeKagglehub(behave, tmp_path / "kagglehub")
        monkeypatch.setitem(sys.modules, "kagglehub", fake)
        return fake
    return install


def test_a_stalled_kaggle_download_times_out_with_the_fallback(fake_kagglehub):
    import threading
    import time

    release = threading.Event()
    fake = fake_kagglehub(lambda cache: release.wait(30))  # a server that never answers
    t0 = time.monotonic()
    try:
        with pytest.raises(DataError, match=r"kagglehub\.dataset_download\('splcher/animefacedataset'\) made no "
                                            r"progress for 0\.5 s .*DOWNLOAD_KAGGLE = False .*source='standin'"):
            anime_module.download_kaggle_faces(timeout=0.5, poll=0.05)
    finally:
        release.set()  # let the worker thread end
    assert time.monotonic() - t0 < 10 and fake.calls == ["splcher/animefacedataset"]


def test_a_kaggle_download_that_progresses_is_not_cut_off(fake_kagglehub):
    import time

    def slow_but_steady(cache):
        folder = cache / "datasets" / "splcher" / "animefacedataset" / "versions" / "3"
        (folder / "images").mkdir(parents=True)
        for i in range(12):  # 1.2 s in all, more than the time-out, never 0.5 s without a new file
            (folder / "images" / f"{i}.jpg").write_bytes(b"x" * 100)
            time.sleep(0.1)
        return str(folder)

    fake_kagglehub(slow_but_steady)
    path = anime_module.download_kaggle_faces(timeout=0.5, poll=0.05)
    assert path.name == "3" and len(list((path / "images").iterdir())) == 12
    fake_kagglehub(lambda cache: time.sleep(2))  # no progress check can end this one: the total does
    with pytest.raises(DataError, match=r"did not finish within 0\.3 s"):
        anime_module.download_kaggle_faces(timeout=30, max_seconds=0.3, poll=0.05)


def test_kaggle_download_errors_name_the_fallback(fake_kagglehub, monkeypatch):
    import sys

    def refuse(cache):
        raise PermissionError("403 Forbidden: accept the dataset's rules")

    fake_kagglehub(refuse)
    with pytest.raises(DataError, match=r"failed \(PermissionError: 403 Forbidden.*kagglehub\.login\(\).*standin"):
        anime_module.download_kaggle_faces(timeout=5, poll=0.05)
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    with pytest.raises(DataError, match=r"COURSEKIT_OFFLINE=1 switches downloads off.*standin"):
        anime_module.download_kaggle_faces()
    monkeypatch.delenv("COURSEKIT_OFFLINE")
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # not installed
    with pytest.raises(DataError, match=r"pip install kagglehub"):
        anime_module.download_kaggle_faces()
    with pytest.raises(ValueError, match="timeout and max_seconds must be > 0"):
        anime_module.download_kaggle_faces(timeout=0)


# --- every label, read back from the image itself ------------------------------------------------

def _scaled_match(pixels, palette, low, high):
    """Distance of each pixel to each palette colour times its best brightness factor in [low, high]:
    ``(..., K)``. Shading and highlights scale a colour; they do not change its hue."""
    t = np.clip((pixels @ palette.T) / (palette**2).sum(1), low, high)
    return np.linalg.norm(pixels[..., None, :] - t[..., None] * palette, axis=-1)


def _own_hair_mask(x, hair_labels):
    """Pixels whose colour is the image's own (labelled) hair colour, shaded: ``(N, S, S)`` bool."""
    own = anime_module._HAIR_RGB[hair_labels][:, None, None, :]
    t = np.clip((x * own).sum(-1, keepdims=True) / (own**2).sum(-1, keepdims=True), 0.55, 1.15)
    return np.linalg.norm(x - t * own, axis=-1) < 0.1


@pytest.mark.parametrize("size", [32, 64])
def test_each_image_shows_its_background_label(size):
    x, a = draw_standin_faces(300, size, seed=7)
    corner = x[:, 0, 0]  # never covered by the face or the hair, whatever the jitter
    nearest = np.linalg.norm(corner[:, None] - anime_module._BG_RGB[None], axis=-1).argmin(1)
    np.testing.assert_array_equal(nearest, a["background"])


@pytest.mark.parametrize("size", [32, 64])
def test_each_image_shows_its_hair_colour_label(size):
    """Per image: the hair palette colour that most pixels of the top of the head match is the label."""
    x, a = draw_standin_faces(300, size, seed=7)
    top = x[:, : size // 2, size // 4: 3 * size // 4]
    dist = _scaled_match(top, anime_module._HAIR_RGB, 0.55, 1.15)
    best, close = dist.argmin(-1), dist.min(-1) < 0.08
    votes = np.stack([((best == c) & close).sum((1, 2)) for c in range(6)], axis=1)
    np.testing.assert_array_equal(votes.argmax(1), a["hair_colour"])
    assert (np.sort(votes, 1)[:, -1] >= 2 * np.sort(votes, 1)[:, -2]).all(), "the hair colour must win clearly"


@pytest.mark.parametrize("size", [32, 64])
def test_each_image_shows_its_eye_colour_label(size):
    """Per image: iris pixels (in the eye band, not of the image's hair colour) match the labelled eye colour.
    Blue eyes with blue hair and red eyes with red hair share a colour by construction: only those may show no iris."""
    x, a = draw_standin_faces(300, size, seed=7)
    s = size / 32
    rows, cols = slice(int(12 * s), int(24 * s)), slice(int(4 * s), int(28 * s))
    band, not_hair = x[:, rows, cols], ~_own_hair_mask(x, a["hair_colour"])[:, rows, cols]
    dist = _scaled_match(band, anime_module._EYE_RGB, 0.5, 1.2)
    best, iris = dist.argmin(-1), (dist.min(-1) < 0.08) & not_hair
    votes = np.stack([((best == c) & iris).sum((1, 2)) for c in range(4)], axis=1)
    seen = votes.sum(1) > 0
    assert (votes.argmax(1) == a["eye_colour"])[seen].all(), "an image shows an eye colour other than its label"
    assert (np.sort(votes, 1)[:, -2] == 0).all(), "no image shows two eye colours"
    eye, hair = a["eye_colour"], a["hair_colour"]
    same_as_hair = ((eye == 0) & (hair == 4)) | ((eye == 2) & (hair == 3))
    assert seen[~same_as_hair].mean() > 0.97


def test_each_image_shows_its_hair_style_label():
    """Short hair leaves the lower half free of hair; long hair and twin tails are told apart by where the
    hair pixels lie (nearest class mean of the hair masks, on held-out faces)."""
    x, a = draw_standin_faces(900, 32, seed=7)
    xt, at = draw_standin_faces(300, 32, seed=8)
    mask, mask_t = _own_hair_mask(x, a["hair_colour"]), _own_hair_mask(xt, at["hair_colour"])
    lower = mask_t[:, 16:].mean((1, 2))
    np.testing.assert_array_equal(lower < 0.15, at["hair_style"] == 0)  # per image: short <=> little hair below
    acc = _nearest_class_mean_accuracy(mask.reshape(900, -1).astype(float), a["hair_style"],
                                       mask_t.reshape(300, -1).astype(float), at["hair_style"], 3)
    assert acc > 0.97
