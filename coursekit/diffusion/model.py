"""The training side of a diffusion model: Ho et al.'s simple epsilon loss, EMA weights, label dropout.

:class:`DiffusionModel` wraps a noise-prediction network (``coursekit.diffusion.networks``) in a
``keras.Model`` whose ``train_step`` is the whole algorithm (Ho et al. 2020, Algorithm 1):

1. draw ``t ~ Uniform{1, ..., T}`` and ``eps ~ N(0, I)`` for each example (``loss="vlb"``: ``t``
   with probability proportional to its weight in the variational bound, ``vlb_weights``, which
   makes the same squared error an unbiased estimate of the bound's gradient, up to a constant);
2. ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (``coursekit.diffusion.process.q_sample``);
3. one gradient step on ``mean((eps - eps_theta(x_t, t))^2)``;
4. update an exponential moving average of the weights (``ema_decay``), the copy that samples.

A conditional model (``num_classes``) replaces each label with the extra label ``num_classes``
("none") with probability ``label_dropout``, so one network learns ``eps(x, t, y)`` and
``eps(x, t)`` together (classifier-free guidance, Ho & Salimans 2022).

Training data are checked before ``fit`` (finite; in ``data_range`` for images), and a loss that
turns NaN or inf stops training with an error that names the batch and the fix.
"""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np
from keras import ops

from coursekit.diffusion.process import q_sample
from coursekit.diffusion.schedules import NoiseSchedule


def drop_labels(y, rate: float, null_label: int, seed=None):
    """Replace each label by ``null_label`` with probability ``rate`` (``keras.random`` with ``seed``)."""
    y = ops.cast(y, "int32")
    if rate <= 0:
        return y
    keep = keras.random.uniform(ops.shape(y), seed=seed) >= rate
    return ops.where(keep, y, ops.full_like(y, null_label))


class NonFiniteLossError(FloatingPointError):
    """The diffusion loss became NaN or inf; the message names the epoch, the batch and the fixes."""


class _StopOnNonFinite(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            raise NonFiniteLossError(
                f"the diffusion loss became {float(loss)} at epoch {getattr(self, 'epoch', 0) + 1}, batch {batch + 1}: "
                "lower the learning rate (e.g. by 10x), check that the data are scaled to [-1, 1], or add gradient "
                "clipping (clipnorm=1.0 in the optimizer); nothing was saved from this run")


class DiffusionModel(keras.Model):
    """A noise predictor trained with the simple loss, plus its EMA copy for sampling.

    Args:
        network: ``eps_theta``: a ``keras.Model`` taking ``[x, t]`` (or ``[x, t, y]`` when
            ``num_classes`` is set) and returning a prediction of ``x``'s shape.
        schedule: the :class:`NoiseSchedule` of the forward process.
        ema_decay: decay of the weight average in ``[0, 1)``; ``0`` copies the weights every step.
        num_classes: ``None`` or the number of labels (the null label is ``num_classes``).
        label_dropout: probability in ``[0, 1]`` of training a labelled example as unconditional.
        data_range: ``(low, high)`` the data must lie in (images: ``(-1, 1)``), or ``None``.
        loss: ``"simple"`` (Ho et al.'s, every step alike) or ``"vlb"`` (the steps weighted as in the
            variational bound, by drawing them in proportion to :func:`~coursekit.diffusion.bound.vlb_weights`).

    ``fit(x)`` for an unconditional model, ``fit(x, y)`` (or a dataset of ``(x, y)``) for a
    conditional one. ``eps_fn(ema=True)`` returns the predictor the samplers and the bound take.
    """

    def __init__(self, network: keras.Model, schedule: NoiseSchedule, *, ema_decay: float = 0.999,
                 num_classes: Optional[int] = None, label_dropout: float = 0.0,
                 data_range: Optional[tuple] = (-1.0, 1.0), seed: int = 0, loss: str = "simple", **kwargs):
        super().__init__(**kwargs)
        if loss not in ("simple", "vlb"):
            raise ValueError(f"loss must be 'simple' (Ho et al.) or 'vlb' (weighted as the bound), got {loss!r}")
        if not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {ema_decay!r}")
        if not 0.0 <= float(label_dropout) <= 1.0:
            raise ValueError(f"label_dropout must lie in [0, 1], got {label_dropout!r}")
        if label_dropout and num_classes is None:
            raise ValueError("label_dropout needs a conditional model: pass num_classes")
        self.network, self.schedule = network, schedule
        self.ema_network = keras.models.clone_model(network)
        self.ema_network.set_weights(network.get_weights())
        self.ema_network.trainable = False
        self.ema_decay, self.num_classes = float(ema_decay), num_classes
        self.label_dropout, self.data_range = float(label_dropout), data_range
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_kind = loss
        if loss == "vlb":
            from coursekit.diffusion.bound import vlb_weights

            w = vlb_weights(schedule)
            self._log_step_probs = ops.convert_to_tensor(np.log(w / w.sum())[None, :], dtype="float32")
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def fingerprint_config(self) -> dict:
        """What decides this model's training besides its layers and optimizer (for run fingerprints)."""
        return {"schedule": self.schedule.name, "T": self.schedule.T,
                "betas": [float(self.schedule.betas[0]), float(self.schedule.betas[-1]),
                          float(self.schedule.betas.sum())],
                "ema_decay": self.ema_decay, "num_classes": self.num_classes,
                "label_dropout": self.label_dropout, "data_range": self.data_range, "loss": self.loss_kind}

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def draw_steps(self, n):
        """``(n,)`` int32 steps in ``1 .. T``: uniform (``loss="simple"``) or in proportion to the bound's weights."""
        if self.loss_kind == "simple":
            return keras.random.randint((n,), 1, self.schedule.T + 1, seed=self.seed_generator, dtype="int32")
        logits = ops.broadcast_to(self._log_step_probs, (n, self.schedule.T))
        return ops.cast(keras.random.categorical(logits, 1, seed=self.seed_generator)[:, 0], "int32") + 1

    def _inputs(self, x, t, y):
        return [x, t] if self.num_classes is None else [x, t, y]

    def train_step(self, data):
        import tensorflow as tf

        if isinstance(data, tuple) and len(data) >= 2 and self.num_classes is not None:
            x, y = data[0], data[1]
            y = drop_labels(y, self.label_dropout, self.num_classes, seed=self.seed_generator)
        else:
            x, y = (data[0] if isinstance(data, tuple) else data), None
            if self.num_classes is not None:
                raise ValueError("this diffusion model is conditional: fit it on (images, labels)")
        x = ops.cast(x, "float32")
        n = ops.shape(x)[0]
        t = self.draw_steps(n)
        eps = keras.random.normal(ops.shape(x), seed=self.seed_generator)
        xt = q_sample(self.schedule, x, t, eps)
        with tf.GradientTape() as tape:
            pred = self.network(self._inputs(xt, t, y), training=True)
            loss = ops.mean(ops.square(eps - pred))
        grads = tape.gradient(loss, self.network.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.network.trainable_variables))
        d = self.ema_decay
        for w, ema in zip(self.network.weights, self.ema_network.weights):
            ema.assign(d * ema + (1.0 - d) * w)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def fit(self, x=None, y=None, **kwargs):
        if x is not None and hasattr(x, "shape"):
            self.check_data(x)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        return super().fit(x, y, callbacks=[*callbacks, _StopOnNonFinite()], **kwargs)

    def check_data(self, x) -> None:
        """Refuse data that are not finite, or (for images) outside ``data_range``, naming the fix."""
        arr = np.asarray(x)
        if not np.all(np.isfinite(arr)):
            raise ValueError("diffusion training data contain NaN or inf values")
        if self.data_range is not None:
            lo, hi = self.data_range
            if arr.min() < lo - 1e-6 or arr.max() > hi + 1e-6:
                raise ValueError(f"diffusion training data must lie in [{lo}, {hi}], got min {arr.min():.4g} and "
                                 f"max {arr.max():.4g}; scale 8-bit images with x / 127.5 - 1")

    def eps_fn(self, ema: bool = True):
        """``eps(x, t)`` (or ``eps(x, t, y)``) of the EMA network (``ema=False``: the trained one)."""
        net = self.ema_network if ema else self.network
        if self.num_classes is None:
            return lambda x, t: net([x, t], training=False)
        return lambda x, t, y: net([x, t, y], training=False)
