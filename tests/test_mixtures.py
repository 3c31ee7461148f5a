import json
import math

import numpy as np
import pytest

from coursekit.data import mixtures
from coursekit.data.mixtures import published_coverage


def test_ring_means_lie_on_the_circle_at_equal_angles():
    ring = mixtures.ring()
    assert ring.n_modes == 8 and ring.sigma == 0.02
    np.testing.assert_allclose(np.hypot(ring.means[:, 0], ring.means[:, 1]), 2.0, rtol=1e-12)
    np.testing.assert_allclose(ring.means[0], [2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ring.means[2], [0.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(ring.means[1], [math.sqrt(2), math.sqrt(2)], rtol=1e-12)
    pac = mixtures.ring(radius=1.0, sigma=0.01)  # PacGAN's ring: the same up to scale
    np.testing.assert_allclose(pac.means * 2, ring.means, atol=1e-12)


def test_grid_means_are_the_25_points_of_the_papers():
    grid = mixtures.grid()
    assert grid.n_modes == 25 and grid.sigma == 0.05
    expected = {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(int(round(v)) for v in m) for m in grid.means} == expected
    np.testing.assert_allclose(grid.means[7], [-2.0, 0.0])  # x index 7 // 5 = 1, y index 7 % 5 = 2


def test_samples_have_the_stated_spread_and_balance():
    grid = mixtures.grid()
    x, modes = grid.sample(50_000, seed=3, return_modes=True)
    assert x.shape == (50_000, 2) and x.dtype == np.float32
    residual = x - grid.means[modes]
    assert residual.std() == pytest.approx(0.05, rel=0.03)
    counts = np.bincount(modes, minlength=25)
    assert counts.min() > 0.8 * 2000 and counts.max() < 1.2 * 2000
    np.testing.assert_array_equal(grid.sample(10, seed=1), grid.sample(10, seed=1))


def test_real_samples_cover_every_mode_with_high_quality():
    for mixture in (mixtures.ring(), mixtures.grid()):
        scores = mixtures.mode_coverage(mixture.sample(mixtures.PROTOCOL_SAMPLES, seed=0), mixture)
        assert scores["modes"] == mixture.n_modes
        # within 3 sigma in 2-D: P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.989
        assert scores["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
        assert scores["reverse_kl"] < 0.02


def test_mode_coverage_known_answer_for_three_collapsed_modes():
    grid = mixtures.grid()
    points = np.repeat(grid.means[[0, 7, 24]], 10, axis=0)
    scores = mixtures.mode_coverage(points, grid)
    assert scores["modes"] == 3 and scores["high_quality"] == 1.0
    assert scores["reverse_kl"] == pytest.approx(math.log(25 / 3), rel=1e-12)
    assert scores["counts"][[0, 7, 24]].tolist() == [10, 10, 10] and scores["counts"].sum() == 30


def test_three_sigma_threshold_and_min_count():
    grid = mixtures.grid()
    inside = grid.means[0] + [2.9 * 0.05, 0.0]
    outside = grid.means[1] + [0.0, 3.1 * 0.05]
    scores = mixtures.mode_coverage(np.array([inside, outside]), grid)
    assert scores["modes"] == 1 and scores["high_quality"] == 0.5 and scores["counts"][0] == 1
    assert scores["reverse_kl"] == pytest.approx(math.log(25))
    # halfway between two modes is not high quality for either
    assert mixtures.mode_coverage(np.array([[-3.0, -4.0]]), grid)["high_quality"] == 0.0
    points = np.concatenate([np.repeat(grid.means[:1], 5, axis=0), grid.means[1:2]])
    assert mixtures.mode_coverage(points, grid, min_count=1)["modes"] == 2
    assert mixtures.mode_coverage(points, grid, min_count=2)["modes"] == 1


def test_reverse_kl_to_uniform():
    assert mixtures.reverse_kl_to_uniform([4, 4, 4, 4]) == pytest.approx(0.0, abs=1e-15)
    assert mixtures.reverse_kl_to_uniform([0, 9, 0]) == pytest.approx(math.log(3))
    # q = (3/4, 1/4) against (1/2, 1/2)
    assert mixtures.reverse_kl_to_uniform([3, 1]) == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert math.isnan(mixtures.reverse_kl_to_uniform([0, 0]))
    with pytest.raises(ValueError, match="non-negative"):
        mixtures.reverse_kl_to_uniform([1, -1])


def test_bad_input_is_refused_by_name():
    grid = mixtures.grid()
    with pytest.raises(ValueError, match="NaN or inf"):
        mixtures.mode_coverage(np.array([[0.0, np.nan]]), grid)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        mixtures.mode_coverage(np.zeros((3, 3)), grid)
    with pytest.raises(ValueError, match="min_count"):
        mixtures.mode_coverage(np.zeros((3, 2)), grid, min_count=0)
    with pytest.raises(ValueError, match="sigma"):
        mixtures.GaussianMixture2D("x", np.zeros((2, 2)), 0.0)
    with pytest.raises(ValueError, match="n must be"):
        grid.sample(0)


def _notebook(path, lines):
    cell = {"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout", "text": lines}]}
    path.write_text(json.dumps({"cells": [cell]}))
    return path


def test_published_coverage_reads_the_mean_of_each_row_and_its_seed_count(tmp_path):
    nb = _notebook(tmp_path / "09.ipynb", [
        "                                 | ring: modes       hq %    rev. KL | grid: modes\n",
        "ours: GAN (3 seeds)              |     8.0±0.0   92.5±0.7  0.01±0.00 |    18.3±0.9   23.0±4.1  0.68±0.04\n",
        "ours: PacGAN2 (2 seeds)          |     7.5±0.5   89.0±0.8  0.01±0.00 |    21.3±0.3    4.8±1.2  0.58±0.01\n",
        "ours: 4,000 generator updates per run, batch 100\n",
        "VEEGAN (VEEGAN Table 1)          |         8.0       52.9       -    |        24.6       40.0       -\n"])
    table = published_coverage(nb)
    assert table["ring"] == {"GAN": (8.0, 92.5, 0.01), "PacGAN2": (7.5, 89.0, 0.01)}
    assert table["grid"]["PacGAN2"] == (21.3, 4.8, 0.58)
    assert table["seeds"] == {"GAN": 3, "PacGAN2": 2}


def test_published_coverage_of_a_notebook_without_the_table_names_the_fix(tmp_path):
    with pytest.raises(ValueError, match="publish 09"):
        published_coverage(_notebook(tmp_path / "09.ipynb", ["nothing here\n"]))
    with pytest.raises(FileNotFoundError):
        published_coverage(tmp_path / "missing.ipynb")


def test_log_density_is_a_normalised_mixture_and_follows_a_rescaling():
    from scipy.stats import multivariate_normal

    m = mixtures.GaussianMixture2D("two", np.array([[0.0, 0.0], [1.0, 0.0]]), 0.3)
    x = np.array([[0.1, -0.2], [2.0, 1.0]])
    want = np.log(0.5 * multivariate_normal([0, 0], 0.09).pdf(x) + 0.5 * multivariate_normal([1, 0], 0.09).pdf(x))
    np.testing.assert_allclose(m.log_density(x), want, rtol=1e-10)
    g = np.linspace(-2, 3, 401)  # integrates to 1 on a grid that holds all the mass
    gx, gy = np.meshgrid(g, g)
    mass = np.exp(m.log_density(np.stack([gx.ravel(), gy.ravel()], 1))).sum() * (g[1] - g[0]) ** 2
    assert mass == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(m.log_density(x / 2, scale=2.0), want + 2 * np.log(2.0), rtol=1e-10)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        m.log_density(np.zeros(3))
