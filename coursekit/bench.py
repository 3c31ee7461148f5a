"""What every lecture costs on this machine: ``python3 -m coursekit bench``.

For the main model of each lecture (02 convolutional autoencoder, 03 VAE, 04 PixelCNN, 05 GAN on
MNIST, 06 DCGAN) at the sizes of a profile, this measures

- **training step time**: one optimiser step on one batch through the model's compiled
  ``train_function`` (``train_on_batch`` on a batch already in memory, so no input pipeline),
  the median over ``repeats`` steps after ``warmup`` steps; the first step, which traces (and
  with XLA compiles) the step, is reported on its own. Each model is measured with Keras'
  default on this machine and with ``jit_compile=True`` (XLA), so a change of that setting can
  be judged by numbers (``jit_compile="auto"`` means no XLA on a machine without GPU);
- **samples per second**: images the trained-shape model produces per second at inference
  (decoded prior draws, generator outputs, autoencoder reconstructions; PixelCNN: full
  pixel-by-pixel samples with the cached sampler), the median over repeats after a warm-up;
- **peak memory**: the peak resident set size of the process (``resource.getrusage`` ``maxrss``:
  all memory the process held at its busiest, TensorFlow's C++ allocations included) and its
  growth since the process had imported TensorFlow and not yet built the model. By default each
  lecture runs in a fresh subprocess, so the figure is that lecture's alone; with
  ``isolate=False`` it is the running peak of one process (it can only grow);
- for lecture 04, the **PixelCNN sampler speed-up**: the naive sampler (one full forward pass per
  pixel, ``sample(method="full")``) against the cached one (``method="cached"``), first call
  (tracing and XLA compilation included) and later calls, on the same random numbers (the images
  must be identical).

Inputs are random tensors of the lectures' shapes and ranges: no dataset is read, and the
timings do not depend on the values. Timings on a shared machine are noisy; the table reports
medians and the spread (min-max) so that a reader can judge, and nothing here is a pass/fail
test of speed. ``python3 -m coursekit bench --quick`` runs everything at the ``smoke`` sizes
with two repeats (the test suite's check that the command keeps working).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

LECTURES = ("02", "03", "04", "05", "06")
TITLES = {
    "02": "convolutional autoencoder (MNIST)",
    "03": "VAE, MLP 512-256, latent 32 (MNIST)",
    "04": "PixelCNN, binary 28x28 (MNIST)",
    "05": "GAN, MLP generator/discriminator (MNIST)",
    "06": "DCGAN 32x32 (anime faces)",
}
# Sizes per profile, as the lectures choose them (batch sizes, widths, depths).
SIZES = {
    "smoke": {"02": {"batch": 128}, "03": {"batch": 100},
              "04": {"batch": 16, "filters": 16, "blocks": 2, "kernel": 3, "sampled": 2},
              "05": {"batch": 64}, "06": {"batch": 32, "width": 8, "image_size": 32}},
    "cpu": {"02": {"batch": 128}, "03": {"batch": 100},
            "04": {"batch": 16, "filters": 32, "blocks": 8, "kernel": 5, "sampled": 16},
            "05": {"batch": 64}, "06": {"batch": 64, "width": 32, "image_size": 32}},
    "gpu": {"02": {"batch": 128}, "03": {"batch": 100},
            "04": {"batch": 64, "filters": 96, "blocks": 10, "kernel": 5, "sampled": 32},
            "05": {"batch": 64}, "06": {"batch": 128, "width": 64, "image_size": 64}},
}
JIT_SETTINGS = ("default", "xla")  # Keras' jit_compile="auto" and jit_compile=True


def default_output() -> Path:
    """``build/bench/bench.json`` in the course checkout."""
    return Path(__file__).resolve().parent.parent / "build" / "bench" / "bench.json"


def _rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _current_rss_mib() -> Optional[float]:
    """Resident set size now, MiB (Linux ``/proc``; ``None`` elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def time_calls(fn: Callable[[], object], *, warmup: int, repeats: int) -> dict:
    """Time ``fn()``: the first call on its own, then ``warmup - 1`` untimed calls, then ``repeats`` timed.

    Returns ``{"first_s", "median_s", "min_s", "max_s", "repeats"}`` (seconds, wall clock).
    """
    if repeats < 1 or warmup < 1:
        raise ValueError(f"repeats and warmup must be >= 1, got repeats={repeats}, warmup={warmup}")
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"first_s": first, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "repeats": repeats}


# --------------------------------------------------------------------------- the lectures' models
def _conv_autoencoder(size: dict, jit):
    """Lecture 02's convolutional autoencoder (28x28x1 -> 4x4x8 code -> 28x28x1), BCE, Adam 1e-3."""
    import keras
    from keras import layers

    x = keras.Input((28, 28, 1))
    h = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
    h = layers.MaxPooling2D(2, padding="same")(h)
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.MaxPooling2D(2, padding="same")(h)
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.MaxPooling2D(2, padding="same")(h)
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.UpSampling2D(2)(h)
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.UpSampling2D(2)(h)
    h = layers.Conv2D(16, 3, activation="relu")(h)
    h = layers.UpSampling2D(2)(h)
    model = keras.Model(x, layers.Conv2D(1, 3, activation="sigmoid", padding="same")(h), name="conv_ae")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", jit_compile=jit)
    images = _binary_images(size["batch"])
    return model, (images, images), images


def _vae(size: dict, jit):
    """Lecture 03's VAE: MLP encoder 512-256 to (mu, logvar) of 32 dimensions, mirrored decoder to logits."""
    import keras
    import tensorflow as tf
    from keras import layers, ops

    from coursekit.divergences import gaussian_kl
    from coursekit.likelihood import bernoulli_nll
    from coursekit.vae import Sampling

    latent, hidden = 32, (512, 256)
    x = keras.Input((28, 28, 1))
    h = layers.Flatten()(x)
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    encoder = keras.Model(x, [layers.Dense(latent)(h), layers.Dense(latent)(h)], name="encoder")
    z = keras.Input((latent,))
    h = z
    for units in reversed(hidden):
        h = layers.Dense(units, activation="relu")(h)
    decoder = keras.Model(z, layers.Reshape((28, 28, 1))(layers.Dense(28 * 28)(h)), name="decoder")

    class VAE(keras.Model):
        def __init__(self):
            super().__init__(name="vae")
            self.encoder, self.decoder, self.sampling = encoder, decoder, Sampling(seed=0)
            self.built = True  # its parts are built functional models

        def call(self, z):  # inference = decoding prior draws to Bernoulli means
            return ops.sigmoid(self.decoder(z))

        def train_step(self, data):
            data = keras.utils.unpack_x_y_sample_weight(data)[0]
            with tf.GradientTape() as tape:
                mu, logvar = self.encoder(data)
                rec = bernoulli_nll(data, self.decoder(self.sampling([mu, logvar])))
                loss = ops.mean(rec + gaussian_kl(mu, logvar))
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            return {"loss": loss}

    model = VAE()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit)
    prior = _normal((size["batch"], latent))
    model(prior)
    return model, (_binary_images(size["batch"]),), prior


def _pixelcnn(size: dict, jit):
    """Lecture 04's residual PixelCNN (binary MNIST), trained by the exact NLL, Adam 1e-3."""
    import keras
    import tensorflow as tf
    from keras import ops

    from coursekit import pixelcnn
    from coursekit.likelihood import bernoulli_nll

    # as in the lecture: TensorFlow's remapper pass fails on the residual additions and says so
    tf.config.optimizer.set_experimental_options({"remapping": False})
    net = pixelcnn.build_pixelcnn((28, 28, 1), levels=2, filters=size["filters"], residual_blocks=size["blocks"],
                                  kernel=size["kernel"])

    class MaximumLikelihood(keras.Model):
        def __init__(self):
            super().__init__(name="pixelcnn_ml")
            self.net = net

        def call(self, images):
            return bernoulli_nll(images, self.net(images))

        def train_step(self, data):
            data = keras.utils.unpack_x_y_sample_weight(data)[0]
            with tf.GradientTape() as tape:
                loss = ops.mean(self(data, training=True))
            grads = tape.gradient(loss, self.net.trainable_weights)
            self.optimizer.apply(grads, self.net.trainable_weights)
            return {"nll": loss}

    model = MaximumLikelihood()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit)
    images = _binary_images(size["batch"])
    model(images)
    return model, (images,), None


def _gan_mnist(size: dict, jit):
    """Lecture 05's GAN: MLP generator 256-512-1024 and discriminator 1024-512-256 (dropout), Adam 2e-4."""
    import keras

    from coursekit.gan.trainer import GAN

    latent = 100
    generator = keras.Sequential([
        keras.Input((latent,)),
        keras.layers.Dense(256), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(512), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(1024), keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(28 * 28, activation="tanh"), keras.layers.Reshape((28, 28, 1)),
    ], name="generator")
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(),
        keras.layers.Dense(1024), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(512), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(256), keras.layers.LeakyReLU(0.2), keras.layers.Dropout(0.3),
        keras.layers.Dense(1),
    ], name="discriminator")
    model = GAN(generator, discriminator, latent, real_label=0.9, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), jit_compile=jit)
    return model, (_binary_images(size["batch"]) * 2.0 - 1.0,), _normal((size["batch"], latent))


def _dcgan(size: dict, jit):
    """Lecture 06's DCGAN (32x32 or 64x64 variant, ``width`` filters), Adam 2e-4, beta_1 0.5."""
    import keras
    from keras import layers

    from coursekit.gan.trainer import GAN

    latent, width, image_size = 128, size["width"], size["image_size"]
    init = keras.initializers.RandomNormal(stddev=0.02)
    channels = [8 * width, 4 * width, 2 * width, width] if image_size == 64 else [4 * width, 2 * width, width]
    z = keras.Input((latent,))
    x = layers.Reshape((1, 1, latent))(z)
    for i, c in enumerate(channels):
        x = layers.Conv2DTranspose(c, 4, strides=1 if i == 0 else 2, padding="valid" if i == 0 else "same",
                                   kernel_initializer=init)(x)
        x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
    x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(
        layers.Conv2D(width, 3, padding="same", kernel_initializer=init)(x)))
    generator = keras.Model(z, layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh",
                                                      kernel_initializer=init)(x), name="generator")
    images = keras.Input((image_size, image_size, 3))
    x = images
    for i, c in enumerate(reversed(channels)):
        x = layers.Conv2D(c, 4, strides=2, padding="same", kernel_initializer=init)(x)
        if i > 0:
            x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
    discriminator = keras.Model(images, layers.Dense(1)(layers.Flatten()(x)), name="discriminator")
    model = GAN(generator, discriminator, latent, real_label=0.9, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), jit_compile=jit)
    real = _normal((size["batch"], image_size, image_size, 3))
    return model, (real / (1.0 + abs(real)),), _normal((size["batch"], latent))  # softsign: inside (-1, 1)


BUILDERS = {"02": _conv_autoencoder, "03": _vae, "04": _pixelcnn, "05": _gan_mnist, "06": _dcgan}


def _binary_images(n: int):
    import numpy as np
    import tensorflow as tf

    return tf.constant((np.random.default_rng(0).random((n, 28, 28, 1)) < 0.13).astype("float32"))


def _normal(shape):
    import numpy as np
    import tensorflow as tf

    return tf.constant(np.random.default_rng(1).standard_normal(shape).astype("float32"))


# --------------------------------------------------------------------------- measuring one lecture
def _params(model) -> int:
    """Trainable parameters (a GAN: generator and discriminator)."""
    import numpy as np

    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def _sampler_speedup(size: dict, warmup: int, repeats: int) -> dict:
    """Naive against cached PixelCNN sampler on ``size["sampled"]`` digits (an untrained network:
    the cost does not depend on the weights)."""
    import keras
    import numpy as np

    from coursekit import pixelcnn

    keras.utils.set_random_seed(0)
    net = pixelcnn.build_pixelcnn((28, 28, 1), levels=2, filters=size["filters"], residual_blocks=size["blocks"],
                                  kernel=size["kernel"])
    n = size["sampled"]
    start = time.perf_counter()
    naive = pixelcnn.sample(net, n, seed=0, method="full", progress=False)
    naive_s = time.perf_counter() - start
    images = []
    timing = time_calls(lambda: images.append(pixelcnn.sample(net, n, seed=0, method="cached")),
                        warmup=warmup, repeats=repeats)
    return {"digits": n, "naive_s": naive_s, "cached_first_s": timing["first_s"], "cached_s": timing["median_s"],
            "cached_min_s": timing["min_s"], "cached_max_s": timing["max_s"],
            "speedup_first_call": naive_s / timing["first_s"], "speedup": naive_s / timing["median_s"],
            "identical": bool(all(np.array_equal(naive, im) for im in images)),
            "samples_per_s": n / timing["median_s"]}


def bench_lecture(lecture: str, *, profile: str = "cpu", warmup: int = 3, repeats: int = 10,
                  sampler: bool = True, settings=JIT_SETTINGS) -> dict:
    """Measure one lecture's main model in this process (see the module docstring).

    Returns a JSON-ready dict: ``lecture``, ``model``, ``parameters``, ``batch``, ``train`` (per
    jit setting: ``first_s``, ``median_s``, ``min_s``, ``max_s``, ``repeats``), ``samples_per_s``
    (per jit setting), ``peak_rss_mib``, ``rss_growth_mib`` and, for lecture 04 with
    ``sampler``, ``sampler`` (see :func:`_sampler_speedup`). ``settings``: which of
    ``"default"`` (Keras' ``jit_compile="auto"``) and ``"xla"`` (``jit_compile=True``) to measure.
    """
    if not settings or any(s not in JIT_SETTINGS for s in settings):
        raise ValueError(f"settings must be some of {JIT_SETTINGS}, got {settings!r}")
    if lecture not in BUILDERS:
        raise ValueError(f"unknown lecture {lecture!r}; choose from {', '.join(LECTURES)}")
    if profile not in SIZES:
        raise ValueError(f"profile must be one of {', '.join(SIZES)}, got {profile!r}")
    import keras
    import numpy as np
    import tensorflow as tf

    from coursekit import pixelcnn

    # new models in one process retrace Keras' step functions; TensorFlow warns about that
    tf.get_logger().setLevel("ERROR")
    size = SIZES[profile][lecture]
    before = _current_rss_mib()
    baseline = before if before is not None else _rss_mib()
    result = {"lecture": lecture, "model": TITLES[lecture], "batch": size["batch"], "size": size,
              "train": {}, "samples_per_s": {}}
    for setting in settings:
        keras.utils.set_random_seed(0)
        model, train_args, sample_input = BUILDERS[lecture](size, "auto" if setting == "default" else True)
        result["parameters"] = _params(model)

        def step():
            logs = model.train_on_batch(*train_args, return_dict=True)
            return float(np.asarray(next(iter(logs.values()))))  # waits for the step to finish
        result["train"][setting] = time_calls(step, warmup=warmup, repeats=repeats)
        if lecture == "04":
            continue  # its samples/s: the cached sampler, the same whatever the train step's jit setting
        n = int(sample_input.shape[0])
        timing = time_calls(lambda: model.predict_on_batch(sample_input), warmup=warmup, repeats=repeats)
        result["samples_per_s"][setting] = n / timing["median_s"]
    if lecture == "04":
        if sampler:
            result["sampler"] = _sampler_speedup(size, warmup, repeats)
            result["samples_per_s"] = {"cached sampler": result["sampler"]["samples_per_s"]}
        else:
            keras.utils.set_random_seed(0)
            net = pixelcnn.build_pixelcnn((28, 28, 1), levels=2, filters=size["filters"],
                                          residual_blocks=size["blocks"], kernel=size["kernel"])
            timing = time_calls(lambda: pixelcnn.sample(net, size["sampled"], seed=0), warmup=warmup, repeats=repeats)
            result["samples_per_s"] = {"cached sampler": size["sampled"] / timing["median_s"]}
    result["peak_rss_mib"] = _rss_mib()
    result["rss_growth_mib"] = result["peak_rss_mib"] - baseline
    return result


# --------------------------------------------------------------------------- the command
def machine() -> dict:
    """What the numbers were measured on: CPUs, load, GPU, library versions."""
    import keras
    import tensorflow as tf

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count(),
            "load_average_1_5_15": [round(x, 2) for x in load] if load else None,
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__}


def _run_isolated(lecture: str, args) -> dict:
    """One lecture in a fresh interpreter (its own peak memory); its JSON comes back on stdout."""
    cmd = [sys.executable, "-m", "coursekit.bench", "--one", lecture, "--profile", args.profile,
           "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    cmd += ["--no-sampler"] if args.no_sampler else []
    cmd += ["--no-xla"] if args.no_xla else []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"benchmark of lecture {lecture} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


def format_table(results: list) -> str:
    """The benchmark as a plain-text table (one row per lecture, then the sampler line)."""
    header = ("lecture", "model", "params", "batch", "step ms, default (min-max)", "step ms, XLA (min-max)",
              "first step s", "samples/s (default)", "peak RSS MiB")
    rows = [header]

    def step(t):
        return "-" if t is None else f"{1e3 * t['median_s']:.1f} ({1e3 * t['min_s']:.1f}-{1e3 * t['max_s']:.1f})"

    for r in results:
        d, x = r["train"].get("default"), r["train"].get("xla")
        first = " / ".join(f"{t['first_s']:.1f}" for t in (d, x) if t is not None)
        rows.append((r["lecture"], r["model"], f"{r['parameters']:,}", str(r["batch"]), step(d), step(x), first,
                     f"{r['samples_per_s'].get('default', max(r['samples_per_s'].values())):,.0f}",
                     f"{r['peak_rss_mib']:,.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        s = r.get("sampler")
        if s:
            lines.append(f"\nPixelCNN sampler, {s['digits']} digits: naive {s['naive_s']:.2f} s; cached "
                         f"{s['cached_first_s']:.2f} s first call ({s['speedup_first_call']:.1f}x), "
                         f"{s['cached_s']:.3f} s later calls ({s['speedup']:.0f}x); identical images: {s['identical']}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m coursekit bench", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    p.add_argument("--one", choices=LECTURES, help=argparse.SUPPRESS)  # internal: one lecture, JSON to stdout
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``bench`` (shared by ``python3 -m coursekit bench`` and ``-m coursekit.bench``)."""
    p.add_argument("--only", nargs="*", default=[], help=f"lectures to measure (default: all of {' '.join(LECTURES)})")
    p.add_argument("--profile", choices=sorted(SIZES), default="cpu", help="model sizes (default: cpu)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (default 10; quick: 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls before timing, the first included "
                                                            "(default 3; quick: 1)")
    p.add_argument("--quick", action="store_true",
                   help="smoke sizes, 1 warm-up, 2 repeats, no XLA variant: checks that it runs")
    p.add_argument("--no-xla", action="store_true", help="measure only Keras' default, not jit_compile=True")
    p.add_argument("--in-process", action="store_true",
                   help="measure every lecture in this process (faster; peak memory is then the running peak)")
    p.add_argument("--no-sampler", action="store_true", help="skip the naive-vs-cached PixelCNN sampler timing")
    p.add_argument("--out", type=Path, default=None, help="JSON file to write (default: build/bench/bench.json)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds allowed per lecture subprocess")


def run(args) -> int:
    """Run the benchmark from parsed arguments; print the table, write the JSON."""
    if args.quick:
        args.profile, args.no_xla = "smoke", True
    args.repeats = args.repeats if args.repeats is not None else (2 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    if args.repeats < 1 or args.warmup < 1:
        raise SystemExit(f"--repeats and --warmup must be >= 1, got {args.repeats} and {args.warmup}")
    unknown = [o for o in args.only if o not in LECTURES]
    if unknown:
        raise SystemExit(f"no benchmark for {unknown}; lectures: {', '.join(LECTURES)}")
    lectures = [lec for lec in LECTURES if not args.only or lec in args.only]
    out = Path(args.out) if args.out else default_output()
    info = machine()
    results = []
    for lecture in lectures:
        print(f"[bench] lecture {lecture}: {TITLES[lecture]} ({args.profile} sizes)", flush=True)
        if args.in_process:
            results.append(bench_lecture(lecture, profile=args.profile, warmup=args.warmup, repeats=args.repeats,
                                         sampler=not args.no_sampler, settings=_settings(args)))
        else:
            results.append(_run_isolated(lecture, args))
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    report = {"machine": info, "load_average_after": [round(x, 2) for x in load_after] if load_after else None,
              "profile": args.profile, "warmup": args.warmup, "repeats": args.repeats, "settings": _settings(args),
              "memory_scope": "process" if args.in_process else "lecture",
              "memory_note": "peak resident set size (getrusage maxrss) of the process that measured the lecture, "
                             "MiB; rss_growth_mib: its growth after importing TensorFlow",
              "results": results}
    print()
    print(format_table(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".partial")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(out)  # a finished report is never replaced by a half-written one
    print(f"\nload average before: {info['load_average_1_5_15']}, after: {report['load_average_after']} "
          f"({info['cpus']} CPUs); JSON: {out}")
    return 0


def _settings(args) -> tuple:
    return ("default",) if args.no_xla else JIT_SETTINGS


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.one:
        result = bench_lecture(args.one, profile=args.profile, warmup=args.warmup or 3, repeats=args.repeats or 10,
                               sampler=not args.no_sampler, settings=_settings(args))
        print(json.dumps(result))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
