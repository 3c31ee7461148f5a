"""CycleGAN (Zhu et al., 2017): unpaired image-to-image translation, lecture 08.

Two generators, ``g_ab: A -> B`` and ``g_ba: B -> A``, and two discriminators, ``d_a`` (judges
images of A) and ``d_b`` (judges images of B). A batch is a pair ``(a, b)`` of **unrelated**
images, one from each domain. With

    fake_b = g_ab(a)        fake_a = g_ba(b)
    cycled_a = g_ba(fake_b) cycled_b = g_ab(fake_a)

the generators minimise

    L_G = adv_ab + adv_ba + cycle_weight * (cycle_a + cycle_b) + identity_weight * (identity_a + identity_b)

- ``adv_ab = lsgan_generator_loss(d_b(fake_b))``, ``adv_ba = lsgan_generator_loss(d_a(fake_a))``:
  least-squares adversarial terms (each translation judged by the discriminator of its target
  domain);
- ``cycle_a = cycle_loss(a, cycled_a)``, ``cycle_b = cycle_loss(b, cycled_b)``: each image is
  compared with **its own round trip** (``a`` with ``g_ba(g_ab(a))``, not with a translation);
- ``identity_a = identity_loss(a, g_ba(a))``, ``identity_b = identity_loss(b, g_ab(b))``: a
  generator fed an image that is already of its target domain should leave it alone. No
  discriminator is involved: it is an L1 between an image and its "translation".

The paper's weights: ``cycle_weight = 10`` (its lambda), ``identity_weight = 5`` (``0.5 * lambda``).
A weight of 0 removes the term **and its computation** (the ablations of the lecture); the term
then has no tracker either.

The discriminators minimise ``lsgan_discriminator_loss(d(real), d(pooled fake))`` each, where the
fakes come from an :class:`ImagePool` of 50 earlier translations (Shrivastava et al., 2017): a
discriminator that only ever sees the newest generator's output chases it around; one that also
sees older fakes keeps penalising the modes the generator left. Order of one step, as in the
paper's code: generators' update first, then the discriminators' on the (pooled) fakes of the
same forward pass.

Training data: :func:`unpaired_dataset` shuffles each domain on its own, every epoch.
"""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np
import tensorflow as tf  # the course runs on the TensorFlow backend (GradientTape)
from keras import ops

from coursekit.gan.pix2pix import TranslationGAN, image_input_shape, check_weight

TERMS = ("adv_ab", "adv_ba", "cycle_a", "cycle_b", "identity_a", "identity_b")


def _same_shape(x, y, what: str):
    x, y = ops.convert_to_tensor(x, "float32"), ops.convert_to_tensor(y, "float32")
    if tuple(x.shape) != tuple(y.shape) and None not in tuple(x.shape) + tuple(y.shape):
        raise ValueError(f"{what} compares two batches of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    return x, y


def lsgan_discriminator_loss(real_out, fake_out):
    """``0.5 * [mean((D(real) - 1)**2) + mean(D(fake)**2)]``: the least-squares D loss (Mao et al., 2017).

    Targets 1 for real, 0 for fake, on the raw outputs (no sigmoid), averaged over batch and
    patches; halved as in CycleGAN's code. 0.25 when ``D = 1/2`` everywhere, 0 for a perfect D.
    """
    real_out = ops.convert_to_tensor(real_out, "float32")
    fake_out = ops.convert_to_tensor(fake_out, "float32")
    return 0.5 * (ops.mean(ops.square(real_out - 1.0)) + ops.mean(ops.square(fake_out)))


def lsgan_generator_loss(fake_out):
    """``mean((D(fake) - 1)**2)``: the generator wants its fakes scored as real (target 1)."""
    return ops.mean(ops.square(ops.convert_to_tensor(fake_out, "float32") - 1.0))


def cycle_loss(real, reconstructed):
    """``mean|real - reconstructed|``: an image against its round trip, e.g. ``a`` vs ``g_ba(g_ab(a))``."""
    real, reconstructed = _same_shape(real, reconstructed, "cycle_loss")
    return ops.mean(ops.abs(real - reconstructed))


def identity_loss(real, same):
    """``mean|real - same|``: an image against its translation into its own domain, e.g. ``b`` vs ``g_ab(b)``."""
    real, same = _same_shape(real, same, "identity_loss")
    return ops.mean(ops.abs(real - same))


def unpaired_dataset(a, b, batch_size: int, seed: Optional[int] = None) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of unpaired batches ``(a, b)`` for :meth:`CycleGAN.fit`.

    Each domain is shuffled **on its own, anew every epoch**, so an image of A meets a different
    image of B each time (``fit(a, b)`` on two arrays would keep ``a[i]`` with ``b[i]`` in every
    epoch: a fixed pairing, which :meth:`CycleGAN.fit` refuses). Batches are full
    (``drop_remainder``): ``min(len(a), len(b)) // batch_size`` steps per epoch, the number to
    use for :class:`coursekit.gan.schedules.LinearDecay`. A resumed run restarts the shuffle
    sequence (a restarted kernel builds a new dataset), so it is not bit-identical to an
    uninterrupted one.

    Args:
        a, b: ``(N_A, H, W, C_A)`` and ``(N_B, H, W, C_B)`` images in ``[-1, 1]``; the counts may differ.
        batch_size: images of each domain per batch (at most ``min(N_A, N_B)``).
        seed: seed of the two shuffles (``None``: different every run).
    """
    a, b = np.asarray(a, "float32"), np.asarray(b, "float32")
    for x, side in ((a, "a"), (b, "b")):
        if x.ndim != 4 or len(x) == 0:
            raise ValueError(f"{side} must be a non-empty array of images (N, H, W, C), got shape {x.shape}")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or not 1 <= batch_size <= min(len(a), len(b)):
        raise ValueError(f"batch_size must be an integer in [1, {min(len(a), len(b))}] (the smaller domain's "
                         f"{min(len(a), len(b))} images make at least one full batch), got {batch_size!r}")

    def shuffled(x, offset):
        return (tf.data.Dataset.from_tensor_slices(x)
                .shuffle(len(x), seed=None if seed is None else int(seed) + offset, reshuffle_each_iteration=True)
                .batch(int(batch_size), drop_remainder=True))

    return tf.data.Dataset.zip((shuffled(a, 0), shuffled(b, 1))).prefetch(tf.data.AUTOTUNE)


class ImagePool(keras.layers.Layer):
    """The history of past fakes that the discriminator sees (Shrivastava et al., 2017; CycleGAN).

    ``pool(fakes)`` returns a batch of the same shape. Image by image, in order: while the pool
    holds fewer than ``pool_size`` images, the fake is stored and returned; once it is full, with
    probability 1/2 the fake is returned unchanged, otherwise a uniformly chosen stored fake is
    returned and the new one takes its place. ``pool_size = 0`` returns the fakes unchanged.

    Runs inside a compiled ``train_step`` (graph and XLA): the pool is a non-trainable
    ``(pool_size, H, W, C)`` weight plus a count, updated with tensor ops that apply the
    image-by-image rule to the whole batch at once, so it is saved and restored with the model's
    weights; its random state is a ``SeedGenerator``, saved by the trainer. Use it on the
    discriminator's input only (the generators' losses use the current fakes); pass images
    without gradient. Images are ``(B, H, W, C)``.
    """

    def __init__(self, pool_size: int = 50, seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(pool_size, bool) or int(pool_size) != pool_size or pool_size < 0:
            raise ValueError(f"pool_size must be an integer >= 0 (the paper: 50; 0 = no pool), got {pool_size!r}")
        self.pool_size = int(pool_size)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        size = max(self.pool_size, 1)  # a 0-size pool keeps a 1-image placeholder, never used
        self.images = self.add_weight(shape=(size, *input_shape[1:]), initializer="zeros", trainable=False,
                                      name="images")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count")
        self.built = True

    def call(self, fakes):
        fakes = ops.convert_to_tensor(fakes, self.images.dtype)
        if self.pool_size == 0:
            return fakes
        size, n = self.pool_size, ops.shape(fakes)[0]
        coins = keras.random.uniform((n,), seed=self.seed_generator)
        random_slots = keras.random.randint((n,), 0, size, seed=self.seed_generator, dtype="int32")
        stored, count = ops.convert_to_tensor(self.images), ops.convert_to_tensor(self.count)
        # The image-by-image rule, computed for the whole batch at once (no loop: fast, and XLA-friendly).
        # Image i either fills the next free slot, or (pool full) swaps with a random slot with prob. 1/2.
        order = ops.arange(n, dtype="int32")
        position = count + order
        filling = position < size
        swap = ops.logical_and(ops.logical_not(filling), coins > 0.5)
        slot = ops.where(filling, position, random_slots)
        writes = ops.logical_or(filling, swap)
        # what slot[i] holds when image i arrives: the fake of the last earlier image that wrote it, or the old one
        wrote_before = ops.logical_and(ops.logical_and(slot[:, None] == slot[None, :], order[None, :] < order[:, None]),
                                       writes[None, :])
        last = ops.max(ops.where(wrote_before, order[None, :], -1), axis=1)
        content = ops.where(ops.reshape(last >= 0, (-1, 1, 1, 1)), ops.take(fakes, ops.maximum(last, 0), axis=0),
                            ops.take(stored, slot, axis=0))
        returned = ops.where(ops.reshape(swap, (-1, 1, 1, 1)), content, fakes)
        # afterwards each slot holds the fake of the last image that wrote it (or what it held)
        slots = ops.arange(size, dtype="int32")
        writer = ops.max(ops.where(ops.logical_and(slot[:, None] == slots[None, :], writes[:, None]),
                                   order[:, None], -1), axis=0)
        self.images.assign(ops.where(ops.reshape(writer >= 0, (-1, 1, 1, 1)),
                                     ops.take(fakes, ops.maximum(writer, 0), axis=0), stored))
        self.count.assign(ops.minimum(count + n, size))
        return returned

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


class CycleGAN(TranslationGAN):
    """CycleGAN: two generators and two discriminators trained on unpaired batches ``(a, b)``.

    Args:
        g_ab: images of A ``(B, H, W, Ca)`` in ``[-1, 1]`` -> images of B ``(B, H, W, Cb)`` (tanh).
        g_ba: images of B -> images of A.
        d_a: images of A -> output map (e.g. ``patchgan_discriminator((H, W, Ca), norm="instance")``),
            raw scores for the least-squares loss (no sigmoid).
        d_b: images of B -> output map.
        cycle_weight: weight of ``cycle_a + cycle_b`` (the paper: 10; 0 = ablation, not computed).
        identity_weight: weight of ``identity_a + identity_b`` (the paper: 5 = 0.5 x 10; 0 = ablation,
            not computed). Needs both domains to have the same image shape.
        pool_size: past fakes kept per discriminator (the paper: 50; 0 = no pool).
        seed: seed of the pools' random choices.
        check_range: ``fit`` refuses images outside ``[-1, 1]``.

    ``fit`` history keys: ``d_a_loss``, ``d_b_loss`` (least squares, halved), ``g_loss`` (the
    weighted total), then the unweighted terms of :data:`TERMS` that are computed.
    """

    OPTIMIZERS = {"g_ab_optimizer": "g_ab", "g_ba_optimizer": "g_ba", "d_a_optimizer": "d_a",
                  "d_b_optimizer": "d_b"}

    def __init__(self, g_ab, g_ba, d_a, d_b, *, cycle_weight: float = 10.0, identity_weight: float = 5.0,
                 pool_size: int = 50, seed: Optional[int] = None, check_range: bool = True, name: str = "cyclegan",
                 **kwargs):
        super().__init__(check_range=check_range, name=name, **kwargs)
        self.cycle_weight = check_weight(cycle_weight, "cycle_weight")
        self.identity_weight = check_weight(identity_weight, "identity_weight")
        if len({id(g_ab), id(g_ba), id(d_a), id(d_b)}) != 4:
            raise ValueError("g_ab, g_ba, d_a and d_b must be four different networks (build each one separately)")
        self.g_ab, self.g_ba, self.d_a, self.d_b = g_ab, g_ba, d_a, d_b
        self._check_networks()
        self.pool_a = ImagePool(pool_size, seed=seed, name="pool_a")  # past fake_a, shown to d_a
        self.pool_b = ImagePool(pool_size, seed=None if seed is None else seed + 1, name="pool_b")
        self.pool_a.build((None, *self.a_shape))
        self.pool_b.build((None, *self.b_shape))
        self._start_trackers()

    def active_terms(self) -> tuple:
        """The generator terms computed in training (those with a weight > 0, and the adversarial ones)."""
        return tuple(t for t in TERMS if not (t.startswith("cycle") and self.cycle_weight == 0
                                              or t.startswith("identity") and self.identity_weight == 0))

    def metric_names(self) -> tuple:
        return ("d_a_loss", "d_b_loss", "g_loss") + self.active_terms()

    def _check_networks(self) -> None:
        self.a_shape = image_input_shape(self.g_ab, "g_ab")
        a = ops.zeros((2, *self.a_shape), "float32")
        fake_b = self.g_ab(a, training=False)
        self.b_shape = tuple(int(d) for d in fake_b.shape[1:])
        try:
            fake_a = self.g_ba(fake_b, training=False)
        except Exception as err:
            raise ValueError(f"g_ba must take images of B {self.b_shape} (the output of g_ab): "
                             f"{str(err)[:300]}") from err
        if tuple(fake_a.shape[1:]) != self.a_shape:
            raise ValueError(f"g_ba must map B {self.b_shape} back to A {self.a_shape}, got {tuple(fake_a.shape[1:])}")
        for d, x, side in ((self.d_a, fake_a, "A"), (self.d_b, fake_b, "B")):
            name = f"d_{side.lower()}"
            try:
                out = d(x, training=False)
            except Exception as err:
                raise ValueError(f"{name} must take images of {side} {tuple(x.shape[1:])}: {str(err)[:300]}") from err
            if isinstance(out, (list, tuple)) or out.shape[0] != 2:
                raise ValueError(f"{name} must output one score map per image (B, ...), got {out}")
            last = d.layers[-1] if getattr(d, "layers", None) else None
            if getattr(last, "activation", None) is keras.activations.sigmoid:
                raise ValueError(f"{name} must output raw scores for the least-squares loss, but its last layer has "
                                 "activation='sigmoid'; remove it")
        if self.identity_weight > 0 and self.a_shape != self.b_shape:
            raise ValueError(f"the identity loss feeds images of B to g_ab (and of A to g_ba), so both domains need "
                             f"the same shape; got A {self.a_shape} and B {self.b_shape}: set identity_weight=0")

    def compile(self, g_ab_optimizer, g_ba_optimizer, d_a_optimizer, d_b_optimizer, **kwargs):
        """One optimizer per network (the paper: ``Adam(2e-4, beta_1=0.5)`` each, with
        :class:`coursekit.gan.schedules.LinearDecay`); ``kwargs`` go to ``keras.Model.compile``."""
        self._compile_with({"g_ab_optimizer": g_ab_optimizer, "g_ba_optimizer": g_ba_optimizer,
                            "d_a_optimizer": d_a_optimizer, "d_b_optimizer": d_b_optimizer}, kwargs)

    def call(self, a, training=False):
        """The translation ``g_ab(a)``."""
        return self.g_ab(a, training=training)

    # --- losses -------------------------------------------------------------------------
    def _generator_pass(self, a, b, training: bool, all_terms: bool = False):
        fake_b = self.g_ab(a, training=training)
        fake_a = self.g_ba(b, training=training)
        terms = {"adv_ab": lsgan_generator_loss(self.d_b(fake_b, training=training)),
                 "adv_ba": lsgan_generator_loss(self.d_a(fake_a, training=training))}
        if self.cycle_weight > 0 or all_terms:
            terms["cycle_a"] = cycle_loss(a, self.g_ba(fake_b, training=training))
            terms["cycle_b"] = cycle_loss(b, self.g_ab(fake_a, training=training))
        if self.identity_weight > 0 or all_terms:
            if self.a_shape != self.b_shape:
                raise ValueError(f"no identity terms between domains of different shapes (A {self.a_shape}, "
                                 f"B {self.b_shape})")
            terms["identity_a"] = identity_loss(a, self.g_ba(a, training=training))
            terms["identity_b"] = identity_loss(b, self.g_ab(b, training=training))
        total = terms["adv_ab"] + terms["adv_ba"]
        if self.cycle_weight > 0:
            total = total + self.cycle_weight * (terms["cycle_a"] + terms["cycle_b"])
        if self.identity_weight > 0:
            total = total + self.identity_weight * (terms["identity_a"] + terms["identity_b"])
        return {**terms, "g_loss": total}, fake_a, fake_b

    def generator_losses(self, a, b, training: bool = False, all_terms: bool = False) -> dict:
        """The generators' loss terms on a batch ``(a, b)``: ``{term: scalar}`` for :data:`TERMS` and ``"g_loss"``.

        Terms whose weight is 0 are left out (not computed) unless ``all_terms=True`` (to measure,
        say, the cycle error of a model trained without the cycle loss); ``g_loss`` is always the
        weighted total that training minimises.
        """
        a, b = self._unpack((a, b))
        return self._generator_pass(a, b, training, all_terms)[0]

    def discriminator_losses(self, a, b, fake_a, fake_b, training: bool = False) -> dict:
        """``{"d_a_loss", "d_b_loss"}``: each discriminator on its domain's real images and the given fakes."""
        return {
            "d_a_loss": lsgan_discriminator_loss(self.d_a(a, training=training), self.d_a(fake_a, training=training)),
            "d_b_loss": lsgan_discriminator_loss(self.d_b(b, training=training), self.d_b(fake_b, training=training)),
        }

    # --- training -----------------------------------------------------------------------
    def train_step(self, data):
        """Update both generators on ``g_loss``, then each discriminator on real vs pooled fakes."""
        self._require_compiled()
        a, b = self._unpack(data)
        with tf.GradientTape() as g_tape:
            g_losses, fake_a, fake_b = self._generator_pass(a, b, training=True)
        self._apply(g_tape, g_losses["g_loss"], "g_ab_optimizer", "g_ba_optimizer")
        pooled_a = self.pool_a(ops.stop_gradient(fake_a))
        pooled_b = self.pool_b(ops.stop_gradient(fake_b))
        with tf.GradientTape() as d_tape:
            d_losses = self.discriminator_losses(a, b, pooled_a, pooled_b, training=True)
            # d_a's loss does not depend on d_b's weights and vice versa: one backward pass of the sum
            d_sum = d_losses["d_a_loss"] + d_losses["d_b_loss"]
        self._apply(d_tape, d_sum, "d_a_optimizer", "d_b_optimizer")
        return self._update_trackers({**d_losses, **g_losses})

    def test_step(self, data):
        """All losses on a batch in inference mode (the discriminators see the current fakes, no pool)."""
        a, b = self._unpack(data)
        g_losses, fake_a, fake_b = self._generator_pass(a, b, training=False)
        return self._update_trackers({**self.discriminator_losses(a, b, fake_a, fake_b), **g_losses})

    def fit(self, x=None, y=None, *args, **kwargs):
        """``fit(dataset)`` on a ``tf.data.Dataset`` of unpaired ``(a, b)`` batches, e.g. from :func:`unpaired_dataset`.

        Two arrays are refused: Keras would batch ``a[i]`` with ``b[i]`` in every epoch.
        """
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            raise ValueError("CycleGAN.fit takes a tf.data.Dataset of unpaired (a, b) batches, not two arrays (Keras "
                             "would keep a[i] with b[i] in every batch, a fixed pairing); build it with "
                             "coursekit.gan.cyclegan.unpaired_dataset(a, b, batch_size, seed)")
        return super().fit(x, y, *args, **kwargs)

    def translate_ab(self, a, batch_size: int = 256) -> np.ndarray:
        """``g_ab(a)`` as numpy, in inference mode: images of A in ``[-1, 1]`` -> images of B."""
        return self._translate(self.g_ab, a, self.a_shape, batch_size)

    def translate_ba(self, b, batch_size: int = 256) -> np.ndarray:
        """``g_ba(b)`` as numpy, in inference mode: images of B in ``[-1, 1]`` -> images of A."""
        return self._translate(self.g_ba, b, self.b_shape, batch_size)
