"""How much training a lecture's profile does, counted from its sizes: the header's `gpu` row.

Colab users with a GPU get the `gpu` profile by default, and no GPU has run the later lectures
yet, so their header cannot state a measured time for it. It states what *can* be known without
one: how many training steps (batches) the profile runs, counted from the sizes the lecture's own
parameter cell gives it (``EPOCHS = profile.resolve("EPOCHS", EPOCHS, cpu=20, gpu=30, ...)``,
read from the ``.py`` by :func:`profile_sizes` without running anything), beside the same count
for the `cpu` profile, whose wall time the header states as measured. A count of steps is not a
time: a GPU runs a step of a large network far faster than a CPU, and a step of a tiny one
hardly faster, so the text never turns the ratio into minutes.

Each lecture whose `gpu` row is generated declares its training runs in :data:`WORKLOADS`: what
is trained and how many steps each run takes, as an arithmetic expression over the names of the
lecture's parameter cell (and a few data sizes that only loading the data would tell, given per
profile). Only the generative models are counted; the judges' and scorers' few epochs are not.
:func:`gpu_time_cell` formats the row; :func:`coursekit.runcard.write_time_tables` writes it
(``python -m coursekit times``) and :func:`coursekit.runcard.time_table_problems` reports a stale
one.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, field
from typing import Mapping, Optional

PROFILES = ("smoke", "cpu", "gpu")


@dataclass(frozen=True)
class Training:
    """One training run (or ``copies`` alike) of a lecture.

    Args:
        what: what is trained, as the header shows it (``"3 MNIST cGANs"``); a ``str.format``
            template over the sizes of the profile counted (``"{N_SEEDS} seeds"``).
        steps: training steps (batches) of one copy, an expression over the lecture's sizes and
            its :attr:`Workload.data` (``"EPOCHS * ceil(MNIST_TRAIN / BATCH_SIZE)"``).
        copies: how many runs alike, an expression too (``"4 * 2 * N_SEEDS"``; a bool counts 1/0).
    """

    what: str
    steps: str
    copies: str = "1"


@dataclass(frozen=True)
class Workload:
    """A lecture's training runs, the data sizes they need per profile, and what its networks are.

    Args:
        runs: the training runs.
        data: ``{name: {profile: size}}`` for sizes known only once the data is loaded.
        networks: a ``str.format`` template over the sizes describing the networks
            (``"{IMAGE_SIZE}-pixel networks of width {WIDTH}"``).
        note: what the `gpu` count assumes (``"online: all 60,000 MNIST digits"``), or ``""``.
    """

    runs: tuple
    data: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    networks: str = ""
    note: str = ""


_MNIST_ONLINE = {"smoke": 600, "cpu": 4000, "gpu": 60000}  # gpu: all 60,000 when online, else the offline 4,000

#: The declared lectures. Keep each in step with its notebook: a test evaluates every expression
#: against the lecture's ``.py``, so a renamed or removed size fails there.
WORKLOADS = {
    "07_conditional_gan": Workload(
        runs=(Training("3 MNIST cGANs", "EPOCHS * ceil(MNIST_TRAIN / BATCH_SIZE)", "3"),
              Training("face cGAN", "FACE_EPOCHS * ceil(N_FACES * 20 / 24 / BATCH_SIZE)")),
        data={"MNIST_TRAIN": _MNIST_ONLINE},
        networks="{IMAGE_SIZE}-pixel faces, width {WIDTH}",
        note="online (offline the MNIST GANs keep the 4,000 digits)"),
    "08_image_translation": Workload(
        runs=(Training("pix2pix", "EPOCHS * (N_TRAIN // 2 // BATCH_SIZE)"),
              Training("3 face CycleGANs", "EPOCHS * (N_TRAIN // 2 // BATCH_SIZE)", "3"),
              Training("2 digit CycleGANs", "DIGIT_EPOCHS * (DIGITS_B // BATCH_SIZE)", "2"),
              Training("sketch CycleGAN", "SKETCH_EPOCHS * (N_TRAIN // 2 // BATCH_SIZE)"),
              Training("horse2zebra CycleGAN", "PHOTO_EPOCHS * (HORSES // BATCH_SIZE)", "PHOTOS")),
        data={"DIGITS_B": {"smoke": 1497, "cpu": 1497, "gpu": 1497}, "HORSES": {"smoke": 1067, "cpu": 1067,
                                                                             "gpu": 1067}},
        networks="{IMAGE_SIZE}-pixel faces, U-Nets of width {WIDTH} and depth {DEPTH}",
        note="the horse2zebra photos (128 pixels) only online"),
    "09_failure_modes": Workload(
        runs=(Training("3 demonstration GANs", "STEPS", "3"),
              Training("4 methods x 2 mixtures x {N_SEEDS} seeds", "STEPS", "4 * 2 * N_SEEDS")),
        networks="the same 2-D MLPs (width {WIDTH}, batch {BATCH_SIZE}) in both profiles"),
    "09b_stacked_mnist": Workload(
        runs=(Training("DCGAN and PacGAN2", "EPOCHS * (N_STACKED // BATCH_SIZE)", "2"),
              Training("WGAN-GP (5 critic updates a step)", "WGAN_EPOCHS * (N_STACKED // BATCH_SIZE)"),
              Training("MNIST VAE and GAN", "MNIST_EPOCHS * ceil(MNIST_TRAIN / BATCH_SIZE)", "2")),
        data={"MNIST_TRAIN": _MNIST_ONLINE},
        networks="the same networks (width {WIDTH}) in both profiles",
        note="online (offline, the stacked images and the MNIST VAE and GAN are built from the 4,000 offline "
             "digits)"),
    "10_normalizing_flows": Workload(
        runs=(Training("6 2-D flows", "EPOCHS_2D * ceil(10000 / 250)", "6"),
              Training("MNIST flow", "EPOCHS * ceil(N_TRAIN / BATCH_SIZE)")),
        networks="an MNIST flow of {STEPS_PER_SCALE} steps a scale, {HIDDEN} filters",
        note="online (offline the flow keeps the 4,000 digits)"),
    "11_diffusion": Workload(
        runs=(Training("4 2-D noise predictors", "STEPS_2D", "4"),
              Training("MNIST U-Net", "EPOCHS * ceil(N_TRAIN / BATCH_SIZE)")),
        networks="a U-Net of widths {WIDTHS} on {PATCH}x{PATCH} patches",
        note="online (offline the U-Net keeps the 4,000 digits)"),
}


# --------------------------------------------------------------------------- sizes from the .py
def _literal(node, sizes: dict):
    """The value of a keyword argument: a constant, or a name given earlier; else ``None`` (unknown)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return sizes.get(node.id)
    try:
        return ast.literal_eval(node)  # 25_600, -1, (32, 64)
    except (ValueError, TypeError, SyntaxError):
        return None


def profile_sizes(py_text: str, profile: str) -> dict:
    """The sizes a lecture's ``.py`` gives ``profile``, read from its top-level assignments.

    ``NAME = <constant>`` sets ``NAME``; ``NAME = profile.resolve(..., gpu=V, ...)`` and
    ``profile.pick(..., gpu=V)`` set it to ``V`` (a constant, or a name assigned before); later
    assignments of other kinds (``check_parameter(...)``) leave it as it was. Nothing is run.

    Returns:
        ``{name: value}``; a value the file gives only as an expression (``stacked.PROTOCOL_SAMPLES``) is ``None``.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    sizes: dict = {}
    for node in ast.parse(py_text).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Constant):
            sizes[name] = value.value
        elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
              and value.func.attr in ("resolve", "pick") and isinstance(value.func.value, ast.Name)
              and value.func.value.id == "profile"):
            given = {k.arg: k.value for k in value.keywords}
            sizes[name] = _literal(given[profile], sizes) if profile in given else None
    return sizes


# --------------------------------------------------------------------------- counting
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv}


def evaluate(expression: str, names: Mapping[str, object]) -> float:
    """An arithmetic expression (``+ - * / //``, ``ceil(...)``, numbers, names) over ``names``.

    Raises:
        KeyError: a name the lecture does not define for this profile (or defines as ``None``).
        ValueError: anything else than that arithmetic.
    """
    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            value = names.get(node.id)
            if value is None or (not isinstance(value, (int, float))):
                raise KeyError(f"{node.id!r} in {expression!r} is not a number for this profile "
                               f"(got {value!r}); the lecture's sizes are {sorted(names)}")
            return int(value) if isinstance(value, bool) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ceil"
                and len(node.args) == 1 and not node.keywords):
            return math.ceil(walk(node.args[0]))
        raise ValueError(f"{expression!r}: only + - * / //, ceil(), numbers and names are allowed")

    return walk(ast.parse(expression, mode="eval"))


def count_steps(workload: Workload, py_text: str, profile: str) -> list:
    """``[(what, steps of all its copies)]`` for ``profile``, in the order of ``workload.runs``."""
    names = {**profile_sizes(py_text, profile),
             **{k: v[profile] for k, v in workload.data.items() if profile in v}}
    return [(run.what.format(**names), int(evaluate(run.copies, names)) * int(evaluate(run.steps, names)))
            for run in workload.runs]


def about(n: float) -> str:
    """``n`` to two significant figures, with thousands separators (``90,945`` -> ``91,000``)."""
    n = int(n)
    if n < 100:
        return f"{n:,}"
    digits = len(str(n)) - 2
    return f"{round(n, -digits):,}"


def gpu_time_cell(stem: str, py_text: str) -> Optional[str]:
    """The header's `gpu` time cell for a declared lecture (``None``: not declared in :data:`WORKLOADS`)."""
    workload = WORKLOADS.get(stem)
    if workload is None:
        return None
    gpu, cpu = count_steps(workload, py_text, "gpu"), count_steps(workload, py_text, "cpu")
    total_gpu, total_cpu = sum(s for _, s in gpu), sum(s for _, s in cpu)
    parts = ", ".join(f"{what} {about(steps)}" for what, steps in gpu if steps)
    nets = {p: workload.networks.format(**{k: v for k, v in profile_sizes(py_text, p).items()})
            for p in ("gpu", "cpu")}
    networks = nets["gpu"] if nets["gpu"] == nets["cpu"] else f"{nets['gpu']} (cpu: {nets['cpu']})"
    ratio = total_gpu / total_cpu
    times = f"{ratio:.1f}".rstrip("0").rstrip(".") if ratio < 10 else f"{ratio:.0f}"  # 3.5 times, 5 times, 46 times
    # the time warning: Colab picks gpu by itself on a GPU runtime, and a GPU's speed-up on these small
    # networks is not measured, so the reader is told the size of the job and the lighter choice
    warning = (f"a long run: {times} times the training of the published cpu run, on a GPU whose speed-up "
               f"is not measured here; `PROFILE = \"cpu\"` gives the published run" if ratio >= 2 else "")
    return "; ".join(part for part in (
        "not measured on a GPU",
        f"counted from its sizes: about {about(total_gpu)} training steps of the generative models ({parts}), "
        f"{times} times the cpu profile's {about(total_cpu)}",
        networks, workload.note, warning) if part)
