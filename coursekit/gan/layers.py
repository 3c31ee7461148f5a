"""Small layers that feed a condition (class labels) into a GAN's networks (lecture 07).

Labels are integer arrays ``(B, A)``: one column per attribute (``A = 1`` for a digit class;
``A = 2`` for hair colour and eye colour), attribute ``a`` taking values in
``[0, num_classes[a])``.

- :class:`OneHotLabels`: ``(B, A)`` ints -> ``(B, sum(num_classes))`` concatenated one-hot
  vectors: the conditioning of the original conditional GAN (Mirza & Osindero, 2014), joined
  to ``z`` in the generator and to the image (as constant feature maps) in the discriminator;
- :class:`Projection`: the label term of a projection discriminator (Miyato & Koyama, 2018):
  ``sum_a <E_a[y_a], h>`` for the discriminator's feature vector ``h`` and one learned embedding
  table ``E_a`` per attribute. Added to an unconditional logit ``psi(h)`` it gives
  ``logit(x, y) = psi(h(x)) + <E[y], h(x)>``, the form of the optimal discriminator's log ratio
  when ``p(y | x)`` is a softmax.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops


def class_counts(num_classes) -> tuple:
    """``num_classes`` as a tuple of ints >= 2, one per attribute (``10`` -> ``(10,)``)."""
    values = (num_classes,) if isinstance(num_classes, int) else tuple(num_classes)
    if not values or any(isinstance(k, bool) or int(k) != k or k < 2 for k in values):
        raise ValueError(f"num_classes must be an integer >= 2 or a sequence of them (one per attribute), "
                         f"got {num_classes!r}")
    return tuple(int(k) for k in values)


class OneHotLabels(keras.layers.Layer):
    """``(B, A)`` integer labels -> ``(B, sum(num_classes))`` float32, one one-hot block per attribute."""

    def __init__(self, num_classes: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.num_classes = class_counts(num_classes)

    def call(self, labels):
        labels = ops.cast(labels, "int32")
        return ops.concatenate(
            [ops.one_hot(labels[:, a], k, dtype="float32") for a, k in enumerate(self.num_classes)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], sum(self.num_classes))

    def get_config(self):
        return {**super().get_config(), "num_classes": list(self.num_classes)}


class Projection(keras.layers.Layer):
    """``[h (B, F), labels (B, A)]`` -> ``(B, 1)``: ``sum_a <E_a[labels[:, a]], h>``.

    One embedding table ``E_a`` of shape ``(num_classes[a], F)`` per attribute, learned with the
    discriminator. Add its output to ``Dense(1)(h)`` to get the projection discriminator's logit.
    """

    def __init__(self, num_classes: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.num_classes = class_counts(num_classes)

    def build(self, input_shape):
        features = int(input_shape[0][-1])
        self.tables = [self.add_weight(shape=(k, features), initializer="glorot_uniform", name=f"embedding_{a}")
                       for a, k in enumerate(self.num_classes)]

    def call(self, inputs):
        h, labels = inputs
        labels = ops.cast(labels, "int32")
        total = 0.0
        for a, table in enumerate(self.tables):
            total = total + ops.sum(ops.take(table, labels[:, a], axis=0) * h, axis=-1, keepdims=True)
        return total

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def get_config(self):
        return {**super().get_config(), "num_classes": list(self.num_classes)}
