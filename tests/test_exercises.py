"""The lectures' exercises work as written: a student who changes a setting and runs the cell again
gets a new run, not the old one loaded under the same name (issue 21). Executed through papermill
at smoke size, with the lecture's own cells."""

import json

import nbformat
from coursekit.notebooks import notebooks_dir

HISTORY_MARK = "HISTORY-JSON:"


def _lecture_until(stem, tmp_path, marker):
    """The lecture's cells up to the first code cell containing ``marker``, plus one that prints ``history``."""
    import jupytext

    nb = jupytext.read(notebooks_dir() / f"{stem}.py")
    end = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and marker in c.source)
    nb.cells = [c for c in nb.cells[:end + 1] if "colab-setup" not in c.metadata.get("tags", [])]
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json\nprint({HISTORY_MARK!r}, json.dumps({{k: [float(v) for v in vals] "
        "for k, vals in history.items()}))"))
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    path = tmp_path / f"{stem}-until.ipynb"
    nbformat.write(nb, str(path))
    return path


def _run(source, out, parameters):
    import papermill as pm

    pm.execute_notebook(str(source), str(out), parameters=parameters, cwd=str(notebooks_dir()),
                        kernel_name="python3", progress_bar=False,
                        extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    text = "\n".join("".join(o.get("text", "")) for c in nbformat.read(out, as_version=4).cells
                     if c.cell_type == "code" for o in c.get("outputs", []))
    line = next(line for line in text.splitlines() if line.startswith(HISTORY_MARK))
    return text, json.loads(line[len(HISTORY_MARK):])


def test_lecture05_exercise1_real_label_1_trains_a_new_run(tmp_path, monkeypatch):
    """Exercise 1 of lecture 05: ``REAL_LABEL = 1.0`` and run again. The smoothed run must not load."""
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "cache"))
    source = _lecture_until("05_gan_mnist", tmp_path, "history = training.fit_or_load(gan")
    text, smoothed = _run(source, tmp_path / "a.ipynb", {"PROFILE": "smoke"})
    text, unsmoothed = _run(source, tmp_path / "c.ipynb", {"PROFILE": "smoke", "REAL_LABEL": 1.0})
    assert "real_label 0.9 -> 1.0: training a new run" in text, text[-3000:]
    assert "Loaded the finished run '05_gan_mnist-smoke'" not in text
    assert unsmoothed["d_loss"] != smoothed["d_loss"], "a different label must give a different history"
