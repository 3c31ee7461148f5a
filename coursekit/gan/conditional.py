"""Conditional GANs (lecture 07): the generator is told *what* to draw.

:class:`ConditionalGAN` extends :class:`coursekit.gan.trainer.GAN` with labels. Both networks
receive the condition:

- the generator maps ``[z (B, latent_dim), labels (B, A)]`` to images in ``[-1, 1]``;
- the discriminator maps ``[images, labels]`` to a real/fake logit ``(B, 1)`` (concatenation or
  projection conditioning, see :mod:`coursekit.gan.layers`), **or** maps images alone to
  ``[logit (B, 1), class_logits_0 (B, K_0), ...]``: an auxiliary classifier (AC-GAN, Odena et
  al. 2017), one head per attribute. The trainer sees which from the network's inputs/outputs.

Labels are ``(B, A)`` integers, one column per attribute (``(B,)`` is accepted for ``A = 1``).
In training, the fakes are asked for the labels of the real batch, so the discriminator sees the
same label distribution on both sides, and a label combination absent from the data is never
shown to it (lecture 07 holds some combinations out and asks for them afterwards).

The game per step (``d_steps`` D updates, then one G update, one optimizer per network):

- D: ``L_D = BCE(real_label, D(x, y)) + BCE(0, D(G(z, y), y))``, plus with AC-GAN
  ``aux_weight * [CE(C(x), y) + CE(C(G(z, y)), y)]``;
- G: the non-saturating (or saturating) loss on ``D(G(z, y), y)``, plus with AC-GAN
  ``aux_weight * CE(C(G(z, y)), y)``: the generator is also rewarded for images the auxiliary
  classifier assigns to the requested class.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf  # the course runs on the TensorFlow backend (GradientTape)
from keras import ops

from coursekit.gan.layers import class_counts
from coursekit.gan.losses import classification_loss, discriminator_loss, generator_loss
from coursekit.gan.trainer import GAN


def check_labels(labels, num_classes: Sequence[int], what: str = "labels") -> np.ndarray:
    """Validate labels for a conditional GAN and return them as ``(N, A)`` int32.

    Args:
        labels: ``(N,)`` (one attribute) or ``(N, A)`` integers.
        num_classes: classes per attribute, length ``A``.

    Raises:
        ValueError: wrong shape, non-integer values, or a label outside ``[0, num_classes[a])``,
            naming the attribute column and the bad value.
    """
    num_classes = class_counts(num_classes)
    arr = np.asarray(labels)
    if arr.ndim == 1 and len(num_classes) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(num_classes):
        raise ValueError(f"{what} must have shape (N, {len(num_classes)}) (one column per attribute"
                         f"{', or (N,)' if len(num_classes) == 1 else ''}), got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{what} must be integer class indices, got values such as {arr.ravel()[:3]}")
    arr = arr.astype("int64")
    for a, k in enumerate(num_classes):
        col = arr[:, a]
        bad = col[(col < 0) | (col >= k)]
        if bad.size:
            raise ValueError(f"{what}[:, {a}] must be in [0, {k}) ({k} classes), got {int(bad[0])}; "
                             "labels are class indices (0-based), not names or one-hot vectors")
    return arr.astype("int32")


class ConditionalGAN(GAN):
    """A GAN whose two networks both receive the labels (see the module docstring).

    Args:
        generator: ``[z (B, latent_dim), labels (B, A)]`` -> images ``(B, H, W, C)`` in ``[-1, 1]``.
        discriminator: ``[images, labels]`` -> logit ``(B, 1)``; or images -> ``[logit, class logits
            per attribute]`` for AC-GAN.
        latent_dim: size of ``z``.
        num_classes: classes per attribute (an int for one attribute, e.g. 10 digits; ``(6, 4)``
            for hair colour and eye colour).
        aux_weight: weight of the auxiliary classifier's cross-entropy (AC-GAN only).
        **kwargs: the options of :class:`~coursekit.gan.trainer.GAN` (``real_label``, ``d_steps``,
            ``d_warmup_steps``, ``generator_loss``, ``seed``...).

    Metrics: those of ``GAN``, plus for AC-GAN ``cls_acc_real`` and ``cls_acc_fake``: how often
    the auxiliary classifier assigns real images and fakes to their (requested) class, averaged
    over the attributes.
    """

    def __init__(self, generator, discriminator, latent_dim: int, num_classes, *, aux_weight: float = 1.0,
                 name: str = "conditional_gan", **kwargs):
        self.num_classes = class_counts(num_classes)
        self.aux_weight = float(aux_weight)
        if not self.aux_weight >= 0:
            raise ValueError(f"aux_weight must be >= 0, got {aux_weight}")
        self.d_takes_labels = len(getattr(discriminator, "inputs", None) or [None]) == 2
        self.auxiliary = isinstance(discriminator.outputs, (list, tuple)) and len(discriminator.outputs) > 1
        super().__init__(generator, discriminator, latent_dim, name=name, **kwargs)

    # --- the networks ------------------------------------------------------------------------
    def metric_names(self) -> tuple:
        extra = ("cls_acc_real", "cls_acc_fake") if self.auxiliary else ()
        return super().metric_names() + extra

    def discriminate(self, images, labels, training: bool = False):
        """``(logit (B, 1), [class logits (B, K_a) per attribute])``; the list is empty without AC-GAN."""
        out = self.discriminator([images, labels] if self.d_takes_labels else images, training=training)
        if self.auxiliary:
            return out[0], list(out[1:])
        return out, []

    def _check_networks(self) -> None:
        a = len(self.num_classes)
        z, labels = ops.zeros((2, self.latent_dim), "float32"), ops.zeros((2, a), "int32")
        try:
            images = self.generator([z, labels], training=False)
        except Exception as err:
            raise ValueError(f"the generator must take [z (B, {self.latent_dim}), labels (B, {a})]: {err}") from err
        if not self.d_takes_labels and not self.auxiliary:
            raise ValueError("the discriminator must take [images, labels] (conditional GAN, projection) or output "
                             "[logit, class logits per attribute] (AC-GAN); it does neither")
        try:
            logits, class_logits = self.discriminate(images, labels)
        except Exception as err:
            raise ValueError(f"the discriminator does not accept the generator's output of shape "
                             f"{tuple(images.shape)} with labels (B, {a}): {err}") from err
        self._check_logits(logits)
        if self.auxiliary:
            shapes = [tuple(c.shape) for c in class_logits]
            if shapes != [(2, k) for k in self.num_classes]:
                raise ValueError(f"an AC-GAN discriminator needs one class-logit head per attribute with shapes "
                                 f"{[(None, k) for k in self.num_classes]}, got {shapes}")
        self.image_shape = tuple(images.shape[1:])

    # --- training ----------------------------------------------------------------------------
    def _unpack(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("a ConditionalGAN trains on (images, labels) pairs: fit(x, y) or a dataset of pairs")
        images, labels = data[0], data[1]
        labels = ops.cast(labels, "int32")
        if len(labels.shape) == 1:
            labels = ops.expand_dims(labels, -1)
        return images, labels

    def _aux_loss(self, class_logits, labels):
        return sum(classification_loss(c, labels[:, a]) for a, c in enumerate(class_logits))

    def _aux_accuracy(self, class_logits, labels):
        hits = [ops.mean(ops.cast(ops.cast(ops.argmax(c, axis=-1), "int32") == labels[:, a], "float32"))
                for a, c in enumerate(class_logits)]
        return sum(hits) / len(hits)

    def discriminator_step(self, real, labels, batch_size):
        """One D update on real images and fakes asked for the same labels."""
        fake = self.generator([self._noise(batch_size), labels], training=True)
        with tf.GradientTape() as tape:
            real_logits, real_cls = self.discriminate(real, labels, training=True)
            fake_logits, fake_cls = self.discriminate(fake, labels, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
            if self.auxiliary:
                aux = self._aux_loss(real_cls, labels) + self._aux_loss(fake_cls, labels)
                d_loss = d_loss + self.aux_weight * aux
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        return d_loss, real_logits, fake_logits, real_cls, fake_cls

    def generator_step(self, labels, batch_size, update: bool = True):
        """One G update: fool D about ``G(z, y)`` (and, with AC-GAN, make the classifier say ``y``)."""
        z = self._noise(batch_size)
        with tf.GradientTape() as tape:
            fake_logits, fake_cls = self.discriminate(self.generator([z, labels], training=True), labels, training=True)
            g_loss = generator_loss(fake_logits, self.generator_loss_kind)
            if self.auxiliary:
                g_loss = g_loss + self.aux_weight * self._aux_loss(fake_cls, labels)
        if update:
            variables = self.generator.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        return g_loss

    def train_step(self, data):
        """One conditional GAN step on a batch of ``(images in [-1, 1], labels)``."""
        if self.d_optimizer is None:
            raise ValueError("compile the GAN first: gan.compile(d_optimizer=..., g_optimizer=...)")
        real, labels = self._unpack(data)
        batch_size = ops.shape(real)[0]
        for _ in range(self.d_steps):
            d_loss, real_logits, fake_logits, real_cls, fake_cls = self.discriminator_step(real, labels, batch_size)
        g_loss = self._generator_update(lambda update: self.generator_step(labels, batch_size, update))
        self.train_step_counter.assign_add(1)
        values = {
            "d_loss": d_loss, "g_loss": g_loss,
            "d_acc_real": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_acc_fake": ops.mean(ops.cast(fake_logits < 0, "float32")),
        }
        if self.auxiliary:
            values.update(cls_acc_real=self._aux_accuracy(real_cls, labels),
                          cls_acc_fake=self._aux_accuracy(fake_cls, labels))
        return self._update_trackers(values)

    def test_step(self, data):
        raise NotImplementedError("ConditionalGAN has no evaluate(); measure samples with coursekit.metrics")

    def fit(self, x=None, y=None, *args, **kwargs):
        """``fit(images in [-1, 1], labels)``, or a ``tf.data`` dataset of ``(images, labels)`` batches."""
        if isinstance(x, np.ndarray):
            if y is None:
                raise ValueError("a ConditionalGAN needs labels: fit(images, labels, ...)")
            y = check_labels(y, self.num_classes, "training labels")
            if len(y) != len(x):
                raise ValueError(f"got {len(x)} images but {len(y)} labels")
            self._check_training_data(x)
            return super(GAN, self).fit(x, y, *args, **kwargs)
        if x is not None and hasattr(x, "take") and hasattr(x, "element_spec"):
            for batch in x.take(1):
                if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                    raise ValueError("the dataset must yield (images, labels) batches for a ConditionalGAN")
                self._check_training_data(ops.convert_to_numpy(batch[0]))
                check_labels(ops.convert_to_numpy(batch[1]), self.num_classes, "training labels (first batch)")
            return super(GAN, self).fit(x, *args, **kwargs)
        raise ValueError("fit a ConditionalGAN on (images, labels) arrays or a tf.data dataset, "
                         f"got {type(x).__name__}")

    # --- sampling ----------------------------------------------------------------------------
    def call(self, inputs, training=False):
        """``[z, labels]`` -> images in ``[-1, 1]``."""
        return self.generator(inputs, training=training)

    def generate(self, z, labels, batch_size: int = 256) -> np.ndarray:
        """Images ``(N, H, W, C)`` in ``[-1, 1]`` for latent vectors ``(N, latent_dim)`` and labels
        ``(N,)``/``(N, A)``."""
        z = self._check_latent(z)
        labels = check_labels(labels, self.num_classes)
        if len(labels) != len(z):
            raise ValueError(f"z has {len(z)} rows but labels has {len(labels)}: one label row per latent vector")
        z, labels = ops.convert_to_tensor(z), ops.convert_to_tensor(labels)
        out = [ops.convert_to_numpy(self.generator([z[i:i + batch_size], labels[i:i + batch_size]], training=False))
               for i in range(0, len(z), batch_size)]
        return np.concatenate(out, axis=0)

    def sample(self, labels, seed: Optional[int] = None) -> np.ndarray:
        """One image per requested label row, with fresh latent vectors (``seed`` makes them repeatable)."""
        labels = check_labels(labels, self.num_classes)
        return self.generate(self.sample_latent(len(labels), seed), labels)
