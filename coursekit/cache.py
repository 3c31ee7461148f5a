"""The training runs a student has on disk: list them, and prune them (``python3 -m coursekit cache``).

Runs live in ``coursekit.paths.runs_dir()`` (``~/.cache/coursekit/runs``; ``runs-tiny`` for tiny gpu
runs). Each is a folder named by its ``run_name`` (``05_gan_mnist-cpu``); a run of the same name but
other settings is kept beside it as ``<run_name>@<fingerprint>`` (see :mod:`coursekit.training`).
The lecture is the name's leading number (``05``), the profile its ``-smoke``/``-cpu``/``-gpu``
suffix. Both are read from the name, so a run a student named by hand is listed too (lecture and
profile ``?``).

A run that another process is training (its lock is held) is never pruned.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from coursekit.runkey import describe_changes

_LECTURE_RE = re.compile(r"^(\d\d[a-z]?)_")
_PROFILE_RE = re.compile(r"-(smoke|cpu|gpu)(?=$|[-_@])")


@dataclass
class Run:
    """One run folder. ``size_bytes`` on disk; ``age_s`` since its newest file was written."""

    path: Path
    name: str  # the run_name (without ``@fingerprint``)
    key: Optional[str]  # the fingerprint of a run kept beside the current one; None for the current one
    lecture: str
    profile: str
    size_bytes: int
    age_s: float
    settings: Optional[dict] = field(default=None, repr=False)
    differs: str = ""  # the settings in which this run differs from the current run of its name

    @property
    def folder(self) -> str:
        return self.path.name


def _size_and_mtime(path: Path) -> tuple:
    size, newest = 0, path.stat().st_mtime
    for f in path.rglob("*"):
        try:
            st = f.stat()
        except OSError:  # a file removed while listing
            continue
        if f.is_file():
            size += st.st_size
        newest = max(newest, st.st_mtime)
    return size, newest


def list_runs(folder: Optional[Path] = None, now: Optional[float] = None) -> list:
    """Every run under ``folder`` (default: ``runs_dir()``), sorted by name, the current run first.

    Runs of one name kept beside each other get ``differs``: what changed from the current run
    (``coursekit.runkey.describe_changes``), e.g. ``real_label 0.9 -> 1.0``.
    """
    from coursekit.training import read_settings

    if folder is None:
        from coursekit.paths import runs_dir

        folder = runs_dir()
    folder = Path(folder)
    now = time.time() if now is None else now
    runs = []
    if not folder.is_dir():
        return runs
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name, _, key = path.name.partition("@")
        lecture = _LECTURE_RE.match(name)
        profile = _PROFILE_RE.search(name)
        size, mtime = _size_and_mtime(path)
        runs.append(Run(path=path, name=name, key=key or None, lecture=lecture.group(1) if lecture else "?",
                        profile=profile.group(1) if profile else "?", size_bytes=size, age_s=max(0.0, now - mtime),
                        settings=read_settings(path)))
    current = {r.name: r for r in runs if r.key is None}
    for r in runs:
        base = current.get(r.name)
        if r.key is not None and base is not None and r.settings is not None and base.settings is not None:
            r.differs = describe_changes(base.settings, r.settings)
        elif r.key is not None and r.settings is None:
            r.differs = "settings unknown (saved before run fingerprints)"
    runs.sort(key=lambda r: (r.name, r.key is not None, r.key or ""))
    return runs


def _human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - the loop returns


def _human_age(seconds: float) -> str:
    for limit, unit in ((3600, 60), (86400, 3600)):
        if seconds < limit:
            return f"{seconds / unit:.0f} {'min' if unit == 60 else 'h'}"
    return f"{seconds / 86400:.1f} d"


def format_runs(runs: Iterable[Run]) -> str:
    """A table: lecture, profile, size, age, folder, and what differs from the current run of its name."""
    runs = list(runs)
    if not runs:
        return "no training runs in the cache"
    rows = [("lecture", "profile", "size", "age", "run", "differs from the current run")]
    rows += [(r.lecture, r.profile, _human_size(r.size_bytes), _human_age(r.age_s), r.folder, r.differs)
             for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total = sum(r.size_bytes for r in runs)
    lines.append(f"{len(runs)} runs, {_human_size(total)} in all")
    return "\n".join(lines)


def parse_age(text: str) -> float:
    """``"7d"``, ``"12h"``, ``"30m"`` or a plain number of days, in seconds.

    Raises:
        ValueError: naming the text and the accepted forms.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", str(text))
    if not match:
        raise ValueError(f"--older-than must be a number of days or a number with d, h or m (7d, 12h, 30m), "
                         f"got {text!r}")
    value, unit = float(match.group(1)), match.group(2) or "d"
    return value * {"d": 86400, "h": 3600, "m": 60}[unit]


def _locked(run: Run) -> bool:
    """Whether another process holds the run's lock (training or saving it now)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(run.path.parent / f".{run.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


def select(runs: Iterable[Run], *, older_than_s: Optional[float] = None, lectures: Iterable[str] = (),
           everything: bool = False) -> list:
    """The runs a prune would remove: older than ``older_than_s`` and/or of the given ``lectures``
    (``"05"``, ``"09b"``), or all of them with ``everything``.

    Raises:
        ValueError: no criterion given (a prune never removes everything by accident).
    """
    lectures = [str(lec).zfill(2) for lec in lectures]
    if not everything and older_than_s is None and not lectures:
        raise ValueError("say which runs to prune: --older-than 7d, --lecture 05 (several allowed), or --all")
    chosen = []
    for r in runs:
        if everything or ((older_than_s is None or r.age_s > older_than_s)
                          and (not lectures or r.lecture in lectures)):
            chosen.append(r)
    return chosen


def prune(runs: Iterable[Run], dry_run: bool = False) -> tuple:
    """Remove the run folders (skipping any whose lock another process holds).

    Returns:
        ``(removed, skipped)``: lists of :class:`Run`.
    """
    removed, skipped = [], []
    for r in runs:
        if _locked(r):
            skipped.append(r)
            continue
        if not dry_run:
            shutil.rmtree(r.path)
        removed.append(r)
    return removed, skipped


def cache_command(args) -> int:
    """``python3 -m coursekit cache [prune ...]``: list the runs, or prune them."""
    from coursekit.paths import display_path, runs_dir

    folders = [runs_dir()]
    tiny = folders[0].with_name("runs-tiny")
    if tiny.is_dir():
        folders.append(tiny)
    if args.action == "list":
        given = [flag for flag, value in (("--older-than", args.older_than), ("--lecture", args.lecture),
                                          ("--all", args.all), ("--dry-run", args.dry_run)) if value]
        if given:  # a prune option without "prune" would list and silently prune nothing
            print(f"coursekit cache: {' '.join(given)} only applies to pruning: "
                  f"python3 -m coursekit cache prune {' '.join(given)}")
            return 2
        for folder in folders:
            print(f"{display_path(folder)}:")
            print(format_runs(list_runs(folder)))
        return 0
    try:
        older = parse_age(args.older_than) if args.older_than is not None else None
        chosen = [r for folder in folders for r in select(list_runs(folder), older_than_s=older,
                                                          lectures=args.lecture or (), everything=args.all)]
    except ValueError as err:
        print(f"coursekit cache prune: {err}")
        return 2
    removed, skipped = prune(chosen, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(removed)} runs ({_human_size(sum(r.size_bytes for r in removed))})"
          + (": " + ", ".join(r.folder for r in removed) if removed else ""))
    for r in skipped:
        print(f"kept {r.folder}: another process is training or saving it")
    return 0
