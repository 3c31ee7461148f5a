"""Where the code runs: Colab or not, GPU or not, network or not, which library versions."""

from __future__ import annotations

import os
import platform
import socket
import sys
from functools import lru_cache

OFFLINE_ENV = "COURSEKIT_OFFLINE"


def in_colab() -> bool:
    """True inside a Google Colab kernel."""
    return "google.colab" in sys.modules


@lru_cache(maxsize=1)
def gpu_names() -> tuple:
    """Names of the GPUs TensorFlow can see (empty tuple on a CPU-only machine)."""
    import tensorflow as tf

    return tuple(d.name for d in tf.config.list_physical_devices("GPU"))


def device_description() -> str:
    """One line naming the hardware, e.g. ``CPU x2 (x86_64)`` or ``GPU: Tesla T4``."""
    gpus = gpu_names()
    if gpus:
        try:
            import tensorflow as tf

            details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
            label = details.get("device_name", gpus[0])
        except Exception:  # pragma: no cover - depends on drivers
            label = gpus[0]
        return f"GPU: {label} (x{len(gpus)})"
    return f"CPU x{os.cpu_count()} ({platform.machine()}), no GPU"


def offline_forced() -> bool:
    """Whether ``COURSEKIT_OFFLINE`` switches downloads off (``1``, ``true`` or ``yes``)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes"}


def network_allowed(timeout: float = 1.5) -> bool:
    """Whether downloads should be attempted.

    ``COURSEKIT_OFFLINE=1`` forces offline (CI and the course runner set it),
    ``COURSEKIT_OFFLINE=0`` forces online; otherwise a short TCP probe decides (it only
    connects; every download has its own timeout, see ``coursekit.data.registry``).
    """
    flag = os.environ.get(OFFLINE_ENV, "").strip().lower()
    if offline_forced():
        return False
    if flag in {"0", "false", "no"}:
        return True
    try:
        with socket.create_connection(("storage.googleapis.com", 443), timeout=timeout):
            return True
    except OSError:
        return False


def library_versions() -> dict:
    """Versions of the libraries a run card reports."""
    import keras
    import numpy
    import tensorflow as tf

    from coursekit import __version__

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "coursekit": __version__,
    }
