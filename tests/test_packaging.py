"""What a plain ``pip install`` of the course brings: every library coursekit imports at run time."""

import re

import numpy as np

from coursekit.paths import repo_root


def _main_dependencies() -> list:
    import tomllib  # Python >= 3.11, as pyproject.toml requires

    return tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]["dependencies"]


def test_tensorboard_is_a_main_dependency_with_a_loose_range():
    """TensorFlow 2.21 stopped installing TensorBoard; coursekit's TensorBoard callback needs it."""
    deps = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower(): d for d in _main_dependencies()}
    assert "tensorboard" in deps, "add tensorboard to [project] dependencies (not only to the dev extra)"
    assert "<" not in deps["tensorboard"] and "==" not in deps["tensorboard"], \
        f"keep the range loose (Colab keeps its own copy): {deps['tensorboard']}"


def test_tensorboard_callback_writes_its_logs(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"), epochs=1, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(log_dir=str(tmp_path))])
    assert list(tmp_path.rglob("events.out.tfevents.*")), "the TensorBoard callback wrote no event file"
