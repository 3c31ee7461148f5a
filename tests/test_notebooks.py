"""Every lecture notebook: paired and in sync, Colab header current, runs in smoke, regression outputs hold,
and runs in a tiny gpu run.

Each notebook is executed once (papermill, profile smoke, offline); the regression check then
compares the fresh outputs of the tagged cells with the committed ones through
``pytest --nbval-lax`` without executing the lecture again (see coursekit.notebooks).

Each notebook is also executed once in the ``gpu`` profile at toy sizes (``COURSEKIT_TINY=1``, see
coursekit.profiles), offline: the gpu architectures (64-pixel networks, widths, depths) and the gpu
branches, with their fall-backs to the offline data, run to the end. Only that is checked; the
numbers of a tiny run mean nothing.
"""

import json
import multiprocessing
import os
import subprocess
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor

import pytest

from coursekit.notebooks import (CHECK_TAG, execute, header_problems, in_sync, lecture_matches, lecture_number,
                                 lecture_stems, notebooks_dir, write_regression_notebook)
from coursekit.paths import repo_root
from coursekit.runcard import committed_run_card

STEMS = lecture_stems()
BUILD = repo_root() / "build" / "smoke"
SMOKE_TARGET_S = 120  # what the smoke profile aims for on an idle 2-core machine (reported, not asserted)
SMOKE_GUARD_S = 600  # only a hang or a profile gone wrong takes this long, however loaded the machine
TINY_BUILD = repo_root() / "build" / "gpu-tiny"
TINY_TARGET_S = 90  # what a tiny gpu run aims for on an idle 2-core machine (reported, not asserted)
JOBS = max(1, int(os.environ.get("COURSEKIT_TEST_JOBS", "2")))  # notebook kernels at a time (see notebook_runs)
GUARD_S = SMOKE_GUARD_S * JOBS  # each run shares the cores with JOBS - 1 others


def test_lectures_exist():
    assert STEMS, "no notebooks/NN_*.py found"


def test_a_second_notebook_of_a_lecture_is_found_and_selected_by_its_own_number(tmp_path, monkeypatch):
    import coursekit.notebooks as nbmod

    for name in ("09b_stacked.py", "09_failure.py", "10_next.py", "helper.py", "9_short.py", "09B_upper.py"):
        (tmp_path / name).write_text("")
    monkeypatch.setattr(nbmod, "notebooks_dir", lambda: tmp_path)
    assert nbmod.lecture_stems() == ["09_failure", "09b_stacked", "10_next"]
    assert [lecture_number(s) for s in nbmod.lecture_stems()] == ["09", "09b", "10"]
    assert lecture_matches("09_failure", "09") and not lecture_matches("09b_stacked", "09")
    assert lecture_matches("09b_stacked", "09b") and not lecture_matches("09_failure", "09b")
    assert lecture_matches("09_failure", "09_fail") and lecture_matches("09b_stacked", "09b_stacked")
    assert not lecture_matches("10_next", "1")


def _job(kind, stem):
    """The arguments of ``execute`` for one lecture: ``kind`` "smoke" (profile smoke) or "tiny" (a tiny gpu run)."""
    if kind == "smoke":
        return (stem, BUILD / f"{stem}.ipynb"), dict(profile="smoke", runcard_dir=BUILD / "runcards", offline=True,
                                                     timeout=600)
    return (stem, TINY_BUILD / f"{stem}.ipynb"), dict(profile="gpu", tiny=True, runcard_dir=TINY_BUILD / "runcards",
                                                      offline=True, timeout=600)


def _committed_cpu_seconds(stem):
    try:
        return float(committed_run_card(notebooks_dir() / f"{stem}.ipynb").get("wall_time_s") or 0)
    except Exception:  # noqa: BLE001 - a missing or odd notebook: its own tests say so; here it only orders the queue
        return 0.0


@pytest.fixture(scope="session")
def notebook_runs(request):
    """Every notebook run the session's collected tests ask for, started at once in ``JOBS`` processes.

    A smoke run spends much of its time on one core (kernel start, imports, tracing graphs), so two
    kernels at a time on CI's two cores take about 40 % less wall time than one after the other.
    The longest lectures (by their committed cpu run) start first. Each run is a separate process
    with its own environment, so ``execute``'s environment settings never mix. Tests wait on their
    own run's future; ``COURSEKIT_TEST_JOBS=1`` runs them one at a time.
    """
    wanted = {}
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "smoke_run" in params:
            wanted[("smoke", params["smoke_run"])] = None
        elif "tiny_run" in params:
            wanted[("tiny", params["tiny_run"])] = None
    order = sorted(wanted, key=lambda key: (-_committed_cpu_seconds(key[1]), key[0]))
    pool = ProcessPoolExecutor(max_workers=JOBS, mp_context=multiprocessing.get_context("spawn"))
    futures = {}
    for key in order:
        args, kwargs = _job(*key)
        futures[key] = pool.submit(execute, *args, **kwargs)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _result(notebook_runs, kind, stem):
    future = notebook_runs.get((kind, stem))
    if future is not None:
        return future.result()
    args, kwargs = _job(kind, stem)
    return execute(*args, **kwargs)


@pytest.fixture
def smoke_run(notebook_runs, request):
    return request.param, _result(notebook_runs, "smoke", request.param)


@pytest.fixture
def tiny_run(notebook_runs, request):
    return request.param, _result(notebook_runs, "tiny", request.param)


@pytest.mark.parametrize("stem", STEMS)
def test_pair_in_sync(stem):
    nb = notebooks_dir() / f"{stem}.ipynb"
    assert nb.exists(), f"{nb.name} is missing: python -m coursekit publish {lecture_number(stem)}"
    assert in_sync(stem), f"{stem}.ipynb differs from {stem}.py: python -m coursekit publish {lecture_number(stem)}"


@pytest.mark.parametrize("stem", STEMS)
def test_colab_header_is_current(stem):
    assert header_problems(notebooks_dir() / f"{stem}.py") == []


@pytest.mark.parametrize("stem", STEMS)
def test_committed_outputs_come_from_a_real_run(stem):
    nb = json.loads((notebooks_dir() / f"{stem}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code[1:]), "every cell after the Colab cell must be executed"
    errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"committed notebook has errors: {errors[0].get('ename')}"
    card = "".join("".join(o.get("text", "")) for o in code[-1]["outputs"])
    assert "wall time" in card and "headline" in card, "the last cell must record the run card"
    assert any(CHECK_TAG in c["metadata"].get("tags", []) for c in code), "no regression-checked cell"


@pytest.mark.parametrize("smoke_run", STEMS, indirect=True)
def test_runs_in_smoke_profile(smoke_run, record_property):
    stem, res = smoke_run
    assert res["status"] == "ok", f"{stem} failed: {res['error']} (see {BUILD / (stem + '.ipynb')})"
    assert res["profile"] == "smoke"
    wall = res["wall_time_s"]
    record_property("smoke_wall_time_s", round(wall, 1))
    if wall > SMOKE_TARGET_S:  # reported in the warnings summary; a loaded machine is not a bug
        warnings.warn(f"{stem} took {wall:.0f} s in smoke (target {SMOKE_TARGET_S} s); "
                      "time it on an idle machine before calling it slow", stacklevel=1)
    assert wall < GUARD_S, f"{stem} took {wall:.0f} s in smoke, over the {GUARD_S} s guard: a hang?"


@pytest.mark.parametrize("smoke_run", STEMS, indirect=True)
def test_regression_outputs(smoke_run, tmp_path):
    stem, res = smoke_run
    if res["status"] != "ok":
        pytest.fail(f"{stem} did not run: {res['error']}")
    check = BUILD / "regression" / f"{stem}.ipynb"
    assert write_regression_notebook(stem, BUILD / f"{stem}.ipynb", check) >= 1
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(check.parent), str(check)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 0, f"regression-checked outputs of {stem} changed:\n{proc.stdout[-4000:]}"


@pytest.mark.parametrize("tiny_run", STEMS, indirect=True)
def test_runs_in_tiny_gpu_profile(tiny_run, record_property):
    stem, res = tiny_run
    assert res["status"] == "ok", f"{stem} failed in the tiny gpu run: {res['error']} (see {TINY_BUILD / stem}.ipynb)"
    assert res["profile"] == "gpu" and res["tiny"] is True
    wall = res["wall_time_s"]
    record_property("tiny_gpu_wall_time_s", round(wall, 1))
    if wall > TINY_TARGET_S:
        warnings.warn(f"{stem} took {wall:.0f} s in the tiny gpu run (target {TINY_TARGET_S} s): give its sizes "
                      "smaller tiny= values (coursekit.profiles)", stacklevel=1)
    assert wall < GUARD_S, f"{stem} took {wall:.0f} s in the tiny gpu run, over the {GUARD_S} s guard"


def test_a_bad_parameter_stops_the_notebook_with_its_name(tmp_path):
    """End to end, as ``papermill -p BATCH_SIZE 0`` does it: the resolution cell refuses the value."""
    stem = next(s for s in STEMS if lecture_number(s) == "05")
    res = execute(stem, tmp_path / f"{stem}.ipynb", profile="smoke", runcard_dir=tmp_path / "runcards",
                  offline=True, timeout=300, parameters={"BATCH_SIZE": 0})
    assert res["status"] == "failed" and "BATCH_SIZE must be >= 1, got 0" in res["error"], res["error"]
