"""Stacked MNIST (coursekit.data.stacked): the images, the per-channel classification and the mode scores."""

import math

import numpy as np
import pytest

from coursekit.data import ImageDataset
from coursekit.data import stacked


def _coded_digits(n=40):
    """A fake MNIST whose digit d is an image filled with (d + 1) / 10: the label can be read off the pixels."""
    y = np.arange(n, dtype="int32") % 10
    x = np.broadcast_to(((y + 1) / 10).astype("float32")[:, None, None, None], (n, 28, 28, 1)).copy()
    return ImageDataset(x, y, x[:10].copy(), y[:10].copy(), name="coded", provenance="test", num_classes=10)


class PixelReader:
    """A 'classifier' that reads the coded digit off the mean pixel (exact, so any channel mix-up shows)."""

    image_shape = (28, 28, 1)

    def __init__(self):
        self.calls = []

    def probs(self, x):
        x = np.asarray(x)
        self.calls.append(x.shape)
        digit = np.rint(x.mean(axis=(1, 2, 3)) * 10 - 1).astype(int)
        return np.eye(10)[digit]


def test_channels_hold_the_labelled_digits_and_the_draw_is_reproducible():
    data = _coded_digits()
    images, labels = stacked.stacked_mnist(500, seed=3, mnist=data)
    assert images.shape == (500, 28, 28, 3) and images.dtype == np.float32
    assert labels.shape == (500, 3) and labels.dtype == np.int64
    np.testing.assert_allclose(images[:, 5, 7, :], (labels + 1) / 10, rtol=1e-6)
    again, labels2 = stacked.stacked_mnist(500, seed=3, mnist=data)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, labels2)
    other, labels3 = stacked.stacked_mnist(500, seed=4, mnist=data)
    assert not np.array_equal(labels, labels3)
    # the three channels are drawn independently: they are not copies of one another
    assert np.mean(labels[:, 0] == labels[:, 1]) < 0.3 and np.mean(labels[:, 1] == labels[:, 2]) < 0.3


def test_size_32_pads_with_zeros_and_the_reader_crops_it_back():
    data = _coded_digits()
    images, labels = stacked.stacked_mnist(50, seed=0, size=32, mnist=data)
    assert images.shape == (50, 32, 32, 3)
    assert images[:, :2].max() == 0 and images[:, :, 30:].max() == 0
    np.testing.assert_array_equal(stacked.channel_digits(PixelReader(), images), labels)


def test_channel_digits_classifies_each_channel_in_its_place():
    data = _coded_digits()
    images, labels = stacked.stacked_mnist(300, seed=1, mnist=data)
    reader = PixelReader()
    predicted = stacked.channel_digits(reader, images)
    np.testing.assert_array_equal(predicted, labels)
    assert reader.calls == [(900, 28, 28, 1)]  # one pass over the 3 N single-channel images
    # a swap of two channels must change the answer (guards the reshape order)
    swapped = stacked.channel_digits(reader, images[..., [1, 0, 2]])
    np.testing.assert_array_equal(swapped, labels[:, [1, 0, 2]])


def test_mode_index_and_known_scores():
    assert stacked.mode_index([[1, 2, 3], [0, 0, 0], [9, 9, 9]]).tolist() == [123, 0, 999]
    every = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    scores = stacked.mode_coverage(every)
    assert scores["modes"] == 1000 and scores["kl"] == pytest.approx(0.0, abs=1e-12)
    one = stacked.mode_coverage(np.tile([[4, 2, 7]], (26, 1)))
    assert one["modes"] == 1 and one["counts"][427] == 26
    assert one["kl"] == pytest.approx(math.log(1000), rel=1e-12)
    half = stacked.mode_coverage(np.repeat(every[::2], 3, axis=0))  # 500 modes, equal shares
    assert half["modes"] == 500 and half["kl"] == pytest.approx(math.log(2), rel=1e-12)
    few = stacked.mode_coverage(np.concatenate([np.tile([[0, 0, 1]], (5, 1)), [[0, 0, 2]]]), min_count=2)
    assert few["modes"] == 1


def test_uniform_triples_give_the_real_data_floor():
    """26,000 uniform triples cover all 1,000 modes; the KL is near its expectation (K - 1) / (2 N) = 0.019."""
    labels = np.random.default_rng(0).integers(0, 10, size=(stacked.PROTOCOL_SAMPLES, 3))
    scores = stacked.mode_coverage(labels, expected_n=stacked.PROTOCOL_SAMPLES)
    assert scores["modes"] == 1000
    assert 0.012 < scores["kl"] < 0.03


def test_bad_input_is_refused_with_the_value_named():
    data = _coded_digits()
    with pytest.raises(ValueError, match="size must be one of"):
        stacked.stacked_mnist(10, size=64, mnist=data)
    with pytest.raises(ValueError, match="n must be a whole number >= 1, got 0"):
        stacked.stacked_mnist(0, mnist=data)
    with pytest.raises(ValueError, match="split must be one of"):
        stacked.stacked_mnist(10, split="valid", mnist=data)
    with pytest.raises(ValueError, match="digits must be in"):
        stacked.mode_index([[1, 2, 10]])
    with pytest.raises(ValueError, match=r"\(N, 3\) integer array"):
        stacked.mode_index([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="expected 26000 samples"):
        stacked.mode_coverage([[1, 2, 3]], expected_n=26000)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        stacked.channel_digits(PixelReader(), np.zeros((2, 28, 28, 1)))


class SoftReader(PixelReader):
    """The PixelReader, but only 60 % sure of digits 5-9, with a 2-number 'feature' (mean pixel, digit)."""

    def probs(self, x):
        hard = super().probs(x)
        digit = hard.argmax(axis=1)
        unsure = digit >= 5
        soft = np.where(unsure[:, None], 0.4 / 9, 0.0) + hard * np.where(unsure, 0.6 - 0.4 / 9, 1.0)[:, None]
        return soft

    def features_and_probs(self, x):
        probs = self.probs(x)
        return np.stack([np.asarray(x).mean(axis=(1, 2, 3)), probs.argmax(axis=1)], axis=1), probs


def test_channel_reads_give_the_confidence_and_features_in_place():
    data = _coded_digits()
    images, labels = stacked.stacked_mnist(300, seed=5, mnist=data)
    reads = stacked.channel_reads(SoftReader(), images, features=True)
    np.testing.assert_array_equal(reads["digits"], labels)
    np.testing.assert_array_equal(stacked.channel_digits(SoftReader(), images), labels)
    np.testing.assert_allclose(reads["confidence"], np.where(labels >= 5, 0.6, 1.0))
    assert reads["features"].shape == (300, 3, 2)
    np.testing.assert_array_equal(reads["features"][..., 1], labels)  # each channel's features in its place
    assert "features" not in stacked.channel_reads(SoftReader(), images)


def test_confident_mode_coverage_counts_only_surely_read_samples():
    data = _coded_digits()
    images, labels = stacked.stacked_mnist(2000, seed=6, mnist=data)
    reads = stacked.channel_reads(SoftReader(), images)
    guard = stacked.confident_mode_coverage(reads["digits"], reads["confidence"], threshold=0.9)
    low = (labels < 5)
    assert guard["channel_share"] == pytest.approx(low.mean())
    assert guard["sample_share"] == pytest.approx(low.all(axis=1).mean()) and guard["n"] == low.all(axis=1).sum()
    # only triples of digits 0-4 survive: the counted modes are exactly the distinct surely read triples
    kept = labels[low.all(axis=1)]
    assert guard["modes"] == len(np.unique(stacked.mode_index(kept))) and guard["counts"].sum() == guard["n"]
    assert (kept.max() <= 4) and (np.flatnonzero(guard["counts"]) // 100 <= 4).all()
    everything = stacked.confident_mode_coverage(reads["digits"], reads["confidence"], threshold=0.5)
    assert everything["sample_share"] == 1.0 and everything["modes"] == stacked.mode_coverage(labels)["modes"]
    none = stacked.confident_mode_coverage(reads["digits"], np.full(labels.shape, 0.2))
    assert none["n"] == 0 and none["modes"] == 0 and math.isnan(none["kl"])
    with pytest.raises(ValueError, match="threshold"):
        stacked.confident_mode_coverage(reads["digits"], reads["confidence"], threshold=0.0)
    with pytest.raises(ValueError, match="shape"):
        stacked.confident_mode_coverage(reads["digits"], reads["confidence"][:, :2])
