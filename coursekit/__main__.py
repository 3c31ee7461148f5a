"""The course's command line. Standard library only until the environment is ready.

    python3 -m coursekit run [--profile smoke|cpu|gpu] [--only 01 03] [--online] [--tiny]
    python3 -m coursekit test [pytest arguments]
    python3 -m coursekit publish 01 [--profile cpu]   # re-execute a lecture into notebooks/
    python3 -m coursekit headers                       # rewrite Colab badges/cells from coursekit.meta
                                                       # and the slide metadata of every cell
    python3 -m coursekit slides [06 ...]               # offline reveal.js decks in build/slides/
    python3 -m coursekit check-run --profile gpu       # after `run`: finished, in time, regression outputs
    python3 -m coursekit colab-check                   # tests + smoke run on Colab's stack (.ci/colab-stack.txt)
    python3 -m coursekit times                         # rewrite header/README time tables from run cards
    python3 -m coursekit leaderboard                   # every lecture's headline number beside its reference
    python3 -m coursekit bench [--quick] [--only 04]   # step time, samples/s, memory of each lecture's model
    python3 -m coursekit cache                         # the training runs on disk (size, age, what differs)
    python3 -m coursekit cache prune --older-than 7d   # ... or --lecture 05, or --all; --dry-run to see first

``run`` and ``test`` first set themselves up: a virtual environment in ``.venv`` with
coursekit installed (editable, with the ``dev`` extra), re-created when pyproject.toml changes.
Set ``COURSEKIT_NO_VENV=1`` to use the current interpreter as it is (conda, Colab).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".coursekit-installed"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment(argv: list) -> None:
    """Create/refresh ``.venv`` and re-run this command inside it (no-op once inside)."""
    if os.environ.get("COURSEKIT_NO_VENV") == "1" or Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not _venv_python().exists():
        print(f"[coursekit] creating the virtual environment {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != _wanted_stamp():
        print("[coursekit] installing coursekit and its dependencies (first run: a few minutes)", flush=True)
        subprocess.run([str(_venv_python()), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]"], check=True)
        STAMP.write_text(_wanted_stamp())
    os.execv(str(_venv_python()), [str(_venv_python()), "-m", "coursekit", *argv])


def _select(only: list) -> list:
    from coursekit.notebooks import lecture_matches, lecture_stems

    stems = lecture_stems()
    if only:
        stems = [s for s in stems if any(lecture_matches(s, o) for o in only)]
        if not stems:
            sys.exit(f"no lecture matches {only}; lectures: {', '.join(lecture_stems())}")
    return stems


def cmd_run(args) -> int:
    from coursekit.notebooks import execute, ipynb_from_py

    if args.tiny and args.profile not in (None, "gpu"):
        sys.exit(f"--tiny shrinks the gpu profile; it cannot be combined with --profile {args.profile}")
    profile = "gpu" if args.tiny else args.profile
    label = args.label or ("gpu-tiny" if args.tiny else args.profile) or "auto"
    out_dir = ROOT / "build" / "notebooks" / label
    cards = ROOT / "build" / "runcards" / label
    rows = []
    stem = None
    try:
        for stem in _select(args.only):
            print(f"[coursekit] executing {stem} (profile: {label}, {'online' if args.online else 'offline'})",
                  flush=True)
            source = ipynb_from_py(stem, ROOT / "build" / "from-py" / f"{stem}.ipynb") if args.from_py else None
            res = execute(stem, out_dir / f"{stem}.ipynb", profile=profile, runcard_dir=cards,
                          offline=not args.online, source=source, tiny=args.tiny)
            rows.append((stem, res))
            if res["error"]:
                print(f"[coursekit]   FAILED: {res['error']}", flush=True)
    except KeyboardInterrupt:
        finished = [s for s, r in rows if r["status"] == "ok"]
        print(f"\n[coursekit] interrupted during {stem}. Finished: {', '.join(finished) or 'none'}. "
              "Training runs keep their last finished epoch: run the same command again to resume.", flush=True)
        return 130
    header = ("notebook", "status", "profile", "wall time", "headline metric")
    table = [header]
    for stem, res in rows:
        metric = "-"
        if "metric" in res:
            metric = f"{res['metric']} = {res['value']:.4g} {res['unit']}".strip()
            if res.get("reference"):
                metric += f" (ref: {res['reference']})"
        table.append((stem, res["status"], res.get("profile", label), f"{res['wall_time_s']:.0f} s", metric))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    print()
    for i, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nexecuted notebooks: {out_dir.relative_to(ROOT)}/")
    return 0 if all(r["status"] == "ok" for _, r in rows) else 1


def cmd_test(args) -> int:
    import pytest

    os.chdir(ROOT)
    return int(pytest.main(list(args.pytest_args)))


def cmd_publish(args) -> int:
    """Regenerate notebooks/NN.ipynb from its .py and execute it in place (outputs committed)."""
    import jupytext
    import nbformat

    from coursekit.notebooks import execute, in_sync, notebooks_dir, py_from_ipynb
    from coursekit.slides import apply_slide_metadata

    status = 0
    for stem in _select(args.only):
        py, nb_path = notebooks_dir() / f"{stem}.py", notebooks_dir() / f"{stem}.ipynb"
        nb = jupytext.read(py)
        apply_slide_metadata(nb)  # derived from the cells; presentation only, execution ignores it
        nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
        source = ROOT / "build" / "publish" / "source" / f"{stem}.ipynb"  # the committed notebook stays
        source.parent.mkdir(parents=True, exist_ok=True)  # as it is until a run succeeds
        jupytext.write(nb, source)
        tmp = ROOT / "build" / "publish" / f"{stem}.ipynb"
        if args.profile:
            os.environ["COURSEKIT_PROFILE"] = args.profile  # no injected cell: the .ipynb stays paired
        res = execute(stem, tmp, profile=None, runcard_dir=ROOT / "build" / "publish", offline=not args.online,
                      source=source)
        if res["error"]:
            print(f"[coursekit] {stem} FAILED: {res['error']}; see {tmp.relative_to(ROOT)}; "
                  f"notebooks/{stem}.ipynb is left as it was")
            status = 1
            continue
        out = nbformat.read(tmp, as_version=4)
        out.metadata.pop("papermill", None)
        out.metadata.pop("jupytext", None)  # pairing comes from [tool.jupytext] in pyproject.toml
        for cell in out.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        nbformat.write(out, nb_path)
        py.write_text(py_from_ipynb(nb_path))  # jupytext's own normalisation of the header, like --sync
        print(f"[coursekit] {stem}: executed in profile {res.get('profile')} in {res['wall_time_s']:.0f} s; "
              f"in sync with .py: {in_sync(stem)}")
    return status


def cmd_bench(args) -> int:
    from coursekit.quiet import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's start-up log lines are not part of the report
    from coursekit.bench import run

    return run(args)


def cmd_headers(args) -> int:
    from coursekit.notebooks import write_headers

    changed = write_headers()
    print("rewrote: " + (", ".join(changed) if changed else "nothing, all headers current"))
    from coursekit.slides import write_slide_metadata

    changed = write_slide_metadata()
    print("slide metadata: " + ("rewrote " + ", ".join(changed) if changed else "all current"))
    return 0


def cmd_slides(args) -> int:
    """Write an offline reveal.js deck (one self-contained HTML file) per lecture from its committed .ipynb."""
    from coursekit.slides import build_deck

    out_dir = Path(args.out) if args.out else None
    for stem in _select([] if args.all else args.only):
        path = build_deck(stem, out_dir)
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"[coursekit] {stem}: {shown} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0


def cmd_times(args) -> int:
    """Rewrite the time tables (notebook headers, README) from the committed notebooks' run cards."""
    from coursekit.notebooks import lecture_stems, notebooks_dir
    from coursekit.runcard import time_table_problems, write_time_tables

    from coursekit.runcard import committed_run_card

    stems = []
    for stem in (_select(args.only) if args.only else lecture_stems()):
        try:
            committed_run_card(notebooks_dir() / f"{stem}.ipynb")
            stems.append(stem)
        except (ValueError, FileNotFoundError) as err:
            print(f"skipped {stem}: {err}")
    if args.check:
        problems = time_table_problems(stems, notebooks_dir(), ROOT / "README.md")
        print("\n".join(problems) if problems else "time tables agree with the run cards")
        return 1 if problems else 0
    changed = write_time_tables(stems, notebooks_dir(), ROOT / "README.md")
    print("rewrote: " + (", ".join(changed) if changed else "nothing, all time tables current"))
    return 0


def cmd_leaderboard(args) -> int:
    """Print every committed lecture's headline number beside its reference, from the run cards."""
    from coursekit.runcard import format_leaderboard, leaderboard

    rows, missing = leaderboard()
    print(format_leaderboard(rows, max_width=args.width))
    for stem, why in missing.items():
        print(f"not on the board: {stem}: {why}")
    return 0


def cmd_cache(args) -> int:
    from coursekit.cache import cache_command

    return cache_command(args)


def cmd_check_run(args) -> int:
    from coursekit.ci import check_run_command

    return check_run_command(args)


def cmd_colab_check(args) -> int:
    """Standard library only: it builds its own environment (``.venv-colab``) and runs everything there."""
    from coursekit.ci import colab_check_command

    return colab_check_command(args)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python3 -m coursekit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="execute every lecture notebook and print a summary table")
    p.add_argument("--profile", choices=["smoke", "cpu", "gpu"], default=None, help="default: chosen from the hardware")
    p.add_argument("--only", nargs="*", default=[], help="lecture numbers or stems, e.g. 01 03")
    p.add_argument("--online", action="store_true", help="allow downloads of the full datasets")
    p.add_argument("--label", default=None,
                   help="folder name under build/notebooks/ and build/runcards/ (default: the profile)")
    p.add_argument("--from-py", action="store_true",
                   help="execute the edited notebooks/NN_*.py (not yet published) instead of the .ipynb")
    p.add_argument("--tiny", action="store_true",
                   help="the gpu profile at toy sizes (gpu architectures and code paths, tiny data and epochs; "
                        "checks that the gpu branches run, numbers not meaningful); runs kept apart in runs-tiny")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("test", help="run the whole test suite (unit tests, sync, smoke execution, regression checks)")
    p.set_defaults(func=cmd_test, pytest_args=[])
    p = sub.add_parser("publish", help="re-execute lectures into notebooks/*.ipynb (the committed outputs)")
    p.add_argument("only", nargs="*", default=[])
    p.add_argument("--profile", choices=["smoke", "cpu", "gpu"], default="cpu")
    p.add_argument("--online", action="store_true")
    p.set_defaults(func=cmd_publish)
    p = sub.add_parser("headers", help="rewrite the Colab badge and setup cell of every lecture from coursekit.meta")
    p.set_defaults(func=cmd_headers)
    p = sub.add_parser("slides", help="write self-contained reveal.js decks (no network needed) to build/slides/")
    p.add_argument("only", nargs="*", default=[], help="lecture numbers or stems; default: every lecture")
    p.add_argument("--all", action="store_true", help="every lecture (the same as giving none)")
    p.add_argument("--out", default=None, help="folder of the decks; default build/slides")
    p.set_defaults(func=cmd_slides)
    p = sub.add_parser("times", help="rewrite the time tables of the notebook headers and the README "
                                     "from the run cards")
    p.add_argument("only", nargs="*", default=[], help="lecture numbers; default: all")
    p.add_argument("--check", action="store_true", help="only report where a table and its run card disagree")
    p.set_defaults(func=cmd_times)
    p = sub.add_parser("leaderboard", help="every committed lecture's headline metric beside its reference, "
                       "profile and wall time, from the run cards")
    p.add_argument("--width", type=int, default=60, help="cut metric and reference texts to this many characters")
    p.set_defaults(func=cmd_leaderboard)
    p = sub.add_parser("cache", help="list the training runs on disk (lecture, profile, size, age, the settings "
                       "that differ between runs of one name), or prune them")
    p.add_argument("action", nargs="?", choices=["list", "prune"], default="list")
    p.add_argument("--older-than", default=None, help="prune: runs not written for this long (7d, 12h, 30m)")
    p.add_argument("--lecture", nargs="*", default=[], help="prune: runs of these lectures (05 09b ...)")
    p.add_argument("--all", action="store_true", help="prune: every run")
    p.add_argument("--dry-run", action="store_true", help="prune: only say what would be removed")
    p.set_defaults(func=cmd_cache)
    # CI (coursekit/ci.py): checks of an executed run, and the course on Colab's pinned stack
    p = sub.add_parser("check-run", help="after `run`: each lecture finished, within its header's time, "
                       "regression outputs hold")
    p.add_argument("--profile", choices=["smoke", "cpu", "gpu"], required=True, help="the profile `run` used")
    p.add_argument("--label", default=None, help="the folder `run` wrote (default: the profile)")
    p.add_argument("--only", nargs="*", default=[], help="lecture numbers or stems, e.g. 01 03")
    p.add_argument("--slack", type=float, default=1.25, help="allowed factor over the header's time (default 1.25)")
    p.add_argument("--no-time-limit", action="store_true", help="report times over the header's, do not fail on them")
    p.add_argument("--no-regression", action="store_true", help="skip the nbval comparison")
    p.set_defaults(func=cmd_check_run)
    p = sub.add_parser("colab-check", help="unit tests + smoke run in .venv-colab, built from .ci/colab-stack.txt")
    p.add_argument("--python", default=None, help="interpreter for .venv-colab (default: Colab's version if installed)")
    p.add_argument("--only", nargs="*", default=[], help="lectures for the smoke run (default: all)")
    p.add_argument("--no-unit", action="store_true", help="skip the unit tests, only the smoke run")
    p.set_defaults(func=cmd_colab_check)
    p = sub.add_parser("bench", help="time each lecture's main model on this machine (train step, samples/s, "
                                     "memory, PixelCNN sampler speed-up); table + JSON")
    from coursekit.bench import add_arguments as bench_arguments  # standard library only at import

    bench_arguments(p)
    p.set_defaults(func=cmd_bench)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("test", "colab-check"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra  # "test" passes anything else on to pytest
    if args.command in ("run", "test", "publish", "times", "headers", "slides", "check-run", "bench", "cache"):
        ensure_environment(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
