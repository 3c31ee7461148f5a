"""Slides: metadata derived from each lecture's cells, and offline reveal.js decks.

The deck tests build real decks from the committed notebooks. The browser test opens one in
headless Chromium with the network blocked and is skipped where no Chromium is installed
(``apt-get install chromium`` brings it on Debian).
"""

import re
import shutil
import subprocess
from argparse import Namespace
from pathlib import Path

import jupytext
import nbformat
import pytest
from bs4 import BeautifulSoup

from coursekit import slides
from coursekit.notebooks import lecture_stems, notebooks_dir
from coursekit.slides import apply_slide_metadata, build_deck, slide_metadata_problems, slide_types

STEMS = lecture_stems()
PUBLISHED = [s for s in STEMS if (notebooks_dir() / f"{s}.ipynb").exists()]
_VERSION_RE = re.compile(r"^#\s+jupytext_version: .*\n", re.M)


def md(text, **meta):
    return nbformat.v4.new_markdown_cell(text, metadata=meta)


def code(text, **meta):
    return nbformat.v4.new_code_cell(text, metadata=meta)


# --------------------------------------------------------------------------- derived metadata
def test_slide_types_follow_the_structure():
    cells = [
        md("# Lecture 99 - Title\n\nwhat it covers"),
        code("import sys\n# colab set-up", tags=["colab-setup"]),
        md("## Setup"),
        code("\n".join(f"import m{i}" for i in range(20))),  # a bare heading takes its code along
        md("### Parameters\nAll knobs."),
        code("SEED = 0", tags=["parameters"]),
        code("\n".join(f"x{i} = {i}" for i in range(20))),  # long code after code: room of its own
        md("## 1. Section"),
        md("More text, no heading: continues the slide."),
        code("\n".join(f"y{i} = {i}" for i in range(30))),  # too long to be a fragment
        md("A comment on the result above."),
        code("plot()"),
        md("## Run card"),
        code("card.finish(...)"),
        md("## Quiz\n1. ?"),
    ]
    assert slide_types(cells) == [
        "slide", "skip", "slide", "-", "subslide", "fragment", "subslide", "slide", "-",
        "subslide", "subslide", "fragment", "skip", "skip", "slide",
    ]


def test_the_skipped_section_ends_at_the_next_heading_of_its_level():
    cells = [md("# T"), md("### Run card"), code("card.finish()"), md("#### detail"), code("x"), md("### Next")]
    assert slide_types(cells) == ["slide", "skip", "skip", "skip", "skip", "subslide"]


def test_apply_writes_sorted_metadata_omits_the_default_and_is_idempotent():
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("# T"), md("continued"), code("x = 1", tags=["parameters"])]
    nb.cells[1].metadata["slideshow"] = {"slide_type": "notes"}  # stale: derived is "-"
    assert apply_slide_metadata(nb) == 3
    assert nb.cells[0].metadata == {"slideshow": {"slide_type": "slide"}}
    assert "slideshow" not in nb.cells[1].metadata
    assert list(nb.cells[2].metadata) == ["slideshow", "tags"]  # nbformat's (sorted) order
    assert apply_slide_metadata(nb) == 0


@pytest.mark.parametrize("stem", STEMS)
def test_lecture_slide_metadata_is_current(stem):
    assert slide_metadata_problems(notebooks_dir() / f"{stem}.py") == []


@pytest.mark.parametrize("stem", STEMS)
def test_py_to_ipynb_to_py_is_stable_with_slide_metadata(stem):
    """What publish does: .py -> notebook -> .ipynb file -> .py gives back the same text."""
    py = notebooks_dir() / f"{stem}.py"
    ipynb_text = nbformat.writes(jupytext.read(py))
    back = jupytext.writes(nbformat.reads(ipynb_text, as_version=4), fmt="py:percent")
    assert _VERSION_RE.sub("", back) == _VERSION_RE.sub("", py.read_text())
    assert '"slide_type": "slide"' in ipynb_text


def test_stale_metadata_is_reported_and_rewritten(tmp_path, monkeypatch):
    stem = STEMS[0]
    py = tmp_path / f"{stem}.py"
    text = (notebooks_dir() / f"{stem}.py").read_text()
    stale = text.replace('slideshow={"slide_type": "skip"} ', "", 1)  # the Colab cell loses its "skip"
    assert stale != text
    py.write_text(stale)
    problems = slide_metadata_problems(py)
    assert len(problems) == 1 and "'skip'" in problems[0] and "coursekit headers" in problems[0]
    monkeypatch.setattr("coursekit.notebooks.notebooks_dir", lambda: tmp_path)
    assert slides.write_slide_metadata([stem]) == [py.name]
    assert py.read_text() == text


def test_slide_metadata_does_not_change_parameters_or_execution(tmp_path):
    """papermill finds the parameters cell by its tag with slide metadata beside it, and runs as before."""
    import papermill as pm

    nb = nbformat.v4.new_notebook()
    nb.cells = [md("# T\n\nIntro."), code("A = 1", tags=["parameters"]), md("## Next"), code("print(A * 2)")]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    apply_slide_metadata(nb)
    assert nb.cells[1].metadata["slideshow"] == {"slide_type": "fragment"}
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    pm.execute_notebook(str(src), str(out), parameters={"A": 21}, kernel_name="python3", progress_bar=False)
    done = nbformat.read(out, as_version=4)
    injected = [c for c in done.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and done.cells.index(injected[0]) == 2  # right after the parameters cell
    assert done.cells[-1].outputs[0]["text"] == "42\n"


# --------------------------------------------------------------------------- decks
@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    """Every published lecture's deck, built once: ``{stem: path}``."""
    out = tmp_path_factory.mktemp("slides")
    return {stem: build_deck(stem, out) for stem in PUBLISHED}


_REMOTE_RE = re.compile(r"""<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?//""",
                        re.I)


@pytest.mark.parametrize("stem", PUBLISHED)
def test_deck_is_self_contained(decks, stem):
    html = decks[stem].read_text()
    assert not _REMOTE_RE.search(html), _REMOTE_RE.search(html).group(0)
    assert not re.search(r"@import|url\(\s*[\"']?(https?:)?//", html), "CSS that loads from the network"
    assert "<script src=" not in html and "<link " not in html  # every script and style is inline
    assert "window.MathJax = {" in html
    mathjax = re.search(r'<script id="MathJax-script">(.*?)</script>', html, re.S)
    assert mathjax and len(mathjax.group(1)) > 1_000_000, "MathJax is not inlined"
    assert "reveal.js 5" in html or "reveal.js 4" in html  # the inlined reveal.js banner
    assert "google.colab" not in html  # the Colab set-up cell is skipped


@pytest.mark.parametrize("stem", PUBLISHED)
def test_deck_has_the_slides_figures_and_math_of_the_notebook(decks, stem):
    nb = nbformat.read(notebooks_dir() / f"{stem}.ipynb", as_version=4)
    types = slide_types(nb.cells)
    shown = [c for c, t in zip(nb.cells, types) if t != "skip"]
    soup = BeautifulSoup(decks[stem].read_text(), "html.parser")
    slides_ = soup.select("div.slides section")
    # a slide with sub-slides is one <section> around them
    n_sections = types.count("slide") + types.count("subslide")
    n_slides_with_subs = sum(1 for s in soup.select("div.slides > section") if s.find("section"))
    assert len(slides_) == n_sections + n_slides_with_subs
    assert len(soup.select("div.slides div.fragment")) == types.count("fragment")
    images = sum(1 for c in shown if c.cell_type == "code"
                 for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    embedded = soup.select('div.slides img[src^="data:image/png;base64,"]')
    assert len(embedded) == images
    title = nb.cells[0].source.splitlines()[0].lstrip("# ").strip()
    assert title in soup.get_text()
    # the TeX of the markdown is in the page for MathJax to typeset
    math = [m for c in shown if c.cell_type == "markdown" for m in re.findall(r"\$[^$\n]+\$", c.source)]
    assert math and math[0] in soup.get_text()


def test_decks_embed_the_figures(decks):
    assert sum(p.read_text().count('src="data:image/png;base64,') for p in decks.values()) > 10


def test_deck_needs_the_executed_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr("coursekit.notebooks.notebooks_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="coursekit publish 99"):
        build_deck("99_missing", tmp_path)


def test_unknown_theme_names_the_choices():
    with pytest.raises(ValueError, match="unknown reveal.js theme 'neon'.*white"):
        slides._theme_css("neon")


def test_slides_command_writes_the_decks(tmp_path, capsys):
    from coursekit.__main__ import cmd_slides

    assert cmd_slides(Namespace(only=[PUBLISHED[0][:2]], all=False, out=str(tmp_path))) == 0
    assert (tmp_path / f"{PUBLISHED[0]}.slides.html").exists()
    assert "MB" in capsys.readouterr().out


def test_slides_command_line(monkeypatch):
    import coursekit.__main__ as cli

    seen = []
    monkeypatch.setattr(cli, "ensure_environment", lambda argv: None)
    monkeypatch.setattr(cli, "cmd_slides", lambda args: seen.append(args) or 0)
    assert cli.main(["slides", "--all"]) == 0 and cli.main(["slides", "05", "--out", "x"]) == 0
    assert seen[0].all and seen[0].only == [] and seen[1].only == ["05"] and seen[1].out == "x"


# --------------------------------------------------------------------------- in a real browser
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def _chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """Headless Chromium on ``url`` with every network request failing (proxy to a closed port,
    no name resolution): the deck has to render from what it carries."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
         "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars", "--window-size=1280,800",
         "--virtual-time-budget=20000", *extra, url],
        capture_output=True, text=True, timeout=120)


def _figure_and_math_slide(html: str):
    """``(h, v, last_fragment, tex)`` of the first slide that shows both a figure and inline TeX."""
    soup = BeautifulSoup(html, "html.parser")
    for h, top in enumerate(soup.select("div.slides > section")):
        for v, sec in enumerate(top.find_all("section", recursive=False) or [top]):
            tex = re.search(r"\$([^$\n]+)\$", sec.get_text())
            if sec.find("img") and tex:
                return h, v, len(sec.select("div.fragment")) - 1, tex.group(0)
    return None


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")
def test_deck_renders_math_and_figures_in_a_browser_offline(decks, tmp_path):
    stem = next((s for s in PUBLISHED if _figure_and_math_slide(decks[s].read_text())), None)
    assert stem, "no lecture has a slide with both a figure and an equation"
    h, v, frag, tex = _figure_and_math_slide(decks[stem].read_text())
    url = f"{decks[stem].as_uri()}#/{h}/{v}" + (f"/{frag}" if frag >= 0 else "")
    dom = _chromium(url, tmp_path, "--dump-dom").stdout
    soup = BeautifulSoup(dom, "html.parser")
    assert soup.body.get("data-deck-ready") == "true", "reveal.js did not start"
    present = soup.select_one("div.slides section.present section.present") or soup.select_one("section.present")
    assert present is not None and present.find("img") is not None
    assert present.find("mjx-container") is not None and present.find("svg") is not None, "math not typeset"
    assert tex not in present.get_text(), f"raw TeX {tex} left on the slide"
    png = tmp_path / "slide.png"
    _chromium(url, tmp_path, f"--screenshot={png}")
    from PIL import Image

    with Image.open(png) as im:
        assert im.size == (1280, 800)
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # text, figure and formula; not a blank page
