"""The course's code follows ruff's rules ([tool.ruff] in pyproject.toml), lectures included.

Ruff checks the package, the tests and the lectures' ``.py`` twins. In the lectures, E501 (line
length) is switched off because their markdown cells are comment lines that Jupyter re-flows; the
code cells, which a student sees as written, are checked here against the same limit instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

from coursekit.notebooks import lecture_stems

ROOT = Path(__file__).resolve().parent.parent
LINTED = ["coursekit", "tests", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.py"))]


def _ruff() -> list:
    exe = Path(sys.executable).parent / "ruff"
    if exe.exists():
        return [str(exe)]
    if shutil.which("ruff"):
        return ["ruff"]
    pytest.fail("ruff is not installed: `pip install -e '.[dev]'` installs it (pyproject.toml, dev extra)")


def _ruff_check(paths: list, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", *paths],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def line_length() -> int:
    """[tool.ruff] line-length in pyproject.toml (read with a regex: tomllib is Python 3.11+)."""
    section = (ROOT / "pyproject.toml").read_text().split("[tool.ruff]", 1)[1]
    return int(re.search(r"^line-length\s*=\s*(\d+)", section, re.M).group(1))


def long_code_lines(py: Path, limit: int) -> list:
    """``"file:cell:line: N columns"`` for each line of a code cell of the jupytext notebook ``py`` over ``limit``."""
    found = []
    for i, cell in enumerate(jupytext.read(py).cells):
        if cell.cell_type != "code":
            continue
        for j, line in enumerate(cell.source.splitlines(), start=1):
            if len(line) > limit:
                found.append(f"{py.name}: cell {i}, line {j}: {len(line)} columns > {limit}: {line[:60]}...")
    return found


def test_ruff_passes_on_package_tests_and_lectures():
    res = _ruff_check(LINTED, ROOT)
    assert res.returncode == 0, f"ruff found problems ([tool.ruff] in pyproject.toml):\n{res.stdout}{res.stderr}"


def test_ruff_check_catches_a_real_finding(tmp_path):
    """Guards the test above against passing vacuously (wrong config, no files, a ruff that checks nothing)."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "bad.py").write_text("import os\n\n\ndef f():\n    return undefined_name\n")
    res = _ruff_check(["bad.py"], tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "F401" in res.stdout and "F821" in res.stdout, res.stdout


def test_lecture_code_cells_fit_the_line_length():
    limit = line_length()
    lectures = [ROOT / "notebooks" / f"{stem}.py" for stem in lecture_stems()]
    assert lectures, "no lecture .py files found"
    found = [msg for py in lectures for msg in long_code_lines(py, limit)]
    assert not found, "code lines a student would see wrapped:\n" + "\n".join(found)


def test_long_code_line_check_sees_code_cells_only(tmp_path):
    py = tmp_path / "nb.py"
    py.write_text("# %% [markdown]\n# " + "prose " * 40 + "\n\n# %%\nx = 1\ny = '" + "a" * 130 + "'\n")
    found = long_code_lines(py, 120)
    assert len(found) == 1 and "line 2" in found[0], found
