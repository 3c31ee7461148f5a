"""Folders the course writes to. Nothing is written inside the repository except ``build/``.

A folder that cannot be written (read-only, full, no permission) raises
:class:`UnwritableFolderError`, whose message names the folder, what moves it
(``COURSEKIT_CACHE``) and what still works without it, instead of a bare ``OSError`` from deep inside.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ENV = "COURSEKIT_CACHE"


class UnwritableFolderError(OSError):
    """A folder the course needs to write to is read-only, full or not permitted. The message says the fix."""


def _unwritable(path: Path, err: OSError, purpose: str, without: str, fix: str | None = None) -> UnwritableFolderError:
    why = err.strerror or str(err)
    fix = fix or (f"Set {CACHE_ENV} to a writable folder with free space (e.g. {CACHE_ENV}=/tmp/coursekit-cache), "
                  "or free some space there")
    return UnwritableFolderError(f"cannot write {purpose} to {path} ({why}). {fix}; {without}")


def writable_dir(path, *, purpose: str, without: str, fix: str | None = None) -> Path:
    """Create ``path`` if needed, check a file can be written in it, and return it.

    Args:
        path: the folder.
        purpose: what goes there, for the message (e.g. ``"training runs"``).
        without: what still works without it, for the message.
        fix: how to move or free the folder (default: set ``COURSEKIT_CACHE``, a cache folder).

    Raises:
        UnwritableFolderError: the folder cannot be created or written.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise _unwritable(path, err, purpose, without, fix) from err
    return path


def cache_dir() -> Path:
    """Root of downloads and training runs: ``$COURSEKIT_CACHE`` or ``~/.cache/coursekit``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "coursekit"
    path = Path(root).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _unwritable(path, err, "the course cache (downloads and training runs)",
                          "the offline data and untrained cells work without it") from err
    return path


def runs_dir() -> Path:
    """Where training runs keep checkpoints, weights and histories.

    ``runs`` in the cache; ``runs-tiny`` in a tiny gpu run (``$COURSEKIT_TINY``, see
    :mod:`coursekit.profiles`), so a full ``gpu`` run never loads or resumes a toy one.
    """
    from coursekit.profiles import tiny_requested

    path = cache_dir() / ("runs-tiny" if tiny_requested() else "runs")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _unwritable(path, err, "training runs", "nothing can be trained and kept without it") from err
    return path


def display_path(path) -> str:
    """A path as a student should read it, without this machine's details.

    ``$COURSEKIT_CACHE/runs/NAME`` when ``$COURSEKIT_CACHE`` is set and holds the path, else
    relative to the course checkout (``build/...``), else ``~/...`` under the home folder
    (``~/.cache/coursekit/runs/NAME``), else the path itself.
    """
    path = Path(path).expanduser()
    resolved = path.resolve()
    env = os.environ.get(CACHE_ENV)
    candidates = [(Path(env).expanduser().resolve(), f"${CACHE_ENV}")] if env else []
    candidates += [(repo_root(), None), (Path.home().resolve(), "~")]
    for root, label in candidates:
        try:
            rel = resolved.relative_to(root)
        except ValueError:
            continue
        if label is None:
            return rel.as_posix() or "."
        return label if rel == Path(".") else f"{label}/{rel.as_posix()}"
    return str(path)


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
