"""coursekit.ci: the promised-time check of a run, the run checker, the Colab pin file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from coursekit import ci
from coursekit.notebooks import lecture_stems, notebooks_dir


@pytest.mark.parametrize("text, seconds", [
    ("about 3.5 min (21 s per epoch)", 210.0),
    ("not measured (a larger network; expect well under an hour)", 3600.0),
    ("not timed here (CI's target: under 2 min)", 120.0),
    ("**109 s** measured (run card at the end of this notebook: CPU x2 (x86_64), no GPU, load average 2.1)", 109.0),
    ("90 seconds", 90.0),
    ("alpha h, gamma s, 3,348 steps", None),
    ("1.5 h", 5400.0),
    ("not measured yet", None),
    ("a few minutes expected (60 epochs on 60,000 digits)", None),
    ("", None),
])
def test_parse_duration(text, seconds):
    assert ci.parse_duration_s(text) == seconds


HEADER = """# %% [markdown]
# # A lecture
#
# | profile | where | data | time |
# | --- | --- | --- | --- |
# | `smoke` | CI | 500 digits | not timed here (CI's target: under 2 min) |
# | `cpu` | laptop | 4,000 digits | **109 s** measured (run card: CPU x2) |
# | `gpu` | Colab | 60,000 digits | about 30 min |
#
# | other | table | time |
# | --- | --- | --- |
# | `gpu` | x | 1 s |
"""


def test_header_times_reads_the_time_column_of_the_profile_table(tmp_path):
    py = tmp_path / "99_demo.py"
    py.write_text(HEADER)
    assert ci.header_times(py) == {"smoke": "not timed here (CI's target: under 2 min)",
                                   "cpu": "**109 s** measured (run card: CPU x2)", "gpu": "about 30 min"}
    assert ci.promised_time_s("99_demo", "gpu", notebooks=tmp_path) == 1800.0
    assert ci.promised_time_s("99_demo", "cpu", notebooks=tmp_path) == 109.0


def test_every_lecture_header_has_a_profile_table():
    for stem in lecture_stems():
        times = ci.header_times(notebooks_dir() / f"{stem}.py")
        assert {"smoke", "cpu", "gpu"} <= set(times), f"{stem}: header profile table not found: {times}"


@pytest.mark.parametrize("wall, promised, slack, late", [
    (100.0, 120.0, 1.25, False), (150.0, 120.0, 1.25, False), (151.0, 120.0, 1.25, True),
    (121.0, 120.0, 1.0, True), (10_000.0, None, 1.25, False),
])
def test_time_problem(wall, promised, slack, late):
    msg = ci.time_problem(wall, promised, slack)
    assert (msg is not None) == late
    if late:
        assert f"{wall:.0f} s" in msg and f"{promised:.0f} s" in msg


def _fake_run(build, label, cards: dict):
    (build / "runcards" / label).mkdir(parents=True)
    (build / "notebooks" / label).mkdir(parents=True)
    for stem, card in cards.items():
        (build / "runcards" / label / f"{stem}.json").write_text(json.dumps(card))


def test_check_run_flags_unfinished_slow_and_wrong_profile_lectures(tmp_path, monkeypatch):
    monkeypatch.setattr(ci, "promised_time_s", lambda stem, profile, notebooks=None: 100.0)
    build = tmp_path / "build"
    _fake_run(build, "gpu", {"01_a": {"profile": "gpu", "wall_time_s": 90.0},
                             "02_b": {"profile": "gpu", "wall_time_s": 200.0},
                             "03_c": {"profile": "cpu", "wall_time_s": 10.0}})
    rows = {r["stem"]: r for r in ci.check_run(["01_a", "02_b", "03_c", "04_d"], "gpu", build=build,
                                                regression=False)}
    assert rows["01_a"]["status"] == "ok" and rows["01_a"]["problems"] == []
    assert rows["02_b"]["status"] == "FAILED" and "200 s" in rows["02_b"]["problems"][0]
    assert rows["03_c"]["status"] == "FAILED" and "profile 'cpu'" in rows["03_c"]["problems"][0]
    assert rows["04_d"]["status"] == "FAILED" and "did not finish" in rows["04_d"]["problems"][0]
    table = ci.format_rows(list(rows.values()))
    assert "02_b: took 200 s" in table and table.splitlines()[0].split() == ["notebook", "status", "wall", "time",
                                                                              "promised"]


def test_check_run_refuses_a_tiny_run_as_a_gpu_run(tmp_path, monkeypatch):
    monkeypatch.setattr(ci, "promised_time_s", lambda stem, profile, notebooks=None: 100.0)
    build = tmp_path / "build"
    _fake_run(build, "gpu", {"01_a": {"profile": "gpu", "tiny": True, "wall_time_s": 9.0},
                             "02_b": {"profile": "gpu", "tiny": False, "wall_time_s": 9.0}})
    rows = {r["stem"]: r for r in ci.check_run(["01_a", "02_b"], "gpu", build=build, regression=False)}
    assert rows["01_a"]["status"] == "FAILED" and "a tiny run" in rows["01_a"]["problems"][0]
    assert rows["02_b"]["status"] == "ok"


def test_check_run_can_report_times_without_failing(tmp_path, monkeypatch):
    monkeypatch.setattr(ci, "promised_time_s", lambda stem, profile, notebooks=None: 100.0)
    build = tmp_path / "build"
    _fake_run(build, "colab-stack", {"01_a": {"profile": "smoke", "wall_time_s": 500.0}})
    (row,) = ci.check_run(["01_a"], "smoke", label="colab-stack", build=build, regression=False,
                          enforce_time=False)
    assert row["status"] == "ok" and "500 s" in row["notes"][0]
    assert "(not enforced) took 500 s" in ci.format_rows([row])


def test_the_pin_file_pins_colabs_stack():
    python, reqs = ci.read_pins()
    assert python == "3.13"
    pins = dict(r.split("==") for r in reqs)
    for name in ("tensorflow", "keras", "numpy", "scikit-learn"):
        assert name in pins, f"{name} is not pinned in .ci/colab-stack.txt"


def test_read_pins_rejects_a_loose_or_incomplete_file(tmp_path):
    f = tmp_path / "pins.txt"
    f.write_text("tensorflow==2.20.0\n")
    with pytest.raises(ValueError, match="# python: 3.13"):
        ci.read_pins(f)
    f.write_text("# python: 3.13\ntensorflow>=2.20\n")
    with pytest.raises(ValueError, match=r"tensorflow>=2\.20"):
        ci.read_pins(f)


def test_find_python_finds_this_interpreter_and_not_a_missing_one():
    assert ci.find_python("2.1") is None
    assert ci.python_version_of(sys.executable) == "%d.%d" % sys.version_info[:2]
    assert ci.python_version_of("/no/such/python") is None


def test_choose_python_falls_back_to_this_one_and_says_so(monkeypatch):
    monkeypatch.setattr(ci, "find_python", lambda version: None)
    exe, note = ci.choose_python("3.99", None)
    assert str(exe) == sys.executable
    assert "Python 3.99" in note and "not installed" in note and "Colab's library versions" in note


def test_regression_problem_passes_on_the_committed_outputs_and_fails_on_a_changed_one(tmp_path):
    import nbformat

    stem = lecture_stems()[0]
    nb = nbformat.read(notebooks_dir() / f"{stem}.ipynb", as_version=4)
    same = tmp_path / "same.ipynb"
    nbformat.write(nb, same)
    assert ci.regression_problem(stem, same, tmp_path / "work-same") is None
    tagged = [c for c in nb.cells if c.cell_type == "code" and "nbval-check-output" in c.metadata.get("tags", [])]
    stream = next(o for c in tagged for o in c.outputs if o.output_type == "stream")
    stream.text = "a different number: 42\n" + stream.text
    changed = tmp_path / "changed.ipynb"
    nbformat.write(nb, changed)
    problem = ci.regression_problem(stem, changed, tmp_path / "work-changed")
    assert problem and "regression-checked outputs changed" in problem


def test_build_colab_env_installs_once_reinstalls_on_new_pins_and_starts_afresh_for_a_new_python(tmp_path,
                                                                                                monkeypatch):
    calls = []

    def fake_run(cmd, check=False, **kw):
        calls.append(cmd)
        if cmd[1:3] == ["-m", "venv"]:  # what `python -m venv DIR` leaves: DIR/bin/python
            (Path(cmd[3]) / "bin").mkdir(parents=True)
            (Path(cmd[3]) / "bin" / "python").write_text("")

    monkeypatch.setattr(ci.subprocess, "run", fake_run)
    pins, venv_dir = tmp_path / "pins.txt", tmp_path / "venv"
    pins.write_text("# python: 3.13\nnumpy==2.1.3\n")
    py313, py312 = tmp_path / "python3.13", tmp_path / "python3.12"

    def kinds():
        kinds_ = ["venv" if c[1:3] == ["-m", "venv"] else "pip" for c in calls]
        calls.clear()
        return kinds_

    assert ci.build_colab_env(py313, venv_dir, pins) == venv_dir / "bin" / "python"
    assert kinds() == ["venv", "pip"]
    ci.build_colab_env(py313, venv_dir, pins)
    assert kinds() == []  # nothing changed: nothing to do
    pins.write_text("# python: 3.13\nnumpy==2.2.0\n")
    ci.build_colab_env(py313, venv_dir, pins)
    assert kinds() == ["pip"]  # new pins: install again into the same environment
    ci.build_colab_env(py312, venv_dir, pins)
    assert kinds() == ["venv", "pip"]  # another interpreter: a fresh environment
    assert (venv_dir / ".colab-stack-python").read_text() == str(py312.resolve())


def test_colab_check_runs_unit_tests_smoke_run_and_check_in_the_pinned_env_with_a_fresh_cache(monkeypatch, capsys):
    import argparse
    import subprocess

    calls = []

    def fake_run(cmd, check=False, cwd=None, env=None, **kw):
        calls.append((list(map(str, cmd)), env))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(ci.subprocess, "run", fake_run)
    monkeypatch.setattr(ci, "choose_python", lambda wanted, given: (Path("/colab/python3.13"), ""))
    monkeypatch.setattr(ci, "build_colab_env", lambda python: Path("/venv-colab/bin/python"))
    args = argparse.Namespace(python=None, only=["05"], no_unit=False, pytest_args=["-x"])
    assert ci.colab_check_command(args) == 0
    commands = [c for c, _ in calls]
    assert commands[0][:2] == ["/venv-colab/bin/python", "-c"]  # the versions under test
    assert commands[1][:3] == ["/venv-colab/bin/python", "-m", "pytest"] and "-x" in commands[1]
    assert "--ignore=tests/test_notebooks.py" in commands[1]
    assert commands[2][2:] == ["coursekit", "run", "--profile", "smoke", "--label", "colab-stack", "--only", "05"]
    assert commands[3][2:4] == ["coursekit", "check-run"] and "--no-time-limit" in commands[3]
    envs = [e for _, e in calls[1:]]
    assert all(e["COURSEKIT_NO_VENV"] == "1" and e["COURSEKIT_OFFLINE"] == "1" for e in envs)
    caches = {e["COURSEKIT_CACHE"] for e in envs}
    assert len(caches) == 1 and "coursekit-colab-stack-" in caches.pop()
    assert "Colab-stack check passed" in capsys.readouterr().out
    calls.clear()
    monkeypatch.setattr(ci.subprocess, "run", lambda cmd, **kw: (calls.append(cmd),
                                                                 subprocess.CompletedProcess(cmd, 1))[1])
    assert ci.colab_check_command(args) == 1
