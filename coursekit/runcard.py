"""The run card: the first cell of every notebook says what produced its outputs, the last
cell records wall time and the headline metric.

The course runner (``python -m coursekit run``) sets ``COURSEKIT_RUNCARD_DIR`` and reads the
JSON files written by :meth:`RunCard.finish` to print its summary table.

The time tables of the notebook headers and of the README are generated from the run cards of
the committed notebooks (:func:`write_time_tables`, ``python -m coursekit times``), so they say
what was measured, in which profile, on which hardware. A lecture whose `gpu` profile nobody has
measured, and which declares its training runs in :data:`coursekit.workload.WORKLOADS`, gets a
`gpu` row counted from its sizes instead (training steps beside the cpu profile's), not a time.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from coursekit.profiles import Profile

RUNCARD_DIR_ENV = "COURSEKIT_RUNCARD_DIR"


def runcard_dir() -> Path:
    """Where finished run cards are written (``$COURSEKIT_RUNCARD_DIR`` or the cache)."""
    env = os.environ.get(RUNCARD_DIR_ENV)
    if env:
        path = Path(env)
    else:
        from coursekit.paths import cache_dir

        path = cache_dir() / "runcards"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class RunCard:
    """What a notebook run was: profile, seed, device, versions, data, time, headline metric."""

    notebook: str
    profile: Profile
    seed: int
    device: str
    versions: dict
    data: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    path: Optional[Path] = None

    def add_data(self, provenance: str) -> None:
        """Record one line of data provenance (loaders return it as ``.provenance``)."""
        self.data.append(provenance)
        print(f"data      : {provenance}")

    def show(self) -> None:
        """Print the card (the first cell of every notebook calls this)."""
        print(f"notebook  : {self.notebook}")
        print(f"profile   : {self.profile.name} - {self.profile.description} (chosen by {self.profile.chosen_by})")
        print(f"seed      : {self.seed} (deterministic ops: {self.profile.deterministic})")
        print(f"device    : {self.device}")
        print("versions  : " + ", ".join(f"{k} {v}" for k, v in self.versions.items()))
        for line in self.data:
            print(f"data      : {line}")

    def finish(self, metric: str, value: float, unit: str = "", reference: Optional[str] = None) -> None:
        """Record wall time and the headline metric; write them as JSON for the runner.

        Args:
            metric: what was measured, e.g. ``"held-out NLL"``.
            value: the measured number (finite).
            unit: e.g. ``"nats"``.
            reference: what to compare it with, e.g. ``"true density: 1.82 nats"``.

        The JSON file's path is kept in ``self.path``.
        """
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"headline metric {metric!r} is not finite ({value}); "
                             "the run did not produce a usable result")
        wall = time.perf_counter() - self.started
        record = {
            "notebook": self.notebook,
            "profile": self.profile.name,
            "tiny": self.profile.tiny,
            "seed": self.seed,
            "device": self.device,
            "versions": self.versions,
            "data": self.data,
            "wall_time_s": round(wall, 1),
            "metric": metric,
            "value": value,
            "unit": unit,
            "reference": reference,
            "load_average": _load_average(),
        }
        self.path = runcard_dir() / f"{self.notebook}.json"
        self.path.write_text(json.dumps(record, indent=2))
        ref = f" (reference: {reference})" if reference else ""
        print(f"wall time : {wall:.1f} s in profile {self.profile.name} on {self.device}")
        print(f"headline  : {metric} = {value:.4g}{' ' + unit if unit else ''}{ref}")
        if record["load_average"] is not None:
            print(f"load      : {record['load_average']:.1f} (1-minute load average at the end, "
                  f"{os.cpu_count()} cores; "
                  "above the core count, other work shared the machine)")


def _load_average() -> Optional[float]:
    """The 1-minute load average (``None`` where the system has none, e.g. Windows)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def start_run(notebook: str, profile: Profile, seed: int = 0) -> RunCard:
    """Seed everything, then build and print the run card. Call it right after the parameters cell.

    Args:
        notebook: the notebook's stem, e.g. ``"01_likelihood_kl"``.
        profile: from :func:`coursekit.profiles.select_profile`.
        seed: the notebook's ``SEED`` parameter.
    """
    from coursekit.runtime import device_description, library_versions
    from coursekit.seeding import seed_everything

    seed_everything(seed, deterministic=profile.deterministic)
    card = RunCard(notebook, profile, seed, device_description(), library_versions())
    card.show()
    return card


# --------------------------------------------------------------------------- times from run cards
#: The time tables in the notebook headers and the README are generated from the run cards of the
#: committed notebooks (``python -m coursekit times``); a test fails when they differ from the card
#: by more than this (relative, or 2 s, whichever is larger).
TIME_TOLERANCE = 0.05

_WALL_RE = re.compile(r"^wall time : (?P<wall>[0-9.]+) s in profile (?P<profile>\w+) on (?P<device>.+)$", re.M)
_HEADLINE_RE = re.compile(r"^headline  : (?P<headline>.+)$", re.M)
_LOAD_RE = re.compile(r"^load      : (?P<load>[0-9.]+) ", re.M)


def committed_run_card(ipynb_path) -> dict:
    """The run card printed by the last cell of an executed notebook.

    Returns:
        ``{"wall_time_s": float, "profile": str, "device": str, "headline": str, "load_average": float | None}``.

    Raises:
        ValueError: the notebook's last code cell printed no run card (not executed, or failed).
    """
    nb = json.loads(Path(ipynb_path).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    text = "".join("".join(o.get("text", "")) for o in (code[-1].get("outputs", []) if code else []))
    wall, headline, load = _WALL_RE.search(text), _HEADLINE_RE.search(text), _LOAD_RE.search(text)
    if not wall or not headline:
        raise ValueError(f"{Path(ipynb_path).name}: its last cell printed no run card; publish it first "
                         f"(python -m coursekit publish {Path(ipynb_path).stem.split('_', 1)[0]})")
    return {"wall_time_s": float(wall["wall"]), "profile": wall["profile"], "device": wall["device"].strip(),
            "headline": re.sub(r"\s+", " ", headline["headline"].strip()),
            "load_average": float(load["load"]) if load else None}


def committed_epoch_logs(ipynb_path) -> list:
    """The training logs that :class:`coursekit.progress.EpochLog` printed in a committed notebook.

    A lecture can read another lecture's published run this way (its printed epochs only: an
    EpochLog prints every few epochs, so the list says which were printed), instead of copying
    its numbers into prose or code.

    Returns:
        One entry per training run, in order: ``{"cell": index among the code cells, "epochs": N,
        "lines": [{"epoch": k, "seconds": s, "logs": {key: value}}, ...]}``; a run ends where the
        epoch count starts again or the total changes.

    Raises:
        FileNotFoundError: no such notebook.
    """
    from coursekit.progress import parse_epoch_line

    nb = json.loads(Path(ipynb_path).read_text())
    runs: list = []
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for index, cell in enumerate(code):
        current = None
        for output in cell.get("outputs", []):
            for line in "".join(output.get("text", "")).splitlines():
                parsed = parse_epoch_line(line)
                if parsed is None:
                    continue
                if current is None or parsed["epochs"] != current["epochs"] or \
                        parsed["epoch"] <= current["lines"][-1]["epoch"]:
                    current = {"cell": index, "epochs": parsed["epochs"], "lines": []}
                    runs.append(current)
                current["lines"].append({k: parsed[k] for k in ("epoch", "seconds", "logs")})
    return runs


def time_cell(card: dict) -> str:
    """The header table's time for the profile a card was run in, e.g. ``**109 s** measured (...)``."""
    load = "" if card.get("load_average") is None else f", load average {card['load_average']:.1f}"
    return f"**{card['wall_time_s']:.0f} s** measured (run card at the end of this notebook: {card['device']}{load})"


_ROW_RE = r"^(# )?\| `{profile}` \|.*$"


def _header_row(text: str, profile: str):
    return re.search(_ROW_RE.format(profile=re.escape(profile)), text, re.M)


def _rewrite_row(text: str, profile: str, cell: str) -> str:
    row = _header_row(text, profile)
    if row is None:
        raise ValueError(f"no header table row for profile `{profile}` (a line starting '| `{profile}` |')")
    cells = row.group(0).rstrip().rstrip("|").rstrip().split(" | ")
    cells[-1] = cell
    return text[:row.start()] + " | ".join(cells) + " |" + text[row.end():]


def rewrite_time_row(text: str, card: dict) -> str:
    """``text`` (a lecture's ``.py`` or its header cell) with the time of the card's profile row replaced."""
    return _rewrite_row(text, card["profile"], time_cell(card))


def _header_cell(text: str, profile: str) -> Optional[str]:
    row = _header_row(text, profile)
    return None if row is None else row.group(0).rstrip().rstrip("|").rstrip().split(" | ")[-1]


def rewrite_gpu_row(text: str, cell: str) -> str:
    """``text`` with the `gpu` row's time replaced by ``cell`` (:func:`coursekit.workload.gpu_time_cell`)."""
    return _rewrite_row(text, "gpu", cell)


def header_time_s(text: str, profile: str) -> Optional[float]:
    """The measured seconds the header table states for ``profile`` (``None``: no measured time there)."""
    row = _header_row(text, profile)
    if row is None:
        return None
    found = re.search(r"\*\*([0-9.]+) s\*\* measured", row.group(0).split(" | ")[-1])
    return float(found.group(1)) if found else None


README_BEGIN = ("<!-- run-card-times: generated by `python3 -m coursekit times` "
                "from the committed notebooks' run cards -->")
README_END = "<!-- /run-card-times -->"


def readme_times_block(cards: dict) -> str:
    """The README's table of every committed notebook's run card, between the markers."""
    rows = [("notebook", "profile", "wall time", "load", "headline metric")]
    for stem, card in cards.items():
        headline = card["headline"].replace("(reference: ", "(ref: ")
        if len(headline) > 100:
            headline = headline[:97] + "..."
        load = "-" if card.get("load_average") is None else f"{card['load_average']:.1f}"
        rows.append((stem, card["profile"], f"{card['wall_time_s']:.0f} s", load, headline))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    devices = sorted({c["device"] for c in cards.values()})
    profiles = sorted({c["profile"] for c in cards.values()})
    total = sum(c["wall_time_s"] for c in cards.values())
    return "\n".join([
        README_BEGIN, "```", *lines, "```", "",
        f"(wall times of the committed notebooks, from their run cards: profile {', '.join(profiles)} on "
        f"{'; '.join(devices)}; {total / 60:.0f} minutes in all, plus about 10 s per notebook to start "
        "its kernel and import TensorFlow. *load* is the 1-minute load average at the end of each run: "
        "above the number of cores, other work shared the machine and the times are longer than on an idle one.)",
        README_END,
    ])


def _all_committed_cards(notebooks_dir, cards: dict) -> dict:
    """``cards`` plus the run card of every other lecture in ``notebooks_dir`` that has one, in lecture
    order: the README's block lists the whole course, whichever lectures were just rewritten."""
    from coursekit.notebooks import LECTURE_GLOBS

    stems = sorted({p.stem for pattern in LECTURE_GLOBS for p in Path(notebooks_dir).glob(pattern)} | set(cards))
    out = {}
    for stem in stems:
        if stem in cards:
            out[stem] = cards[stem]
            continue
        try:
            out[stem] = committed_run_card(Path(notebooks_dir) / f"{stem}.ipynb")
        except (OSError, ValueError):  # not published yet: no row until it is
            pass
    return out


def write_time_tables(stems, notebooks_dir, readme) -> list:
    """Rewrite each lecture's header time row (``.py`` and ``.ipynb``) and the README block from the
    committed run cards, and the `gpu` row of the lectures declared in :data:`coursekit.workload.WORKLOADS`
    from their sizes (while the committed run is not a gpu one). Returns the names of the files that changed."""
    import nbformat

    from coursekit.workload import gpu_time_cell

    changed = []
    cards = {}
    for stem in stems:
        nb_path, py_path = Path(notebooks_dir) / f"{stem}.ipynb", Path(notebooks_dir) / f"{stem}.py"
        card = cards[stem] = committed_run_card(nb_path)
        py_text = py_path.read_text()
        gpu_cell = gpu_time_cell(stem, py_text) if card["profile"] != "gpu" else None

        def rewrite(text, card=card, gpu_cell=gpu_cell):
            text = rewrite_time_row(text, card)
            return rewrite_gpu_row(text, gpu_cell) if gpu_cell is not None else text

        new_py = rewrite(py_text)
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and _header_row(cell.source, card["profile"]):
                new_source = rewrite(cell.source)
                if new_source != cell.source:
                    cell.source = new_source
                    nbformat.write(nb, str(nb_path))
                    changed.append(nb_path.name)
                break
        if new_py != py_text:
            py_path.write_text(new_py)
            changed.append(py_path.name)
    readme = Path(readme)
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"{readme.name} has no {README_BEGIN!r} ... {README_END!r} block to rewrite")
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    new = text[:start] + readme_times_block(_all_committed_cards(notebooks_dir, cards)) + text[end:]
    if new != text:
        readme.write_text(new)
        changed.append(readme.name)
    return changed


def time_table_problems(stems, notebooks_dir, readme) -> list:
    """Where a header or the README states a time that differs from the committed run card by more
    than :data:`TIME_TOLERANCE`, or a `gpu` row that is not :func:`coursekit.workload.gpu_time_cell`
    (empty list: all agree)."""
    from coursekit.workload import gpu_time_cell

    problems = []
    cards = {}
    for stem in stems:
        card = cards[stem] = committed_run_card(Path(notebooks_dir) / f"{stem}.ipynb")
        stated = header_time_s((Path(notebooks_dir) / f"{stem}.py").read_text(), card["profile"])
        allowed = max(2.0, TIME_TOLERANCE * card["wall_time_s"])
        if stated is None:
            problems.append(f"{stem}: its header states no measured time for profile {card['profile']}")
        elif abs(stated - card["wall_time_s"]) > allowed:
            problems.append(f"{stem}: header says {stated:.0f} s, its run card {card['wall_time_s']:.0f} s "
                            f"(profile {card['profile']})")
        py_text = (Path(notebooks_dir) / f"{stem}.py").read_text()
        gpu_cell = gpu_time_cell(stem, py_text) if card["profile"] != "gpu" else None
        if gpu_cell is not None and _header_cell(py_text, "gpu") != gpu_cell:
            problems.append(f"{stem}: its header's gpu row is not the count of coursekit.workload "
                            f"({_header_cell(py_text, 'gpu')!r} instead of {gpu_cell!r})")
    text = Path(readme).read_text()
    if README_BEGIN not in text:
        problems.append("README: no run-card time block")
    else:
        block = text[text.index(README_BEGIN):]
        for stem, card in cards.items():
            row = re.search(rf"^{re.escape(stem)}\s+(\w+)\s+([0-9.]+) s\s", block, re.M)
            allowed = max(2.0, TIME_TOLERANCE * card["wall_time_s"])
            if row is None:
                problems.append(f"README: no row for {stem}")
            elif row.group(1) != card["profile"] or abs(float(row.group(2)) - card["wall_time_s"]) > allowed:
                problems.append(f"README: {stem} says {row.group(2)} s in {row.group(1)}, its run card "
                                f"{card['wall_time_s']:.0f} s in {card['profile']}")
    return problems


# ---------------------------------------------------------------------------------------------
# The course leaderboard: every committed lecture's headline in one table
# ---------------------------------------------------------------------------------------------

_VALUE = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_HEADLINE_PARTS_RE = re.compile(
    rf"^(?P<metric>.+?) = (?P<value>{_VALUE})(?: (?P<unit>[^()]+?))?(?: \(reference: (?P<reference>.*)\))?$")


def parse_headline(headline: str) -> dict:
    """Split a headline as :meth:`RunCard.finish` prints it back into its parts.

    ``"held-out NLL = 1.822 nats (reference: true density 1.822 nats)"`` ->
    ``{"metric": "held-out NLL", "value": 1.822, "unit": "nats", "reference": "true density 1.822 nats"}``.
    The metric is everything before the first `` = `` followed by a number; the value has the
    4 significant digits the card prints (``{value:.4g}``); ``unit`` is ``""`` and ``reference``
    ``None`` when the card had none.

    Raises:
        ValueError: a headline not in that format (quoted).
    """
    found = _HEADLINE_PARTS_RE.match(re.sub(r"\s+", " ", headline.strip()))
    if not found:
        raise ValueError(f"not a run-card headline ('<metric> = <value> [unit] [(reference: ...)]'): {headline!r}")
    return {"metric": found["metric"], "value": float(found["value"]),
            "unit": found["unit"] or "", "reference": found["reference"]}


#: The columns of :func:`leaderboard`'s rows, in order.
LEADERBOARD_COLUMNS = ("lecture", "notebook", "metric", "value", "unit", "reference", "profile", "hardware",
                       "wall_time_s", "load_average")


def leaderboard(stems=None, notebooks_dir=None) -> tuple:
    """Every committed lecture's headline, read from its executed notebook's run card.

    The run card is the last cell's output (:func:`committed_run_card`), so the table says what
    the committed outputs show, in which profile, on which hardware, in how long.

    Args:
        stems: notebook stems (``"04_pixelcnn"``); ``None``: every lecture of the course
            (``coursekit.notebooks.lecture_stems``).
        notebooks_dir: the folder of the ``.ipynb`` files (default: the course's ``notebooks/``).

    Returns:
        ``(rows, missing)``: ``rows`` a list of dicts with the keys :data:`LEADERBOARD_COLUMNS`
        (``lecture`` e.g. ``"09b"``; ``value`` a float with 4 significant digits; ``unit`` may be
        ``""``; ``reference`` the literature figure or real-data floor the lecture quotes, or
        ``None``; ``hardware`` e.g. ``"CPU x2 (x86_64), no GPU"``; ``wall_time_s`` seconds;
        ``load_average`` or ``None``), in lecture order; ``missing`` ``{stem: why}`` for
        notebooks with no readable run card (not executed yet, or failed).
    """
    from coursekit import notebooks

    folder = Path(notebooks_dir) if notebooks_dir is not None else notebooks.notebooks_dir()
    stems = notebooks.lecture_stems() if stems is None else list(stems)
    rows, missing = [], {}
    for stem in stems:
        try:
            card = committed_run_card(folder / f"{stem}.ipynb")
            parts = parse_headline(card["headline"])
        except FileNotFoundError:
            missing[stem] = f"no {stem}.ipynb in {folder}"
            continue
        except (ValueError, KeyError, IndexError) as err:  # json.JSONDecodeError is a ValueError
            missing[stem] = str(err)
            continue
        rows.append({"lecture": notebooks.lecture_number(stem), "notebook": stem, **parts,
                     "profile": card["profile"], "hardware": card["device"], "wall_time_s": card["wall_time_s"],
                     "load_average": card["load_average"]})
    return rows, missing


def format_leaderboard(rows, max_width: int = 60) -> str:
    """A plain-text table of :func:`leaderboard`'s rows (no pandas), long texts cut to ``max_width``.

    Columns: lecture, metric, value with unit, reference, profile, wall time. The hardware is the
    same for most rows, so it is listed once under the table.
    """
    if max_width < 10:
        raise ValueError(f"max_width must be >= 10 characters, got {max_width}")

    def cut(text):
        text = "-" if text in (None, "") else str(text)
        return text if len(text) <= max_width else text[:max_width - 3] + "..."

    table = [("lecture", "metric", "value", "reference", "profile", "wall time")]
    for r in rows:
        value = f"{r['value']:.4g}" + (f" {r['unit']}" if r["unit"] else "")
        table.append((r["lecture"], cut(r["metric"]), value, cut(r["reference"]), r["profile"],
                      f"{r['wall_time_s']:.0f} s"))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    hardware = sorted({r["hardware"] for r in rows})
    if hardware:
        lines.append(f"(hardware: {'; '.join(hardware)})")
    return "\n".join(lines)
