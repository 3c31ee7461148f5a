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
    assert [l.get_label() for l in lines] == ["loss", "val_loss"]
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
