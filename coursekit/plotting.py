"""Plots every lecture uses. Each ``plot``-style function returns a ``matplotlib.figure.Figure``;
:func:`tile_images` returns the mosaic array that :class:`coursekit.gan.callbacks.GANMonitor` saves.

Figures are built with the object-oriented API (no pyplot state), so tests can inspect them
and a notebook shows a figure exactly once: make it the last expression of the cell.
"""

from __future__ import annotations

import math
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


def tile_images(images, ncols: int = 8, value_range: Sequence[float] = (-1.0, 1.0), pad: int = 1) -> np.ndarray:
    """One mosaic ``(rows*(H+pad)-pad, ncols*(W+pad)-pad, C)`` in ``[0, 1]`` from ``(N, H, W, C)`` images."""
    arr = np.asarray(images, dtype="float32")
    if arr.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got shape {arr.shape}")
    low, high = value_range
    arr = np.clip((arr - low) / (high - low), 0.0, 1.0)
    n, h, w, c = arr.shape
    ncols = max(1, min(int(ncols), n))
    nrows = int(math.ceil(n / ncols))
    mosaic = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad, c), "float32")
    for i in range(n):
        r, col = divmod(i, ncols)
        mosaic[r * (h + pad):r * (h + pad) + h, col * (w + pad):col * (w + pad) + w] = arr[i]
    return mosaic


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
    real_label: Optional[float] = None,
) -> Figure:
    """Two panels for diagnosing a GAN run (lectures 05-09), from a ``coursekit.gan.GAN`` history.

    Left: ``d_loss`` and ``g_loss`` (nats) with the values they take at the balance point, where
    the optimal discriminator outputs ``D* = real_label / 2`` everywhere (``2 ln 2`` and ``ln 2``
    without smoothing; 1.376 and 0.799 nats for ``real_label`` 0.9). Right: ``d_acc_real`` and
    ``d_acc_fake`` (fractions, threshold ``D = 1/2``) with the level 0.5. With ``real_label`` < 1
    the balance value 0.45 lies *below* that threshold, so a converged GAN shows ``d_acc_fake``
    near 1 and ``d_acc_real`` near 0: the panel says so, and the accuracies are not used by the rule.

    The reference line of lecture 09's rule (:mod:`coursekit.gan.diagnostics`): D **has won** in
    an epoch when ``g_loss`` is at or above ``ln 20 = 3.0`` nats (the geometric mean of
    ``D(G(z))`` is at most 0.05); those epochs are shaded red in both panels, and the run is a
    convergence failure when they last to the end. With ``real_label`` (e.g. 0.9, one-sided label
    smoothing) the D-loss panel also shows the floor ``H(real_label)`` below which the D loss
    cannot go, and the D loss of a discriminator that has won (0.377 nats for 0.9; "D loss near
    0" only applies without smoothing).

    Args:
        history: ``{key: [one value per epoch]}`` with keys ``d_loss``, ``g_loss``,
            ``d_acc_real``, ``d_acc_fake``.
        real_label: the GAN's target for real images (``GAN.real_label``); ``None`` draws the
            unsmoothed balance lines and omits the D-loss floor lines.
    """
    from coursekit.gan import diagnostics

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
    label = 1.0 if real_label is None else real_label
    at = f"D = {diagnostics.balance_output(label):g}"
    ax_loss.axhline(diagnostics.d_loss_at_balance(label), color="C0", ls=":", lw=1, label=f"D loss at balance ({at})")
    ax_loss.axhline(diagnostics.g_loss_at_balance(label), color="C1", ls=":", lw=1, label=f"G loss at balance ({at})")
    ax_loss.axhline(diagnostics.g_loss_won(), color="C1", ls="--", lw=1, label="G loss: D has won above")
    if real_label is not None:
        ax_loss.axhline(diagnostics.d_loss_won(real_label), color="C0", ls="--", lw=1,
                        label=f"D loss: D has won below (real label {real_label:g})")
        ax_loss.axhline(diagnostics.d_loss_floor(real_label), color="C0", ls="-", lw=0.8, alpha=0.6,
                        label="D loss floor H(real label)")
    won = diagnostics.discriminator_has_won(history)["won"]
    for epoch in np.flatnonzero(won) + 1:
        for ax in (ax_loss, ax_acc):
            ax.axvspan(epoch - 0.5, epoch + 0.5, color="red", alpha=0.12, lw=0)
    ax_loss.set_ylabel("loss (nats)")
    ax_loss.legend(fontsize=8)
    ax_acc.axhline(0.5, color="k", ls=":", lw=1, label="0.5 (accuracy threshold: D = 1/2)")
    if label < 1.0:
        ax_acc.text(0.02, 0.53, f"real label {label:g}: at balance D = {diagnostics.balance_output(label):g} < 1/2,\n"
                    "so d_acc_fake -> 1 and d_acc_real -> 0", transform=ax_acc.transAxes, fontsize=7,
                    va="bottom", color="0.3")
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.set_ylabel("discriminator accuracy")
    ax_acc.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def monitor_grids(
    folder,
    epochs: Optional[Sequence[int]] = None,
    *,
    last: int = 4,
    ncols: int = 1,
    titles: Optional[Sequence[str]] = None,
    width: float = 9.0,
) -> Figure:
    """Show the PNG grids a ``GANMonitor`` saved (``folder/epoch_XXX.png``) for a few epochs.

    They are read from disk, so they are there after a finished run was loaded instead of trained.

    Args:
        folder: the monitor's ``out_dir``.
        epochs: 1-based epochs to show; ``None`` = the ``last`` ones saved.
        last: how many of the latest grids to show when ``epochs`` is ``None``.
        ncols: grids per row.
        titles: one title per grid (default: ``"epoch N"``).
        width: figure width in inches.

    Raises:
        FileNotFoundError: an asked-for epoch has no grid (naming the file and the epochs that have one).
    """
    import matplotlib.image
    from pathlib import Path

    folder = Path(folder)
    saved = sorted(int(p.stem.split("_")[1]) for p in folder.glob("epoch_*.png"))
    if epochs is None:
        epochs = saved[-int(last):]
    epochs = [int(e) for e in epochs]
    missing = [e for e in epochs if e not in saved]
    if not epochs or missing:
        raise FileNotFoundError(f"no monitor grid for epoch(s) {missing or epochs} in {folder.name}/ "
                                f"(grids saved for epochs {saved}); was the GANMonitor callback passed to fit?")
    titles = list(titles) if titles is not None else [f"epoch {e}" for e in epochs]
    if len(titles) != len(epochs):
        raise ValueError(f"titles must have one entry per epoch ({len(epochs)}), got {len(titles)}")
    images = [matplotlib.image.imread(folder / f"epoch_{e:03d}.png") for e in epochs]
    ncols = max(1, min(int(ncols), len(images)))
    nrows = int(math.ceil(len(images) / ncols))
    h, w = images[0].shape[:2]
    fig = Figure(figsize=(width, nrows * (width / ncols) * h / w + 0.45 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image, title in zip(axes, images, titles):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def class_histogram(
    counts: Mapping[str, Sequence[float]],
    class_names: Sequence[str],
    *,
    threshold: Optional[float] = None,
    title: Optional[str] = None,
    xlabel: str = "class (the classifier's call)",
) -> Figure:
    """Grouped bars of class fractions, one group per class, one bar per named set of images.

    Args:
        counts: ``{set name: (K,) counts}``, e.g. ``{"real": hist_real, "GAN": hist_fake}``; each set
            is normalised to fractions of its own total.
        class_names: ``K`` tick labels.
        threshold: draw a dotted line at this fraction (e.g. the "covered" threshold of
            :func:`coursekit.metrics.classes_covered`).
    """
    k = len(class_names)
    bad = {name: np.shape(c) for name, c in counts.items() if np.shape(c) != (k,)}
    if not counts or bad:
        raise ValueError(f"counts must map set names to ({k},) arrays, one count per class; got shapes {bad or counts}")
    fig = Figure(figsize=(max(6.0, 0.6 * k + 2), 3))
    ax = fig.subplots()
    width = 0.8 / len(counts)
    pos = np.arange(k)
    for i, (name, c) in enumerate(counts.items()):
        c = np.asarray(c, dtype=float)
        ax.bar(pos - 0.4 + width * (i + 0.5), c / max(c.sum(), 1e-12), width, label=name)
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=1, label="'covered' threshold")
    ax.set_xticks(pos, [str(n) for n in class_names])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of images")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
