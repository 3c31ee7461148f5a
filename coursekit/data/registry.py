"""Registered downloads: URL + SHA-256 in ``data/registry.json``, cached by ``keras.utils.get_file``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from coursekit.data.checks import DataError
from coursekit.paths import cache_dir, shipped_data_dir


@lru_cache(maxsize=1)
def load_registry() -> dict:
    """The dataset registry: ``{name: {"url", "sha256", "licence", "description"}}``."""
    path = shipped_data_dir() / "registry.json"
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read the dataset registry {path}: {err}; restore it from the repository") from err
    return {k: v for k, v in entries.items() if not k.startswith("_")}


def fetch(name: str) -> Path:
    """Download a registered file once, verify its SHA-256, and return its cached path.

    A cached file whose hash matches is used without touching the network; one whose hash
    does not match is downloaded again (``keras.utils.get_file`` does both).

    Raises:
        DataError: unknown name, failed download, or a checksum that still does not match.
    """
    import keras

    registry = load_registry()
    if name not in registry:
        raise DataError(f"no dataset {name!r} in data/registry.json; known: {', '.join(sorted(registry))}")
    entry = registry[name]
    fname = Path(entry["url"]).name
    try:
        path = keras.utils.get_file(
            fname=fname,
            origin=entry["url"],
            file_hash=entry["sha256"],
            cache_dir=str(cache_dir()),
            cache_subdir="datasets",
        )
    except Exception as err:  # get_file raises bare Exception/ValueError
        raise DataError(
            f"could not download {name} from {entry['url']}: {err}. Check the network, or set "
            "COURSEKIT_OFFLINE=1 to use the offline data the course ships"
        ) from err
    return Path(path)
