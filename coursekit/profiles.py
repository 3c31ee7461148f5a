"""Run profiles: one place decides how big a run is.

Three profiles exist:

========  ====================================================================
``smoke``  CI: every notebook finishes in well under two minutes on 2 CPU cores.
           Numbers are not meaningful; the code paths are exercised. Ops run
           deterministically.
``cpu``    default when no GPU is visible: minutes per notebook on a laptop,
           with results that still teach something.
``gpu``    default when a GPU is visible (Colab): full-size training.
========  ====================================================================

How a profile is chosen, first match wins:

1. the ``PROFILE`` value of the notebook's papermill ``parameters`` cell (``None`` = not set);
2. the environment variable ``COURSEKIT_PROFILE`` (for runners that inject no parameters,
   such as nbval);
3. the hardware: ``gpu`` if TensorFlow sees a GPU, else ``cpu``.

Lecture-specific sizes are written next to the code that uses them. A notebook parameter
that defaults to the profile's value is read with :meth:`Profile.resolve`, which keeps the
user's explicit value (``0`` and ``False`` included) and checks its type and range:
``EPOCHS = profile.resolve("EPOCHS", EPOCHS, smoke=1, cpu=8, gpu=40, low=1)``.
Plain sizes that are no parameter use :meth:`Profile.pick`.

Tiny gpu runs (CI for the ``gpu`` code paths)
-------------------------------------------------
``COURSEKIT_TINY=1`` (what ``python3 -m coursekit run --tiny`` and the test suite set) runs the
``gpu`` profile with toy sizes: ``profile.name`` stays ``"gpu"``, so every ``gpu`` branch runs
(64-pixel networks, width 64, depth 4, the online data sets, which fall back to the offline data
when the network is not allowed), but the *sizes* shrink to what ``tiny=`` says. Each lecture
classifies its values:

- **a size** (training examples, epochs, steps, seeds, samples drawn or scored, grid sizes):
  pass ``tiny=``, a value that keeps the cell meaningful as code (usually the ``smoke`` value):
  ``EPOCHS = profile.resolve("EPOCHS", EPOCHS, smoke=1, cpu=8, gpu=40, tiny=1, low=1)``;
- **an architecture or code-path choice** (image size, width, depth, filters, a data source,
  whether a branch runs): pass no ``tiny=``; the tiny run takes the ``gpu`` value.

A user's explicit value still wins. Outside tiny runs ``tiny=`` is ignored, so adding it never
changes a ``smoke``, ``cpu`` or ``gpu`` run. Tiny runs keep their saved runs apart
(:func:`coursekit.paths.runs_dir` is ``runs-tiny``), so a full ``gpu`` run never loads or resumes
a toy one. Their numbers mean nothing; only that every cell runs is checked
(``tests/test_notebooks.py::test_runs_in_tiny_gpu_profile``, each lecture within about a minute on
2 CPU cores). ``COURSEKIT_TINY=1`` with ``PROFILE = "smoke"`` or ``"cpu"`` is an error.

A new lecture: give every size in its parameter cell (and every ``profile.pick`` of a size) a
``tiny=`` value, run ``python3 -m coursekit run --tiny --only NN --from-py`` and keep it
near a minute.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

T = TypeVar("T")

ENV_VAR = "COURSEKIT_PROFILE"
#: ``1``: run the ``gpu`` profile at toy sizes (see "Tiny gpu runs" above)
TINY_ENV = "COURSEKIT_TINY"
TINY_DESCRIPTION = "gpu code paths and architectures at toy sizes (CI), numbers not meaningful"


class _Unset:
    """Marks ``tiny=`` as not given (``None`` is a real value: "all of them")."""

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return "<the gpu value>"


_UNSET: Any = _Unset()


def tiny_requested() -> bool:
    """Whether ``$COURSEKIT_TINY`` asks for a tiny gpu run (``1``, ``true`` or ``yes``)."""
    return os.environ.get(TINY_ENV, "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Profile:
    """A named run size. Compare by ``profile.name``."""

    name: str
    description: str
    #: How the profile was chosen: "parameter", "environment" or "hardware".
    chosen_by: str = "parameter"
    #: A tiny gpu run: ``gpu`` architectures and code paths, sizes from ``tiny=`` (module docstring).
    tiny: bool = False

    @property
    def deterministic(self) -> bool:
        """Whether ops should run deterministically (only in ``smoke``: CI must be repeatable)."""
        return self.name == "smoke"

    def pick(self, *, smoke: T, cpu: T, gpu: T, tiny: Any = _UNSET) -> T:
        """Return the value for this profile: ``profile.pick(smoke=1, cpu=8, gpu=40, tiny=1)``.

        ``tiny``: the value of a tiny gpu run, given for sizes only; without it a tiny run takes
        ``gpu`` (an architecture or code-path choice). Ignored outside tiny runs.
        """
        if self.tiny and tiny is not _UNSET:
            return tiny
        return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[self.name]

    def resolve(self, name: str, value: Any, *, smoke: Any, cpu: Any, gpu: Any, tiny: Any = _UNSET,
                kind: type = int, low: Optional[float] = None, high: Optional[float] = None,
                above: Optional[float] = None, choices: Optional[tuple] = None) -> Any:
        """A notebook parameter: the user's ``value`` unless it is ``None``, else this profile's.

        An explicit value always wins, ``0`` and ``False`` included (``X = X or profile.pick(...)``
        would silently replace them). It is checked first, so a bad value fails where it is read,
        with the parameter's name, instead of deep inside training.

        Args:
            name: the parameter's name as the notebook spells it, e.g. ``"EPOCHS_DENSE"``.
            value: the parameter's current value; ``None`` = "from the profile".
            smoke, cpu, gpu: the profile defaults (a default may be ``None``, e.g. "all digits").
            tiny: the default of a tiny gpu run, for sizes (see :meth:`pick`).
            kind: ``int``, ``float``, ``bool`` or ``str``.
            low, high: inclusive bounds of a number.
            above: exclusive lower bound (``above=0``: positive), e.g. a learning rate.
            choices: the only values allowed, e.g. ``(32, 64)``.

        Returns:
            ``value`` if it is not ``None``, else ``self.pick(smoke=smoke, cpu=cpu, gpu=gpu, tiny=tiny)``.

        Raises:
            TypeError: the value has the wrong type, e.g. ``EPOCHS_DENSE = "ten"``.
            ValueError: the value is out of range, e.g. ``EPOCHS = 0`` with ``low=1``.

        >>> select_profile("cpu").resolve("EPOCHS", None, smoke=1, cpu=8, gpu=40)
        8
        >>> select_profile("cpu").resolve("WARMUP_STEPS", 0, smoke=5, cpu=100, gpu=100, low=0)
        0
        """
        default = self.pick(smoke=smoke, cpu=cpu, gpu=gpu, tiny=tiny)
        if value is None:
            return default
        shown = f"{self.name}, tiny" if self.tiny else self.name
        hint = f"set it to None for the profile's value ({default!r} in profile {shown})"
        return check_parameter(name, value, kind=kind, low=low, high=high, above=above, choices=choices, hint=hint)

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return f"{self.name}{' (tiny)' if self.tiny else ''} ({self.description}; chosen by {self.chosen_by})"


_KIND_WORDS = {int: "an integer", float: "a number", bool: "True or False", str: "a string"}


def check_parameter(name: str, value: Any, *, kind: type = int, low: Optional[float] = None,
                    high: Optional[float] = None, above: Optional[float] = None, choices: Optional[tuple] = None,
                    hint: str = "") -> Any:
    """Check one notebook parameter's type and range; return it (ints and floats as Python numbers).

    Args:
        name: the parameter's name, used in the error message.
        value: the value to check (not ``None``).
        kind: ``int`` (``True``/``False`` are refused), ``float`` (ints accepted, must be finite),
            ``bool`` or ``str``.
        low, high: inclusive bounds for ``int`` and ``float``.
        above: exclusive lower bound (``above=0``: must be positive, e.g. ``LEARNING_RATE``).
        choices: the only values allowed.
        hint: appended to the error message, e.g. how to get the default back.

    Raises:
        TypeError, ValueError: naming the parameter, the value and the fix.
    """
    if kind not in _KIND_WORDS:
        raise ValueError(f"kind must be one of int, float, bool, str; got {kind!r}")
    tail = f"; {hint}" if hint else ""
    is_bool = isinstance(value, bool) or (type(value).__module__ == "numpy"
                                          and type(value).__name__ in ("bool", "bool_"))
    if kind is bool:
        ok = is_bool
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not is_bool
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not is_bool
    else:
        ok = isinstance(value, str)
    if not ok:
        raise TypeError(f"{name} must be {_KIND_WORDS[kind]}, got {value!r}{tail}")
    if kind is int:
        value = int(value)
    elif kind is float:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}{tail}")
    elif kind is bool:
        value = bool(value)
    if kind in (int, float):
        if above is not None and not value > above:
            raise ValueError(f"{name} must be > {above}, got {value!r}{tail}")
        if low is not None and value < low:
            raise ValueError(f"{name} must be >= {low}, got {value!r}{tail}")
        if high is not None and value > high:
            raise ValueError(f"{name} must be <= {high}, got {value!r}{tail}")
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}{tail}")
    return value


PROFILES = {
    "smoke": "CI size, seconds per model, numbers not meaningful",
    "cpu": "laptop CPU size, minutes per notebook",
    "gpu": "full size for a GPU such as Colab's",
}


def _validate(name: str, source: str) -> str:
    key = str(name).strip().lower()
    if key not in PROFILES:
        raise ValueError(
            f"unknown run profile {name!r} (from {source}); choose one of "
            f"{', '.join(repr(p) for p in PROFILES)}"
        )
    return key


def select_profile(requested: Optional[str] = None, *, gpu_available: Optional[bool] = None,
                   tiny: Optional[bool] = None) -> Profile:
    """Choose the run profile (see the module docstring for the order).

    Args:
        requested: the notebook's ``PROFILE`` parameter; ``None`` or ``""`` means "not set".
        gpu_available: override hardware detection (tests); ``None`` asks TensorFlow.
        tiny: a tiny gpu run; ``None`` reads ``$COURSEKIT_TINY``. A tiny run is always ``gpu``:
            with no profile requested it is chosen without asking the hardware.

    Raises:
        ValueError: for a name that is not ``smoke``, ``cpu`` or ``gpu``, or a tiny run asked
            for in profile ``smoke`` or ``cpu``.
    """
    tiny = tiny_requested() if tiny is None else bool(tiny)
    if requested:
        name, chosen_by = _validate(requested, "the PROFILE parameter"), "parameter"
    elif os.environ.get(ENV_VAR, "").strip():
        name, chosen_by = _validate(os.environ[ENV_VAR], f"${ENV_VAR}"), "environment"
    elif tiny:
        name, chosen_by = "gpu", "environment"
    else:
        if gpu_available is None:
            from coursekit.runtime import gpu_names

            gpu_available = bool(gpu_names())
        name, chosen_by = ("gpu" if gpu_available else "cpu"), "hardware"
    if tiny and name != "gpu":
        raise ValueError(f"${TINY_ENV}=1 shrinks the gpu profile, but profile {name!r} was chosen "
                         f"(by {chosen_by}); unset {TINY_ENV} or use profile 'gpu'")
    return Profile(name, TINY_DESCRIPTION if tiny else PROFILES[name], chosen_by, tiny=tiny)
