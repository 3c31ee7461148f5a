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
# # Lecture 06 - DCGAN on anime faces
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/06_dcgan_anime.ipynb)
#
# **The case study.** An animation studio releases a couple of hundred new series a year and
# every one of them needs new characters. Could a model propose new character faces after
# looking at tens of thousands of existing ones? A model that reconstructs its inputs (an
# autoencoder, lecture 02) does not invent; we need a model of the *distribution* of faces
# that we can sample from. This lecture trains the convolutional GAN of Radford et al.
# (2016), **DCGAN**, on anime faces.
#
# **What this lecture covers.** The anime faces data (the Kaggle Anime Face Dataset, or an
# offline stand-in drawn in code whose attributes we know) and a `tf.data` input pipeline
# scaled to $[-1, 1]$; the DCGAN architecture guidelines; the generator and discriminator of
# the source material (64x64, transposed convolutions) and a 32x32 variant for CPUs, with
# shape checks and parameter counts; training with `coursekit.gan.trainer.GAN` (one optimizer per
# network, Adam with $\beta_1 = 0.5$), watched by a sample monitor and TensorBoard; how fast a
# step is and whether the input pipeline keeps up; **measuring** the samples (Frechet
# distance, precision/recall and hair-colour coverage through a hair-colour classifier,
# against the real-data floor); a memorisation check; and walking the latent space:
# interpolation and latent vector arithmetic.
#
# **Hardware and time.** `smoke` and `cpu` measured on 2 CPU cores (shared with other jobs: an
# idle laptop is faster); `gpu` is an estimate, not measured: the run card at the end says what
# your run took.
#
# | profile | where | what is trained | time |
# | --- | --- | --- | --- |
# | `smoke` | CI | 32x32 stand-in, 8 steps of a tiny pair | not timed here (CI's target: under 2 min) |
# | `cpu` | laptop, 2 cores | 32x32 stand-in, 3,348 steps (36 epochs of 6,000 faces) | **553 s** measured (run card at the end of this notebook: CPU x2 (x86_64), no GPU, load average 2.4) |
# | `gpu` | Colab GPU | 64x64 source networks, 25 epochs of the Kaggle faces (or 20,000 stand-in faces) | not measured yet (estimate: about 30 min) |

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
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from coursekit import metrics, plotting
from coursekit.data import ANIME_ATTRIBUTES, load_anime_faces
from coursekit.data.transforms import from_tanh_range
from coursekit.gan.callbacks import GANMonitor, StepTimer
from coursekit.gan.trainer import GAN
from coursekit.modelinfo import describe
from coursekit.profiles import check_parameter, select_profile
from coursekit.progress import EpochLog
from coursekit.runcard import start_run
from coursekit.training import fit_or_load, run_path

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Parameters
# All knobs of the notebook sit in this one cell (papermill overrides it). `None` means "from
# the profile". `ANIME_DIR`: the folder of the Kaggle Anime Face Dataset if you have it
# (`None` = the environment variable `COURSEKIT_ANIME_DIR`, and without it the offline stand-in).

# %% slideshow={"slide_type": "subslide"} tags=["parameters"]
PROFILE = None  # "smoke", "cpu" or "gpu"; None: $COURSEKIT_PROFILE, else from the hardware
SEED = 0
ANIME_DIR = None  # folder of the Kaggle Anime Face Dataset; None: $COURSEKIT_ANIME_DIR, else the stand-in
DOWNLOAD_KAGGLE = False  # Colab/online only: download the Kaggle faces with kagglehub (section 1)
IMAGE_SIZE = None  # 64 (the source material's size) or 32 (one block fewer); None: from the profile
N_TRAIN = None  # training images; None: from the profile (gpu + Kaggle folder: all of them)
N_TEST = None  # held-out images, the real-data floor of every metric; None: from the profile
EPOCHS = None  # GAN epochs; None: from the profile
BATCH_SIZE = None  # None: from the profile
WIDTH = None  # filters of the widest-resolution block (64 in the source material); None: from the profile
LATENT_DIM = 128  # size of z, as in the source material
RETRAIN = False  # True: train again even if a finished run is saved

# %% slideshow={"slide_type": "subslide"}
profile = select_profile(PROFILE)
IMAGE_SIZE = profile.resolve("IMAGE_SIZE", IMAGE_SIZE, smoke=32, cpu=32, gpu=64, choices=(32, 64))
EPOCHS = profile.resolve("EPOCHS", EPOCHS, smoke=1, cpu=36, gpu=25, tiny=1, low=1)
BATCH_SIZE = profile.resolve("BATCH_SIZE", BATCH_SIZE, smoke=32, cpu=64, gpu=128, low=1)
WIDTH = profile.resolve("WIDTH", WIDTH, smoke=8, cpu=32, gpu=64, low=1)
N_TEST = profile.resolve("N_TEST", N_TEST, smoke=128, cpu=1000, gpu=2000, tiny=128, low=10)
SCORER_EPOCHS = profile.pick(smoke=1, cpu=2, gpu=4, tiny=1)
SEED = check_parameter("SEED", SEED, low=0)
LATENT_DIM = check_parameter("LATENT_DIM", LATENT_DIM, low=1)
DOWNLOAD_KAGGLE = check_parameter("DOWNLOAD_KAGGLE", DOWNLOAD_KAGGLE, kind=bool)
RETRAIN = check_parameter("RETRAIN", RETRAIN, kind=bool)
card = start_run("06_dcgan_anime", profile, SEED)
print(f"IMAGE_SIZE={IMAGE_SIZE}, EPOCHS={EPOCHS}, BATCH_SIZE={BATCH_SIZE}, WIDTH={WIDTH}, LATENT_DIM={LATENT_DIM}, "
      f"N_TEST={N_TEST}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. The data
#
# **The real faces.** The Anime Face Dataset (Kaggle, `splcher/animefacedataset`) holds 63,565
# face crops of anime characters, about 90 to 120 pixels wide, scraped from a Japanese game
# catalogue and cropped with an anime face detector. It carries **no labels**: generative
# modelling needs none. The course does not ship it (it has no open licence; see
# `data/README.md`). With a Kaggle account you can fetch it yourself, online:
#
# ```python
# # Colab: kagglehub is preinstalled (elsewhere: pip install kagglehub)
# import kagglehub
# ANIME_DIR = kagglehub.dataset_download("splcher/animefacedataset")
# # or with the Kaggle API and ~/.kaggle/kaggle.json:
#   !kaggle datasets download -d splcher/animefacedataset --unzip -p /content/anime
# ```
#
# `DOWNLOAD_KAGGLE = True` in the parameters cell does the first of these for you (through
# `coursekit.data.anime.download_kaggle_faces`, which gives up with a clear message when the
# download stalls, instead of waiting forever).
# `coursekit.data.load_anime_faces` then finds every image file below the folder,
# centre-crops it to a square, resizes it to `IMAGE_SIZE` and scales it to $[0, 1]$; a
# missing or empty folder, or a corrupt file, stops it with a message saying which file and what to do.
#
# **The offline stand-in.** Without the folder (CI, a laptop offline) the same function draws
# anime-style faces in code: head and chin, big eyes with an outline, coloured iris, pupil and
# two highlights, a fringe, side hair, mouth and blush, with position, size and tilt jittered.
# Four attributes vary independently and come with the images as labels: **hair colour**
# (6 classes), hair style (3), eye colour (4) and background (4). It is a much easier
# distribution than the real one, but a real learning task, and its labels let us *measure*
# what the GAN produces: are all hair colours there, in the right proportions?

# %% slideshow={"slide_type": "subslide"}
if DOWNLOAD_KAGGLE and ANIME_DIR is None:  # online only: kagglehub, with a time-out and a clear error
    from coursekit.data.anime import download_kaggle_faces

    ANIME_DIR = str(download_kaggle_faces())

N_TRAIN = profile.resolve("N_TRAIN", N_TRAIN, smoke=256, cpu=6000, gpu=None if ANIME_DIR else 20000, tiny=256,
                          low=1)
faces = load_anime_faces(size=IMAGE_SIZE, path=ANIME_DIR, seed=SEED, n_test=N_TEST, n_train=N_TRAIN, verbose=False)
LABELLED = faces.num_classes > 1  # the stand-in has hair-colour labels; the Kaggle folder has none
card.add_data(faces.provenance)
print("train:", faces.x_train.shape, faces.x_train.dtype, f"in [{faces.x_train.min():.2f}, {faces.x_train.max():.2f}]",
      "| test:", faces.x_test.shape)
assert faces.image_shape == (IMAGE_SIZE, IMAGE_SIZE, 3)

# %% slideshow={"slide_type": "subslide"}
if LABELLED:  # one row per hair colour
    hair = faces.attributes_train["hair_colour"]
    rows = [faces.x_train[hair == k][:10] for k in range(6)]
    fig = plotting.image_grid(np.concatenate(rows), ncols=10, row_labels=ANIME_ATTRIBUTES["hair_colour"],
                              suptitle="training faces, one row per hair colour", size=0.9)
else:
    fig = plotting.image_grid(faces.x_train[:40], ncols=10, suptitle="training faces", size=0.9)
fig

# %% slideshow={"slide_type": "subslide"}
if LABELLED:
    for name, classes in ANIME_ATTRIBUTES.items():
        counts = np.bincount(faces.attributes_train[name], minlength=len(classes))
        print(f"{name:12s}", ", ".join(f"{c} {n}" for c, n in zip(classes, counts)))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The input pipeline
#
# The generator will end in `tanh`, whose outputs live in $[-1, 1]$, so the real images must
# live there too (otherwise the discriminator could tell them apart by their range alone). The
# `tf.data` pipeline shuffles every epoch, cuts batches of equal size, maps $[0, 1]$ to
# $[-1, 1]$ and prefetches the next batch while the current step runs.

# %% slideshow={"slide_type": "subslide"}
def make_pipeline(images, batch_size, seed=SEED):
    """(N, H, W, 3) images in [0, 1] -> batches (B, H, W, 3) in [-1, 1], reshuffled each epoch."""
    ds = tf.data.Dataset.from_tensor_slices(images)
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(lambda x: x * 2.0 - 1.0, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


train_ds = make_pipeline(faces.x_train, BATCH_SIZE)
first = next(iter(train_ds))
print("one batch:", tuple(first.shape), f"in [{float(tf.reduce_min(first)):.2f}, {float(tf.reduce_max(first)):.2f}]")
assert first.shape == (BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, 3) and -1.0 <= float(tf.reduce_min(first))

# %% [markdown] slideshow={"slide_type": "subslide"}
# How many images per second can this pipeline deliver on its own, with no training? We iterate
# it for two epochs and time the second (the first fills the shuffle buffer). We will compare
# this with what training consumes once we know the step time (section 4).

# %% slideshow={"slide_type": "fragment"}
for _ in train_ds:  # warm-up epoch
    pass
start = time.perf_counter()
n_seen = sum(int(batch.shape[0]) for batch in train_ds)
pipeline_images_per_s = n_seen / (time.perf_counter() - start)
print(f"input pipeline alone: {pipeline_images_per_s:,.0f} images/s ({n_seen} images in one epoch)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. DCGAN: the architecture guidelines
#
# The GAN of lecture 05 used dense layers. Making GANs convolutional failed for years until
# Radford et al. (2016) found a recipe that trains stably; they called it **DCGAN**:
#
# 1. **No pooling**: the discriminator downsamples with *strided* convolutions and the
#    generator upsamples with *fractionally-strided* (transposed) convolutions, so both
#    networks learn their own resampling.
# 2. **Batch normalisation** in both networks (not on the generator's output nor the
#    discriminator's input).
# 3. **No fully connected hidden layers**: the latent vector goes straight into a transposed
#    convolution, and the discriminator's last feature map goes straight to one output.
# 4. **ReLU** in the generator, **tanh** on its output.
# 5. **LeakyReLU** in the discriminator.
#
# And for training: Adam with learning rate $2\cdot10^{-4}$ and $\beta_1 = 0.5$.
#
# **A transposed convolution** runs a convolution "backwards": each input pixel stamps a
# copy of the kernel, scaled by its value, onto the output, and overlapping stamps add up.
# A 2x2 input and a 2x2 kernel of ones with stride 1 give a 3x3 output; with stride 2 the
# stamps no longer overlap and the image doubles in size.

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
small = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32").reshape(1, 2, 2, 1)
for stride in (1, 2):
    up = layers.Conv2DTranspose(1, 2, strides=stride, padding="valid", use_bias=False, kernel_initializer="ones")
    out = keras.ops.convert_to_numpy(up(small))[0, ..., 0]
    print(f"stride {stride}: 2x2 input -> {out.shape[0]}x{out.shape[1]} output\n{out.astype(int)}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The generator and the discriminator of the source material
#
# **Generator**: $z$ (128 numbers) is reshaped to a 1x1 "image" with 128 channels; a 4x4
# transposed convolution without padding turns it into 4x4x512; three stride-2 transposed
# convolutions double the size while halving the channels (8x8x256, 16x16x128, 32x32x64); a
# 3x3 convolution refines the 32x32 map and a last stride-2 transposed convolution to 3 channels
# with `tanh` gives the 64x64 colour image. **Discriminator**: the mirror image, four stride-2
# 4x4 convolutions (64, 128, 256, 512 filters: 32, 16, 8, 4 pixels), LeakyReLU(0.2), batch
# norm after all but the first, then the 4x4x512 map is flattened into **one logit** (no
# sigmoid: `coursekit.gan.losses` applies it inside the loss, where it is numerically stable).
#
# For CPUs the **32x32 variant** drops one block in each network (the generator starts at
# 4x4 with `4 * WIDTH` channels; the discriminator stops at 4x4) and `WIDTH` sets the number
# of filters. `WIDTH = 64` at 64x64 is exactly the source material's pair of networks.
# Two details follow the DCGAN paper rather than the source notebook, without changing any
# parameter count: ReLU in the generator (the notebook uses LeakyReLU there) and weights drawn
# from $N(0, 0.02^2)$ (the notebook keeps Keras' default Glorot initialisation; on our data the
# paper's choice gave clean faces in far fewer steps).

# %% slideshow={"slide_type": "subslide"}
INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)  # the DCGAN paper's weight initialisation


def build_generator(image_size=64, latent_dim=LATENT_DIM, width=64, name="generator"):
    """z (B, latent_dim) -> images (B, image_size, image_size, 3) in [-1, 1]."""
    if image_size not in (32, 64):
        raise ValueError(f"image_size must be 32 or 64, got {image_size}")
    channels = [8 * width, 4 * width, 2 * width, width] if image_size == 64 else [4 * width, 2 * width, width]
    z = keras.Input((latent_dim,), name="z")
    x = layers.Reshape((1, 1, latent_dim), name="z_as_1x1_image")(z)
    for i, c in enumerate(channels):  # 1 -> 4 (no padding), then x2 per block
        x = layers.Conv2DTranspose(c, 4, strides=1 if i == 0 else 2, padding="valid" if i == 0 else "same",
                                   kernel_initializer=INIT, name=f"up{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"up{i}_bn")(x)
        x = layers.ReLU(name=f"up{i}_relu")(x)
    x = layers.Conv2D(width, 3, padding="same", kernel_initializer=INIT, name="refine")(x)
    x = layers.BatchNormalization(momentum=0.9, name="refine_bn")(x)
    x = layers.ReLU(name="refine_relu")(x)
    images = layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh", kernel_initializer=INIT,
                                    name="to_rgb")(x)
    return keras.Model(z, images, name=name)


def build_discriminator(image_size=64, width=64, name="discriminator"):
    """images (B, image_size, image_size, 3) in [-1, 1] -> logits (B, 1)."""
    if image_size not in (32, 64):
        raise ValueError(f"image_size must be 32 or 64, got {image_size}")
    channels = [width, 2 * width, 4 * width, 8 * width] if image_size == 64 else [width, 2 * width, 4 * width]
    images = keras.Input((image_size, image_size, 3), name="images")
    x = images
    for i, c in enumerate(channels):  # x1/2 per block, down to 4x4
        x = layers.Conv2D(c, 4, strides=2, padding="same", kernel_initializer=INIT, name=f"down{i}")(x)
        if i > 0:
            x = layers.BatchNormalization(momentum=0.9, name=f"down{i}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    logits = layers.Dense(1, name="logit")(x)
    return keras.Model(images, logits, name=name)


# %% [markdown] slideshow={"slide_type": "subslide"}
# The 64x64 networks of the source material, whatever the profile (their parameter counts are
# checked by the test suite: 3,846,147 for the generator and 2,768,321 for the discriminator,
# as in the source notebook):

# %% slideshow={"slide_type": "fragment"} tags=["nbval-check-output"]
g64, d64 = build_generator(64, LATENT_DIM, 64, name="generator64"), build_discriminator(64, 64, name="discriminator64")
print(describe(g64))
print(describe(d64))
assert g64.output.shape[1:] == (64, 64, 3) and d64.output.shape[1:] == (1,)
assert (g64.count_params(), d64.count_params()) == (3_846_147, 2_768_321)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Quiz.** Why LeakyReLU in the discriminator rather than ReLU?
#
# <details><summary>Answer</summary>
#
# The generator never sees a real image: everything it learns arrives as the gradient of the
# discriminator's output with respect to the generated image. A ReLU passes no gradient for
# negative inputs, so every unit that is "off" blocks part of that signal. LeakyReLU keeps a
# small slope (0.2 here) for negative inputs, so a gradient always flows back to the generator.
# It is not about helping the discriminator classify or about speed.
# </details>
#
# **Quiz.** The discriminator flattens its last 4x4 feature map into a single output. Why not
# global average pooling followed by a few dense layers, as in many image classifiers?
#
# <details><summary>Answer</summary>
#
# Radford et al. tried it: global average pooling made training more stable but slowed
# convergence, and dense hidden layers did not help deeper models. Connecting the last
# convolutional features directly to the single output worked best. (Accepting any input size
# or saving parameters was not the reason.)
# </details>
#
# ### The networks we train in this profile

# %% slideshow={"slide_type": "subslide"}
generator = build_generator(IMAGE_SIZE, LATENT_DIM, WIDTH)
discriminator = build_discriminator(IMAGE_SIZE, WIDTH)
z_probe = np.random.default_rng(SEED).standard_normal((4, LATENT_DIM)).astype("float32")
fake_probe = generator(z_probe, training=False)
assert fake_probe.shape == (4, IMAGE_SIZE, IMAGE_SIZE, 3), fake_probe.shape
assert discriminator(fake_probe).shape == (4, 1)
assert float(keras.ops.max(keras.ops.abs(fake_probe))) <= 1.0  # tanh output
print(f"generator {generator.count_params():,} parameters: z {z_probe.shape} -> images {tuple(fake_probe.shape)}")
print(f"discriminator {discriminator.count_params():,} parameters: "
      f"images -> logits {tuple(discriminator(fake_probe).shape)}")
print(describe(generator, only_with_parameters=True))

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Quiz.** The real images were scaled to $[-1, 1]$. Why that range and not $[0, 1]$?
#
# <details><summary>Answer</summary>
#
# Because the generator's last activation is `tanh`, whose outputs fill $(-1, 1)$. Real and
# generated images must share one range, or the discriminator wins by looking at the range
# alone (`coursekit.gan.trainer.GAN.fit` refuses $[0, 1]$ data for that reason). Zero-centred inputs
# are pleasant for training, but the reason is matching the generator.
# </details>
#
# Before training, the generator draws smooth noise:

# %% slideshow={"slide_type": "fragment"}
plotting.image_grid(generator(np.random.default_rng(1).standard_normal((8, LATENT_DIM)).astype("float32")),
                    ncols=8, value_range=(-1, 1), suptitle="untrained generator", size=0.9)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Training
#
# `coursekit.gan.trainer.GAN` does the training step of lecture 05 with these two networks. For each
# batch of real images $x$:
#
# 1. **Discriminator step**: draw $z$, make $G(z)$, and lower the binary cross-entropy with
#    target 1 for real and 0 for generated images,
#    $L_D = -\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]$; only D's weights move.
# 2. **Generator step**: draw fresh $z$ and lower $L_G = -\mathbb{E}[\log D(G(z))]$: the
#    generator wants D to call its images real; only G's weights move.
#
# Each network has its own Adam optimizer (lr $2\cdot10^{-4}$, $\beta_1 = 0.5$). The
# discriminator's loss is written on logits: $-\log\sigma(l) = \mathrm{softplus}(-l)$.
# One addition from lecture 05: **one-sided label smoothing**, target 0.9 instead of 1 for real
# images, which keeps the discriminator from becoming over-confident (its loss can then not
# fall below $H(0.9) = 0.325$ nats on the real half).
#
# **Quiz.** The minimax game says the generator should *minimise*
# $\frac{1}{m}\sum_i \log(1 - D(G(z_i)))$. We instead *maximise* $\frac{1}{m}\sum_i \log D(G(z_i))$.
# Which one trains better, and why?
#
# <details><summary>Answer</summary>
#
# Maximising $\log D(G(z))$ (the non-saturating loss). Both push $D(G(z))$ up and share the same
# fixed point, but early in training the discriminator rejects the fakes easily,
# $D(G(z)) \approx 0$, where $\log(1 - D)$ is flat: its gradient vanishes exactly when the
# generator most needs it. $\log D$ is steepest there.
# </details>
#
# **Quiz.** Adam's default $\beta_1$ is 0.9, but DCGAN uses 0.5. Why?
#
# <details><summary>Answer</summary>
#
# For stability. $\beta_1$ sets how much momentum Adam keeps. In a GAN the loss surface of each
# network moves whenever the other network updates; a long momentum keeps pushing in a direction
# that is already stale and makes the two networks oscillate. Radford et al. found 0.9 unstable
# and 0.5 stable. It does not help the discriminator in particular.
# </details>
#
# **What to watch.** A `GANMonitor` draws the same 32 latent vectors every few epochs, so we see
# one set of faces take shape; it writes PNG grids to the run folder and, with TensorBoard, the
# losses and grids per epoch. `fit_or_load(..., tensorboard=True)` adds Keras' own TensorBoard
# logs. See them with `%load_ext tensorboard` and `%tensorboard --logdir <run folder>/logs`.
# `fit_or_load` also makes the run resumable: rerun the cell after a disconnect and it continues
# from the last finished epoch; run it when the run is finished and it loads the weights.

# %% slideshow={"slide_type": "subslide"}
DATA_TAG = "standin" if LABELLED else "folder"
RUN = f"06_dcgan-{profile.name}-{DATA_TAG}{IMAGE_SIZE}-w{WIDTH}"
run_dir = run_path(RUN)

gan = GAN(generator, discriminator, LATENT_DIM, real_label=0.9, seed=SEED)  # one-sided label smoothing
gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
z_fixed = gan.sample_latent(32, seed=SEED)
monitor = GANMonitor(z_fixed, run_dir / "samples", every=max(1, EPOCHS // 4), log_dir=run_dir / "logs" / "samples")
timer = StepTimer(save_to=run_dir / "step_time.json")
history = fit_or_load(gan, train_ds, run_name=RUN, epochs=EPOCHS, retrain=RETRAIN,
                      callbacks=[monitor, timer, EpochLog()], verbose=0, tensorboard=True)

# %% slideshow={"slide_type": "subslide"}
plotting.plot_gan_history(history, title=f"DCGAN on {DATA_TAG} faces, {IMAGE_SIZE}x{IMAGE_SIZE}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Reading the curves with lecture 09's rule (shaded bands): the discriminator has won in an
# epoch when the generator loss is at least $\ln 20 = 3.0$ nats (the geometric mean of $D(G(z))$
# below 0.05). The accuracy on fakes tests nothing: with real label 0.9 it tends to 1 even in a
# balanced game, because the optimal discriminator gives everything at most 0.45 (lecture 09;
# this figure was drawn before that correction and still shows a dashed 0.95 accuracy line).
# In this run the generator loss is about 3.0-4.4 nats in almost every epoch: the discriminator has
# won nearly from start to finish, so this is **not** a balanced game. The D loss (about
# 0.44-0.63 nats) stays just above its floor $H(0.9) = 0.325$ nats, where a winning
# discriminator with real label 0.9 ends up; it cannot reach 0. The generator still learns,
# slowly: its loss drifts down from about 4.4 to 3.0 and the monitor's grids improve, because
# the non-saturating loss keeps a gradient alive when D is confident. Lecture 09 shows the
# remedies (a slower or smaller discriminator, a gradient penalty, packing) and measures them:

# %% slideshow={"slide_type": "fragment"}
# the monitor's PNG files (the same 32 z vectors in every grid): also there after a reload
plotting.monitor_grids(run_dir / "samples", last=4, ncols=2, width=12)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Speed: the training step and the input pipeline
#
# The time of one training step (median over the run, measured by `StepTimer`) says how long a
# run takes; the pipeline must deliver images faster than the steps consume them, or the
# accelerator waits for data.

# %% slideshow={"slide_type": "fragment"}
ms_per_step = timer.ms_per_step if timer.step_ms else StepTimer.load(run_dir / "step_time.json")
consumed = BATCH_SIZE / (ms_per_step / 1000.0)
print(f"training step      : {ms_per_step:.1f} ms for a batch of {BATCH_SIZE} ({card.device})")
print(f"training consumes  : {consumed:,.0f} images/s")
print(f"pipeline delivers  : {pipeline_images_per_s:,.0f} images/s, "
      f"{pipeline_images_per_s / consumed:.0f}x what training needs")
steps_per_epoch = len(faces.x_train) // BATCH_SIZE
print(f"one epoch = {steps_per_epoch} steps = {steps_per_epoch * ms_per_step / 1000:.1f} s of training")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. The new characters

# %%
samples = from_tanh_range(gan.sample(64, seed=SEED + 1))
plotting.image_grid(samples, ncols=16, suptitle=f"64 generated faces (epoch {len(history['d_loss'])})", size=0.75)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Measuring the samples
#
# A GAN gives no likelihood. We judge the *set* of samples against held-out real images
# through the eyes of a classifier (lecture 05's recipe; for natural images FID uses
# Inception-v3 in the same role):
#
# - **Frechet distance** (FD) between Gaussians fitted to the classifier's 64 features of real
#   and generated images: lower is better;
# - **precision** (fraction of samples inside the real images' feature manifold: realistic?) and
#   **recall** (fraction of real images inside the samples' manifold: is the variety covered?);
# - the **hair colours** the classifier sees in the samples, and how many of the 6 are produced.
#
# Each number is read against the **real-data floor**: the same metric between training and
# held-out *real* images, i.e. what a perfect generator would score with this sample size.
#
# On the stand-in the classifier learns **hair colour** from the labels. The Kaggle folder has
# no labels, so there is no classifier to train, and features of a classifier trained on the
# stand-in would not mean anything on real drawings. There we report only label-free numbers:
# the FD of 8x8 colour thumbnails (it sees the colour layout, not faces) with its floor, and
# the memorisation check below. (The standard metric there would be FID with Inception-v3:
# exercise 5.)

# %% slideshow={"slide_type": "subslide"}
N_EVAL = min(len(faces.x_test), profile.pick(smoke=128, cpu=1000, gpu=2000, tiny=128))
real_ref, real_held_out = faces.x_train[:N_EVAL], faces.x_test[:N_EVAL]
fakes = from_tanh_range(gan.sample(N_EVAL, seed=SEED + 2))


def thumbnails(images, size=8):
    """(N, H, W, 3) -> (N, size*size*3): average-pooled colour thumbnails, label-free features."""
    n, h, w, c = images.shape
    return images.reshape(n, size, h // size, size, w // size, c).mean(axis=(2, 4)).reshape(n, -1)


thumb_floor = metrics.frechet_distance(thumbnails(real_ref), thumbnails(real_held_out))
thumb_gan = metrics.frechet_distance(thumbnails(real_ref), thumbnails(fakes))
print(f"thumbnail FD (8x8 colour layout): DCGAN {thumb_gan:.3f}   real-data floor {thumb_floor:.3f}")

# %% slideshow={"slide_type": "subslide"}
if LABELLED:
    scorer, scorer_acc = metrics.train_scorer(faces, run_name=f"06_hair_scorer-{profile.name}-{IMAGE_SIZE}",
                                              epochs=SCORER_EPOCHS)
    print(f"hair-colour classifier: held-out accuracy {scorer_acc:.3f} (chance 1/6 = 0.167)")
    floor = scorer.score(real_ref, real_held_out)
    score = scorer.score(real_ref, fakes)
    print(f"{'':22s} {'DCGAN':>8s} {'real floor':>11s}")
    for key, label in (("frechet", "Frechet distance"), ("precision", "precision"), ("recall", "recall"),
                       ("inception_score", "inception score (/6)")):
        print(f"{label:22s} {score[key]:8.3f} {floor[key]:11.3f}")
    print(f"{'hair colours covered':22s} {score['classes_covered']:6d}/6 {floor['classes_covered']:9d}/6")
else:
    print("unlabeled folder: no hair-colour classifier; only the label-free numbers above are reported")

# %% slideshow={"slide_type": "subslide"}
fig = None
if LABELLED:
    fig = plotting.class_histogram({"held-out real": floor["histogram"], "DCGAN samples": score["histogram"]},
                                   ANIME_ATTRIBUTES["hair_colour"],
                                   title="hair colours of the real and the generated faces")
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### New, or copied?
#
# A generator could score well by reproducing training images. For a few samples we find the
# nearest training image (pixel distance) and compare the typical distance with that of
# held-out *real* images to the training set: samples much closer than held-out images would
# mean memorisation.

# %% slideshow={"slide_type": "subslide"}
def nearest(queries, reference, chunk=256):
    """Index of and Euclidean distance to each query's nearest reference image (pixels in [0, 1])."""
    ref = reference.reshape(len(reference), -1)
    ref_sq = (ref**2).sum(1)
    idx, dist = [], []
    for i in range(0, len(queries), chunk):
        q = queries[i:i + chunk].reshape(len(queries[i:i + chunk]), -1)
        d2 = (q**2).sum(1)[:, None] - 2 * q @ ref.T + ref_sq[None]
        idx.append(d2.argmin(1))
        dist.append(np.sqrt(np.maximum(d2.min(1), 0)))
    return np.concatenate(idx), np.concatenate(dist)


n_nn = min(200, N_EVAL)
nn_idx, nn_fake = nearest(fakes[:n_nn], faces.x_train)
_, nn_real = nearest(real_held_out[:n_nn], faces.x_train)
print(f"median distance to the nearest training image: samples {np.median(nn_fake):.2f}, "
      f"held-out real {np.median(nn_real):.2f}")
plotting.image_grid(np.concatenate([fakes[:10], faces.x_train[nn_idx[:10]]]), ncols=10,
                    row_labels=["sample", "nearest train"], size=0.9)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Walking the latent space
#
# **Interpolation.** Going in a straight line from $z_1$ to $z_2$ should change the face
# smoothly. Sudden jumps would mean the generator memorised separate images; smooth changes
# mean it has learned a continuous space of faces.

# %% slideshow={"slide_type": "fragment"}
rng = np.random.default_rng(SEED + 3)
ends = rng.standard_normal((4, 2, LATENT_DIM)).astype("float32")
t = np.linspace(0.0, 1.0, 10, dtype="float32")[None, :, None]
path = (1 - t) * ends[:, :1] + t * ends[:, 1:]  # (4, 10, latent)
plotting.image_grid(from_tanh_range(gan.generate(path.reshape(-1, LATENT_DIM))), ncols=10,
                    suptitle="linear interpolation in z, four pairs", size=0.8)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Latent vector arithmetic.** Radford et al. averaged the $z$ of a few "smiling woman",
# "neutral woman" and "neutral man" samples and found that
# $\bar z_{\text{smiling woman}} - \bar z_{\text{neutral woman}} + \bar z_{\text{neutral man}}$
# generates smiling men: directions in $z$ carry meaning. We do the same with hair colour,
# which our classifier can read: average the $z$ of samples it calls hair colour A and of those
# it calls B, add the difference $\bar z_B - \bar z_A$ to the $z$ of other A samples, and ask the
# classifier what they became. As a control, we add a random direction of the same length.

# %% slideshow={"slide_type": "subslide"}
if LABELLED:
    z_pool = gan.sample_latent(profile.pick(smoke=256, cpu=3000, gpu=5000, tiny=256), seed=SEED + 4)
    probs = scorer.probs(from_tanh_range(gan.generate(z_pool)))
    hair_of, sure = probs.argmax(1), probs.max(1) > 0.9
    counts = np.bincount(hair_of[sure], minlength=6)
    a, b = (int(k) for k in np.argsort(counts)[::-1][:2])  # the two hair colours the GAN draws most
    names = ANIME_ATTRIBUTES["hair_colour"]
    print("confident samples per hair colour:", dict(zip(names, counts.tolist())))
    pick_a = np.flatnonzero(sure & (hair_of == a))
    pick_b = np.flatnonzero(sure & (hair_of == b))
    if min(len(pick_a), len(pick_b)) >= 6:
        half = len(pick_a) // 2  # average over one half of the A samples, edit the other half
        direction = z_pool[pick_b].mean(0) - z_pool[pick_a[:half]].mean(0)
        edited = z_pool[pick_a[half:]] + direction
        random_dir = rng.standard_normal(LATENT_DIM).astype("float32")
        control = z_pool[pick_a[half:]] + random_dir / np.linalg.norm(random_dir) * np.linalg.norm(direction)
        became = scorer.probs(from_tanh_range(gan.generate(edited))).argmax(1)
        became_control = scorer.probs(from_tanh_range(gan.generate(control))).argmax(1)
        flip_rate, control_rate = float(np.mean(became == b)), float(np.mean(became_control == b))
        print(f"z(A) + (mean z({names[b]}) - mean z({names[a]})): {flip_rate:.0%} of {len(edited)} "
              f"{names[a]}-haired faces now read as {names[b]} "
              f"(random direction of the same length: {control_rate:.0%})")
        show = np.concatenate([from_tanh_range(gan.generate(z_pool[pick_a[half:half + 8]])),
                               from_tanh_range(gan.generate(edited[:8]))])
        fig = plotting.image_grid(show, ncols=8, row_labels=[f"{names[a]}", f"+ ({names[b]} - {names[a]})"], size=0.9)
    else:
        flip_rate = float("nan")
        fig = None
        print("too few confident samples of the two hair colours for the arithmetic (train longer)")
else:
    fig = None
    print("latent arithmetic needs attribute labels; the Kaggle folder has none (see exercise 4)")
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# The edit changes the hair colour while the rest of the face (position, eyes, style) mostly
# stays: the GAN has organised its latent space so that some directions mean "hair colour",
# although nobody told it what hair colour is. Nothing forces one direction to mean one
# attribute, though; lecture 07 adds the label as an input, so we can ask for it directly.
#
# ## Quiz
#
# **1.** True or false: a GAN trains two networks against each other, and training is
# finished when neither can do better by changing only itself.
#
# <details><summary>Answer</summary>
#
# True: that balance is a Nash equilibrium of the two-player game. In the ideal one the
# generator's distribution equals the data's and the discriminator can only guess,
# $D = 1/2$ everywhere. In practice we stop long before and judge by the samples and metrics,
# because the losses of a GAN do not fall to a minimum the way a classifier's do.
# </details>
#
# **2.** Your discriminator's accuracy on generated images is 1.0 in every epoch, yet the samples
# keep improving. Is the training broken?
#
# <details><summary>Answer</summary>
#
# Look at the generator loss as well (lecture 09's rule). If it stays below $\ln 20 = 3$ nats,
# D is only ahead: normal, and with the non-saturating loss the generator gets strong
# gradients. If it is at or above 3 nats too, D has won: the generator still learns through the
# non-saturating gradient, but slowly, and the game is unbalanced and worth fixing (a slower D,
# fewer D steps, a gradient penalty) even while the samples improve. It is broken when the
# samples stop changing or collapse to a few faces (recall and the hair-colour coverage fall).
# </details>
#
# **3.** The samples' median distance to their nearest training image is no smaller than that
# of held-out real images. What does that tell you, and what does it not?
#
# <details><summary>Answer</summary>
#
# That the generator is not simply copying training images (copies would sit much closer). It
# does not tell you that the samples are good or varied: blurry averages can also be far from
# every training image. That is what precision, recall and coverage are for.
# </details>
#
# ## Summary
#
# - DCGAN makes GANs convolutional with a few rules: strided (transposed) convolutions instead
#   of pooling, batch norm, no dense hidden layers, ReLU + tanh in G, LeakyReLU in D, Adam with
#   $\beta_1 = 0.5$.
# - The source material's networks have 3,846,147 (G) and 2,768,321 (D) parameters at 64x64;
#   dropping one block gives a 32x32 variant that trains on a CPU in minutes.
# - Images go to $[-1, 1]$ to match the `tanh` output; the `tf.data` pipeline must (and here
#   easily does) deliver images faster than training consumes them.
# - Sample quality is measured against the real-data floor: Frechet distance, precision/recall
#   and attribute coverage through a classifier, plus a memorisation check.
# - The latent space is smooth (interpolation) and has meaningful directions (arithmetic).
#
# ## Exercises
#
# 1. Use LeakyReLU(0.2) in the generator, as the source notebook does. Do the metrics change?
# 2. Break a guideline at a time: max-pooling + `UpSampling2D` instead of strides, no batch
#    norm in D, Adam with $\beta_1 = 0.9$. Which of them hurts most, and which curve shows it?
# 3. Replace the linear interpolation by spherical interpolation (slerp). Samples of a
#    128-dimensional Gaussian have norm close to $\sqrt{128}$; what happens to the norm in the
#    middle of a straight line, and do the faces there look different?
# 4. Train the classifier on `faces.attributes_train["hair_style"]` instead (an `ImageDataset`
#    with `y` replaced, `num_classes=3`) and do the arithmetic for hair style. On the Kaggle
#    faces, pick 10 samples with and 10 without a feature by eye and add the difference.
# 5. On the Kaggle faces, compute FID with `keras.applications.InceptionV3(include_top=False,
#    pooling="avg")` features (images resized to 299x299) and `coursekit.metrics.frechet_distance`,
#    with its real-data floor.
# 6. Train the 64x64 networks (`IMAGE_SIZE = 64`, `WIDTH = 64`) on the stand-in on a GPU and
#    compare the metrics with the 32x32 run. The source trains 60 epochs on the Kaggle faces and
#    suggests about 100.

# %% [markdown] slideshow={"slide_type": "skip"}
# ## Run card

# %% slideshow={"slide_type": "skip"}
if LABELLED:
    card.finish("Frechet distance in hair-classifier features", score["frechet"], "",
                reference=f"real-data floor {floor['frechet']:.3f}; {score['classes_covered']}/6 hair colours covered")
else:
    card.finish("thumbnail Frechet distance (8x8 colour layout)", thumb_gan, "",
                reference=f"real-data floor {thumb_floor:.3f}")
