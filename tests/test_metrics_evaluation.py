"""Known-answer tests of the lecture-09 metrics in coursekit.metrics (kernel distance, 1-NN accuracy,
birthday test, NDB, F1, SSIM/PSNR, Parzen window)."""

import math

import numpy as np
import pytest

from coursekit import metrics


# --- kernel distance (KID / unbiased MMD^2) -----------------------------------------------------
def test_kernel_distance_with_a_linear_kernel_has_a_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 1.0

    def off_diagonal_mean(x):  # mean over i != j of x_i . x_j = (|sum x|^2 - sum |x_i|^2) / (n (n - 1))
        n = len(x)
        return (x.sum(0) @ x.sum(0) - (x * x).sum()) / (n * (n - 1))

    expected = off_diagonal_mean(a) + off_diagonal_mean(b) - 2 * a.mean(0) @ b.mean(0)
    assert metrics.kernel_distance(a, b, degree=1, gamma=1.0, coef0=0.0) == pytest.approx(expected, rel=1e-10)


def test_kernel_distance_matches_a_direct_double_loop_for_kid():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(5, 4)) * 2

    def k(x, y):
        return (x @ y / 4 + 1.0) ** 3

    aa = np.mean([k(a[i], a[j]) for i in range(6) for j in range(6) if i != j])
    bb = np.mean([k(b[i], b[j]) for i in range(5) for j in range(5) if i != j])
    ab = np.mean([k(x, y) for x in a for y in b])
    assert metrics.kernel_distance(a, b) == pytest.approx(aa + bb - 2 * ab, rel=1e-10)


def test_kernel_distance_is_unbiased_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(2)
    same = [metrics.kernel_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8))) for _ in range(20)]
    shifted = metrics.kernel_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 1.0)
    assert abs(np.mean(same)) < 4 * np.std(same) / math.sqrt(20) + 1e-3
    assert min(same) < 0 < shifted and shifted > 20 * max(same)


# --- 1-NN two-sample accuracy -------------------------------------------------------------------
def test_nearest_neighbour_accuracy_known_answers():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(50, 2))
    assert metrics.nearest_neighbour_accuracy(real, real + 100.0) == 1.0  # separated sets
    assert metrics.nearest_neighbour_accuracy(real, real.copy()) == 0.0  # exact copies: every neighbour is a copy
    assert metrics.nearest_neighbour_accuracy(real, real + 1e-6) == 0.0
    # interleaved points on a line: every nearest neighbour is of the other set
    line = np.arange(20, dtype=float)[:, None]
    assert metrics.nearest_neighbour_accuracy(line[::2], line[1::2]) == 0.0
    accs = [metrics.nearest_neighbour_accuracy(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)))
            for _ in range(5)]
    assert 0.4 < np.mean(accs) < 0.6


# --- birthday paradox ---------------------------------------------------------------------------
def test_birthday_probability_known_values():
    assert metrics.birthday_collision_probability(23, 365) == pytest.approx(0.5073, abs=1e-4)
    assert metrics.birthday_collision_probability(1, 10) == 0.0
    assert metrics.birthday_collision_probability(11, 10) == 1.0
    assert metrics.birthday_collision_probability(2, 4) == pytest.approx(0.25)


def test_birthday_test_estimates_a_known_support():
    rng = np.random.default_rng(4)
    support = rng.normal(size=(100, 5)) * 10  # 100 distinct "images", far apart
    samples = support[rng.integers(0, 100, size=5000)] + rng.normal(size=(5000, 5)) * 1e-3
    out = metrics.birthday_test(samples, batch_size=10, threshold=0.1, n_batches=400, seed=0)
    p = metrics.birthday_collision_probability(10, 100)  # 0.372
    assert out["duplicate_rate"] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / 400))
    assert out["support_estimate"] is None
    big = metrics.birthday_test(samples, batch_size=20, threshold=0.1, n_batches=100)
    assert big["duplicate_rate"] > 0.6 and big["support_estimate"] == 400
    assert metrics.birthday_test(rng.normal(size=(500, 5)) * 10, 20, 0.1)["duplicate_rate"] == 0.0


# --- NDB ----------------------------------------------------------------------------------------
def blobs(n, centres, rng):
    labels = rng.integers(0, len(centres), size=n)
    return centres[labels] + 0.1 * rng.normal(size=(n, centres.shape[1]))


def test_ndb_finds_the_dropped_modes_and_few_bins_for_the_same_data():
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(10, 4)) * 10
    train, test = blobs(4000, centres, rng), blobs(2000, centres, rng)
    same = metrics.statistically_different_bins(train, test, blobs(2000, centres, rng), n_bins=10)
    assert same["ndb"] <= 2
    dropped = metrics.statistically_different_bins(train, test, blobs(2000, centres[:7], rng), n_bins=10)
    assert dropped["ndb"] >= 3
    missing_bins = np.flatnonzero(dropped["sample_share"] == 0)
    assert len(missing_bins) == 3 and dropped["different"][missing_bins].all()


# --- F1, SSIM / PSNR, Parzen ---------------------------------------------------------------------
def test_f_score_known_values():
    assert metrics.f_score(1.0, 1.0) == 1.0
    assert metrics.f_score(0.5, 1.0) == pytest.approx(2 / 3)
    assert metrics.f_score(1.0, 0.0) == 0.0 and metrics.f_score(0.0, 0.0) == 0.0
    assert metrics.f_score(0.5, 1.0, beta=2) == pytest.approx(5 * 0.5 / (4 * 0.5 + 1))
    with pytest.raises(ValueError, match="precision"):
        metrics.f_score(1.5, 0.5)


def test_ssim_and_psnr_known_values():
    rng = np.random.default_rng(6)
    x = rng.uniform(0.2, 0.8, size=(3, 16, 16, 1)).astype("float32")
    same = metrics.paired_image_quality(x, x)
    assert same["ssim"] == pytest.approx(1.0, abs=1e-6) and same["psnr"] == math.inf
    shifted = metrics.paired_image_quality(x + 0.1, x)  # MSE 0.01 -> PSNR 20 dB
    assert shifted["psnr"] == pytest.approx(20.0, abs=1e-3)
    assert metrics.paired_image_quality(rng.uniform(size=x.shape), x)["ssim"] < 0.2
    with pytest.raises(ValueError, match="same shape"):
        metrics.paired_image_quality(x, x[:2])


def test_paired_mae_and_pixel_accuracy_known_values():
    ref = np.zeros((2, 12, 12, 3), "float32")
    img = ref.copy()
    img[0, :6, :, 0] = 0.3  # a quarter of all pixels wrong by 0.3 in one channel
    img[1, :, :, 1] = 0.05  # every pixel of image 1 off by 0.05: within the tolerance
    s = metrics.paired_image_quality(img, ref)
    assert s["pixel_accuracy"] == pytest.approx(0.75)
    assert s["mae"] == pytest.approx((0.3 * 72 + 0.05 * 144) / ref.size)
    # a pixel is right only when all channels are: one bad channel out of three makes it wrong
    assert metrics.paired_image_quality(img, ref, tolerance=0.01)["pixel_accuracy"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="tolerance"):
        metrics.paired_image_quality(img, ref, tolerance=0)


def test_parzen_known_value_and_its_flaw():
    # one kernel at 0, evaluated at 0 in D dimensions: -(D / 2) log(2 pi sigma^2)
    assert metrics.parzen_log_likelihood(np.zeros((1, 3)), np.zeros((1, 3)), sigma=0.5) == pytest.approx(
        -1.5 * math.log(2 * math.pi * 0.25))
    # two kernels, a test point on one of them and far from the other: log(1/2) - (D/2) log(2 pi sigma^2)
    assert metrics.parzen_log_likelihood(np.array([[0.0], [100.0]]), np.array([[0.0]]), 1.0) == pytest.approx(
        math.log(0.5) - 0.5 * math.log(2 * math.pi))
    # the flaw: a "model" that returns the test points themselves beats samples of the true distribution
    rng = np.random.default_rng(7)
    test = rng.normal(size=(200, 10))
    honest = metrics.parzen_log_likelihood(rng.normal(size=(200, 10)), test, sigma=0.2)
    copier = metrics.parzen_log_likelihood(test, test, sigma=0.2)
    assert copier > honest + 50
