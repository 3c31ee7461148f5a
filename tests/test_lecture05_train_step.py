"""Lecture 05 writes the GAN training step in the open (class ``LectureGAN``, the cell tagged
``gan-train-step``); the course trains with ``coursekit.gan.trainer.GAN``. This test executes that
cell's source, as it is in ``notebooks/05_gan_mnist.py``, and checks that both make the same
updates from the same seed, so the two cannot drift apart."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from _gan_nets import LATENT, make_data, make_networks
from coursekit.gan.trainer import GAN
from coursekit.notebooks import notebooks_dir

TAG = "gan-train-step"


def lecture_gan_class():
    import jupytext

    nb = jupytext.read(notebooks_dir() / "05_gan_mnist.py")
    cells = [c for c in nb.cells if TAG in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"lecture 05 must have exactly one cell tagged {TAG!r}, found {len(cells)}"
    namespace = {"keras": keras, "tf": tf, "ops": ops}
    exec(compile(cells[0].source, "05_gan_mnist.py[gan-train-step]", "exec"), namespace)
    return namespace["LectureGAN"]


def _train(cls, data, steps, real_label, dropout, seed=3):
    g, d = make_networks(seed=seed, dropout=dropout)  # seeds the initial weights and dropout masks
    model = cls(g, d, LATENT, real_label=real_label, seed=seed)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5), jit_compile=False)
    before = [w.numpy().copy() for w in g.weights + d.weights]
    history = model.fit(data[:steps * 8], batch_size=8, epochs=1, shuffle=False, verbose=0)
    after = [w.numpy() for w in g.weights + d.weights]
    return before, after, history.history


@pytest.mark.parametrize("real_label, dropout", [(1.0, 0.0), (0.9, 0.3)])
def test_notebook_train_step_makes_the_same_updates_as_coursekit(real_label, dropout):
    LectureGAN = lecture_gan_class()
    data = make_data()
    before, ours, ours_hist = _train(LectureGAN, data, 4, real_label, dropout)
    _, library, lib_hist = _train(GAN, data, 4, real_label, dropout)
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(before, ours))
    assert moved > 1e-3, "the steps must change the weights for the comparison to mean anything"
    # the same float32 operations in the same order; the tolerance is float32's, not bit equality
    for a, b in zip(ours, library):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(ours_hist[key], lib_hist[key], rtol=1e-5, atol=1e-6)


def test_the_comparison_can_fail():
    """A different loss (saturating generator loss in coursekit) must make the weights differ."""
    LectureGAN = lecture_gan_class()
    data = make_data()
    _, ours, _ = _train(LectureGAN, data, 4, 1.0, 0.0)
    g, d = make_networks(seed=3)
    other = GAN(g, d, LATENT, real_label=1.0, seed=3, generator_loss="saturating")
    other.compile(d_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5), jit_compile=False)
    other.fit(data[:32], batch_size=8, epochs=1, shuffle=False, verbose=0)
    theirs = [w.numpy() for w in g.weights + d.weights]
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs)) > 1e-4
