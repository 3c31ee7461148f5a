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
