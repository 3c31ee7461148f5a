"""The notebook pipeline: Colab headers, ``.py``/``.ipynb`` sync, execution, regression checks.

Each lecture is ``notebooks/NN_topic.py`` (percent format, the file people edit) paired by
jupytext with ``notebooks/NN_topic.ipynb`` (generated, carries executed outputs).

Regression checks: code cells tagged ``nbval-check-output`` print outputs that depend on
neither profile nor hardware (exact math values, parameter counts, masks, shapes). A notebook
is executed once, with papermill; :func:`write_regression_notebook` then builds a notebook
whose cells *replay* the fresh outputs of the tagged cells next to the committed ones, and
``pytest --nbval-lax`` compares the two with nbval's own rules, without executing the
lecture a second time.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Optional

from coursekit.meta import BADGE_BRANCH, REPO_REF, REPO_URL, repo_slug
from coursekit.paths import repo_root

CHECK_TAG = "nbval-check-output"
COLAB_TAG = "colab-setup"


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


#: a lecture's file: two digits, an optional lower-case letter for a second notebook of the same
#: lecture (``09b_stacked_mnist.py``), an underscore, the topic
LECTURE_GLOBS = ("[0-9][0-9]_*.py", "[0-9][0-9][a-z]_*.py")


def lecture_stems() -> list:
    """Stems of the lecture notebooks in order, e.g. ``["01_likelihood_kl", ..., "09_...", "09b_...", ...]``."""
    return sorted({p.stem for pattern in LECTURE_GLOBS for p in notebooks_dir().glob(pattern)})


def lecture_number(stem: str) -> str:
    """The number of a lecture, what ``--only`` and ``publish`` take: ``"09"``, ``"09b"``."""
    return stem.split("_", 1)[0]


def lecture_matches(stem: str, key: str) -> bool:
    """Does ``--only key`` select lecture ``stem``? ``"09"`` is lecture 09 only (not ``09b``); a longer
    key is a prefix of the stem (``"09_fail"``, ``"09b_stacked_mnist"``)."""
    number = lecture_number(stem)
    return key == number or (len(key) > len(number) and stem.startswith(key))


# --------------------------------------------------------------------------- headers
def colab_badge(stem: str) -> str:
    """Markdown of the Open-in-Colab badge of ``notebooks/<stem>.ipynb``."""
    url = f"https://colab.research.google.com/github/{repo_slug()}/blob/{BADGE_BRANCH}/notebooks/{stem}.ipynb"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def colab_setup_source() -> str:
    """Source of the first code cell: installs coursekit from :data:`coursekit.meta.REPO_REF`, only in Colab.

    Rerunning the cell reuses the clone. A failed clone or install stops the notebook with a
    message that says what went wrong and what to do (not a bare ``CalledProcessError``).
    """
    return (
        f"# Colab only: fetch the course (branch {REPO_REF}, where this notebook comes from) and install coursekit.\n"
        "# Elsewhere this does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import os\n"
        "    import shutil\n"
        "    import subprocess\n"
        "\n"
        f'    REPO, REF, DEST = "{REPO_URL}", "{REPO_REF}", "/content/course"\n'
        '    if not os.path.exists(os.path.join(DEST, "pyproject.toml")):  # rerunning the cell reuses the clone\n'
        "        shutil.rmtree(DEST, ignore_errors=True)  # what a failed clone left\n"
        '        step = subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", REF, REPO, DEST],\n'
        "                              capture_output=True, text=True)\n"
        "        if step.returncode != 0:\n"
        '            raise RuntimeError(f"could not download the course ({REPO}, branch {REF}): '
        '{step.stderr.strip()}. "\n'
        '                               "Check that the runtime is connected to the internet, '
        'then run this cell again.")\n'
        '    step = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", DEST],\n'
        "                          capture_output=True, text=True)\n"
        "    if step.returncode != 0:\n"
        '        raise RuntimeError(f"could not install coursekit from {DEST}: {step.stderr.strip()[-2000:]}. "\n'
        '                           "Use Runtime > Disconnect and delete runtime, then run this cell again.")\n'
        "    sys.path.insert(0, DEST)"
    )


_BADGE_RE = re.compile(r"^# \[!\[Open In Colab\]\(.*$", re.M)
# the marker line may carry other metadata too (slide metadata from coursekit.slides)
_COLAB_CELL_RE = re.compile(r'(^# %%[^\n]* tags=\["colab-setup"\][^\n]*\n)(.*?)(?=^# %%)', re.M | re.S)


def _py_header_text(text: str, stem: str) -> str:
    text = _BADGE_RE.sub(lambda _: "# " + colab_badge(stem), text, count=1)
    return _COLAB_CELL_RE.sub(lambda m: m.group(1) + colab_setup_source() + "\n\n", text, count=1)


def header_problems(py_path: Path) -> list:
    """What is missing or stale in the Colab header of a lecture's ``.py`` (empty = fine)."""
    text = Path(py_path).read_text()
    problems = []
    if not _BADGE_RE.search(text):
        problems.append("no Open-in-Colab badge line")
    if not _COLAB_CELL_RE.search(text):
        problems.append('no cell tagged "colab-setup"')
    if not problems and _py_header_text(text, Path(py_path).stem) != text:
        problems.append("badge or Colab cell differs from coursekit.meta; run: python -m coursekit headers")
    return problems


def write_headers() -> list:
    """Rewrite the badge and the Colab cell of every lecture ``.py`` from ``coursekit.meta``."""
    changed = []
    for stem in lecture_stems():
        path = notebooks_dir() / f"{stem}.py"
        text = path.read_text()
        new = _py_header_text(text, stem)
        if new != text:
            path.write_text(new)
            changed.append(path.name)
    return changed


# --------------------------------------------------------------------------- sync
def py_from_ipynb(ipynb_path: Path) -> str:
    """The percent-format text jupytext writes for a notebook."""
    import jupytext

    return jupytext.writes(jupytext.read(ipynb_path), fmt="py:percent")


_JUPYTEXT_VERSION_RE = re.compile(r"^#\s+jupytext_version: .*\n", re.M)


def in_sync(stem: str) -> bool:
    """Whether ``<stem>.ipynb`` converts to ``<stem>.py`` (ignoring the jupytext version stamp,
    so a newer jupytext does not count as a change)."""
    nb = notebooks_dir() / f"{stem}.ipynb"
    if not nb.exists():
        return False
    expected = _JUPYTEXT_VERSION_RE.sub("", py_from_ipynb(nb))
    return expected == _JUPYTEXT_VERSION_RE.sub("", (notebooks_dir() / f"{stem}.py").read_text())


# --------------------------------------------------------------------------- execution
def execute(stem: str, out_path: Path, *, profile: Optional[str], runcard_dir: Path,
            offline: bool = True, timeout: int = 3600, source: Optional[Path] = None,
            parameters: Optional[dict] = None, tiny: bool = False) -> dict:
    """Execute a lecture with papermill and return its run card.

    Args:
        stem: lecture stem.
        out_path: where the executed notebook is written.
        profile: injected as the ``PROFILE`` parameter; ``None`` lets the notebook choose.
        runcard_dir: where the notebook's last cell writes its run card JSON.
        offline: set ``COURSEKIT_OFFLINE=1`` so only embedded data is used; ``False`` removes an
            exported ``COURSEKIT_OFFLINE`` (``run --online``), so downloads are allowed.
        timeout: per-cell timeout in seconds.
        source: the notebook to execute; default ``notebooks/<stem>.ipynb``
            (:func:`ipynb_from_py` makes one from the edited ``.py``).
        parameters: more papermill parameters, e.g. ``{"EPOCHS": 0}``.
        tiny: a tiny gpu run (``COURSEKIT_TINY=1``, see :mod:`coursekit.profiles`; use with
            ``profile="gpu"``); ``False`` removes an exported ``COURSEKIT_TINY``, so a published
            notebook is never a toy run.

    Returns:
        ``{"status": "ok" | "failed", "error": str | None, "wall_time_s": float, **runcard}``.
    """
    import papermill as pm

    from coursekit.paths import writable_dir

    out_path, runcard_dir = Path(out_path), Path(runcard_dir)
    for folder in (out_path.parent, runcard_dir):  # a read-only or full build folder: say so before the kernel starts
        writable_dir(folder, purpose="the runner's executed notebooks and run cards",
                     fix="It is inside the course checkout: make the checkout writable, or run from a writable copy",
                     without="the lectures still open and run in Jupyter without the runner")
    card_path = runcard_dir / f"{stem}.json"
    card_path.unlink(missing_ok=True)
    # TF_CPP_MIN_LOG_LEVEL=2: the kernel's TensorFlow hides its C++ INFO and WARNING lines (ERROR
    # lines stay visible); the start-up lines it prints before reading it are filtered by
    # coursekit.quiet in each notebook's first cell.
    env_updates = {"COURSEKIT_RUNCARD_DIR": str(runcard_dir.resolve()), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env_updates["COURSEKIT_OFFLINE"] = "1" if offline else None  # online: clear an exported COURSEKIT_OFFLINE=1
    env_updates["COURSEKIT_TINY"] = "1" if tiny else None
    saved = {k: os.environ.get(k) for k in env_updates}
    for k, v in env_updates.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    params = {"PROFILE": profile} if profile else {}
    params.update(parameters or {})
    source = Path(source) if source else notebooks_dir() / f"{stem}.ipynb"
    start = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(
            str(source), str(out_path), parameters=params,
            cwd=str(notebooks_dir()), kernel_name="python3", progress_bar=False, execution_timeout=timeout,
            # the kernel's own log: its start-up warning about TCP without encryption (a local kernel
            # that papermill starts and stops) and its shutdown chatter are not the notebook's output
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except Exception as err:  # papermill raises PapermillExecutionError with the cell's traceback
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    result = {"status": "failed" if error else "ok", "error": error, "wall_time_s": time.perf_counter() - start}
    if card_path.exists():
        card = json.loads(card_path.read_text())
        card["notebook_wall_time_s"] = card.pop("wall_time_s")
        result.update(card)
    elif not error:
        result.update(status="failed", error="the notebook finished without writing its run card (last cell)")
    return result


def ipynb_from_py(stem: str, out_path: Path) -> Path:
    """Write the notebook of ``notebooks/<stem>.py`` (no outputs) to ``out_path``: what
    ``run --from-py`` executes, so edits can be tried before they are published."""
    import jupytext

    nb = jupytext.read(notebooks_dir() / f"{stem}.py")
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, out_path)
    return out_path


# --------------------------------------------------------------------------- regression checks
def replay(executed_path: str, cell_index: int) -> None:
    """Re-emit, in the running kernel, the outputs that code cell ``cell_index`` produced in
    ``executed_path``. Used by the regression notebooks; not meant for lectures."""
    import sys

    import nbformat
    from IPython.display import publish_display_data

    nb = nbformat.read(executed_path, as_version=4)
    cell = nb.cells[cell_index]
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            stream = sys.stdout if out["name"] == "stdout" else sys.stderr
            stream.write(out["text"])
            stream.flush()
        elif kind in ("execute_result", "display_data"):
            publish_display_data(dict(out["data"]), dict(out.get("metadata", {})))
        elif kind == "error":
            raise RuntimeError(f"cell {cell_index} raised {out['ename']}: {out['evalue']}")


def write_regression_notebook(stem: str, executed_path: Path, out_path: Path) -> int:
    """Build the notebook ``pytest --nbval-lax`` checks: one cell per tagged cell of the
    committed lecture, holding the committed outputs and replaying the fresh ones.

    Returns:
        the number of regression-checked cells.
    """
    import nbformat

    reference = nbformat.read(notebooks_dir() / f"{stem}.ipynb", as_version=4)
    executed = nbformat.read(executed_path, as_version=4)
    # papermill inserts an "injected-parameters" cell: match cells by their source instead of position
    fresh_index = {}
    for i, cell in enumerate(executed.cells):
        if cell.cell_type == "code":
            fresh_index.setdefault(cell.source, i)
    out = nbformat.v4.new_notebook()
    out.metadata = reference.metadata
    out.cells.append(nbformat.v4.new_code_cell("from coursekit.notebooks import replay"))
    n = 0
    for cell in reference.cells:
        if cell.cell_type != "code" or CHECK_TAG not in cell.metadata.get("tags", []):
            continue
        if cell.source not in fresh_index:
            raise KeyError(f"tagged cell not found in the executed notebook {executed_path}:\n{cell.source[:200]}")
        new = nbformat.v4.new_code_cell(
            f"# replays: {cell.source.splitlines()[0][:80]}\n"
            f"replay({str(Path(executed_path).resolve())!r}, {fresh_index[cell.source]})"
        )
        new.metadata["tags"] = [CHECK_TAG]
        new.outputs = cell.outputs
        new.execution_count = cell.execution_count
        out.cells.append(new)
        n += 1
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(out, str(out_path))
    return n


# --------------------------------------------------------------------------- output hygiene
#: What must not appear in what a student reads: a committed notebook's outputs or the runner's terminal.
HYGIENE_RULES = {
    "TensorFlow C++ log line": re.compile(
        r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
        r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "
        r"|WARNING: All log messages before absl::InitializeLog)"
        r"|oneDNN custom operations are on|failed call to cuInit|Could not find cuda drivers", re.M),
    "absolute path of the producing machine": re.compile(
        r"(?<![\w.~$/])/(?:tmp|home|root|work|Users|var|opt|usr|mnt|private|srv|scratch)/"
        r"|\b[A-Za-z]:\\\\(?:Users|Windows)|site-packages"),
    "terminal escape code or backspace": re.compile(r"\x1b|\x08|\r(?!\n)"),
    "Python warning": re.compile(r"\b[A-Z]\w*Warning: |^WARNING:", re.M),
    "Keras per-epoch progress (use coursekit.progress.EpochLog)": re.compile(
        r"^Epoch \d+/\d+\s*$|━|\d+ms/step|\d+s/step", re.M),
    "papermill or kernel noise": re.compile(r"Unable to parse line|Passed unknown parameter|\[IPKernelApp\]"),
}


def text_problems(text: str, where: str = "") -> list:
    """One message per hygiene rule that ``text`` breaks, with the first offending line."""
    problems = []
    for rule, pattern in HYGIENE_RULES.items():
        found = pattern.search(text)
        if found:
            start = text.rfind("\n", 0, found.start()) + 1
            end = text.find("\n", found.end())
            line = text[start:end if end >= 0 else len(text)]
            problems.append(f"{where}{rule}: {line[:160]!r}")
    return problems


def output_problems(ipynb_path) -> list:
    """Hygiene problems in the outputs of an executed notebook (empty list: clean).

    Checks stream outputs, the text of results and displays (plain text, HTML, markdown) and
    error tracebacks against :data:`HYGIENE_RULES`.
    """
    nb = json.loads(Path(ipynb_path).read_text())
    problems = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            texts = []
            if out["output_type"] == "stream":
                texts.append("".join(out.get("text", "")))
            elif out["output_type"] in ("execute_result", "display_data"):
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in out.get("data", {}):
                        texts.append("".join(out["data"][mime]))
            elif out["output_type"] == "error":
                texts.append("\n".join(out.get("traceback", [])))
            for text in texts:
                problems += text_problems(text, f"{Path(ipynb_path).name}, cell {i}: ")
    return problems
