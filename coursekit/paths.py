"""Folders the course writes to. Nothing is written inside the repository except ``build/``."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "COURSEKIT_CACHE"


def cache_dir() -> Path:
    """Root of downloads and training runs: ``$COURSEKIT_CACHE`` or ``~/.cache/coursekit``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "coursekit"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Where training runs keep checkpoints, weights and histories."""
    path = cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    """The course checkout that holds this package (it has ``data/`` and ``notebooks/``)."""
    return Path(__file__).resolve().parent.parent


def shipped_data_dir() -> Path:
    """The repository's ``data/`` folder of small shipped assets."""
    path = repo_root() / "data"
    if not path.is_dir():
        raise FileNotFoundError(
            f"the course's data/ folder was not found at {path}; coursekit must be used from a "
            "checkout of the course repository (pip install -e <checkout>), not a bare wheel"
        )
    return path
