import numpy as np
import pytest
from matplotlib.figure import Figure

from coursekit import plotting


def test_image_grid_layout_and_scaling():
    images = np.linspace(-1, 1, 10 * 4 * 4).reshape(10, 4, 4, 1)
    fig = plotting.image_grid(images, ncols=4, value_range=(-1, 1), titles=[str(i) for i in range(10)])
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 12  # 3 rows of 4
    shown = [ax.images[0].get_array() for ax in axes if ax.images]
    assert len(shown) == 10
    assert min(a.min() for a in shown) == pytest.approx(0.0) and max(a.max() for a in shown) == pytest.approx(1.0)
    assert axes[3].get_title() == "3"


def test_image_grid_colour_and_bad_shape():
    fig = plotting.image_grid(np.random.rand(3, 5, 5, 3))
    assert fig.axes[0].images[0].get_array().shape == (5, 5, 3)
    with pytest.raises(ValueError, match="shape"):
        plotting.image_grid(np.zeros((3, 5, 5, 2)))


def test_loss_curves():
    fig = plotting.loss_curves({"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2]}, logy=True)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["loss", "val_loss"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [3, 2, 1])
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(KeyError, match="acc"):
        plotting.loss_curves({"loss": [1]}, keys=["acc"])


def test_scatter_2d():
    pts = np.random.rand(50, 2)
    fig = plotting.scatter_2d(pts, np.arange(50) % 10)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), pts)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.scatter_2d(np.random.rand(5, 3))
    with pytest.raises(ValueError, match="labels"):
        plotting.scatter_2d(pts, np.arange(3))


def test_tile_images():
    images = np.linspace(-1, 1, 5 * 2 * 3).reshape(5, 2, 3, 1)
    mosaic = plotting.tile_images(images, ncols=2, pad=1)
    assert mosaic.shape == (3 * 3 - 1, 2 * 4 - 1, 1)
    assert mosaic.min() == pytest.approx(0.0) and mosaic.max() == pytest.approx(1.0)
    np.testing.assert_allclose(mosaic[:2, :3, 0], (images[0, ..., 0] + 1) / 2, rtol=1e-5, atol=1e-6)


def test_plot_gan_history():
    history = {"d_loss": [1.4, 1.2, 1.0], "g_loss": [0.7, 0.9, 1.1], "d_acc_real": [0.5, 0.6, 0.7],
               "d_acc_fake": [0.4, 0.6, 0.8]}
    fig = plotting.plot_gan_history(history)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [[line.get_label() for line in ax.get_lines()] for ax in fig.axes]
    assert labels[0][:2] == ["d_loss", "g_loss"] and labels[1][:2] == ["d_acc_real", "d_acc_fake"]
    np.testing.assert_array_equal(fig.axes[1].get_lines()[1].get_ydata(), history["d_acc_fake"])
    with pytest.raises(KeyError, match="d_acc_fake"):
        plotting.plot_gan_history({k: v for k, v in history.items() if k != "d_acc_fake"})


def test_monitor_grids_reads_the_saved_pngs(tmp_path):
    import matplotlib.image

    for epoch in (1, 2, 5):
        matplotlib.image.imsave(tmp_path / f"epoch_{epoch:03d}.png", np.full((6, 10, 3), epoch / 5.0))
    fig = plotting.monitor_grids(tmp_path, last=2)
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["epoch 2", "epoch 5"]
    fig = plotting.monitor_grids(tmp_path, [1, 5], ncols=2, titles=["first", "last"])
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["first", "last"]
    assert shown[1].images[0].get_array()[0, 0, 0] == pytest.approx(1.0, abs=0.01)
    with pytest.raises(FileNotFoundError, match=r"epoch\(s\) \[3\].*\[1, 2, 5\]"):
        plotting.monitor_grids(tmp_path, [3])


def test_class_histogram_bars_are_fractions():
    fig = plotting.class_histogram({"real": [10, 30], "fake": [0, 5]}, ["a", "b"], threshold=0.05)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [0.25, 0.75, 0.0, 1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match=r"\(2,\)"):
        plotting.class_histogram({"real": [1, 2, 3]}, ["a", "b"])


def test_plot_gan_history_draws_the_rule_lines_and_shades_the_epochs_d_has_won():
    import math

    history = {"d_loss": [1.3, 0.5, 0.36, 0.35], "g_loss": [0.8, 2.0, 3.5, 4.0], "d_acc_real": [0.6, 0.9, 1.0, 1.0],
               "d_acc_fake": [0.5, 0.97, 0.99, 1.0]}
    fig = plotting.plot_gan_history(history, real_label=0.9)
    ax_loss, ax_acc = fig.axes
    levels = {line.get_label(): line.get_ydata()[0] for line in ax_loss.get_lines()[2:]}
    assert levels["G loss: D has won above"] == pytest.approx(math.log(20))
    assert levels["D loss floor H(real label)"] == pytest.approx(-0.9 * math.log(0.9) - 0.1 * math.log(0.1))
    assert levels["D loss: D has won below (real label 0.9)"] == pytest.approx(0.3251 - math.log(0.95), abs=1e-4)
    # the balance point with real label 0.9: D* = 0.45 everywhere
    assert levels["G loss at balance (D = 0.45)"] == pytest.approx(-math.log(0.45))
    assert levels["D loss at balance (D = 0.45)"] == pytest.approx(-(0.9 * math.log(0.45) + 0.1 * math.log(0.55))
                                                                   - math.log(0.55))
    assert [line.get_ydata()[0] for line in ax_acc.get_lines()[2:]] == [0.5]  # the accuracies are not in the rule
    assert any("0.45 < 1/2" in t.get_text() for t in ax_acc.texts)
    # epochs 3 and 4 meet the rule (G loss >= ln 20); epoch 2's accuracy of 0.97 alone does not count
    spans = sorted(p.get_x() + p.get_width() / 2 for p in ax_acc.patches)
    assert spans == [pytest.approx(3.0), pytest.approx(4.0)]
    plain = plotting.plot_gan_history(history)  # without real_label: no D-loss floor lines, balance at D = 1/2
    assert not any("floor" in line.get_label() for line in plain.axes[0].get_lines())
    plain_levels = {line.get_label(): line.get_ydata()[0] for line in plain.axes[0].get_lines()[2:]}
    assert plain_levels["D loss at balance (D = 0.5)"] == pytest.approx(2 * math.log(2))
    assert plain_levels["G loss at balance (D = 0.5)"] == pytest.approx(math.log(2))
    assert not plain.axes[1].texts
