"""CI plumbing: check an executed course run, and run the course on Colab's exact stack.

Two jobs, each behind a command of ``python3 -m coursekit``:

- ``check-run``: after ``run`` has executed the lectures into ``build/notebooks/<label>/`` (run cards in
  ``build/runcards/<label>/``), check that every lecture finished, that it took no longer than the time
  its header promises for the profile (times ``slack``), and that its regression-checked cells
  (tag ``nbval-check-output``) still print what the committed notebook shows (``pytest --nbval-lax``).
- ``colab-check``: build a separate virtual environment from the pin file ``.ci/colab-stack.txt``
  (Colab's Python when it is installed, Colab's library versions), then run the unit tests and the
  smoke run plus ``check-run`` inside it.

Standard library only at import time: ``colab-check`` runs before any environment exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / ".ci" / "colab-stack.txt"
COLAB_VENV = ROOT / ".venv-colab"
DEFAULT_SLACK = 1.25  # headers say "about N min": a run may take a quarter longer before it counts as over

_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hour": 3600, "hours": 3600}
_TIME = re.compile(r"\b(\d+(?:\.\d+)?|an?|one)\s*(seconds?|sec|s|minutes?|mins?|min|hours?|h)\b", re.IGNORECASE)


# --------------------------------------------------------------------------- promised times
def parse_duration_s(text: str) -> Optional[float]:
    """The longest duration written in ``text``, in seconds; ``None`` when it names none.

    ``"about 3.5 min (21 s per epoch)"`` -> 210.0; ``"well under an hour"`` -> 3600.0;
    ``"not measured yet"`` -> None. The longest one is the promise: shorter ones are per-step details.
    """
    found = []
    for number, unit in _TIME.findall(text):
        value = 1.0 if number.lower() in ("a", "an", "one") else float(number)
        found.append(value * _UNITS[unit.lower()])
    return max(found) if found else None


def header_times(py_path) -> dict:
    """``{profile: cell text}`` from the time column of the profile table in a lecture's header.

    The table is the first markdown table whose header row has the columns ``profile`` and ``time``
    (``# | profile | where | time |``); its rows start with the profile name in backticks.
    """
    rows, columns = {}, None
    for line in Path(py_path).read_text().splitlines():
        if not line.startswith("# |"):
            if columns and rows:
                break  # the end of the profile table
            continue
        cells = [c.strip() for c in line[2:].strip().strip("|").split("|")]
        if columns is None:
            if "profile" in cells and "time" in cells:
                columns = cells
            continue
        name = cells[0].strip("`")
        if len(cells) == len(columns) and name:
            rows[name] = cells[columns.index("time")]
    return {k: v for k, v in rows.items() if not set(k) <= set("-: ")}


def promised_time_s(stem: str, profile: str, notebooks=None) -> Optional[float]:
    """Seconds the header of lecture ``stem`` promises for ``profile``; ``None`` when it promises none."""
    folder = Path(notebooks) if notebooks else ROOT / "notebooks"
    return parse_duration_s(header_times(folder / f"{stem}.py").get(profile, ""))


# --------------------------------------------------------------------------- checking a run
def time_problem(wall_s: float, promised_s: Optional[float], slack: float = DEFAULT_SLACK) -> Optional[str]:
    """A message when ``wall_s`` exceeds ``promised_s * slack``; ``None`` when within it or nothing was promised."""
    if promised_s is None or wall_s <= promised_s * slack:
        return None
    return f"took {wall_s:.0f} s, over the {promised_s:.0f} s its header promises (x{slack:g} slack)"


def regression_problem(stem: str, executed: Path, work: Path) -> Optional[str]:
    """Compare the regression-checked cells of an executed lecture with the committed ones (nbval).

    Returns ``None`` when they agree, else the end of nbval's report.
    """
    from coursekit.notebooks import write_regression_notebook

    check = work / f"{stem}.ipynb"
    try:
        if write_regression_notebook(stem, executed, check) == 0:
            return "no regression-checked cell"
    except KeyError as err:  # executed from another version of the lecture than the committed .ipynb
        return f"cannot compare with the committed notebook: {err.args[0].splitlines()[0]}"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(work), str(check)],
        capture_output=True, text=True, cwd=work,
    )
    return None if proc.returncode == 0 else f"regression-checked outputs changed:\n{proc.stdout[-3000:]}"


def check_run(stems: list, profile: str, label: Optional[str] = None, slack: float = DEFAULT_SLACK,
              build=None, regression: bool = True, enforce_time: bool = True) -> list:
    """Check the lectures ``run`` executed into ``build/notebooks/<label>/``.

    Returns one row per lecture: ``{"stem", "status" ("ok" | "FAILED"), "wall_time_s", "promised_s",
    "problems": [str], "notes": [str]}``. A lecture without a run card did not finish (the card is its
    last cell). With ``enforce_time=False`` a time over the promise is a note, not a problem.
    """
    build = Path(build) if build else ROOT / "build"
    label = label or profile
    rows = []
    for stem in stems:
        executed = build / "notebooks" / label / f"{stem}.ipynb"
        card_path = build / "runcards" / label / f"{stem}.json"
        promised = promised_time_s(stem, profile)
        row = {"stem": stem, "wall_time_s": None, "promised_s": promised, "problems": [], "notes": []}
        if not card_path.exists():
            row["problems"].append(f"did not finish: no run card {card_path.relative_to(build.parent)} "
                                   f"(see {executed.relative_to(build.parent)})")
        else:
            card = json.loads(card_path.read_text())
            row["wall_time_s"] = card["wall_time_s"]
            if card.get("profile") != profile:
                row["problems"].append(f"ran in profile {card.get('profile')!r}, not {profile!r}")
            elif card.get("tiny"):
                row["problems"].append(f"a tiny run (COURSEKIT_TINY, toy sizes), not a full {profile!r} run")
            late = time_problem(card["wall_time_s"], promised, slack)
            if late:
                row["problems" if enforce_time else "notes"].append(late)
            if regression and executed.exists():
                changed = regression_problem(stem, executed, build / "regression" / label)
                if changed:
                    row["problems"].append(changed)
        row["status"] = "FAILED" if row["problems"] else "ok"
        rows.append(row)
    return rows


def format_rows(rows: list) -> str:
    """The table ``check-run`` prints, then one line per problem."""
    table = [("notebook", "status", "wall time", "promised")]
    for r in rows:
        wall = "-" if r["wall_time_s"] is None else f"{r['wall_time_s']:.0f} s"
        promised = "not stated" if r["promised_s"] is None else f"{r['promised_s']:.0f} s"
        table.append((r["stem"], r["status"], wall, promised))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in rows:
        lines += [f"{r['stem']}: {p}" for p in r["problems"]]
        lines += [f"{r['stem']}: (not enforced) {n}" for n in r.get("notes", [])]
    return "\n".join(lines)


# --------------------------------------------------------------------------- Colab's stack
def read_pins(path=PINS) -> tuple:
    """``(python_version, requirement_lines)`` from the pin file (``# python: 3.13`` names the Python)."""
    text = Path(path).read_text()
    match = re.search(r"^#\s*python:\s*(\d+\.\d+)\s*$", text, re.M)
    if not match:
        raise ValueError(f"{path} does not say which Python Colab uses: add a line '# python: 3.13'")
    reqs = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    bad = [r for r in reqs if "==" not in r]
    if bad:
        raise ValueError(f"{path}: every line must pin an exact version (name==version); not pinned: {bad}")
    return match.group(1), reqs


def python_version_of(exe) -> Optional[str]:
    """``"3.13"`` for an interpreter that runs, ``None`` for one that does not (e.g. a pyenv shim with no version)."""
    try:
        out = subprocess.run([str(exe), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def find_python(version: str) -> Optional[Path]:
    """An installed interpreter of ``version`` (``"3.13"``): on PATH, in pyenv, or in /usr/bin; else ``None``."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted((pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"), reverse=True)
    candidates += [Path(f"/usr/bin/python{version}"), Path(f"/usr/local/bin/python{version}")]
    for exe in candidates:
        if exe and Path(exe).exists() and python_version_of(exe) == version:
            return Path(exe)
    return None


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_colab_env(python: Path, venv_dir: Path = COLAB_VENV, pins: Path = PINS) -> Path:
    """Create ``venv_dir`` with ``python`` and install the pins plus ``coursekit[dev]`` into it.

    Installs again when the pin file or pyproject.toml change, and starts afresh when the interpreter
    changes (stamp files record them). Returns the environment's interpreter.
    """
    stamp_file, python_file = venv_dir / ".colab-stack-installed", venv_dir / ".colab-stack-python"
    base = str(Path(python).resolve())
    stamp = hashlib.sha256(Path(pins).read_bytes() + (ROOT / "pyproject.toml").read_bytes()
                           + base.encode()).hexdigest()
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return _venv_python(venv_dir)
    py = _venv_python(venv_dir)
    if not (py.exists() and python_file.exists() and python_file.read_text() == base):
        if venv_dir.exists():
            shutil.rmtree(venv_dir)
        print(f"[coursekit] creating {venv_dir.name}/ with {python}", flush=True)
        subprocess.run([str(python), "-m", "venv", str(venv_dir)], check=True)
        python_file.write_text(base)
    shown = Path(pins).relative_to(ROOT) if Path(pins).is_relative_to(ROOT) else pins
    print(f"[coursekit] installing the pinned Colab stack ({shown}) and coursekit[dev]", flush=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(pins), "-e", f"{ROOT}[dev]"], check=True)
    stamp_file.write_text(stamp)
    return py


VERSIONS_SCRIPT = """
import importlib.metadata as md, sys
print("python " + sys.version.split()[0])
for name in ("tensorflow", "keras", "numpy", "scipy", "scikit-learn", "matplotlib", "tensorboard"):
    try:
        print(name + " " + md.version(name))
    except md.PackageNotFoundError:
        print(name + " (not installed)")
"""


# --------------------------------------------------------------------------- commands
def check_run_command(args) -> int:
    """``python3 -m coursekit check-run --profile gpu``: check what ``run --profile gpu`` left in build/."""
    from coursekit.notebooks import lecture_matches, lecture_stems

    stems = [s for s in lecture_stems() if not args.only or any(lecture_matches(s, o) for o in args.only)]
    if not stems:
        sys.exit(f"no lecture matches {args.only}; lectures: {', '.join(lecture_stems())}")
    rows = check_run(stems, args.profile, label=args.label, slack=args.slack, regression=not args.no_regression,
                     enforce_time=not args.no_time_limit)
    print(format_rows(rows))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def choose_python(wanted: str, given: Optional[str]) -> tuple:
    """``(interpreter, note)``: ``given`` (a path or command), else Colab's version if installed, else this one."""
    if given:
        exe = Path(shutil.which(given) or given)
        have = python_version_of(exe)
        if have is None:
            sys.exit(f"--python {given}: not a working Python interpreter (it must run `python -c 'import venv'`)")
        note = "" if have == wanted else f"NOTE: {exe} is Python {have}, Colab uses {wanted}."
        return exe, note
    exe = find_python(wanted)
    if exe:
        return exe, ""
    have = "%d.%d" % sys.version_info[:2]
    return Path(sys.executable), (
        f"NOTE: Colab uses Python {wanted}, which is not installed here (looked on PATH, in pyenv and /usr/bin): "
        f"using this machine's Python {have} with Colab's library versions. Install Python {wanted} "
        f"(e.g. `pyenv install {wanted}`) for the exact stack.")


def colab_check_command(args) -> int:
    """``python3 -m coursekit colab-check``: the unit tests and the smoke run on Colab's pinned stack."""
    wanted, _ = read_pins()
    python, note = choose_python(wanted, args.python)
    if note:
        print(f"[coursekit] {note}", flush=True)
    py = build_colab_env(python)
    print("[coursekit] the stack under test:", flush=True)
    subprocess.run([str(py), "-c", VERSIONS_SCRIPT], check=True)
    if note:
        print(f"[coursekit] {note}", flush=True)
    # a fresh cache: finished runs in ~/.cache/coursekit (trained on another stack) must not be loaded instead
    # of trained on this one
    cache = tempfile.mkdtemp(prefix="coursekit-colab-stack-")
    env = {**os.environ, "COURSEKIT_NO_VENV": "1", "COURSEKIT_OFFLINE": "1", "COURSEKIT_CACHE": cache}
    status = 0
    if not args.no_unit:
        print("[coursekit] unit tests (all but tests/test_notebooks.py, whose smoke run follows)", flush=True)
        unit = [str(py), "-m", "pytest", "-q", "tests", "--ignore=tests/test_notebooks.py", *args.pytest_args]
        status |= subprocess.run(unit, cwd=ROOT, env=env).returncode != 0
    only = ["--only", *args.only] if args.only else []
    label = ["--profile", "smoke", "--label", "colab-stack"]
    status |= subprocess.run([str(py), "-m", "coursekit", "run", *label, *only], cwd=ROOT, env=env).returncode != 0
    # times are reported, not enforced: this machine's speed is not what the check is about
    print("\n[coursekit] regression-checked outputs (and times against the headers' smoke target):", flush=True)
    status |= subprocess.run([str(py), "-m", "coursekit", "check-run", *label, "--no-time-limit", *only], cwd=ROOT,
                             env=env).returncode != 0
    shutil.rmtree(cache, ignore_errors=True)
    print(f"\n[coursekit] Colab-stack check {'FAILED' if status else 'passed'}; executed notebooks: "
          "build/notebooks/colab-stack/", flush=True)
    return int(status)
