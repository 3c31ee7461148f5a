"""The Wasserstein GAN with gradient penalty (WGAN-GP, Gulrajani et al., 2017), lecture 09.

The discriminator becomes a **critic** ``f``: it outputs an unbounded score (no sigmoid, no
probability). For a 1-Lipschitz ``f``, ``E_real f(x) - E_fake f(G(z))`` estimates the
Wasserstein-1 (earth mover's) distance between the data and the generator's distribution
(Kantorovich-Rubinstein duality); the critic maximises it, the generator minimises
``-E f(G(z))``. The Lipschitz constraint is enforced softly by the gradient penalty
(:func:`coursekit.gan.penalties.gradient_penalty`, weight ``lambda = 10``).

Why it helps against mode collapse and convergence failure: the critic's score keeps a useful
slope towards the data even where the two distributions do not overlap, so a winning critic
still tells the generator where to go, and the estimate ``w_distance`` falls as samples improve
(a loss curve that can be read, unlike the GAN's ``d_loss``).

The paper's settings: ``d_steps = 5`` critic updates per generator update, Adam with learning
rate ``1e-4``, ``beta_1 = 0``, ``beta_2 = 0.9``; no batch normalisation in the critic (the penalty
is per sample).
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf
from keras import ops

from coursekit.gan.penalties import gradient_penalty
from coursekit.gan.trainer import GAN


def critic_loss(real_scores, fake_scores):
    """``E f(fake) - E f(real)``: the critic minimises it (maximises the Wasserstein estimate)."""
    return ops.mean(ops.convert_to_tensor(fake_scores, "float32")) - ops.mean(
        ops.convert_to_tensor(real_scores, "float32"))


def wasserstein_generator_loss(fake_scores):
    """``-E f(G(z))``: the generator pushes the critic's score of its samples up."""
    return -ops.mean(ops.convert_to_tensor(fake_scores, "float32"))


class WGANGP(GAN):
    """A :class:`~coursekit.gan.trainer.GAN` whose discriminator is a critic, trained with the WGAN-GP losses.

    Args:
        generator: ``(B, latent_dim)`` -> samples.
        critic: samples -> scores ``(B, 1)`` (a ``Dense(1)`` output without activation).
        latent_dim: size of ``z``.
        gp_weight: ``lambda``, the weight of the gradient penalty (10 in the paper).
        d_steps: critic updates per generator update (5 in the paper).
        seed: seed of the noise and of the interpolation weights drawn during training.

    ``fit`` history keys: ``d_loss`` (critic loss with the penalty), ``g_loss``,
    ``w_distance`` (``E f(real) - E f(fake)``, the Wasserstein estimate, in the critic's units)
    and ``gradient_penalty`` (unweighted).
    """

    def __init__(self, generator, critic, latent_dim: int, *, gp_weight: float = 10.0, d_steps: int = 5,
                 seed: Optional[int] = None, name: str = "wgan_gp", **kwargs):
        if not float(gp_weight) >= 0:
            raise ValueError(f"gp_weight must be >= 0 (10 in the paper), got {gp_weight}")
        for unused in ("generator_loss", "real_label"):
            if unused in kwargs:
                raise ValueError(f"WGANGP has no {unused}: the Wasserstein losses replace the GAN's "
                                 "cross-entropy (use coursekit.gan.trainer.GAN for that option)")
        super().__init__(generator, critic, latent_dim, d_steps=d_steps, seed=seed, name=name, **kwargs)
        self.gp_weight = float(gp_weight)

    def metric_names(self) -> tuple:
        return ("d_loss", "g_loss", "w_distance", "gradient_penalty")

    def discriminator_step(self, real, batch_size):
        """One critic update. Returns ``(d_loss, w_distance, penalty)``."""
        fake = self.generator(self._noise(batch_size), training=True)
        alpha = keras.random.uniform((batch_size,), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            real_scores = self.discriminator(real, training=True)
            fake_scores = self.discriminator(fake, training=True)
            penalty = gradient_penalty(self.discriminator, real, fake, alpha)
            d_loss = critic_loss(real_scores, fake_scores) + self.gp_weight * penalty
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        return d_loss, -critic_loss(real_scores, fake_scores), penalty

    def generator_step(self, batch_size, update: bool = True):
        z = self._noise(batch_size)
        with tf.GradientTape() as tape:
            g_loss = wasserstein_generator_loss(self.discriminator(self.generator(z, training=True), training=True))
        if update:
            variables = self.generator.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        return g_loss

    def train_step(self, data):
        """``d_steps`` critic updates, then one generator update (skipped during ``d_warmup_steps``)."""
        if self.d_optimizer is None:
            raise ValueError("compile the GAN first: gan.compile(d_optimizer=..., g_optimizer=...)")
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = ops.shape(real)[0]
        for _ in range(self.d_steps):
            d_loss, w_distance, penalty = self.discriminator_step(real, batch_size)
        g_loss = self._generator_update(lambda update: self.generator_step(batch_size, update))
        self.train_step_counter.assign_add(1)
        return self._update_trackers({"d_loss": d_loss, "g_loss": g_loss, "w_distance": w_distance,
                                      "gradient_penalty": penalty})

    def test_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = ops.shape(real)[0]
        real_scores = self.discriminator(real, training=False)
        fake_scores = self.discriminator(self.generator(self._noise(batch_size), training=False), training=False)
        w_distance = -critic_loss(real_scores, fake_scores)
        return self._update_trackers({"d_loss": -w_distance, "g_loss": wasserstein_generator_loss(fake_scores),
                                      "w_distance": w_distance, "gradient_penalty": ops.zeros(())})
