"""Callbacks that watch a GAN while ``fit`` trains it (lectures 05-09).

- :class:`GANMonitor`: an image grid from fixed latent vectors (and fixed labels, for a
  conditional GAN) every ``every`` epochs: PNG files, optionally TensorBoard, kept in memory;
- :class:`StepTimer`: the wall time of one training step (ms), saved so a loaded run can report it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

from coursekit.plotting import tile_images


class GANMonitor(keras.callbacks.Callback):
    """Every ``every`` epochs: draw ``generator(z_fixed)`` and save it as ``out_dir/epoch_XXX.png``.

    The same latent vectors each time, so the grids show one set of samples improving. The PNG is
    the bare mosaic of :func:`tile_images` (one pixel per pixel, white separators), fast to write.

    Args:
        z_fixed: ``(N, latent_dim)`` latent vectors (e.g. ``gan.sample_latent(32, seed=0)``).
        labels: for a conditional GAN, the ``(N,)`` or ``(N, A)`` integer labels requested with
            ``z_fixed`` (passed to ``model.generate(z_fixed, labels)``); ``None`` otherwise.
        out_dir: folder of the PNG grids (created). Put it in the run folder
            (``coursekit.training.run_path(run_name) / "samples"``) so a loaded run still has them.
        every: epochs between grids (the last epoch of ``fit`` always gets one).
        log_dir: if given, also write the epoch's logs (losses, accuracies) and the grid to
            TensorBoard there (``tensorboard --logdir <log_dir>``).
        value_range: the generator's output range.
        ncols: images per row.

    Attributes:
        last_images: the latest ``(N, H, W, C)`` grid, in ``value_range``.
        images: ``{epoch (1-based): images}`` for every grid drawn in this session.
    """

    def __init__(self, z_fixed, out_dir, *, labels=None, every: int = 1, log_dir=None, value_range=(-1.0, 1.0),
                 ncols: int = 8):
        super().__init__()
        self.z_fixed = np.asarray(z_fixed, dtype="float32")
        if self.z_fixed.ndim != 2:
            raise ValueError(f"z_fixed must be (N, latent_dim), got shape {self.z_fixed.shape}")
        self.labels = None if labels is None else np.asarray(labels)
        if self.labels is not None and len(self.labels) != len(self.z_fixed):
            raise ValueError(f"labels must have one row per latent vector ({len(self.z_fixed)}), got shape "
                             f"{self.labels.shape}")
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.out_dir = Path(out_dir)
        self.every = int(every)
        self.log_dir = None if log_dir is None else str(log_dir)
        self.value_range = tuple(value_range)
        self.ncols = int(ncols)
        self.last_images = None
        self.images = {}
        self._writer = None

    def on_train_begin(self, logs=None):
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.log_dir is not None and self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _generate(self):
        model = self.model
        if self.labels is not None:
            return model.generate(self.z_fixed, self.labels)
        if hasattr(model, "generate"):
            return model.generate(self.z_fixed)
        return ops.convert_to_numpy(model(self.z_fixed, training=False))

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs") if self.params else False
        if (epoch + 1) % self.every and not last:
            return
        import matplotlib.image

        images = self._generate()
        self.last_images = images
        self.images[epoch + 1] = images
        mosaic = tile_images(images, self.ncols, self.value_range)
        if mosaic.shape[-1] == 1:
            mosaic = np.repeat(mosaic, 3, axis=-1)
        matplotlib.image.imsave(self.out_dir / f"epoch_{epoch + 1:03d}.png", mosaic)
        if self._writer is not None:
            import tensorflow as tf

            with self._writer.as_default(step=epoch + 1):
                for key, value in (logs or {}).items():
                    tf.summary.scalar(key, float(value))
                tf.summary.image("samples", tile_images(images, self.ncols, self.value_range)[None])
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class StepTimer(keras.callbacks.Callback):
    """Measures the wall time of one training step (ms), as the median over all steps of ``fit``.

    The median ignores the first step's tracing/compilation. With ``save_to`` the result is also
    written as JSON (e.g. into the run folder) so a run loaded later can still report it
    (:meth:`StepTimer.load`).
    """

    def __init__(self, save_to=None):
        super().__init__()
        self.save_to = None if save_to is None else Path(save_to)
        self.step_ms = []
        self._t0 = None

    def on_train_batch_begin(self, batch, logs=None):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._t0 is not None:
            self.step_ms.append(1000.0 * (time.perf_counter() - self._t0))

    @property
    def ms_per_step(self) -> float:
        """Median step time in ms (NaN before any step)."""
        return float(np.median(self.step_ms)) if self.step_ms else float("nan")

    def on_train_end(self, logs=None):
        if self.save_to is not None and self.step_ms:
            self.save_to.parent.mkdir(parents=True, exist_ok=True)
            self.save_to.write_text(json.dumps({"ms_per_step": self.ms_per_step, "steps": len(self.step_ms)}))

    @staticmethod
    def load(path) -> float:
        """The ``ms_per_step`` saved by an earlier run (NaN if there is none)."""
        path = Path(path)
        return float(json.loads(path.read_text())["ms_per_step"]) if path.exists() else float("nan")
