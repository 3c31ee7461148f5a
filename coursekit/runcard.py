"""The run card: the first cell of every notebook says what produced its outputs, the last
cell records wall time and the headline metric.

The course runner (``python -m coursekit run``) sets ``COURSEKIT_RUNCARD_DIR`` and reads the
JSON files written by :meth:`RunCard.finish` to print its summary table.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from coursekit.profiles import Profile

RUNCARD_DIR_ENV = "COURSEKIT_RUNCARD_DIR"


def runcard_dir() -> Path:
    """Where finished run cards are written (``$COURSEKIT_RUNCARD_DIR`` or the cache)."""
    env = os.environ.get(RUNCARD_DIR_ENV)
    if env:
        path = Path(env)
    else:
        from coursekit.paths import cache_dir

        path = cache_dir() / "runcards"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class RunCard:
    """What a notebook run was: profile, seed, device, versions, data, time, headline metric."""

    notebook: str
    profile: Profile
    seed: int
    device: str
    versions: dict
    data: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    path: Optional[Path] = None

    def add_data(self, provenance: str) -> None:
        """Record one line of data provenance (loaders return it as ``.provenance``)."""
        self.data.append(provenance)
        print(f"data      : {provenance}")

    def show(self) -> None:
        """Print the card (the first cell of every notebook calls this)."""
        print(f"notebook  : {self.notebook}")
        print(f"profile   : {self.profile.name} - {self.profile.description} (chosen by {self.profile.chosen_by})")
        print(f"seed      : {self.seed} (deterministic ops: {self.profile.deterministic})")
        print(f"device    : {self.device}")
        print("versions  : " + ", ".join(f"{k} {v}" for k, v in self.versions.items()))
        for line in self.data:
            print(f"data      : {line}")

    def finish(self, metric: str, value: float, unit: str = "", reference: Optional[str] = None) -> None:
        """Record wall time and the headline metric; write them as JSON for the runner.

        Args:
            metric: what was measured, e.g. ``"held-out NLL"``.
            value: the measured number (finite).
            unit: e.g. ``"nats"``.
            reference: what to compare it with, e.g. ``"true density: 1.82 nats"``.

        The JSON file's path is kept in ``self.path``.
        """
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"headline metric {metric!r} is not finite ({value}); the run did not produce a usable result")
        wall = time.perf_counter() - self.started
        record = {
            "notebook": self.notebook,
            "profile": self.profile.name,
            "seed": self.seed,
            "device": self.device,
            "versions": self.versions,
            "data": self.data,
            "wall_time_s": round(wall, 1),
            "metric": metric,
            "value": value,
            "unit": unit,
            "reference": reference,
        }
        self.path = runcard_dir() / f"{self.notebook}.json"
        self.path.write_text(json.dumps(record, indent=2))
        ref = f" (reference: {reference})" if reference else ""
        print(f"wall time : {wall:.1f} s in profile {self.profile.name} on {self.device}")
        print(f"headline  : {metric} = {value:.4g} {unit}{ref}")


def start_run(notebook: str, profile: Profile, seed: int = 0) -> RunCard:
    """Seed everything, then build and print the run card. Call it right after the parameters cell.

    Args:
        notebook: the notebook's stem, e.g. ``"01_likelihood_kl"``.
        profile: from :func:`coursekit.profiles.select_profile`.
        seed: the notebook's ``SEED`` parameter.
    """
    from coursekit.runtime import device_description, library_versions
    from coursekit.seeding import seed_everything

    seed_everything(seed, deterministic=profile.deterministic)
    card = RunCard(notebook, profile, seed, device_description(), library_versions())
    card.show()
    return card
