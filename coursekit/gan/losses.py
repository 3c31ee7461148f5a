"""GAN losses, written on the discriminator's **logits** (lectures 05-09).

- :func:`discriminator_loss`, :func:`generator_loss`: the binary cross-entropy game of
  Goodfellow et al. (2014), with the non-saturating or the saturating generator loss and
  one-sided label smoothing;
- :func:`classification_loss`: the auxiliary classifier's cross-entropy of AC-GAN (lecture 07).

Conventions: a discriminator outputs logits ``l`` with ``D(x) = sigmoid(l)`` (no sigmoid layer);
losses are in nats, averaged over the batch. ``softplus`` on logits never takes the log of 0.
"""

from __future__ import annotations

from keras import ops

GENERATOR_LOSSES = ("non_saturating", "saturating")


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


def classification_loss(class_logits, labels):
    """Mean sparse categorical cross-entropy (nats) of an auxiliary classifier head (AC-GAN).

    Args:
        class_logits: ``(B, K)`` unnormalised class scores.
        labels: ``(B,)`` integer classes in ``[0, K)``.

    Returns:
        scalar tensor, nats; ``ln K`` for uniform scores, 0 for a perfect, confident classifier.
    """
    class_logits = ops.convert_to_tensor(class_logits, "float32")
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    return ops.mean(ops.sparse_categorical_crossentropy(labels, class_logits, from_logits=True))
