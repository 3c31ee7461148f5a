"""Plots every lecture uses. Each function returns a ``matplotlib.figure.Figure``.

Figures are built with the object-oriented API (no pyplot state), so tests can inspect them
and a notebook shows a figure exactly once: make it the last expression of the cell.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure


def _show_figures_in_notebooks() -> None:
    """Let a Jupyter kernel display a bare ``Figure`` (not made by pyplot) as a PNG."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        shell.display_formatter.formatters["image/png"].for_type(
            Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight", dpi=90)
        )


_show_figures_in_notebooks()


def image_grid(
    images,
    *,
    ncols: int = 8,
    titles: Optional[Sequence[str]] = None,
    value_range: Sequence[float] = (0.0, 1.0),
    row_labels: Optional[Sequence[str]] = None,
    suptitle: Optional[str] = None,
    size: float = 1.2,
) -> Figure:
    """Show images in a grid.

    Args:
        images: ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)`` array.
        ncols: images per row.
        titles: one short title per image.
        value_range: the range the pixel values live in: ``(0, 1)`` or ``(-1, 1)``.
        row_labels: one label per row, written at the left.
        suptitle: a title over the grid.
        size: inches per image.
    """
    arr = np.asarray(images, dtype="float32")
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ValueError(f"images must be (N, H, W), (N, H, W, 1) or (N, H, W, 3), got shape {np.shape(images)}")
    low, high = value_range
    arr = np.clip((arr - low) / (high - low), 0.0, 1.0)
    n = len(arr)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(ncols * size, nrows * size + (0.4 if suptitle else 0.0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i < n:
            ax.imshow(arr[i], cmap="gray" if arr.ndim == 3 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if row_labels is not None:
        for r, label in enumerate(row_labels[:nrows]):
            axes[r, 0].set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def loss_curves(
    history: Mapping[str, Sequence[float]],
    *,
    keys: Optional[Sequence[str]] = None,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    title: Optional[str] = None,
    logy: bool = False,
) -> Figure:
    """Plot training curves from a Keras ``History.history``-style dict (one list per key)."""
    keys = list(keys) if keys is not None else [k for k in history if len(history[k])]
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"history has no {missing}; it has {sorted(history)}")
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for key in keys:
        values = np.asarray(history[key], dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, label=key, marker="o" if len(values) < 30 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def scatter_2d(
    points,
    labels=None,
    *,
    title: Optional[str] = None,
    xlabel: str = "dim 1",
    ylabel: str = "dim 2",
    label_name: str = "class",
    s: float = 6.0,
) -> Figure:
    """Scatter ``(N, 2)`` points, coloured by integer ``labels`` (``(N,)``) when given."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    if labels is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.7)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(pts),):
            raise ValueError(f"labels must have shape ({len(pts)},), got {labels.shape}")
        sc = ax.scatter(pts[:, 0], pts[:, 1], c=labels, cmap="tab10", s=s, alpha=0.8)
        fig.colorbar(sc, ax=ax, label=label_name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_gan_history(
    history: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "epoch",
    title: Optional[str] = None,
) -> Figure:
    """Two panels for diagnosing a GAN run (lectures 05-09), from a ``coursekit.gan.GAN`` history.

    Left: ``d_loss`` and ``g_loss`` (nats) with the values they take when the discriminator
    outputs 1/2 everywhere (``2 ln 2`` for D; ``ln 2`` for the non-saturating G loss). Right:
    ``d_acc_real`` and ``d_acc_fake`` (fractions) with the chance level 0.5. A D loss falling to 0
    with both accuracies at 1 is a discriminator that has won (convergence failure); the
    accuracies hovering around 0.5-0.8 are a healthy game.

    Args:
        history: ``{key: [one value per epoch]}`` with keys ``d_loss``, ``g_loss``,
            ``d_acc_real``, ``d_acc_fake``.
    """
    needed = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")
    missing = [k for k in needed if k not in history]
    if missing:
        raise KeyError(f"a GAN history needs {list(needed)}; missing {missing} (it has {sorted(history)})")
    fig = Figure(figsize=(10, 3.5))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, keys in ((ax_loss, needed[:2]), (ax_acc, needed[2:])):
        for key in keys:
            values = np.asarray(history[key], dtype=float)
            ax.plot(np.arange(1, len(values) + 1), values, label=key, marker="o" if len(values) < 30 else None)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    ax_loss.axhline(2 * np.log(2), color="C0", ls=":", lw=1, label="D loss at D = 1/2")
    ax_loss.axhline(np.log(2), color="C1", ls=":", lw=1, label="G loss at D = 1/2")
    ax_loss.set_ylabel("loss (nats)")
    ax_loss.legend(fontsize=8)
    ax_acc.axhline(0.5, color="k", ls=":", lw=1, label="chance")
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.set_ylabel("discriminator accuracy")
    ax_acc.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
