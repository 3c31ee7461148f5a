"""Packing (PacGAN, Lin et al., 2018), lecture 09: the discriminator judges ``m`` samples at once.

The discriminator sees ``m`` samples joined along the last axis (``m`` points of 2-D data become
one ``2m`` vector; ``m`` images become one image with ``m * C`` channels), all real or all
generated. A generator that puts its samples in a few modes makes packs that look unlike real
packs (they repeat), even when each sample alone looks real, so packing penalises mode collapse.
The only change to the networks is the discriminator's input width; the losses, label smoothing
and ``d_steps`` of :class:`~coursekit.gan.trainer.GAN` stay as they are.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from coursekit.gan.losses import discriminator_loss, generator_loss
from coursekit.gan.trainer import GAN, _check_int


def pack(x, m: int):
    """Join groups of ``m`` consecutive samples along the last axis: ``(B, ..., C) -> (B // m, ..., m * C)``.

    Sample ``i`` of a pack occupies channels ``[i * C, (i + 1) * C)``. ``B`` must be a multiple of ``m``
    (the trainer drops the remainder of a batch first).
    """
    x = ops.convert_to_tensor(x)
    rank = len(x.shape)
    if rank < 2:
        raise ValueError(f"pack needs a batch of samples (B, ..., C), got shape {tuple(x.shape)}")
    inner = tuple(x.shape[1:])
    grouped = ops.reshape(x, (-1, m) + inner)  # (B/m, m, ..., C)
    axes = (0,) + tuple(range(2, rank)) + (1, rank)  # (B/m, ..., m, C)
    return ops.reshape(ops.transpose(grouped, axes), (-1,) + inner[:-1] + (m * inner[-1],))


class PacGAN(GAN):
    """A :class:`~coursekit.gan.trainer.GAN` whose discriminator judges packs of ``packing`` samples.

    Args:
        generator: ``(B, latent_dim)`` -> samples ``(B, ..., C)``.
        discriminator: packs ``(B // packing, ..., packing * C)`` -> logits ``(B // packing, 1)``.
        latent_dim: size of ``z``.
        packing: ``m`` (2, 3 or 4 in the paper); ``m = 1`` is the plain GAN.
        **kwargs: the options of :class:`~coursekit.gan.trainer.GAN` (``generator_loss``,
            ``real_label``, ``d_steps``, ``d_warmup_steps``, ``seed``).

    A batch whose size is not a multiple of ``packing`` uses its first ``packing * (B // packing)``
    samples. The ``fit`` history keys are those of ``GAN``; the accuracies count packs.
    """

    def __init__(self, generator, discriminator, latent_dim: int, *, packing: int = 2, name: str = "pacgan",
                 **kwargs):
        super().__init__(generator, discriminator, latent_dim, name=name, **kwargs)
        self.packing = _check_int(packing, "packing", 1)
        self._check_networks()

    def _check_networks(self) -> None:
        if not hasattr(self, "packing"):  # called by GAN.__init__ before packing is known
            return
        z = ops.zeros((2 * self.packing, self.latent_dim))
        samples = self.generator(z, training=False)
        try:
            logits = self.discriminator(pack(samples, self.packing), training=False)
        except Exception as err:
            raise ValueError(f"the discriminator does not accept packs of {self.packing} samples: shape "
                             f"{tuple(pack(samples, self.packing).shape)} for samples of shape "
                             f"{tuple(samples.shape)}; give it an input of that size: {err}") from err
        self._check_logits(logits)
        self.image_shape = tuple(samples.shape[1:])

    def _usable(self, batch_size):
        return (batch_size // self.packing) * self.packing

    def discriminator_step(self, real, batch_size):
        n = self._usable(batch_size)
        fake = self.generator(self._noise(n), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(pack(real[:n], self.packing), training=True)
            fake_logits = self.discriminator(pack(fake, self.packing), training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        return d_loss, real_logits, fake_logits

    def generator_step(self, batch_size, update: bool = True):
        z = self._noise(self._usable(batch_size))
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(pack(self.generator(z, training=True), self.packing), training=True)
            g_loss = generator_loss(fake_logits, self.generator_loss_kind)
        if update:
            variables = self.generator.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        return g_loss

    def test_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        n = self._usable(ops.shape(real)[0])
        real_logits = self.discriminator(pack(real[:n], self.packing), training=False)
        fake = self.generator(self._noise(n), training=False)
        fake_logits = self.discriminator(pack(fake, self.packing), training=False)
        return self._update_trackers({
            "d_loss": discriminator_loss(real_logits, fake_logits, self.real_label),
            "g_loss": generator_loss(fake_logits, self.generator_loss_kind),
            "d_acc_real": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_acc_fake": ops.mean(ops.cast(fake_logits < 0, "float32")),
        })
