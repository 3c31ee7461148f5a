"""What a student reads: committed outputs and the runner's terminal are clean, parameters behave.

- every committed notebook's outputs break none of ``coursekit.notebooks.HYGIENE_RULES`` (TensorFlow
  C++ log lines, machine paths, escape codes, warnings, Keras progress bars, papermill noise);
- ``python -m coursekit run`` prints a clean terminal for a lecture (lecture 01, the quickest);
- papermill parses every parameters cell without a warning, and an explicit ``0`` passed through
  papermill wins over the profile; a bad value fails where it is read, naming the parameter;
- every training run in a lecture reports progress one way: ``coursekit.progress.EpochLog``.
"""

import logging
import os
import re
import subprocess
import sys

import nbformat
import pytest

from coursekit.notebooks import lecture_stems, notebooks_dir, output_problems, text_problems
from coursekit.paths import repo_root

STEMS = lecture_stems()


@pytest.mark.parametrize("stem", STEMS)
def test_committed_outputs_are_clean(stem):
    problems = output_problems(notebooks_dir() / f"{stem}.ipynb")
    assert not problems, f"{len(problems)} problem(s); re-publish after fixing the cause:\n" + "\n".join(problems[:10])


@pytest.mark.parametrize("text, rule", [
    ("E0000 00:00:1795425928.895667    4355 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)",
     "TensorFlow C++ log line"),
    ("I0000 00:00:1795425924.796717    4355 port.cc:153] oneDNN custom operations are on.", "TensorFlow C++ log line"),
    ("Trained 'x' in 3.0 s; saved to /tmp/tmp.DubBIqBnOI/runs/x", "absolute path of the producing machine"),
    ("\x1b[1m 7/28\x1b[0m \x1b[32m━━━━━\x1b[0m", "terminal escape code or backspace"),
    ("/env/lib/python3.11/site-packages/keras/src/x.py:74: UserWarning: `shuffle=True` was passed", "Python warning"),
    ("Epoch 1/10\n250/250 - 11s - 43ms/step - nll: 91.85",
     "Keras per-epoch progress (use coursekit.progress.EpochLog)"),
    ("Unable to parse line 1 'PROFILE = None'.", "papermill or kernel noise"),
])
def test_each_rule_catches_its_example(text, rule):
    assert any(p.startswith(rule) for p in text_problems(text)), text_problems(text)


def test_clean_text_passes():
    text = ("epoch  10/60  loss 0.1030  val_loss 0.1021  (9.8 s)\n"
            "Trained '02_dense_ae-cpu' in 38.2 s; saved to $COURSEKIT_CACHE/runs/02_dense_ae-cpu\n"
            "Loaded the finished run 'x' from ~/.cache/coursekit/runs/x (3 epochs)\n"
            "ratio 1/2 of the data; 10/10 classes")
    assert text_problems(text) == []


def test_runner_terminal_and_outputs_are_clean(tmp_path):
    """``python -m coursekit run`` on lecture 01 (smoke): nothing in the terminal but the runner's own lines."""
    env = {**os.environ, "COURSEKIT_NO_VENV": "1", "COURSEKIT_CACHE": str(tmp_path / "cache")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as on a student's machine
    label = "test-hygiene"
    proc = subprocess.run([sys.executable, "-m", "coursekit", "run", "--profile", "smoke", "--only", "01",
                           "--label", label], capture_output=True, text=True, cwd=repo_root(), env=env, timeout=900)
    terminal = proc.stdout + proc.stderr
    assert proc.returncode == 0, terminal[-3000:]
    assert text_problems(terminal) == [], terminal[-3000:]
    unexpected = [line for line in terminal.splitlines() if line.strip() and not (
        line.startswith("[coursekit]") or line.startswith("notebook ") or line.startswith("---")
        or line.startswith("01_likelihood_kl ") or line.startswith("executed notebooks:"))]
    assert unexpected == [], "the runner's terminal shows more than its own lines:\n" + "\n".join(unexpected)
    executed = repo_root() / "build" / "notebooks" / label / "01_likelihood_kl.ipynb"
    assert output_problems(executed) == []


# --------------------------------------------------------------------------- parameters
def _parameters_cell(stem):
    import jupytext

    nb = jupytext.read(notebooks_dir() / f"{stem}.py")
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{stem}: exactly one cell must be tagged 'parameters'"
    return cells[0]


@pytest.mark.parametrize("stem", STEMS)
def test_papermill_parses_every_parameter_line(stem, caplog):
    from papermill.translators import PythonTranslator

    cell = _parameters_cell(stem)
    with caplog.at_level(logging.WARNING, logger="papermill"):
        found = [p.name for p in PythonTranslator.inspect(cell)]
    assigned = [line.split("=")[0].strip() for line in cell.source.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert found == assigned, "a comment after a parameter must not contain '=' (papermill cannot parse the line)"
    assert "PROFILE" in found


@pytest.mark.parametrize("stem", STEMS)
def test_no_parameter_is_replaced_when_falsy(stem):
    text = (notebooks_dir() / f"{stem}.py").read_text()
    bad = re.findall(r"^.*\b(\w+) or profile\.pick\(.*$", text, re.M)
    assert not bad, f"`X or profile.pick(...)` replaces a user's 0/False; use profile.resolve: {bad}"
    # parameters whose None means "from the profile" are read with profile.resolve (ANIME_DIR's None
    # means "$COURSEKIT_ANIME_DIR, else the stand-in": the data loader reads it)
    params = set(re.findall(r"^(\w+) = None\b", _parameters_cell(stem).source, re.M)) - {"PROFILE", "ANIME_DIR"}
    missing = [name for name in sorted(params) if f'profile.resolve("{name}", {name},' not in text]
    assert not missing, f"{stem}: parameters not read with profile.resolve: {missing}"


def _head_of_lecture(stem, tmp_path):
    """The lecture's cells up to the one that calls start_run (parameters resolved, card printed)."""
    import jupytext

    nb = jupytext.read(notebooks_dir() / f"{stem}.py")
    end = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "start_run(" in c.source)
    nb.cells = [c for c in nb.cells[:end + 1] if "colab-setup" not in c.metadata.get("tags", [])]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    path = tmp_path / f"{stem}-head.ipynb"
    nbformat.write(nb, str(path))
    return path


def _run_head(stem, tmp_path, parameters):
    import papermill as pm

    out = tmp_path / f"{stem}-out.ipynb"
    error = None
    try:
        pm.execute_notebook(str(_head_of_lecture(stem, tmp_path)), str(out), parameters=parameters,
                            cwd=str(notebooks_dir()), kernel_name="python3", progress_bar=False,
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except Exception as err:  # papermill's PapermillExecutionError carries the cell's error
        error = err
    text = "\n".join("".join(o.get("text", "")) for c in nbformat.read(out, as_version=4).cells
                     if c.cell_type == "code" for o in c.get("outputs", []))
    return text, error


def test_explicit_zero_wins_over_the_profile_through_papermill(tmp_path, monkeypatch):
    """Lecture 05, smoke: WARMUP_STEPS = 0 passed by papermill stays 0 (the profile says 5)."""
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "cache"))
    text, error = _run_head("05_gan_mnist", tmp_path, {"PROFILE": "smoke", "WARMUP_STEPS": 0})
    assert error is None, error
    assert "WARMUP_STEPS=0," in text, text[-2000:]
    text, error = _run_head("05_gan_mnist", tmp_path, {"PROFILE": "smoke"})
    assert "WARMUP_STEPS=5," in text, "without the parameter, the smoke profile's value"


def test_a_bad_parameter_fails_where_it_is_read_and_names_itself(tmp_path, monkeypatch):
    """``papermill -p EPOCHS_DENSE ten`` (a string): the error names the parameter, not a Keras internal."""
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "cache"))
    _, error = _run_head("02_autoencoders", tmp_path, {"PROFILE": "smoke", "EPOCHS_DENSE": "ten"})
    assert error is not None and "EPOCHS_DENSE must be an integer, got 'ten'" in str(error), error


# --------------------------------------------------------------------------- progress
def _calls(text, name):
    """The argument text of every call ``name(...)`` in ``text``."""
    calls = []
    for found in re.finditer(rf"\b{name}\(", text):
        depth, i = 1, found.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        calls.append(text[found.end():i - 1])
    return calls


@pytest.mark.parametrize("stem", STEMS)
def test_training_reports_progress_with_epochlog(stem):
    text = "\n".join(line for line in (notebooks_dir() / f"{stem}.py").read_text().splitlines()
                     if not line.startswith("#"))  # code only: markdown cells are comment lines
    for args in _calls(text, "fit_or_load"):
        assert "EpochLog(" in args and "verbose=0" in args, \
            f"{stem}: report training with callbacks=[..., EpochLog()] and verbose=0: fit_or_load({args[:120]}...)"
    assert not re.search(r"verbose=[12]\b|verbose=True", text), f"{stem}: Keras' own progress output is on"
