"""A Keras 3 GAN trainer shared by lectures 05-09: one model, two optimizers, trained with ``fit``.

- :func:`discriminator_loss` and :func:`generator_loss`: the GAN losses written on the
  discriminator's **logits** (binary cross-entropy from logits), so the lecture can evaluate them
  on fixed numbers;
- :class:`GAN`: a ``keras.Model`` whose ``train_step`` alternates ``d_steps`` discriminator updates
  and one generator update, each network with **its own optimizer**. Nothing is frozen: each
  update only *applies* gradients to its own network's variables, which replaces the Keras 2
  ``discriminator.trainable = False`` + combined-model pattern. Options: non-saturating or
  saturating generator loss, one-sided label smoothing (``real_label=0.9``), ``d_steps`` and a
  discriminator warm-up (``d_warmup_steps``). Works with :func:`coursekit.training.fit_or_load`
  (resume and load, including both optimizers' state);
- :class:`GANMonitor`: a callback that draws an image grid from fixed latent vectors every
  ``every`` epochs (PNG files, optionally TensorBoard, and kept in memory);
- :class:`StepTimer`: a callback that measures the time of one training step (ms);
- :func:`plot_gan_history` (from :mod:`coursekit.plotting`): losses and discriminator accuracies.

Conventions: the generator maps ``(B, latent_dim)`` standard-normal vectors to images in
``[-1, 1]`` (``tanh`` output); the discriminator maps images to **logits** of shape ``(B, 1)``
(no sigmoid: ``D(x) = sigmoid(logit)``). Losses are in nats, averaged over the batch.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Optional, Sequence

import keras
import numpy as np
from keras import ops

from coursekit.plotting import plot_gan_history  # noqa: F401  (re-exported: coursekit.gan.plot_gan_history)

GENERATOR_LOSSES = ("non_saturating", "saturating")


# ----------------------------------------------------------------------------------------------
# Losses on logits
# ----------------------------------------------------------------------------------------------
def discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
    """The discriminator's loss: binary cross-entropy with targets ``real_label`` (real) and 0 (fake).

    ``L_D = E_x[ BCE(real_label, D(x)) ] + E_z[ BCE(0, D(G(z))) ]``; with ``real_label = 1`` this is
    ``-E log D(x) - E log(1 - D(G(z)))``, the negative of the value the discriminator maximises in
    the minimax game. Written with ``softplus`` on logits: ``-log sigmoid(l) = softplus(-l)`` and
    ``-log(1 - sigmoid(l)) = softplus(l)``, which never takes the log of 0.

    Args:
        real_logits: ``(B, 1)`` (or any shape) discriminator logits on real images.
        fake_logits: logits on generated images.
        real_label: target for real images; 0.9 is one-sided label smoothing (fake targets stay 0).

    Returns:
        scalar tensor, nats. Reference values: ``2 ln 2 = 1.386`` when ``D = 1/2`` everywhere;
        0 only for a perfect, infinitely confident D and ``real_label = 1``; with
        ``real_label = y < 1`` it is never below the binary entropy ``H(y)`` (0.325 for 0.9).
    """
    real_logits = ops.convert_to_tensor(real_logits, "float32")
    fake_logits = ops.convert_to_tensor(fake_logits, "float32")
    y = float(real_label)
    loss_real = y * ops.softplus(-real_logits) + (1.0 - y) * ops.softplus(real_logits)
    loss_fake = ops.softplus(fake_logits)
    return ops.mean(loss_real) + ops.mean(loss_fake)


def generator_loss(fake_logits, kind: str = "non_saturating"):
    """The generator's loss on the discriminator's logits for generated images, in nats.

    - ``"saturating"`` (the minimax game as written): minimise ``E log(1 - D(G(z)))``
      ``= -E softplus(l)``; its gradient with respect to the logit is ``-D(G(z))``, which
      vanishes exactly when the generator is bad (``D(G(z)) -> 0``), early in training.
    - ``"non_saturating"`` (Goodfellow et al. 2014, used in practice): minimise
      ``-E log D(G(z)) = E softplus(-l)``; gradient ``-(1 - D(G(z)))``, largest when G is bad.

    Both are minimised by making ``D(G(z))`` large. Reference values at ``D = 1/2``:
    non-saturating ``ln 2 = 0.693``, saturating ``-ln 2 = -0.693``.
    """
    if kind not in GENERATOR_LOSSES:
        raise ValueError(f"generator loss must be one of {GENERATOR_LOSSES}, got {kind!r}")
    fake_logits = ops.convert_to_tensor(fake_logits, "float32")
    if kind == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))
    return -ops.mean(ops.softplus(fake_logits))


# ----------------------------------------------------------------------------------------------
# The trainer
# ----------------------------------------------------------------------------------------------
def _check_tanh_range(x, what: str) -> None:
    arr = np.asarray(x)
    if arr.size == 0:
        raise ValueError(f"{what} is empty (shape {arr.shape})")
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{what} contains NaN or inf values")
    if lo < -1.0 - 1e-5 or hi > 1.0 + 1e-5:
        raise ValueError(
            f"{what} must be images in [-1, 1] (the range of the tanh generator), got min={lo:.3g} max={hi:.3g}; "
            "scale [0, 1] images with coursekit.data.transforms.to_tanh_range (x * 2 - 1)"
        )
    if lo >= 0.0 and hi > 0.0:
        raise ValueError(
            f"{what} lies in [{lo:.3g}, {hi:.3g}]: it looks like [0, 1] images, but the generator's tanh outputs "
            "[-1, 1], so D could tell real from fake by the range alone; use coursekit.data.transforms.to_tanh_range"
        )


class GAN(keras.Model):
    """Generator + discriminator trained with ``fit``: ``d_steps`` D updates, then one G update.

    Args:
        generator: built ``keras.Model``, ``(B, latent_dim)`` -> images ``(B, H, W, C)`` in ``[-1, 1]``.
        discriminator: built ``keras.Model``, images -> logits ``(B, 1)`` (no sigmoid).
        latent_dim: size of the standard-normal latent vector ``z``.
        generator_loss: ``"non_saturating"`` (default) or ``"saturating"`` (see :func:`generator_loss`).
        real_label: target of real images in the D loss; 0.9 = one-sided label smoothing.
        d_steps: discriminator updates per generator update (``k`` in Goodfellow et al.). Each of
            them reuses the batch of real images with fresh noise, so an epoch is still one pass
            over the data.
        d_warmup_steps: number of training steps (batches) at the start of training during which
            only the discriminator trains; the generator's weights and optimizer are untouched.

    Metrics (``fit`` history keys), averaged over the epoch: ``d_loss``, ``g_loss`` (nats),
    ``d_acc_real`` (fraction of real images with ``D(x) > 1/2``) and ``d_acc_fake`` (fraction of
    generated images with ``D(G(z)) < 1/2``), measured on the last discriminator step's batch.
    """

    def __init__(self, generator, discriminator, latent_dim: int, *, generator_loss: str = "non_saturating",
                 real_label: float = 1.0, d_steps: int = 1, d_warmup_steps: int = 0, seed: Optional[int] = None,
                 name: str = "gan", **kwargs):
        super().__init__(name=name, **kwargs)
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        if not 0.5 < float(real_label) <= 1.0:
            raise ValueError(f"real_label must be in (0.5, 1] (1.0 = no smoothing, 0.9 = one-sided smoothing), got {real_label}")
        if int(d_steps) != d_steps or d_steps < 1:
            raise ValueError(f"d_steps must be an integer >= 1, got {d_steps!r}")
        if int(d_warmup_steps) != d_warmup_steps or d_warmup_steps < 0:
            raise ValueError(f"d_warmup_steps must be an integer >= 0, got {d_warmup_steps!r}")
        if int(latent_dim) != latent_dim or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.generator_loss_kind = generator_loss
        self.real_label = float(real_label)
        self.d_steps = int(d_steps)
        self.d_warmup_steps = int(d_warmup_steps)
        self._check_networks()
        # training state that must survive a resume: saved with the weights
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.train_step_counter = keras.Variable(0, dtype="int64", trainable=False, name="train_step_counter")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_acc_real_tracker = keras.metrics.Mean(name="d_acc_real")
        self.d_acc_fake_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.d_optimizer = None
        self.g_optimizer = None
        self.built = True

    def _check_networks(self) -> None:
        z = np.zeros((2, self.latent_dim), "float32")
        try:
            images = self.generator(z, training=False)
        except Exception as err:
            raise ValueError(f"the generator does not accept latent vectors of shape (B, {self.latent_dim}) "
                             f"(latent_dim={self.latent_dim}): {err}") from err
        try:
            logits = self.discriminator(images, training=False)
        except Exception as err:
            raise ValueError(f"the discriminator does not accept the generator's output of shape "
                             f"{tuple(images.shape)}: {err}") from err
        if tuple(logits.shape) != (2, 1):
            raise ValueError(f"the discriminator must output one logit per image, shape (B, 1); got {tuple(logits.shape)} "
                             "for a batch of 2; end it with Dense(1)")
        last = self.discriminator.layers[-1] if getattr(self.discriminator, "layers", None) else None
        if getattr(last, "activation", None) is keras.activations.sigmoid:
            raise ValueError("the discriminator must output logits, but its last layer has activation='sigmoid'; "
                             "remove it (the losses apply the sigmoid inside, in a numerically stable way)")
        self.image_shape = tuple(images.shape[1:])

    # --- compile / build ---------------------------------------------------------------------
    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """One optimizer per network; ``kwargs`` go to ``keras.Model.compile`` (e.g. ``jit_compile``)."""
        if kwargs.get("optimizer") is not None or kwargs.get("loss") is not None:
            raise ValueError("GAN.compile takes d_optimizer and g_optimizer (and no optimizer= or loss=): "
                             "the losses are part of GAN.train_step")
        kwargs.pop("optimizer", None)
        kwargs.pop("loss", None)
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two different optimizer objects "
                             "(each keeps the moment estimates of its own network)")
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        self.build_optimizers()

    def build_optimizers(self) -> None:
        """Create both optimizers' variables (so their saved state can be loaded before training)."""
        if self.d_optimizer is None or self.g_optimizer is None:
            raise ValueError("compile the GAN first: gan.compile(d_optimizer=..., g_optimizer=...)")
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator.trainable_variables)
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator.trainable_variables)

    def load_weights(self, filepath, *args, **kwargs):
        """As ``keras.Model.load_weights``, building the optimizers first so their state is restored too."""
        if self.d_optimizer is not None:
            self.build_optimizers()
        return super().load_weights(filepath, *args, **kwargs)

    # Keras does not save the state of random seed generators; a GAN draws noise every step (and
    # its networks may use Dropout), so an interrupted run only continues exactly as it would have
    # if these states travel with the weights. They are stored next to the GAN's own variables.
    def _random_states(self):
        return [sg.state for layer in self._flatten_layers(include_self=True, recursive=True)
                for sg in getattr(layer, "_seed_generators", [])]

    def save_own_variables(self, store):
        for i, v in enumerate(self._trainable_variables + self._non_trainable_variables):
            store[f"{i}"] = v
        for i, state in enumerate(self._random_states()):
            store[f"rng_{i}"] = state

    def load_own_variables(self, store):
        keys = set(store.keys())
        own = self._trainable_variables + self._non_trainable_variables
        if sum(not k.startswith("rng_") for k in keys) != len(own):
            raise ValueError(f"GAN {self.name!r} expected {len(own)} own variables in the weights file, found "
                             f"{sorted(keys)}; was it saved from a GAN with the same options?")
        for i, v in enumerate(own):
            v.assign(store[f"{i}"])
        for i, state in enumerate(self._random_states()):
            if f"rng_{i}" in keys:
                state.assign(store[f"rng_{i}"])

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_acc_real_tracker, self.d_acc_fake_tracker]

    def call(self, z, training=False):
        """The GAN as a sampler: latent vectors ``(B, latent_dim)`` -> images in ``[-1, 1]``."""
        return self.generator(z, training=training)

    # --- training --------------------------------------------------------------------------
    def _d_step(self, real, batch_size):
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z, training=True)
        with _tape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        return d_loss, real_logits, fake_logits

    def _g_step(self, batch_size, update: bool = True):
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with _tape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = generator_loss(fake_logits, self.generator_loss_kind)
        if update:
            variables = self.generator.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        return g_loss

    def train_step(self, data):
        """One GAN step on a batch of real images in ``[-1, 1]`` (or a tuple whose first item is that).

        1. ``d_steps`` times: draw ``z``, update D on real (target ``real_label``) and ``G(z)`` (target 0);
        2. draw fresh ``z``, update G to make D call ``G(z)`` real (skipped during the warm-up).
        G's variables are never touched by the D update and vice versa: each optimizer only
        receives its own network's gradients.
        """
        if self.d_optimizer is None:
            raise ValueError("compile the GAN first: gan.compile(d_optimizer=..., g_optimizer=...)")
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = ops.shape(real)[0]

        for _ in range(self.d_steps):  # a Python loop: unrolled when the step is traced
            d_loss, real_logits, fake_logits = self._d_step(real, batch_size)

        if self.d_warmup_steps > 0:
            g_loss = ops.cond(self.train_step_counter < self.d_warmup_steps,
                              lambda: self._g_step(batch_size, update=False),
                              lambda: self._g_step(batch_size, update=True))
        else:
            g_loss = self._g_step(batch_size)
        self.train_step_counter.assign_add(1)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_acc_real_tracker.update_state(ops.mean(ops.cast(real_logits > 0, "float32")))
        self.d_acc_fake_tracker.update_state(ops.mean(ops.cast(fake_logits < 0, "float32")))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        """Losses and accuracies on a batch of real images, without updating anything."""
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = ops.shape(real)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(self.generator(z, training=False), training=False)
        self.d_loss_tracker.update_state(discriminator_loss(real_logits, fake_logits, self.real_label))
        self.g_loss_tracker.update_state(generator_loss(fake_logits, self.generator_loss_kind))
        self.d_acc_real_tracker.update_state(ops.mean(ops.cast(real_logits > 0, "float32")))
        self.d_acc_fake_tracker.update_state(ops.mean(ops.cast(fake_logits < 0, "float32")))
        return {m.name: m.result() for m in self.metrics}

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit``, after checking that the real images (arrays or a ``tf.data`` batch) are in ``[-1, 1]``."""
        first = x[0] if isinstance(x, (tuple, list)) else x
        if isinstance(first, np.ndarray):
            _check_tanh_range(first, "GAN training data")
        elif first is not None and hasattr(first, "take") and hasattr(first, "element_spec"):
            for batch in first.take(1):
                batch = batch[0] if isinstance(batch, (tuple, list)) else batch
                _check_tanh_range(ops.convert_to_numpy(batch), "GAN training data (first batch)")
        return super().fit(x, *args, **kwargs)

    # --- sampling --------------------------------------------------------------------------
    def sample_latent(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """``(n, latent_dim)`` float32 standard-normal latent vectors; ``seed`` makes them repeatable."""
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(seed) if seed is not None else np.random
        return rng.standard_normal((int(n), self.latent_dim)).astype("float32")

    def generate(self, z, batch_size: int = 256) -> np.ndarray:
        """Images ``(N, H, W, C)`` in ``[-1, 1]`` for latent vectors ``(N, latent_dim)`` (inference mode)."""
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {z.shape}; use gan.sample_latent(N)")
        out = [ops.convert_to_numpy(self.generator(z[i:i + batch_size], training=False))
               for i in range(0, len(z), batch_size)]
        return np.concatenate(out, axis=0)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """``generate(sample_latent(n, seed))``: ``n`` images in ``[-1, 1]``."""
        return self.generate(self.sample_latent(n, seed))


def _tape():
    import tensorflow as tf  # the course runs on the TensorFlow backend

    return tf.GradientTape()


# ----------------------------------------------------------------------------------------------
# Callbacks
# ----------------------------------------------------------------------------------------------
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


class GANMonitor(keras.callbacks.Callback):
    """Every ``every`` epochs: draw ``generator(z_fixed)`` and save it as ``out_dir/epoch_XXX.png``.

    The same latent vectors each time, so the grids show one set of samples improving. The PNG is
    the bare mosaic of :func:`tile_images` (one pixel per pixel, white separators), fast to write.

    Args:
        z_fixed: ``(N, latent_dim)`` latent vectors (e.g. ``gan.sample_latent(32, seed=0)``).
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

    def __init__(self, z_fixed, out_dir, *, every: int = 1, log_dir=None, value_range=(-1.0, 1.0), ncols: int = 8):
        super().__init__()
        self.z_fixed = np.asarray(z_fixed, dtype="float32")
        if self.z_fixed.ndim != 2:
            raise ValueError(f"z_fixed must be (N, latent_dim), got shape {self.z_fixed.shape}")
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
