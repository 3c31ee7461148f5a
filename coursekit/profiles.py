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

Lecture-specific sizes are written next to the code that uses them with
:meth:`Profile.pick`, e.g. ``EPOCHS = profile.pick(smoke=1, cpu=8, gpu=40)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, TypeVar

T = TypeVar("T")

ENV_VAR = "COURSEKIT_PROFILE"


@dataclass(frozen=True)
class Profile:
    """A named run size. Compare by ``profile.name``."""

    name: str
    description: str
    #: How the profile was chosen: "parameter", "environment" or "hardware".
    chosen_by: str = "parameter"

    @property
    def deterministic(self) -> bool:
        """Whether ops should run deterministically (only in ``smoke``: CI must be repeatable)."""
        return self.name == "smoke"

    def pick(self, *, smoke: T, cpu: T, gpu: T) -> T:
        """Return the value for this profile: ``profile.pick(smoke=1, cpu=8, gpu=40)``."""
        return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[self.name]

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return f"{self.name} ({self.description}; chosen by {self.chosen_by})"


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


def select_profile(requested: Optional[str] = None, *, gpu_available: Optional[bool] = None) -> Profile:
    """Choose the run profile (see the module docstring for the order).

    Args:
        requested: the notebook's ``PROFILE`` parameter; ``None`` or ``""`` means "not set".
        gpu_available: override hardware detection (tests); ``None`` asks TensorFlow.

    Raises:
        ValueError: for a name that is not ``smoke``, ``cpu`` or ``gpu``.
    """
    if requested:
        name = _validate(requested, "the PROFILE parameter")
        return Profile(name, PROFILES[name], "parameter")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        name = _validate(env, f"${ENV_VAR}")
        return Profile(name, PROFILES[name], "environment")
    if gpu_available is None:
        from coursekit.runtime import gpu_names

        gpu_available = bool(gpu_names())
    name = "gpu" if gpu_available else "cpu"
    return Profile(name, PROFILES[name], "hardware")
