"""The runner's faults: --online must allow downloads, and an unwritable build folder is named before any kernel starts.

papermill is replaced by a recorder here: these tests check what the runner hands the kernel,
not the notebooks (tests/test_notebooks.py executes those).
"""

import os

import pytest

from coursekit.notebooks import execute


@pytest.fixture
def recorder(monkeypatch):
    import papermill

    seen = []

    def fake_execute_notebook(source, out, **kwargs):
        seen.append(os.environ.get("COURSEKIT_OFFLINE"))

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute_notebook)
    return seen


def test_online_clears_an_exported_offline_flag(monkeypatch, tmp_path, recorder):
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")  # exported in the shell, as CI and conftest do
    execute("01_likelihood_kl", tmp_path / "nb.ipynb", profile="smoke", runcard_dir=tmp_path / "cards", offline=False)
    execute("01_likelihood_kl", tmp_path / "nb.ipynb", profile="smoke", runcard_dir=tmp_path / "cards", offline=True)
    assert recorder == [None, "1"], "--online must not leave COURSEKIT_OFFLINE=1 for the kernel"
    assert os.environ["COURSEKIT_OFFLINE"] == "1", "the caller's environment is restored afterwards"


def test_an_unwritable_build_folder_is_named_before_the_kernel_starts(tmp_path, recorder):
    blocker = tmp_path / "build"
    blocker.write_text("a file where the build folder should be")
    with pytest.raises(OSError, match=r"cannot write the runner's executed notebooks .* to .*build/notebooks.*"
                                      r"writable copy; the lectures still open and run in Jupyter"):
        execute("01_likelihood_kl", blocker / "notebooks" / "nb.ipynb", profile="smoke",
                runcard_dir=blocker / "cards")
    assert recorder == [], "no kernel may start when its output cannot be written"


_DRIVER = """
import sys, time
from pathlib import Path
import coursekit.notebooks as nb
from coursekit.__main__ import main

marker = Path(sys.argv[1])

def fake_execute(stem, out, **kwargs):  # the first lecture finishes, the second runs until Ctrl-C
    if stem.startswith("01"):
        return {"status": "ok", "error": None, "wall_time_s": 1.0}
    marker.write_text(stem)
    time.sleep(120)
    return {"status": "ok", "error": None, "wall_time_s": 120.0}

nb.execute = fake_execute
sys.exit(main(["run", "--profile", "smoke", "--only", "01", "02"]))
"""


def test_ctrl_c_in_the_runner_names_the_finished_lectures_and_exits_130(tmp_path):
    """A real SIGINT to a runner process, while it executes its second lecture."""
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "started"
    env = {**os.environ, "COURSEKIT_NO_VENV": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, str(marker)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted during 02_autoencoders. Finished: 01_likelihood_kl." in out
    assert "run the same command again to resume" in out and "Traceback" not in err
