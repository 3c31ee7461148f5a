"""pix2pix (Isola et al., 2017): paired image-to-image translation, lecture 08.

Training data are **pairs** ``(a, b)``: an image of domain A and its true counterpart in domain B
(a sketch and its colour drawing). A generator ``G`` (a U-Net, :mod:`coursekit.gan.unet`) maps
``a`` to ``G(a)``; a conditional PatchGAN ``D`` (:mod:`coursekit.gan.patchgan`) judges pairs, with
logit maps ``D([a, b])``. One step, in the order of the paper's code:

1. ``fake = G(a)``;
2. D update on ``L_D = 0.5 * [BCE(1, D([a, b])) + BCE(0, D([a, fake]))]`` (the paper halves D's
   objective "to slow down the rate at which D learns relative to G");
3. G update on ``L_G = BCE(1, D([a, fake])) + l1_weight * mean|b - fake|`` (the non-saturating
   adversarial term, then L1 to the true counterpart, ``l1_weight = 100`` in the paper).

Cross-entropies are those of :mod:`coursekit.gan.losses`, averaged over all patches of the map.

:class:`TranslationGAN` is the plumbing that :class:`Pix2Pix` and
:class:`coursekit.gan.cyclegan.CycleGAN` share: one optimizer per network, saved and restored with
the weights (``save_weights``/``load_weights``, so :func:`coursekit.training.fit_or_load` resumes
a run exactly), the random-number state of dropout and of the image pool saved alongside (the
same storage as :class:`coursekit.gan.trainer.GAN`), trackers, the ``[-1, 1]`` range checks of
``fit``, and batched numpy translation.
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
import tensorflow as tf  # the course runs on the TensorFlow backend (GradientTape)
from keras import ops

from coursekit.gan.losses import discriminator_loss, generator_loss
from coursekit.gan.trainer import GAN, check_tanh_range


def _is_dataset(x) -> bool:
    return x is not None and hasattr(x, "take") and hasattr(x, "element_spec")


def check_weight(value, name: str) -> float:
    """A loss weight as a float >= 0 (0 switches the term off), or a ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) < float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0 (0 switches the term off), got {value!r}")
    return float(value)


def image_input_shape(network, what: str) -> tuple:
    shape = getattr(network, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 4 or any(d is None for d in shape[1:]):
        raise ValueError(f"{what} must be a built keras.Model with one image input of known shape (B, H, W, C), "
                         f"e.g. from coursekit.gan.unet.unet_generator; got input_shape {shape}")
    return tuple(int(d) for d in shape[1:])


class TranslationGAN(keras.Model):
    """Base of the translation trainers: named networks, one optimizer each, saved with the weights.

    Subclasses set ``OPTIMIZERS`` (``{optimizer attribute: network attribute}``) and
    ``metric_names()``, and write ``train_step``. Training data are ``(a, b)`` batches: ``fit(a, b)``
    with arrays, or a ``tf.data.Dataset`` yielding ``(a, b)`` tuples.
    """

    OPTIMIZERS: dict = {}

    def __init__(self, *, check_range: bool = True, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.check_range = bool(check_range)
        for key in self.OPTIMIZERS:
            setattr(self, key, None)

    def _start_trackers(self) -> None:
        self.trackers = {key: keras.metrics.Mean(name=key) for key in self.metric_names()}
        self.built = True

    def metric_names(self) -> tuple:
        """The keys of the ``fit`` history, in order."""
        raise NotImplementedError

    @property
    def metrics(self):
        return list(self.trackers.values())

    _update_trackers = GAN._update_trackers

    # --- optimizers, saved state ---------------------------------------------------------
    def _compile_with(self, optimizers: dict, kwargs: dict) -> None:
        if kwargs.get("optimizer") is not None or kwargs.get("loss") is not None:
            raise ValueError(f"{type(self).__name__}.compile takes {', '.join(self.OPTIMIZERS)} (and no optimizer= "
                             f"or loss=): the losses are part of {type(self).__name__}.train_step")
        kwargs.pop("optimizer", None)
        kwargs.pop("loss", None)
        given = [opt for opt in optimizers.values() if not isinstance(opt, str)]
        if len({id(opt) for opt in given}) != len(given):
            raise ValueError(f"{', '.join(self.OPTIMIZERS)} must be different optimizer objects (each keeps the "
                             "moment estimates of its own network); create one per network")
        super().compile(optimizer=None, **kwargs)
        for key, opt in optimizers.items():
            setattr(self, key, keras.optimizers.get(opt))
        self.build_optimizers()

    def _require_compiled(self) -> None:
        if any(getattr(self, key) is None for key in self.OPTIMIZERS):
            raise ValueError(f"compile the {type(self).__name__} first: "
                             f"model.compile({', '.join(f'{k}=...' for k in self.OPTIMIZERS)})")

    def build_optimizers(self) -> None:
        """Create every optimizer's variables (so their saved state can be loaded before training)."""
        self._require_compiled()
        for key, network in self.OPTIMIZERS.items():
            optimizer = getattr(self, key)
            if not optimizer.built:
                optimizer.build(getattr(self, network).trainable_variables)

    def load_weights(self, filepath, *args, **kwargs):
        """As ``keras.Model.load_weights``, building the optimizers first so their state is restored too."""
        if all(getattr(self, key) is not None for key in self.OPTIMIZERS):
            self.build_optimizers()
        return super().load_weights(filepath, *args, **kwargs)

    # the trackers' and the random generators' state travel with the weights, as for GAN
    _random_states = GAN._random_states
    save_own_variables = GAN.save_own_variables
    load_own_variables = GAN.load_own_variables

    def _apply(self, tape, loss, *optimizer_keys: str) -> None:
        """One backward pass of ``loss``; each named optimizer updates its own network with its share."""
        groups = [getattr(self, self.OPTIMIZERS[key]).trainable_variables for key in optimizer_keys]
        grads = tape.gradient(loss, [v for group in groups for v in group])
        start = 0
        for key, variables in zip(optimizer_keys, groups):
            getattr(self, key).apply_gradients(zip(grads[start:start + len(variables)], variables))
            start += len(variables)

    # --- data ---------------------------------------------------------------------------
    def _unpack(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(f"a {type(self).__name__} trains on (a, b) batches: fit(a_images, b_images) or a "
                             "tf.data.Dataset of (a, b) tuples")
        return ops.convert_to_tensor(data[0], "float32"), ops.convert_to_tensor(data[1], "float32")

    def _check_pair(self, a, b, what: str) -> None:
        for x, side, shape in ((a, "a", self.a_shape), (b, "b", self.b_shape)):
            x = np.asarray(x)
            if x.ndim != 4 or tuple(x.shape[1:]) != shape:
                raise ValueError(f"{what}: {side} must be images of shape (N, {', '.join(map(str, shape))}), "
                                 f"got {x.shape}")
            if self.check_range:
                check_tanh_range(x, f"{what} ({side})")
            elif not np.all(np.isfinite(x)):
                raise ValueError(f"{what} ({side}) contains NaN or inf values")

    def fit(self, x=None, y=None, *args, **kwargs):
        """``fit(a, b)`` with two arrays of images in ``[-1, 1]``, or ``fit(dataset)`` yielding ``(a, b)`` batches.

        The arrays (or the dataset's first batch) are checked for shape and range first.
        """
        if _is_dataset(x):
            if y is not None:
                raise ValueError("with a tf.data.Dataset, pass no y: the dataset yields the (a, b) tuples")
            for batch in x.take(1):
                if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                    raise ValueError(f"the dataset must yield (a, b) tuples for a {type(self).__name__}, got "
                                     f"{type(batch).__name__}; e.g. tf.data.Dataset.zip((ds_a, ds_b))")
                self._check_pair(ops.convert_to_numpy(batch[0]), ops.convert_to_numpy(batch[1]),
                                 "training data (first batch)")
            return super().fit(x, *args, **kwargs)
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            self._check_pair(x, y, "training data")
            if len(x) != len(y):
                raise ValueError(f"got {len(x)} a images but {len(y)} b images; fit(a, b) needs as many of each")
            return super().fit(x, y, *args, **kwargs)
        raise ValueError(f"fit a {type(self).__name__} on two arrays, fit(a_images, b_images), or on a "
                         f"tf.data.Dataset of (a, b) tuples; got x={type(x).__name__}, y={type(y).__name__}")

    def _translate(self, network, x, shape, batch_size: int) -> np.ndarray:
        x = np.asarray(x, dtype="float32")
        if x.ndim == 3:
            raise ValueError(f"expected a batch of images (N, {', '.join(map(str, shape))}), got one image of shape "
                             f"{x.shape}; use x[None]")
        if x.ndim != 4 or tuple(x.shape[1:]) != shape:
            raise ValueError(f"expected images of shape (N, {', '.join(map(str, shape))}), got {x.shape}")
        if x.size and (not np.all(np.isfinite(x)) or x.min() < -1 - 1e-5 or x.max() > 1 + 1e-5):
            raise ValueError(f"images to translate must be finite and in [-1, 1], got min={x.min():.3g} "
                             f"max={x.max():.3g}; use coursekit.data.transforms.to_tanh_range")
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        batch_size = int(batch_size)
        out = [ops.convert_to_numpy(network(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
        return np.concatenate(out, axis=0) if out else np.zeros((0, *network.output_shape[1:]), "float32")


class Pix2Pix(TranslationGAN):
    """pix2pix: a generator ``a -> b`` and a conditional PatchGAN on ``[a, b]`` pairs, trained on paired data.

    Args:
        generator: ``(B, H, W, Ca)`` images in ``[-1, 1]`` -> ``(B, H, W, Cb)`` in ``[-1, 1]`` (tanh), e.g.
            ``unet_generator((H, W, Ca), out_channels=Cb)``.
        discriminator: ``[a (B, H, W, Ca), b (B, H, W, Cb)]`` -> logit map ``(B, h, w, 1)``, e.g.
            ``patchgan_discriminator((H, W, Cb), condition_channels=Ca)``.
        l1_weight: weight of ``mean|b - G(a)|`` in the generator's loss (the paper: 100; 0 = the
            "cGAN alone" ablation; the L1 is still measured).
        check_range: ``fit`` refuses images outside ``[-1, 1]``.

    ``fit`` history keys (nats for the cross-entropies; L1 in ``[-1, 1]`` pixel units):
    ``d_loss`` (the halved D loss), ``g_adv``, ``g_l1`` (unweighted), ``g_loss``
    (``g_adv + l1_weight * g_l1``), ``d_acc_real`` / ``d_acc_fake`` (fraction of real pairs' patches
    with logit > 0 / fake pairs' patches with logit < 0, on the step's batch before the D update).
    """

    OPTIMIZERS = {"g_optimizer": "generator", "d_optimizer": "discriminator"}

    def __init__(self, generator, discriminator, *, l1_weight: float = 100.0, check_range: bool = True,
                 name: str = "pix2pix", **kwargs):
        super().__init__(check_range=check_range, name=name, **kwargs)
        self.l1_weight = check_weight(l1_weight, "l1_weight")
        self.generator = generator
        self.discriminator = discriminator
        self._check_networks()
        self._start_trackers()

    def metric_names(self) -> tuple:
        return ("d_loss", "g_adv", "g_l1", "g_loss", "d_acc_real", "d_acc_fake")

    def _check_networks(self) -> None:
        self.a_shape = image_input_shape(self.generator, "the generator")
        a = ops.zeros((2, *self.a_shape), "float32")
        fake = self.generator(a, training=False)
        if len(fake.shape) != 4 or tuple(fake.shape[1:3]) != self.a_shape[:2]:
            raise ValueError(f"the generator must keep the image size: {self.a_shape} -> (H, W, Cb), got "
                             f"{tuple(fake.shape[1:])}")
        self.b_shape = tuple(int(d) for d in fake.shape[1:])
        if len(getattr(self.discriminator, "inputs", None) or []) != 2:
            raise ValueError("the pix2pix discriminator must take two inputs [a, b] (condition and image), e.g. "
                             f"patchgan_discriminator({self.b_shape}, condition_channels={self.a_shape[-1]})")
        try:
            logits = self.discriminator([a, fake], training=False)
        except Exception as err:
            raise ValueError(f"the discriminator does not accept [a {self.a_shape}, G(a) {self.b_shape}]: "
                             f"{str(err)[:300]}") from err
        if len(logits.shape) != 4 or logits.shape[-1] != 1:
            raise ValueError(f"the discriminator must output a logit map (B, h, w, 1), got {tuple(logits.shape)}")
        if getattr(self.discriminator.layers[-1], "activation", None) is keras.activations.sigmoid:
            raise ValueError("the discriminator must output logits, but its last layer has activation='sigmoid'; "
                             "remove it (the losses apply the sigmoid inside)")

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """One optimizer per network (the paper: ``Adam(2e-4, beta_1=0.5)`` each); ``kwargs`` go to
        ``keras.Model.compile``."""
        self._compile_with({"g_optimizer": g_optimizer, "d_optimizer": d_optimizer}, kwargs)

    def call(self, a, training=False):
        """The translation ``G(a)``."""
        return self.generator(a, training=training)

    # --- losses -------------------------------------------------------------------------
    def discriminator_losses(self, a, b, fake, training: bool = False):
        """``(d_loss, real_logits, fake_logits)``: the halved cross-entropy on real and fake pairs."""
        a, b = self._unpack((a, b))
        fake = ops.convert_to_tensor(fake, "float32")
        real_logits = self.discriminator([a, b], training=training)
        fake_logits = self.discriminator([a, fake], training=training)
        return 0.5 * discriminator_loss(real_logits, fake_logits), real_logits, fake_logits

    def generator_losses(self, a, b, fake=None, training: bool = False) -> dict:
        """``{"g_adv", "g_l1", "g_loss"}`` for the batch of pairs ``(a, b)`` (``fake = G(a)`` if not given).

        ``g_l1 = mean|b - G(a)|`` compares each translation with **its own** counterpart ``b``.
        """
        a, b = self._unpack((a, b))
        fake = self.generator(a, training=training) if fake is None else ops.convert_to_tensor(fake, "float32")
        g_adv = generator_loss(self.discriminator([a, fake], training=training), "non_saturating")
        g_l1 = ops.mean(ops.abs(b - fake))
        return {"g_adv": g_adv, "g_l1": g_l1, "g_loss": g_adv + self.l1_weight * g_l1}

    @staticmethod
    def _accuracies(real_logits, fake_logits) -> dict:
        return {"d_acc_real": ops.mean(ops.cast(real_logits > 0, "float32")),
                "d_acc_fake": ops.mean(ops.cast(fake_logits < 0, "float32"))}

    # --- training -----------------------------------------------------------------------
    def train_step(self, data):
        """One D update on real and fake pairs, then one G update (adversarial + L1) on the same ``G(a)``."""
        self._require_compiled()
        a, b = self._unpack(data)
        with tf.GradientTape() as g_tape:
            fake = self.generator(a, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    d_loss, real_logits, fake_logits = self.discriminator_losses(
                        a, b, ops.stop_gradient(fake), training=True)
                self._apply(d_tape, d_loss, "d_optimizer")
            losses = self.generator_losses(a, b, fake, training=True)
        self._apply(g_tape, losses["g_loss"], "g_optimizer")
        return self._update_trackers({"d_loss": d_loss, **losses, **self._accuracies(real_logits, fake_logits)})

    def test_step(self, data):
        """The losses on a batch of pairs, in inference mode, updating nothing."""
        a, b = self._unpack(data)
        fake = self.generator(a, training=False)
        d_loss, real_logits, fake_logits = self.discriminator_losses(a, b, fake)
        losses = self.generator_losses(a, b, fake)
        return self._update_trackers({"d_loss": d_loss, **losses, **self._accuracies(real_logits, fake_logits)})

    def translate(self, a, batch_size: int = 256) -> np.ndarray:
        """``G(a)`` as numpy, in inference mode: ``(N, H, W, Ca)`` in ``[-1, 1]`` -> ``(N, H, W, Cb)``."""
        return self._translate(self.generator, a, self.a_shape, batch_size)
