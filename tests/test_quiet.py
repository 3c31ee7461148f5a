"""coursekit.quiet: TensorFlow's known log noise leaves standard error, everything else stays."""

import os
import subprocess
import sys

import pytest

from coursekit.notebooks import text_problems
from coursekit.quiet import is_noise

NOISE_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795425924.796717    4355 port.cc:153] oneDNN custom operations are on. You may see ...",
    "I0000 00:00:1795425924.797988    4355 cudart_stub.cc:31] Could not find cuda drivers on your machine.",
    "E0000 00:00:1795425928.895667    4355 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    "E0000 00:00:1796115646.292809   19066 node_def_util.cc:682] NodeDef mentions attribute "
    "use_unbounded_threadpool which is not in the op definition: Op<name=MapDataset>",
    "E0000 00:00:1796115664.944521   19066 util.cc:131] oneDNN supports DT_INT32 only on platforms with AVX-512.",
    "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda drivers",
    # TensorFlow 2.20 (Colab's) writes its ERROR lines in the older format (python3 -m coursekit colab-check)
    "2026-12-01 09:21:37.866814: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] failed call to "
    "cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "2026-12-01 09:25:20.082786: E tensorflow/core/framework/node_def_util.cc:680] NodeDef mentions attribute "
    "use_unbounded_threadpool which is not in the op definition: Op<name=MapDataset>",
    "2026-12-01 09:30:45.662587: E tensorflow/core/util/util.cc:131] oneDNN supports DT_INT32 only on platforms "
    "with AVX-512. Falling back to the default Eigen-based implementation if present.",
]
KEPT_LINES = [
    "E0000 00:00:1795425928.895667    4355 some_kernel.cc:12] Out of memory while trying to allocate 8 GB",
    "Traceback (most recent call last):",
    "F0000 00:00:1795425928.895667    4355 check.cc:1] Check failed: x > 0",
    "2026-12-01 09:25:20.082786: E tensorflow/core/common_runtime/bfc_allocator.cc:1] Out of memory",
]


@pytest.mark.parametrize("line", NOISE_LINES)
def test_known_noise_is_recognised(line):
    assert is_noise(line)


@pytest.mark.parametrize("line", KEPT_LINES)
def test_real_errors_are_kept(line):
    assert not is_noise(line)


def test_filter_drops_noise_and_keeps_the_rest():
    """C-level writes to file descriptor 2, as TensorFlow's C++ code makes them."""
    payload = ("\n".join(NOISE_LINES + KEPT_LINES) + "\n").encode()
    script = (
        "import os, sys, time\n"
        "from coursekit.quiet import filter_stderr\n"
        "filter_stderr()\n"
        f"os.write(2, {payload!r})\n"
        "time.sleep(0.3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == KEPT_LINES


def test_importing_tensorflow_quietly_prints_nothing():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    script = ("from coursekit.quiet import quiet_tensorflow\nquiet_tensorflow()\n"
              "import tensorflow as tf\nprint(tf.reduce_sum(tf.ones(3)).numpy())\nimport time; time.sleep(0.3)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3.0"
    assert text_problems(proc.stderr) == [], proc.stderr


def _record(message: str):
    import logging

    return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)


def test_keras_retracing_warning_is_dropped_and_others_kept():
    from coursekit.quiet import KerasRetracingFilter

    keep = KerasRetracingFilter().filter
    keras_fit = ("5 out of the last 14 calls to <function TensorFlowTrainer._make_function.<locals>."
                 "multi_step_on_iterator at 0x7fdf446c7060> triggered tf.function retracing. Tracing is expensive")
    keras_eval = keras_fit.replace("multi_step_on_iterator", "one_step_on_data")
    users = keras_fit.replace("TensorFlowTrainer._make_function.<locals>.multi_step_on_iterator", "my_train_step")
    assert not keep(_record(keras_fit)) and not keep(_record(keras_eval))
    assert keep(_record(users))  # a student's own function retracing is worth seeing
    assert keep(_record("multi_step_on_iterator is slow"))  # other warnings about it stay
