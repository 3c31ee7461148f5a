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
# # Lecture 01 - Likelihood and KL divergence
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/01_likelihood_kl.ipynb)
#
# **What this lecture covers.** What a generative model is; explicit and implicit models;
# conditional models; the families of deep generative models. Then the two tools every later
# lecture stands on: **maximum likelihood** (fitted here by gradient ascent and checked
# against the closed form, in the log domain) and the **Kullback-Leibler divergence**
# (a worked example, its asymmetry, and what that asymmetry does when we fit a model:
# mode covering versus mode seeking). We finish with the chain rule of probability that
# autoregressive models (lecture 04) are built on.
#
# **Hardware and time.** Everything here is small: any CPU will do.
#
# | profile | where | time |
# | --- | --- | --- |
# | `smoke` | CI | not timed here (CI's target: under 2 min) |
# | `cpu` | laptop / CI machine, 2 cores | **45 s** measured (run card at the end of this notebook: CPU x2 (x86_64), no GPU, load average 3.3) |
# | `gpu` | Colab | not measured yet (no GPU needed) |

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

import numpy as np
import scipy.stats
import tensorflow as tf
from keras import ops

from coursekit import divergences, plotting
from coursekit.profiles import check_parameter, select_profile
from coursekit.runcard import start_run

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Parameters
# All knobs of the notebook sit in this one cell (papermill overrides it). `PROFILE = None`
# lets the environment variable `COURSEKIT_PROFILE` or the hardware decide.

# %% slideshow={"slide_type": "fragment"} tags=["parameters"]
PROFILE = None  # "smoke", "cpu" or "gpu"; None: $COURSEKIT_PROFILE, else from the hardware
SEED = 0
N_SAMPLES = None  # data points for maximum likelihood; None: from the profile
FIT_STEPS = None  # gradient steps of each fit; None: from the profile

# %% slideshow={"slide_type": "subslide"}
profile = select_profile(PROFILE)
N_SAMPLES = profile.resolve("N_SAMPLES", N_SAMPLES, smoke=500, cpu=5_000, gpu=50_000, tiny=500, low=2)
FIT_STEPS = profile.resolve("FIT_STEPS", FIT_STEPS, smoke=400, cpu=1_500, gpu=3_000, tiny=400, low=1)
SEED = check_parameter("SEED", SEED, low=0)
card = start_run("01_likelihood_kl", profile, SEED)
print(f"N_SAMPLES={N_SAMPLES}, FIT_STEPS={FIT_STEPS}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. What is a generative model?
#
# We have examples $x$ drawn independently from an unknown distribution $p_{data}(x)$.
# A **generative model** $p_\theta(x)$ learns to approximate that distribution, so that it can
# *sample* new examples that look as if they came from the data and, for some models,
# *evaluate* how likely an example is. A **discriminative** model only learns $p(y \mid x)$:
# it can label a digit but cannot draw one.
#
# Generative models come in two kinds:
#
# - an **explicit** model gives us $p_\theta(x)$ (sometimes only up to a constant), so we can
#   compute the likelihood of any $x$;
# - an **implicit** model only gives us a way to *sample* $x \sim p_\theta(x)$; the density of a
#   given $x$ is out of reach.
#
# Both kinds, in a few lines. The explicit model is a two-component Gaussian mixture: we can
# sample it *and* evaluate its log density. The implicit model pushes Gaussian noise through a
# fixed non-invertible function, like a GAN generator does: sampling is easy, but
# $p(x)$ would need us to invert $g$, which we cannot.

# %% slideshow={"slide_type": "subslide"}
rng = np.random.default_rng(SEED)
weights, mus, sigmas = np.array([0.3, 0.7]), np.array([-2.0, 1.5]), np.array([0.6, 1.0])


def sample_mixture(n):
    component = rng.choice(2, size=n, p=weights)
    return rng.normal(mus[component], sigmas[component]), component


def g(z):  # the implicit model's "generator": not invertible, so no density formula
    return np.sin(2.0 * z) + 0.5 * z**2


x_explicit, _ = sample_mixture(N_SAMPLES)
x_implicit = g(rng.standard_normal(N_SAMPLES))

probe = np.array([-2.0, 0.0, 1.5])
print("explicit model, log p(x) at", probe, "=",
      np.round(ops.convert_to_numpy(divergences.mixture_log_pdf(probe, weights, mus, sigmas)), 3))
print("implicit model, log p(x): not available - we can only sample it")

# %% slideshow={"slide_type": "subslide"}
from matplotlib.figure import Figure

fig = Figure(figsize=(9, 3))
ax1, ax2 = fig.subplots(1, 2)
grid = np.linspace(-5, 5, 400)
ax1.hist(x_explicit, bins=60, density=True, alpha=0.5, label="samples")
ax1.plot(grid, np.exp(ops.convert_to_numpy(divergences.mixture_log_pdf(grid, weights, mus, sigmas))),
         label="p(x), exact")
ax1.set_title("explicit: sample and evaluate")
ax1.legend()
ax2.hist(x_implicit, bins=60, density=True, alpha=0.5, color="C2", label="samples")
ax2.set_title("implicit: sample only")
ax2.legend()
fig.tight_layout()
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Conditional models
# A **conditional** generative model learns $p_\theta(x \mid c)$ for a conditioning signal $c$
# (a class, a text, another image). The richer $c$, the less uncertainty about $x$ is left to
# model. Our mixture becomes conditional if we are told the component: $p(x \mid c)$ is then a
# single Gaussian, and we can ask for samples of a chosen kind.

# %% slideshow={"slide_type": "fragment"}
for c in (0, 1):
    draws = rng.normal(mus[c], sigmas[c], size=5)
    print(f"samples of p(x | c={c}):", np.round(draws, 2))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The families of deep generative models
#
# | family | explicit density? | how it is trained | lecture |
# | --- | --- | --- | --- |
# | autoregressive (PixelCNN) | yes, exact | maximum likelihood, chain rule | 04 |
# | normalising flows | yes, exact | maximum likelihood, change of variables | - |
# | variational autoencoder | a lower bound (ELBO) | maximise the ELBO | 03 |
# | GAN | no (implicit) | adversarial game | 05-09 |
# | diffusion | a bound | denoising | - |

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Maximum likelihood
#
# A likelihood-based model has parameters $\theta$ and a density $p_\theta(x)$. Maximum
# likelihood picks the $\theta$ under which the observed data is most probable:
#
# $$\theta^* = \arg\max_\theta \sum_{i=1}^{N} \log p_\theta(x_i).$$
#
# Minimising the *average negative log-likelihood* (NLL, in nats) is the same thing and is what
# we will report for every explicit model in the course.
#
# For a Gaussian $N(\mu, \sigma^2)$ the answer is known in closed form: the sample mean and the
# (biased) sample standard deviation. We fit it by gradient ascent anyway, the way a neural
# network is fitted, and check that both agree. We optimise $\log \sigma$ rather than
# $\sigma$ so the standard deviation stays positive without constraints.

# %% slideshow={"slide_type": "subslide"}
TRUE_MU, TRUE_SIGMA = 2.0, 1.5
x_train = rng.normal(TRUE_MU, TRUE_SIGMA, size=N_SAMPLES).astype("float32")
x_heldout = rng.normal(TRUE_MU, TRUE_SIGMA, size=N_SAMPLES).astype("float32")

mu = tf.Variable(0.0)
log_sigma = tf.Variable(0.0)
optimizer = tf.keras.optimizers.Adam(learning_rate=0.05)
nll_curve = []
for step in range(FIT_STEPS):
    with tf.GradientTape() as tape:
        nll = -tf.reduce_mean(divergences.gaussian_log_pdf(x_train, mu, tf.exp(log_sigma)))
    grads = tape.gradient(nll, [mu, log_sigma])
    optimizer.apply_gradients(zip(grads, [mu, log_sigma]))
    nll_curve.append(float(nll))

mu_closed, sigma_closed = x_train.mean(), x_train.std()  # np.std is the biased (1/N) estimate: the MLE
print(f"gradient ascent: mu = {float(mu):.4f}, sigma = {float(tf.exp(log_sigma)):.4f}")
print(f"closed form    : mu = {mu_closed:.4f}, sigma = {sigma_closed:.4f}")
print(f"true values    : mu = {TRUE_MU:.4f}, sigma = {TRUE_SIGMA:.4f}")
assert abs(float(mu) - mu_closed) < 1e-2 and abs(float(tf.exp(log_sigma)) - sigma_closed) < 1e-2

# %% slideshow={"slide_type": "subslide"}
fig = plotting.loss_curves({"training NLL": nll_curve}, xlabel="gradient step", ylabel="NLL (nats per point)",
                           title="maximum likelihood by gradient ascent")
fig.axes[0].axhline(-np.mean(scipy.stats.norm.logpdf(x_train, mu_closed, sigma_closed)), color="k", ls="--",
                    label="closed-form optimum")
fig.axes[0].legend()
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# **How good is the fitted model?** Its NLL on *held-out* data, next to the best any model can
# do: the NLL of the true density, which is its entropy. The gap is what the finite sample
# costs us. (Later lectures report exactly this kind of number for images.)

# %% slideshow={"slide_type": "fragment"}
nll_model = -float(np.mean(scipy.stats.norm.logpdf(x_heldout, float(mu), float(tf.exp(log_sigma)))))
nll_true = -float(np.mean(scipy.stats.norm.logpdf(x_heldout, TRUE_MU, TRUE_SIGMA)))
entropy = float(scipy.stats.norm(TRUE_MU, TRUE_SIGMA).entropy())
print(f"held-out NLL, fitted model : {nll_model:.4f} nats")
print(f"held-out NLL, true density : {nll_true:.4f} nats   (entropy of the truth: {entropy:.4f} nats)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Why we work in the log domain
#
# The likelihood of a data set is a *product* of one density per point. Each factor is small,
# so the product leaves the range of floating point numbers long before the data set is large:
# 1,000 points with density 0.2 each give $0.2^{1000} \approx 10^{-699}$, far below the smallest
# positive float64, about $4.9 \times 10^{-324}$. (That smallest one is a *subnormal* number, with
# fewer significant digits; the smallest *normal* float64, `np.finfo(np.float64).tiny`, is
# $2.2 \times 10^{-308}$.) The sum of logs carries the same information and stays comfortably finite.

# %% slideshow={"slide_type": "fragment"} tags=["nbval-check-output"]
densities = np.full(1000, 0.2)
print("product of 1000 likelihoods :", np.prod(densities))
print("sum of their logs           :", f"{np.sum(np.log(densities)):.4f}")
print("smallest normal float64     :", np.finfo(np.float64).tiny)
print("smallest float64 > 0        :", np.finfo(np.float64).smallest_subnormal, "(subnormal)")
print("5e-324 / 2 rounds to        :", np.float64(5e-324) / 2)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The same problem appears *inside* one density when it is a sum, as in a mixture:
# $\log \sum_k w_k\, N(x; \mu_k, \sigma_k)$. Far from every component each term underflows to
# zero and the log becomes $-\infty$. The **log-sum-exp** trick, $\log\sum_k e^{a_k} = m +
# \log\sum_k e^{a_k - m}$ with $m = \max_k a_k$, never leaves the log domain.
# `coursekit.divergences.mixture_log_pdf` uses it.

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
far = np.array([0.0, 30.0, 60.0])
with np.errstate(divide="ignore"):  # log(0) = -inf is the point of the demonstration
    naive = np.log(np.sum(weights * scipy.stats.norm.pdf(far[:, None], mus, sigmas), axis=1))
stable = ops.convert_to_numpy(divergences.mixture_log_pdf(far, weights, mus, sigmas))
reference = scipy.special.logsumexp(scipy.stats.norm.logpdf(far[:, None], mus, sigmas), b=weights, axis=1)
with np.printoptions(precision=2, suppress=True):
    print("x              :", far)
    print("naive log-sum  :", naive)
    print("log-sum-exp    :", stable)
assert np.allclose(stable, reference, rtol=1e-4)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. KL divergence
#
# The Kullback-Leibler divergence measures how much a distribution $Q$ differs from a reference
# $P$, in nats:
#
# $$D_{KL}(P \,\|\, Q) = \sum_x P(x) \log \frac{P(x)}{Q(x)} \;\ge 0,$$
#
# with equality only when $P = Q$. It is **not symmetric**. Maximum likelihood is KL in disguise:
# $D_{KL}(p_{data} \| p_\theta) = -H(p_{data}) - \mathbb{E}_{p_{data}}[\log p_\theta(x)]$, and the
# entropy does not depend on $\theta$, so minimising this KL *is* maximising the expected log-likelihood.
#
# **Worked example.** $P$ is Binomial$(N=2, p=0.4)$ on $\{0, 1, 2\}$: $P = (9/25, 12/25, 4/25)$.
# $Q$ is uniform: $(1/3, 1/3, 1/3)$.

# %% slideshow={"slide_type": "subslide"} tags=["nbval-check-output"]
P = scipy.stats.binom(2, 0.4).pmf([0, 1, 2])
Q = np.full(3, 1 / 3)
kl_pq = divergences.kl_divergence(P, Q)
kl_qp = divergences.kl_divergence(Q, P)
print("x    :", [0, 1, 2])
print("P(x) :", np.round(P, 4).tolist(), " = 9/25, 12/25, 4/25")
print("Q(x) :", np.round(Q, 4).tolist())
print(f"KL(P || Q) = {kl_pq:.4f} nats")
print(f"KL(Q || P) = {kl_qp:.4f} nats")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Three independent checks: the exact closed forms
# $\frac{1}{25}(32\ln 2 + 55\ln 3 - 50\ln 5)$ and $\frac{1}{3}(-4\ln 2 - 6\ln 3 + 6\ln 5)$,
# and scipy's `entropy(p, q)`, which computes the same divergence.

# %% slideshow={"slide_type": "fragment"}
closed_pq = (32 * math.log(2) + 55 * math.log(3) - 50 * math.log(5)) / 25
closed_qp = (-4 * math.log(2) - 6 * math.log(3) + 6 * math.log(5)) / 3
assert math.isclose(kl_pq, closed_pq, rel_tol=1e-12) and math.isclose(kl_pq, scipy.stats.entropy(P, Q), rel_tol=1e-12)
assert math.isclose(kl_qp, closed_qp, rel_tol=1e-12) and math.isclose(kl_qp, scipy.stats.entropy(Q, P), rel_tol=1e-12)
print(f"closed forms: {closed_pq:.7f} and {closed_qp:.6f}; scipy agrees")

# %% [markdown] slideshow={"slide_type": "subslide"}
# For two Gaussians the KL has a closed form too. The variational autoencoder of lecture 03
# uses it for $D_{KL}(N(\mu, \sigma^2) \| N(0, 1)) = \tfrac12(\sigma^2 + \mu^2 - 1 - \log\sigma^2)$.
# A Monte Carlo estimate, $\mathbb{E}_{x\sim q}[\log q(x) - \log p(x)]$, must agree with it:

# %% slideshow={"slide_type": "fragment"}
mu_q, sigma_q = 1.0, 0.5
closed = float(divergences.gaussian_kl(np.array([mu_q]), np.array([2 * math.log(sigma_q)])))
draws = rng.normal(mu_q, sigma_q, size=200_000)
monte_carlo = np.mean(scipy.stats.norm.logpdf(draws, mu_q, sigma_q) - scipy.stats.norm.logpdf(draws))
print(f"KL(N(1, 0.5^2) || N(0, 1)): closed form {closed:.4f} nats, Monte Carlo {monte_carlo:.4f} nats")
assert abs(closed - monte_carlo) < 0.01

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Mode covering versus mode seeking
#
# The direction of the KL matters when the model is too simple for the data. Let the data
# distribution $p$ have two well-separated modes, and the model $q_\theta$ be a single Gaussian.
#
# - **Forward KL**, $D_{KL}(p \| q_\theta) = \mathbb{E}_p[\log p - \log q_\theta]$ (maximum
#   likelihood): wherever $p$ has mass and $q_\theta$ has none, the penalty explodes. $q$
#   stretches to **cover both modes**, and puts mass in the empty valley between them.
# - **Reverse KL**, $D_{KL}(q_\theta \| p) = \mathbb{E}_{q}[\log q_\theta - \log p]$: wherever
#   $q_\theta$ has mass and $p$ has none, the penalty explodes. $q$ **seeks one mode** and
#   ignores the other. (GANs and variational inference live closer to this side.)
#
# We tabulate both densities on a grid, so the KL integrals become sums
# (`coursekit.divergences.grid_kl`), and fit $(\mu, \log\sigma)$ by gradient descent on each.

# %% slideshow={"slide_type": "subslide"}
P_WEIGHTS, P_MUS, P_SIGMAS = np.array([0.5, 0.5]), np.array([-3.0, 3.0]), np.array([1.0, 1.0])
xs = np.linspace(-12, 12, 2001).astype("float32")
dx = float(xs[1] - xs[0])
log_p = divergences.mixture_log_pdf(xs, P_WEIGHTS, P_MUS, P_SIGMAS)


def fit_gaussian(direction, steps=FIT_STEPS, init_mu=1.5):
    """Fit q = N(mu, sigma^2) to p by minimising KL(p||q) ("forward") or KL(q||p) ("reverse")."""
    mu, log_sigma = tf.Variable(init_mu), tf.Variable(0.0)
    opt = tf.keras.optimizers.Adam(learning_rate=0.05)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            log_q = divergences.gaussian_log_pdf(xs, mu, tf.exp(log_sigma))
            loss = (divergences.grid_kl(log_p, log_q, dx) if direction == "forward"
                    else divergences.grid_kl(log_q, log_p, dx))
        opt.apply_gradients(zip(tape.gradient(loss, [mu, log_sigma]), [mu, log_sigma]))
    return float(mu), float(tf.exp(log_sigma))


fits = {d: fit_gaussian(d) for d in ("forward", "reverse")}
for d, (m, s) in fits.items():
    print(f"{d:7s} KL fit: mu = {m:+.3f}, sigma = {s:.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Forward KL has a known optimum: **moment matching**. The best Gaussian has the mixture's mean
# and variance, here $\mu = 0$ and $\sigma^2 = 1 + 3^2 = 10$. Reverse KL should sit on one mode.
# Reverse KL has several minima: started from $\mu = 1.5$ it finds the right-hand mode, started
# elsewhere it may find the other mode or a wide compromise (exercise 2 asks you to find out).
# Forward KL is better behaved here, but it is **not convex** in the parameters we optimise,
# $(\mu, \log\sigma)$: we check its curvature just below.

# %% slideshow={"slide_type": "subslide"}
moment_sigma = math.sqrt(np.sum(P_WEIGHTS * (P_SIGMAS**2 + P_MUS**2)) - np.sum(P_WEIGHTS * P_MUS) ** 2)
m_f, s_f = fits["forward"]
m_r, s_r = fits["reverse"]
print(f"moment matching: mu = 0.000, sigma = {moment_sigma:.3f}")
assert abs(m_f) < 0.05 and abs(s_f - moment_sigma) < 0.05, "forward KL should match moments"
assert abs(abs(m_r) - 3.0) < 0.1 and abs(s_r - 1.0) < 0.1, "reverse KL should lock onto one mode"

fig = Figure(figsize=(8, 3.2))
ax = fig.subplots()
ax.fill_between(xs, np.exp(ops.convert_to_numpy(log_p)), alpha=0.3, color="gray", label="p (data)")
for d, (m, s), color in (("forward", fits["forward"], "C0"), ("reverse", fits["reverse"], "C3")):
    ax.plot(xs, scipy.stats.norm.pdf(xs, m, s), color=color, label=f"q fitted by {d} KL")
ax.set_xlim(-8, 8)
ax.set_title("forward KL covers the modes, reverse KL seeks one")
ax.legend()
fig

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Is the forward fit a convex problem?** Up to a constant, the forward KL to
# $q = N(\mu, \sigma^2)$ is $f(\mu, s) = s + \frac{v + (\mu - m)^2}{2} e^{-2s}$ with $s = \log\sigma$,
# and $m$, $v$ the mean and variance of $p$. Its Hessian has determinant $2 e^{-4s}\,(v - (\mu - m)^2)$:
# positive near the optimum, **negative** once $\mu$ is more than one standard deviation of $p$
# away from $m$, so $f$ is not convex there. What saves the fit is that $f$ has a single stationary
# point, the moment-matching one, so gradient descent from any start ends there. (The same KL
# *is* convex in the natural parameters $\mu/\sigma^2$ and $-1/(2\sigma^2)$.) The eigenvalues of the
# Hessian, computed with two nested `GradientTape`s, show both cases:

# %% slideshow={"slide_type": "subslide"}
def forward_kl_hessian(mu0, log_sigma0):
    """Hessian of KL(p || N(mu, exp(log_sigma)^2)) in (mu, log_sigma), by automatic differentiation."""
    theta = tf.Variable([mu0, log_sigma0], dtype="float32")
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = divergences.grid_kl(log_p, divergences.gaussian_log_pdf(xs, theta[0], tf.exp(theta[1])), dx)
        grad = inner.gradient(loss, theta)
    return outer.jacobian(grad, theta).numpy()


for point in [(0.0, math.log(moment_sigma)), (8.0, 0.0)]:
    eigenvalues = np.linalg.eigvalsh(forward_kl_hessian(*point))
    verdict = "convex here" if eigenvalues.min() > 0 else "NOT convex here"
    print(f"(mu, log sigma) = ({point[0]:.2f}, {point[1]:.2f}): "
          f"Hessian eigenvalues {np.round(eigenvalues, 3)} -> {verdict}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The table of both divergences at both solutions shows the asymmetry in numbers: each
# solution is good in the direction it was fitted for and poor in the other.

# %% slideshow={"slide_type": "fragment"}
for d, (m, s) in fits.items():
    log_q = divergences.gaussian_log_pdf(xs, m, s)
    fwd = float(divergences.grid_kl(log_p, log_q, dx))
    rev = float(divergences.grid_kl(log_q, log_p, dx))
    print(f"q fitted by {d:7s} KL:  KL(p||q) = {fwd:.3f} nats,  KL(q||p) = {rev:.3f} nats")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. The chain rule: how autoregressive models factorise
#
# Any joint distribution over $x = (x_1, \dots, x_n)$ can be written, exactly, as a product of
# one-dimensional conditionals in any fixed order:
#
# $$p(x) = p(x_1)\,p(x_2 \mid x_1)\,p(x_3 \mid x_1, x_2) \cdots p(x_n \mid x_{<n}).$$
#
# An autoregressive model (PixelCNN, lecture 04) learns each conditional with a network, with
# images read in raster order. Here we check the factorisation on three binary "pixels" with
# an arbitrary joint table, and sample pixel by pixel.

# %% slideshow={"slide_type": "subslide"}
joint = rng.dirichlet(np.ones(8)).reshape(2, 2, 2)  # p(x1, x2, x3), any table will do
p_x1 = joint.sum(axis=(1, 2))
p_x2_given_x1 = joint.sum(axis=2) / p_x1[:, None]
p_x3_given_x12 = joint / joint.sum(axis=2, keepdims=True)
rebuilt = p_x1[:, None, None] * p_x2_given_x1[:, :, None] * p_x3_given_x12
assert np.allclose(rebuilt, joint), "the chain rule is exact"


def sample_autoregressive(n):
    x1 = (rng.random(n) < p_x1[1]).astype(int)
    x2 = (rng.random(n) < p_x2_given_x1[x1, 1]).astype(int)
    x3 = (rng.random(n) < p_x3_given_x12[x1, x2, 1]).astype(int)
    return x1 * 4 + x2 * 2 + x3  # index of the configuration


counts = np.bincount(sample_autoregressive(N_SAMPLES * 10), minlength=8) / (N_SAMPLES * 10)
tv = 0.5 * np.abs(counts - joint.ravel()).sum()
print("joint table       :", np.round(joint.ravel(), 3))
print("sampled frequency :", np.round(counts, 3))
print(f"total variation distance: {tv:.4f} (shrinks like 1/sqrt(samples))")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Why not store the joint table directly? Its size. A binary 28x28 image has $2^{784}$
# configurations; the table needs one probability for each of them (minus one). The chain rule
# replaces it by 784 conditionals that one network can share.

# %% slideshow={"slide_type": "fragment"} tags=["nbval-check-output"]
n_pixels = 28 * 28
print(f"free parameters of a full joint table over {n_pixels} binary pixels: 2**{n_pixels} - 1, "
      f"a number with {len(str(2**n_pixels - 1))} digits")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quiz
#
# **1.** You fit a single Gaussian to data from a two-mode distribution by maximum likelihood.
# Where does the fitted density have its peak, and is that a good place to sample from?
#
# <details><summary>Answer</summary>
#
# Maximum likelihood minimises the *forward* KL, so the fit covers both modes: its peak sits
# between them (at the overall mean), exactly where the data has almost no mass. Samples from
# its peak look like nothing in the data set. This is the "blurry average" failure we will meet
# again with VAEs.
# </details>
#
# **2.** $D_{KL}(P\|Q) = 0.0853$ nats but $D_{KL}(Q\|P) = 0.0975$ nats. Is something wrong?
#
# <details><summary>Answer</summary>
#
# No. KL is not a distance: it is not symmetric. The reverse direction weighs the log-ratio by
# $Q$, which puts more weight ($1/3$) on $x=2$, where $P$ is smallest ($4/25$), so it is larger.
# </details>
#
# **3.** Why do we compute $\sum_i \log p(x_i)$ rather than $\log \prod_i p(x_i)$?
#
# <details><summary>Answer</summary>
#
# They are equal mathematically, but the product underflows to exactly 0 in floating point for
# any realistic data set (we saw $0.2^{1000}$ become `0.0`), after which its log is $-\infty$ and
# its gradient is useless. The sum of logs stays finite and well scaled.
# </details>
#
# ## Summary
#
# - A generative model learns $p_{data}(x)$; explicit models can evaluate it, implicit ones only sample.
# - Maximum likelihood = minimising forward KL from the data; always computed in the log domain,
#   with log-sum-exp for sums of densities.
# - KL is asymmetric: forward KL covers modes, reverse KL seeks them.
# - The chain rule turns any joint into a product of conditionals: the basis of autoregressive models.
# - The number to report for an explicit model is its held-out NLL in nats, next to a reference.
#
# ## Exercises
#
# 1. Change `P_MUS` to `[-1, 1]`. At what separation do the forward and reverse fits start to
#    differ? Plot $|\mu_{reverse}|$ against the separation.
# 2. Start the reverse fit at `init_mu=-1.5`, then at `init_mu=0.5`. Which solutions do you get, and
#    which has the lower reverse KL? What does that say about training a mode-seeking model from a
#    random initialisation?
# 3. Replace the Gaussian in section 2 by a Laplace distribution and fit it to the same data.
#    Is its held-out NLL higher or lower than the Gaussian's? Why?
# 4. Show numerically that $D_{KL}(p_{data} \| p_\theta)$ and the NLL differ by a constant
#    (the entropy of the data), for several values of $\theta$.

# %% [markdown] slideshow={"slide_type": "skip"}
# ## Run card

# %% slideshow={"slide_type": "skip"}
card.finish("held-out NLL of the ML Gaussian", nll_model, "nats", reference=f"true density {nll_true:.3f} nats")
