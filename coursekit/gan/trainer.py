"""The GAN trainer shared by lectures 05-09: one ``keras.Model``, two optimizers, trained with ``fit``.

:class:`GAN` alternates ``d_steps`` discriminator updates and one generator update, each network
with **its own optimizer**. Nothing is frozen: each update only *applies* gradients to its own
network's variables, which replaces the Keras 2 ``discriminator.trainable = False`` +
combined-model pattern. Options: non-saturating or saturating generator loss, one-sided label
smoothing (``real_label=0.9``), ``d_steps`` and a discriminator warm-up (``d_warmup_steps``).
Works with :func:`coursekit.training.fit_or_load` (resume and load, including both optimizers'
state and the random-number state). Conditional GANs (lecture 07) extend it in
:mod:`coursekit.gan.conditional`.

Conventions: the generator maps ``(B, latent_dim)`` standard-normal vectors to images in
``[-1, 1]`` (``tanh`` output); the discriminator maps images to **logits** of shape ``(B, 1)``
(no sigmoid: ``D(x) = sigmoid(logit)``). Losses are in nats, averaged over the batch.
"""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np
import tensorflow as tf  # the course runs on the TensorFlow backend (GradientTape)
from keras import ops

from coursekit.gan.losses import GENERATOR_LOSSES, discriminator_loss, generator_loss


def check_tanh_range(x, what: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a non-empty, finite array of images in ``[-1, 1]``.

    Also refuses data that lies in ``[0, 1]`` only: a ``tanh`` generator's images reach -1, so a
    discriminator could tell real from fake by the range alone.
    """
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


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class GAN(keras.Model):
    """Generator + discriminator trained with ``fit``: ``d_steps`` D updates, then one G update.

    Args:
        generator: built ``keras.Model``, ``(B, latent_dim)`` -> images ``(B, H, W, C)`` in ``[-1, 1]``.
        discriminator: built ``keras.Model``, images -> logits ``(B, 1)`` (no sigmoid).
        latent_dim: size of the standard-normal latent vector ``z``.
        generator_loss: ``"non_saturating"`` (default) or ``"saturating"``
            (see :func:`coursekit.gan.losses.generator_loss`).
        real_label: target of real images in the D loss; 0.9 = one-sided label smoothing.
        d_steps: discriminator updates per generator update (``k`` in Goodfellow et al.). Each of
            them reuses the batch of real images with fresh noise, so an epoch is still one pass
            over the data.
        d_warmup_steps: number of training steps (batches) at the start of training during which
            only the discriminator trains; the generator's weights and optimizer are untouched.
        seed: seed of the noise drawn during training (``None``: from Keras' global seed).
        check_range: ``fit`` refuses real data outside ``[-1, 1]`` (images for a ``tanh`` generator);
            ``False`` for data that are not such images, e.g. the 2-D points of lecture 09 (NaN and
            inf are still refused).

    Metrics (``fit`` history keys), averaged over the epoch: ``d_loss``, ``g_loss`` (nats),
    ``d_acc_real`` (fraction of real images with ``D(x) > 1/2``) and ``d_acc_fake`` (fraction of
    generated images with ``D(G(z)) < 1/2``), measured on the last discriminator step's batch.
    """

    def __init__(self, generator, discriminator, latent_dim: int, *, generator_loss: str = "non_saturating",
                 real_label: float = 1.0, d_steps: int = 1, d_warmup_steps: int = 0, seed: Optional[int] = None,
                 check_range: bool = True, name: str = "gan", **kwargs):
        super().__init__(name=name, **kwargs)
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        if not 0.5 < float(real_label) <= 1.0:
            raise ValueError("real_label must be in (0.5, 1] (1.0 = no smoothing, 0.9 = one-sided smoothing), "
                             f"got {real_label}")
        self.d_steps = _check_int(d_steps, "d_steps", 1)
        self.d_warmup_steps = _check_int(d_warmup_steps, "d_warmup_steps", 0)
        self.latent_dim = _check_int(latent_dim, "latent_dim", 1)
        self.generator = generator
        self.discriminator = discriminator
        self.generator_loss_kind = generator_loss
        self.real_label = float(real_label)
        self.check_range = bool(check_range)
        self._check_networks()
        # training state that must survive a resume: saved with the weights
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.train_step_counter = keras.Variable(0, dtype="int64", trainable=False, name="train_step_counter")
        self.trackers = {key: keras.metrics.Mean(name=key) for key in self.metric_names()}
        self.d_optimizer = None
        self.g_optimizer = None
        self.built = True

    # --- what the networks must look like ---------------------------------------------------
    def metric_names(self) -> tuple:
        """The keys of the ``fit`` history, in order."""
        return ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")

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
        self._check_logits(logits)
        self.image_shape = tuple(images.shape[1:])

    def _check_logits(self, logits) -> None:
        if tuple(logits.shape) != (2, 1):
            raise ValueError("the discriminator must output one logit per image, shape (B, 1); "
                             f"got {tuple(logits.shape)} "
                             "for a batch of 2; end it with Dense(1)")
        last = self.discriminator.layers[-1] if getattr(self.discriminator, "layers", None) else None
        if getattr(last, "activation", None) is keras.activations.sigmoid:
            raise ValueError("the discriminator must output logits, but its last layer has activation='sigmoid'; "
                             "remove it (the losses apply the sigmoid inside, in a numerically stable way)")

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
        return list(self.trackers.values())

    def call(self, z, training=False):
        """The GAN as a sampler: latent vectors ``(B, latent_dim)`` -> images in ``[-1, 1]``."""
        return self.generator(z, training=training)

    # --- training --------------------------------------------------------------------------
    def _noise(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def discriminator_step(self, real, batch_size):
        """One D update on real images and fresh fakes. Returns ``(d_loss, real_logits, fake_logits)``."""
        fake = self.generator(self._noise(batch_size), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        return d_loss, real_logits, fake_logits

    def generator_step(self, batch_size, update: bool = True):
        """One G update through D (``update=False``: the loss only). Returns ``g_loss``."""
        z = self._noise(batch_size)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = generator_loss(fake_logits, self.generator_loss_kind)
        if update:
            variables = self.generator.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        return g_loss

    def _generator_update(self, step):
        """Run ``step(update)``, skipping the update during the discriminator warm-up."""
        if self.d_warmup_steps > 0:
            return ops.cond(self.train_step_counter < self.d_warmup_steps,
                            lambda: step(False), lambda: step(True))
        return step(True)

    def _update_trackers(self, values: dict) -> dict:
        for key, value in values.items():
            self.trackers[key].update_state(value)
        return {key: tracker.result() for key, tracker in self.trackers.items()}

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
            d_loss, real_logits, fake_logits = self.discriminator_step(real, batch_size)
        g_loss = self._generator_update(lambda update: self.generator_step(batch_size, update))
        self.train_step_counter.assign_add(1)
        return self._update_trackers({
            "d_loss": d_loss, "g_loss": g_loss,
            "d_acc_real": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_acc_fake": ops.mean(ops.cast(fake_logits < 0, "float32")),
        })

    def test_step(self, data):
        """Losses and accuracies on a batch of real images, without updating anything."""
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = ops.shape(real)[0]
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(self.generator(self._noise(batch_size), training=False), training=False)
        return self._update_trackers({
            "d_loss": discriminator_loss(real_logits, fake_logits, self.real_label),
            "g_loss": generator_loss(fake_logits, self.generator_loss_kind),
            "d_acc_real": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_acc_fake": ops.mean(ops.cast(fake_logits < 0, "float32")),
        })

    def _check_training_data(self, x) -> None:
        first = x[0] if isinstance(x, (tuple, list)) else x
        if not self.check_range:
            if isinstance(first, np.ndarray) and not np.all(np.isfinite(first)):
                raise ValueError("GAN training data contains NaN or inf values")
            return
        if isinstance(first, np.ndarray):
            check_tanh_range(first, "GAN training data")
        elif first is not None and hasattr(first, "take") and hasattr(first, "element_spec"):
            for batch in first.take(1):
                batch = batch[0] if isinstance(batch, (tuple, list)) else batch
                check_tanh_range(ops.convert_to_numpy(batch), "GAN training data (first batch)")

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit``, after checking that the real images (arrays or a ``tf.data`` batch) are in
        ``[-1, 1]``."""
        self._check_training_data(x)
        return super().fit(x, *args, **kwargs)

    # --- sampling --------------------------------------------------------------------------
    def sample_latent(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """``(n, latent_dim)`` float32 standard-normal latent vectors; ``seed`` makes them repeatable."""
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(seed) if seed is not None else np.random
        return rng.standard_normal((int(n), self.latent_dim)).astype("float32")

    def _check_latent(self, z) -> np.ndarray:
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {z.shape}; use gan.sample_latent(N)")
        return z

    def generate(self, z, batch_size: int = 256) -> np.ndarray:
        """Images ``(N, H, W, C)`` in ``[-1, 1]`` for latent vectors ``(N, latent_dim)`` (inference mode)."""
        z = self._check_latent(z)
        out = [ops.convert_to_numpy(self.generator(z[i:i + batch_size], training=False))
               for i in range(0, len(z), batch_size)]
        return np.concatenate(out, axis=0)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """``generate(sample_latent(n, seed))``: ``n`` images in ``[-1, 1]``."""
        return self.generate(self.sample_latent(n, seed))
