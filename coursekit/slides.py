"""Every lecture as slides, from the same source: slide metadata and offline HTML decks.

Two parts:

- **Slide metadata.** :func:`slide_types` derives each cell's ``slideshow.slide_type`` (the
  cell metadata RISE in JupyterLab and nbconvert's reveal.js exporter both read) from the
  notebook's structure, so nobody places slides by hand: ``#``/``##`` headings open a slide,
  ``###`` headings a sub-slide (reveal.js: a slide below), a short code cell after its
  explanation appears on the next click (``fragment``), a long one gets a sub-slide of its own,
  and the Colab set-up cell and the run-card section are ``skip``. ``python3 -m coursekit
  headers`` writes the metadata into the lecture ``.py`` files (jupytext puts it on the cell
  marker line, e.g. ``# %% [markdown] slideshow={"slide_type": "slide"}``), ``publish`` applies
  it too, and :func:`slide_metadata_problems` says when a lecture's metadata is stale. The
  metadata only affects presentation: papermill, nbval and the kernel ignore it.
- **Decks.** :func:`build_deck` turns a committed, executed ``notebooks/NN_*.ipynb`` into one
  self-contained HTML file (``python3 -m coursekit slides NN``): reveal.js (from the
  ``sphinx-revealjs`` package), MathJax 3 with SVG output (from ``django-static-mathjax``),
  the notebook CSS and every figure (data URIs) are inlined, so the deck opens from a USB
  stick with no network.
"""

from __future__ import annotations

import base64
import copy
import logging
import re
from pathlib import Path
from typing import Iterable, Optional, Union

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
COLAB_TAG = "colab-setup"
SKIPPED_SECTIONS = ("run card",)  # headings (case-insensitive) whose section is left out of the slides
FRAGMENT_MAX_LINES = 14  # a code cell is a fragment when it fits, with what is on its slide, in this many lines

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*\S)")


def _heading(cell) -> Optional[tuple]:
    """``(level, title)`` when a markdown cell starts with an ATX heading, else ``None``."""
    if cell.get("cell_type") != "markdown":
        return None
    lines = cell.get("source", "").lstrip("\n").splitlines()
    m = _HEADING_RE.match(lines[0]) if lines else None
    return (len(m.group(1)), m.group(2).strip()) if m else None


def _n_lines(cell) -> int:
    return max(1, len(cell.get("source", "").strip("\n").splitlines()))


def slide_types(cells: Iterable) -> list:
    """The ``slideshow.slide_type`` of each cell, derived from the notebook's structure.

    Args:
        cells: the notebook's cells (nbformat cells or dicts with ``cell_type``, ``source``
            and ``metadata``), in order.

    Returns:
        one of :data:`SLIDE_TYPES` per cell, same order. Rules, first match wins:

        1. the cell tagged ``colab-setup`` -> ``skip``;
        2. a heading whose title is in :data:`SKIPPED_SECTIONS` (the run card) -> ``skip``,
           with every cell up to the next heading of the same or a higher level;
        3. the first shown cell, and markdown starting with ``#`` or ``##`` -> ``slide``;
        4. markdown starting with ``###`` (or deeper) -> ``subslide``;
        5. other markdown -> ``subslide`` after a code cell (the comment on a result gets room
           of its own), else ``-`` (continues the slide);
        6. a code cell right after a slide's bare heading -> ``-`` (the heading introduces it);
        7. a code cell -> ``fragment`` when the slide so far plus the cell fit in
           :data:`FRAGMENT_MAX_LINES` source lines and the cell before it is markdown, else
           ``subslide`` (its outputs need the room).
    """
    types = []
    skip_level = None  # heading level of the section being skipped
    prev_shown = None  # cell_type of the previous cell that is shown
    bare_heading = False  # whether that cell is a heading alone
    lines_on_slide = 0
    for cell in cells:
        kind = cell.get("cell_type")
        heading = _heading(cell)
        if skip_level is not None and heading and heading[0] <= skip_level:
            skip_level = None
        if heading and heading[1].lower().rstrip(".:") in SKIPPED_SECTIONS:
            skip_level = heading[0]
        tags = cell.get("metadata", {}).get("tags", [])
        if skip_level is not None or COLAB_TAG in tags or kind == "raw":
            types.append("skip")
            continue
        n = _n_lines(cell)
        if prev_shown is None or (heading and heading[0] <= 2):
            slide_type, lines_on_slide = "slide", n
        elif heading:
            slide_type, lines_on_slide = "subslide", n
        elif kind == "markdown":
            if prev_shown == "code":
                slide_type, lines_on_slide = "subslide", n
            else:
                slide_type, lines_on_slide = "-", lines_on_slide + n
        elif bare_heading:
            slide_type, lines_on_slide = "-", lines_on_slide + n
        elif prev_shown == "markdown" and lines_on_slide + n <= FRAGMENT_MAX_LINES:
            slide_type, lines_on_slide = "fragment", lines_on_slide + n
        else:
            slide_type, lines_on_slide = "subslide", n
        types.append(slide_type)
        prev_shown, bare_heading = kind, bool(heading) and n == 1
    return types


def apply_slide_metadata(nb) -> int:
    """Set every cell's ``metadata.slideshow`` from :func:`slide_types`, in place.

    ``-`` (continue the slide) is the default and is written as no ``slideshow`` entry. Each
    cell's metadata keys are kept sorted, the order nbformat writes them in, so the ``.py``
    jupytext writes from the notebook equals the one it writes from the ``.ipynb``.

    Returns:
        the number of cells whose metadata changed.
    """
    changed = 0
    for cell, slide_type in zip(nb.cells, slide_types(nb.cells)):
        meta = dict(cell.metadata)
        if slide_type == "-":
            meta.pop("slideshow", None)
        else:
            meta["slideshow"] = {**meta.get("slideshow", {}), "slide_type": slide_type}
        if meta != dict(cell.metadata):
            changed += 1
        cell.metadata.clear()
        cell.metadata.update(sorted(meta.items()))
    return changed


def _lecture_py(which) -> Path:
    from coursekit.notebooks import notebooks_dir

    path = Path(which)
    return path if path.suffix == ".py" else notebooks_dir() / f"{which}.py"


def slide_metadata_problems(py_path: Union[str, Path]) -> list:
    """The cells of a lecture ``.py`` whose slide metadata differs from :func:`slide_types`
    (empty = current). Each entry names the cell and both values."""
    import jupytext

    nb = jupytext.read(_lecture_py(py_path))
    problems = []
    for i, (cell, wanted) in enumerate(zip(nb.cells, slide_types(nb.cells))):
        has = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if has != wanted:
            first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else "(empty)"
            problems.append(f"cell {i} ({first!r}): slide_type {has!r}, derived {wanted!r}; "
                            "run: python3 -m coursekit headers")
    return problems


def write_slide_metadata(stems: Optional[Iterable] = None) -> list:
    """Write the derived slide metadata into lecture ``.py`` files (all lectures by default).

    Returns:
        the file names that changed.
    """
    import jupytext

    from coursekit.notebooks import lecture_stems

    changed = []
    for stem in (lecture_stems() if stems is None else stems):
        path = _lecture_py(stem)
        text = path.read_text()
        nb = jupytext.reads(text, fmt="py:percent")
        if apply_slide_metadata(nb):
            path.write_text(_with_markers_of(text, jupytext.writes(nb, fmt="py:percent")))
            changed.append(path.name)
    return changed


def _with_markers_of(text: str, new: str) -> str:
    """``text`` with its cell marker lines (``# %% ...``) taken from ``new``, jupytext's rewrite of
    it, so only the marker lines change even where someone's edit is not in jupytext's own layout.
    Falls back to ``new`` when the two do not have the same cells."""
    old_lines, new_markers = text.splitlines(keepends=True), [ln for ln in new.splitlines(keepends=True)
                                                                 if ln.startswith("# %%")]
    markers = [i for i, ln in enumerate(old_lines) if ln.startswith("# %%")]
    if len(markers) != len(new_markers):
        return new
    for i, line in zip(markers, new_markers):
        old_lines[i] = line
    return "".join(old_lines)


# --------------------------------------------------------------------------- decks
_BADGE_MD_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(([^)]*)\)")
_CSS_IMPORT_RE = re.compile(r"@import\s+url\([^)]*\)\s*;?")

# The deck's template: nbconvert's reveal template with every remote <script>/<link> replaced by
# inlined assets (reveal.js, its notes plugin, MathJax 3 SVG, the theme and its fonts).
_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block header -%}
<!DOCTYPE html>
<html lang="{{ resources.language_code }}">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>{{ nb.metadata.get('title', resources['metadata']['name']) | escape_html_keep_quotes }} slides</title>
<style type="text/css">{{ resources.deck.reveal_css }}</style>
{% for css in resources.inlining.css -%}<style type="text/css">{{ css }}</style>
{% endfor %}
{{ resources.include_css("static/index.css") }}
{{ resources.include_css("static/theme-light.css") }}
{{ resources.include_css("static/custom_reveal.css") }}
<style type="text/css" id="theme">{{ resources.deck.theme_css }}</style>
<style type="text/css">{{ resources.deck.extra_css }}</style>
<script>{{ resources.deck.mathjax_config }}</script>
<script id="MathJax-script">{{ resources.deck.mathjax_js }}</script>
</head>
{%- endblock header -%}
{%- block footer_js -%}
<script>{{ resources.deck.reveal_js }}</script>
<script>{{ resources.deck.notes_js }}</script>
<script>{{ resources.deck.init_js }}</script>
{%- endblock footer_js -%}
"""

_EXTRA_CSS = """
a.anchor-link { display: none; }
.jp-Notebook { padding: 0; }
:root { --jp-ui-font-size1: 20px; --jp-content-font-size1: 20px; --jp-code-font-size: 17px;
        --jp-cell-prompt-width: 0px; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
.reveal .slides section { height: 100%; overflow-y: auto; }  /* a tall slide scrolls */
.reveal .jp-RenderedImage img { max-height: 560px; width: auto; }
.reveal mjx-container[display="true"] { margin: 0.4em 0; }
"""

_MATHJAX_CONFIG = """window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: 'global'},
  loader: {load: []},
  startup: {typeset: true}
};"""

_INIT_JS = """Reveal.initialize({
  controls: true, progress: true, history: true, hash: true, center: false,
  transition: 'slide', slideNumber: 'c/t', width: %(width)d, height: %(height)d, margin: 0.04,
  plugins: [RevealNotes]
}).then(function () {
  document.body.setAttribute('data-deck-ready', 'true');
});"""


def _package_dir(module: str, what: str, package: str) -> Path:
    """Folder of an installed package, found without importing it (sphinx-revealjs would import Sphinx)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{what} is needed to build offline slides and comes with the package {package!r}, which is not "
            f"installed. Install the course's dev extra: pip install -e '.[dev]' (or: pip install {package})")
    return Path(list(spec.submodule_search_locations)[0])


def reveal_dir() -> Path:
    """reveal.js's distribution (``dist/``, ``plugin/``) as shipped by the ``sphinx-revealjs`` package."""
    path = _package_dir("sphinx_revealjs", "reveal.js", "sphinx-revealjs") / "_static" / "revealjs"
    if not (path / "dist" / "reveal.js").exists():
        raise FileNotFoundError(f"no reveal.js in {path}: this sphinx-revealjs version lays its files out "
                                "differently; install sphinx-revealjs>=3")
    return path


def mathjax_file() -> Path:
    """MathJax 3's single-file TeX-to-SVG component (all TeX packages, fonts as SVG paths), from
    ``django-static-mathjax``: it needs no further file, so it can be inlined."""
    es5 = _package_dir("mathjax", "MathJax 3", "django-static-mathjax") / "static" / "mathjax" / "es5"
    path = es5 / "tex-svg-full.js"
    if not path.exists():
        raise FileNotFoundError(f"no {path.name} in {path.parent}: install django-static-mathjax>=3.2")
    return path


def _script(text: str) -> str:
    """JavaScript made safe to sit inside <script>...</script>."""
    return text.replace("</script", "<\\/script")


def _theme_css(theme: str) -> str:
    """A reveal.js theme with its ``@import`` of fonts replaced by the woff fonts inlined as data URIs."""
    dist = reveal_dir() / "dist" / "theme"
    path = dist / f"{theme}.css"
    if not path.exists():
        themes = sorted(p.stem for p in dist.glob("*.css"))
        raise ValueError(f"unknown reveal.js theme {theme!r}; choose one of {themes}")
    css = _CSS_IMPORT_RE.sub("", path.read_text())
    faces = []
    fonts = dist / "fonts" / "source-sans-pro"
    for name, weight, style in (("regular", "normal", "normal"), ("italic", "normal", "italic"),
                                ("semibold", "600", "normal"), ("semibolditalic", "600", "italic")):
        woff = fonts / f"source-sans-pro-{name}.woff"
        if woff.exists() and "Source Sans Pro" in css:
            data = base64.b64encode(woff.read_bytes()).decode()
            faces.append(f"@font-face {{ font-family: 'Source Sans Pro'; font-weight: {weight}; font-style: {style}; "
                         f"src: url(data:font/woff;base64,{data}) format('woff'); }}")
    return "\n".join(faces) + "\n" + css


def _deck_notebook(nb):
    """A copy of the notebook as the deck shows it: slide metadata derived from its cells (the
    committed metadata, if current, is the same), and the Colab badge (a remote image) as a text link."""
    nb = copy.deepcopy(nb)
    apply_slide_metadata(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _BADGE_MD_RE.sub(lambda m: f"[Open in Colab]({m.group(1)})", cell.source)
    return nb


def deck_path(stem: str, out_dir: Optional[Path] = None) -> Path:
    """Where :func:`build_deck` writes lecture ``stem``'s deck: ``build/slides/<stem>.slides.html``."""
    from coursekit.paths import repo_root

    return Path(out_dir if out_dir is not None else repo_root() / "build" / "slides") / f"{stem}.slides.html"


def build_deck(stem: str, out_dir: Optional[Path] = None, *, theme: str = "white",
               width: int = 1280, height: int = 800) -> Path:
    """Write the self-contained reveal.js deck of a lecture from its committed, executed ``.ipynb``.

    Args:
        stem: lecture stem, e.g. ``"05_gan_mnist"``.
        out_dir: folder of the deck; default ``build/slides``.
        theme: a reveal.js theme name (``white``, ``simple``, ``black``...).
        width, height: the slide size in CSS pixels that reveal.js scales to the screen.

    Returns:
        the path of the HTML file. It references no network resource: scripts, styles, fonts
        and figures are inside it (about 3 MB plus the figures).
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter

    from coursekit.notebooks import lecture_number, notebooks_dir

    src = notebooks_dir() / f"{stem}.ipynb"
    if not src.exists():
        raise FileNotFoundError(f"no executed notebook {src}; create it with: "
                                f"python3 -m coursekit publish {lecture_number(stem)}")
    nb = _deck_notebook(nbformat.read(src, as_version=4))
    reveal = reveal_dir()
    deck = {
        "reveal_css": (reveal / "dist" / "reveal.css").read_text(),
        "theme_css": _theme_css(theme),
        "extra_css": _EXTRA_CSS,
        "mathjax_config": _MATHJAX_CONFIG,
        "mathjax_js": _script(mathjax_file().read_text()),
        "reveal_js": _script((reveal / "dist" / "reveal.js").read_text()),
        "notes_js": _script((reveal / "plugin" / "notes" / "notes.js").read_text()),
        "init_js": _INIT_JS % {"width": width, "height": height},
    }
    quiet = logging.getLogger("coursekit.slides.nbconvert")
    quiet.setLevel(logging.ERROR)  # nbconvert warns that figures have no alt text and gives them a generic one
    exporter = SlidesExporter(extra_loaders=[DictLoader({"coursekit_deck.html.j2": _TEMPLATE})],
                              template_file="coursekit_deck.html.j2", exclude_input_prompt=True,
                              exclude_output_prompt=True, log=quiet)
    body, _ = exporter.from_notebook_node(nb, resources={"deck": deck, "metadata": {"name": stem}})
    out = deck_path(stem, out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out
