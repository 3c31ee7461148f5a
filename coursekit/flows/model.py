"""A normalizing flow as a ``keras.Model``: exact log-likelihood, one-pass sampling (lecture 10).

``Flow(bijector, event_shape)`` maps data ``x`` to latents ``z = f(x)`` with a standard normal
prior, so (change of variables)

    log p(x) = log N(f(x); 0, I) + log|det df/dx|,

the log-det summed over the flow's layers. With ``dequantize=True`` the data are 8-bit images in
``[0, 1]`` (levels ``k / 255``), dequantized first (:mod:`coursekit.flows.preprocessing`), and
``log_prob`` is the (lower bound on the) log-probability of the discrete image.

- ``forward(y) -> (z, logdet)``, ``inverse(z) -> (y, logdet)``: the bijection, on continuous values;
- ``log_prob(x) -> (N,)`` nats, ``bits_per_dim(x) -> (N,)``;
- ``sample(n, temperature=1.0)`` draws ``z ~ N(0, T^2 I)`` and inverts (8-bit levels if dequantized);
- ``fit`` checks the data first (shape, range, the 8-bit grid) and that ``initialize`` ran; a NaN
  or inf during training stops it with a :class:`FlowTrainingError` naming the layer.

Training minimises the mean negative log-likelihood; the logged metrics are ``nll`` (nats per
example) and, for images, ``bits_per_dim``.
"""

from __future__ import annotations

import math
import re
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from coursekit.flows.bits import LN2
from coursekit.flows.layers import ActNorm, FlowLayer
from coursekit.flows.preprocessing import UniformDequantization, check_images

_FIX = ("initialise the ActNorm layers with data (flow.initialize(x[:1000]) before training) or lower the "
        "learning rate (e.g. 1e-4, or clip gradients with clipnorm=1.0)")


class FlowTrainingError(FloatingPointError):
    """Training produced NaN or inf; the message names the layer and the likely fixes."""


def _flow_layers(layer):
    """Every FlowLayer inside ``layer``, depth first."""
    yield layer
    for child in getattr(layer, "steps", []):
        yield from _flow_layers(child)
    if getattr(layer, "child", None) is not None:
        yield from _flow_layers(layer.child)


class Flow(keras.Model):
    """A flow with a standard normal prior (see the module docstring).

    Args:
        bijector: a :class:`~coursekit.flows.layers.FlowLayer` (usually a ``Chain``) from data to latents.
        event_shape: the shape of one example, e.g. ``(2,)`` or ``(28, 28, 1)``.
        dequantize: the data are 8-bit images in ``[0, 1]``; add uniform noise (and its log-det) first.
        seed: seeds the dequantization noise and the sampler's default stream.
    """

    def __init__(self, bijector: FlowLayer, event_shape: Sequence[int], dequantize: bool = False,
                 seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.bijector = bijector
        self.event_shape = tuple(int(s) for s in event_shape)
        self.dims = int(np.prod(self.event_shape))
        self.dequantizer = UniformDequantization(seed=seed) if dequantize else None
        self.seed = seed
        self.latent_shape = None
        self.nll_tracker = keras.metrics.Mean(name="nll")
        self._graph_log_prob = None  # _log_prob and inverse compiled by tf.function on first use
        self._graph_inverse = None

    # ----------------------------------------------------------------- set-up
    def initialize(self, x) -> "Flow":
        """Build every layer and set the ActNorm layers from the batch ``x`` (e.g. 1,000 examples)."""
        arr = check_images(x, self.event_shape, quantized=self.dequantizer is not None)
        y = self._dequantized(ops.convert_to_tensor(arr), noise=None)[0]
        z, _ = self.bijector.forward(y, init=True)
        self.latent_shape = tuple(int(s) for s in z.shape[1:])
        self.built = True
        return self

    def actnorm_initialized(self) -> bool:
        return all(float(layer.initialized.numpy()) == 1.0 for layer in _flow_layers(self.bijector)
                   if isinstance(layer, ActNorm) and layer.built)

    @property
    def metrics(self):
        return [self.nll_tracker]

    def check_data(self, x, what: str = "x") -> np.ndarray:
        """:func:`~coursekit.flows.preprocessing.check_images` with this flow's shape and grid."""
        return check_images(x, self.event_shape, quantized=self.dequantizer is not None, what=what)

    # ----------------------------------------------------------------- the bijection
    def forward(self, y, check: bool = False):
        """Continuous data ``y`` -> ``(z, log|det dz/dy|)`` (nats, ``(B,)``)."""
        return self.bijector.forward(y, check=check)

    def inverse(self, z):
        """Latents ``z`` -> ``(y, log|det dy/dz|)``."""
        return self.bijector.inverse(z)

    def _dequantized(self, x, noise):
        if self.dequantizer is None:
            return x, ops.zeros((ops.shape(x)[0],))
        return self.dequantizer.forward(x, noise=noise)

    def _log_prob(self, x, noise=None, check=False):
        y, logdet_q = self._dequantized(x, noise)
        z, logdet = self.forward(y, check=check)
        prior = -0.5 * sum_sq(z) - 0.5 * self.dims * math.log(2 * math.pi)
        return prior + logdet + logdet_q

    def log_prob(self, x, batch_size: int = 500, seed: Optional[int] = 0) -> np.ndarray:
        """``(N,)`` float64 log-likelihood in nats of each example (checked first).

        For a dequantizing flow: of the discrete 8-bit image, one noise draw per image seeded by
        ``seed`` (a lower bound on ``log P(x)``; ``seed=None`` draws fresh noise).
        """
        arr = self.check_data(x)
        rng = np.random.default_rng(seed)
        if self._graph_log_prob is None:  # a graph runs a large evaluation (a density on a grid) ~2x faster
            self._graph_log_prob = tf.function(lambda x, noise=None: self._log_prob(x, noise=noise),
                                               reduce_retracing=True)
        out = []
        for start in range(0, len(arr), batch_size):
            chunk = arr[start:start + batch_size]
            noise = (ops.convert_to_tensor(rng.random(chunk.shape, dtype="float32"))
                     if self.dequantizer is not None and seed is not None else None)
            out.append(np.asarray(self._graph_log_prob(ops.convert_to_tensor(chunk), noise=noise)))
        return np.concatenate(out).astype("float64")

    def bits_per_dim(self, x, batch_size: int = 500, seed: Optional[int] = 0) -> np.ndarray:
        """``(N,)`` bits per dimension of each example: ``-log_prob / (D ln 2)``."""
        return -self.log_prob(x, batch_size=batch_size, seed=seed) / (self.dims * LN2)

    def sample(self, n: int, temperature: float = 1.0, seed: Optional[int] = None, batch_size: int = 500,
               z=None) -> np.ndarray:
        """``(n, *event_shape)`` float32 samples: ``z ~ N(0, temperature^2 I)`` through the inverse.

        A dequantizing flow returns 8-bit levels ``k / 255`` in ``[0, 1]``. ``z`` (latents of shape
        ``(n, *latent_shape)``) replaces the random draw, e.g. for interpolation.
        """
        if self.latent_shape is None:
            raise ValueError("the flow is not built: call flow.initialize(x[:1000]) (or train or load it) first")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if z is None:
            z = temperature * np.random.default_rng(seed).standard_normal((int(n), *self.latent_shape))
        z = np.asarray(z, "float32")
        if self._graph_inverse is None:
            self._graph_inverse = tf.function(lambda z: self.inverse(z)[0], reduce_retracing=True)
        out = np.concatenate([np.asarray(self._graph_inverse(ops.convert_to_tensor(z[s:s + batch_size])))
                              for s in range(0, len(z), batch_size)])
        if self.dequantizer is not None:
            out = UniformDequantization.quantize(np.nan_to_num(out, nan=0.0))
        return out.astype("float32")

    def encode(self, x, batch_size: int = 500) -> np.ndarray:
        """Latents of (continuous or 8-bit) data; 8-bit data get the noise-free centre of their bin."""
        arr = self.check_data(x)
        if self.dequantizer is not None:
            arr = (np.round(arr * 255) + 0.5) / 256
        return np.concatenate([np.asarray(self.forward(ops.convert_to_tensor(arr[s:s + batch_size]))[0])
                               for s in range(0, len(arr), batch_size)])

    # ----------------------------------------------------------------- Keras
    def call(self, x):
        return self._log_prob(x)

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            loss = -ops.mean(self._log_prob(x, check=True))
            loss = tf.debugging.check_numerics(loss, "the loss (mean negative log-likelihood)")
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.nll_tracker.update_state(loss)
        return self._logs()

    def test_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        self.nll_tracker.update_state(-ops.mean(self._log_prob(x)))
        return self._logs()

    def _logs(self):
        nll = self.nll_tracker.result()
        logs = {"nll": nll}
        if self.dequantizer is not None:
            logs["bits_per_dim"] = nll / (self.dims * LN2)
        return logs

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit`` after checking the data and the ActNorm initialisation (see the module docstring)."""
        if not self.built or not self.actnorm_initialized():
            raise ValueError("the flow's ActNorm layers are not initialised: call flow.initialize(x[:1000]) on a "
                             "batch of training data before fit (data-dependent initialisation)")
        if hasattr(x, "shape"):
            self.check_data(x)
        val = kwargs.get("validation_data")
        if val is not None:
            self.check_data(val[0] if isinstance(val, (tuple, list)) else val, what="validation_data")
        try:
            return super().fit(x, *args, **kwargs)
        except tf.errors.InvalidArgumentError as err:
            if not re.search(r"Tensor had (NaN|Inf)", err.message):
                raise  # not a check_numerics failure (e.g. an op XLA cannot compile): the original error
            found = re.search(r"layer '([^']+)'", err.message)
            where = f"layer {found.group(1)!r}" if found else "the loss (mean negative log-likelihood)"
            raise FlowTrainingError(f"training produced NaN or inf values in {where} of flow {self.name!r}: "
                                    f"{_FIX}") from None


def sum_sq(z):
    """``sum(z**2)`` over everything but the batch axis -> ``(B,)``."""
    return ops.sum(ops.reshape(ops.square(z), (ops.shape(z)[0], -1)), axis=1)
