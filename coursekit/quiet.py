"""TensorFlow without its C++ log noise in a student's notebook.

Importing TensorFlow 2.x prints lines such as::

    I0000 00:00:1795425924.796717 4355 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1795425924.797988 4355 cudart_stub.cc:31] Could not find cuda drivers on your machine ...
    E0000 00:00:1795425928.895667 4355 cuda_platform.cc:52] failed call to cuInit: ... UNKNOWN ERROR (303)

They come from C++ code, before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL`` ("All log messages
before absl::InitializeLog() is called are written to STDERR"), so no environment variable
hides them, and Jupyter shows them in the cell that imports TensorFlow. None of them is an
error: the last one only says that this machine has no usable GPU. During training a few more
harmless ERROR-level lines appear (tf.data's ``use_unbounded_threadpool`` attribute, oneDNN's
``DT_INT32`` fallback), which ``TF_CPP_MIN_LOG_LEVEL=3`` would hide only together with every
real C++ error.

:func:`quiet_tensorflow` therefore filters the process' standard error *by line*: it points
file descriptor 2 at a pipe, and a background thread copies every line to the original standard
error except the known, harmless ones listed in :data:`NOISE` (TensorFlow's INFO/WARNING lines
and a short list of ERROR lines that are not errors). Anything else, a real C++ error
included, is still shown. It also sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless it is set.

One Python warning is dropped too (:class:`KerasRetracingFilter`): TensorFlow's "N out of the
last M calls to <function ...multi_step_on_iterator> triggered tf.function retracing". Keras
makes a new training function for every model it fits, and TensorFlow counts them together, so a
lecture that trains several fresh models in a row (judges, ablations) sees this warning although
nothing retraces needlessly. Retracing warnings about any other function are still shown.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading

_STAMP = r"\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "  # absl: "I0000 00:00:1795425924.796717 4355 port.cc:153] "
_OLD_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: "  # TF's older "2025-01-01 12:00:00.000000: I file.cc:12] "
# an ERROR line in either format (TF 2.20, Colab's, writes these after start-up in the older one)
_E = rf"(?:E{_STAMP}|{_OLD_STAMP}E \S+\] )"

#: Lines that are dropped. Each ERROR-level entry is explained; keep the list short.
NOISE = re.compile(
    r"^(?:"
    rf"[IW]{_STAMP}"  # INFO / WARNING of absl-logging C++ code
    rf"|{_OLD_STAMP}[IW] "  # the same in TF's older format
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .*rebuild TensorFlow"  # CPU instruction-set notice
    # machines without a GPU driver: "no GPU here", not an error (the run card names the device)
    rf"|{_E}failed call to cuInit"
    # CUDA plugins registered twice by TF's own packaging
    rf"|{_E}Unable to register cu(?:DNN|FFT|BLAS) factory"
    # tf.data graphs carry an attribute this TensorFlow build's op definition lacks; no effect
    rf"|{_E}NodeDef mentions attribute use_unbounded_threadpool which is not in the op definition"
    # oneDNN falls back to Eigen for int32 ops on CPUs without AVX-512: slower, same result
    rf"|{_E}oneDNN supports DT_INT32 only on platforms with AVX-512"
    r")"
)

#: Keras' own per-model training/evaluation functions, whose retracing warnings are dropped.
KERAS_STEP_FUNCTIONS = re.compile(r"calls to <function [\w.<>]*\.(?:multi|one)_step_on_(?:iterator|data)\b")


class KerasRetracingFilter(logging.Filter):
    """Drops TensorFlow's retracing warning when it is about Keras' per-model step functions."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and KERAS_STEP_FUNCTIONS.search(message))


_lock = threading.Lock()
_filter_thread = None


def is_noise(line: str) -> bool:
    """Whether one line of standard error is known, harmless TensorFlow log noise."""
    return bool(NOISE.match(line.strip()))


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _pump(read_fd: int, original_fd: int) -> None:
    """Copy lines from the pipe to the original standard error, dropping noise. Never blocks the
    process for good: if anything goes wrong, standard error is handed back unfiltered."""
    pending = b""
    try:
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = [line for line in lines if not is_noise(line.decode("utf-8", errors="replace"))]
            if kept:
                _write_all(original_fd, b"\n".join(kept) + b"\n")
    except Exception:  # pragma: no cover - a broken pipe or a closed descriptor
        try:
            os.dup2(original_fd, 2)
            _write_all(original_fd, pending)
        except OSError:
            pass


def filter_stderr() -> None:
    """Start filtering the process' standard error (file descriptor 2) by line; idempotent."""
    global _filter_thread
    with _lock:
        if _filter_thread is not None and _filter_thread.is_alive():
            return
        sys.stderr.flush()
        original_fd = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        _filter_thread = threading.Thread(target=_pump, args=(read_fd, original_fd), daemon=True,
                                          name="coursekit-stderr-filter")
        _filter_thread.start()


def quiet_tensorflow() -> None:
    """Import TensorFlow (and look for GPUs) with its log noise filtered out of standard error.

    Call it first in a notebook, before anything imports TensorFlow (Keras does). Calling it
    again does no harm. Lines that are not known noise (see :data:`NOISE`) are shown as usual.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    filter_stderr()
    import tensorflow as tf

    tf.config.list_physical_devices("GPU")  # the cuInit message comes with the first device query
    logger = tf.get_logger()
    if not any(isinstance(f, KerasRetracingFilter) for f in logger.filters):
        logger.addFilter(KerasRetracingFilter())
