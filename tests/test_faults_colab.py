"""The Colab set-up cell: what it clones exists, and a failed clone or install stops with a fix.

The cell is executed for real (``git clone`` against a local repository standing in for GitHub);
only the ``pip install`` step is faked, so the test never changes this environment.
"""

import subprocess
import sys
import types

import pytest

from coursekit import meta
from coursekit.notebooks import colab_setup_source
from coursekit.paths import repo_root


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def test_the_ref_colab_installs_exists():
    """A branch: the one the badge opens (so notebook and coursekit agree); a tag only if it exists."""
    ref = meta.REPO_REF
    if ref != meta.BADGE_BRANCH:
        tag = _git("rev-parse", "--verify", "--quiet", f"refs/tags/{ref}^{{commit}}", cwd=repo_root())
        assert tag.returncode == 0, (f"the Colab cell clones {ref!r}, which is neither the badge branch "
                                     f"{meta.BADGE_BRANCH!r} nor a tag of this repository")
    assert f'"{ref}"' in colab_setup_source() and meta.REPO_URL in colab_setup_source()
    # where this checkout has the branch, it holds an installable coursekit
    if _git("rev-parse", "--verify", "--quiet", f"refs/heads/{ref}", cwd=repo_root()).returncode == 0:
        for path in ("pyproject.toml", "coursekit/__init__.py"):
            assert _git("cat-file", "-e", f"{ref}:{path}", cwd=repo_root()).returncode == 0, path


@pytest.fixture
def upstream(tmp_path):
    """A local git repository with the course's default branch, standing in for GitHub."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    _git("init", "-q", "-b", meta.REPO_REF, cwd=repo)
    (repo / "pyproject.toml").write_text("[project]\nname = 'stand-in'\n")
    _git("add", "pyproject.toml", cwd=repo)
    assert _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init", cwd=repo).returncode == 0
    return repo


def _run_cell(monkeypatch, source, pip_returncode=0):
    """Execute the cell as Colab would, with ``pip install`` faked; returns the commands run."""
    real_run = subprocess.run
    calls = []

    def run(cmd, *args, **kwargs):
        calls.append(cmd)
        if cmd[0] == sys.executable:  # the pip step
            return subprocess.CompletedProcess(cmd, pip_returncode, "", "ERROR: pip failed for the test")
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(source, "colab-setup-cell", "exec"), {"__name__": "__main__"})
    return calls


def _cell_for(upstream, dest, ref=meta.REPO_REF):
    source = colab_setup_source()
    source = source.replace(f'"{meta.REPO_URL}"', repr(upstream.as_uri())).replace('"/content/course"', repr(str(dest)))
    return source.replace(f'"{meta.REPO_REF}"', repr(ref)) if ref != meta.REPO_REF else source


def test_cell_clones_installs_and_reuses_the_clone(monkeypatch, upstream, tmp_path):
    dest = tmp_path / "course"
    calls = _run_cell(monkeypatch, _cell_for(upstream, dest))
    assert (dest / "pyproject.toml").exists()
    assert [c[0] for c in calls] == ["git", sys.executable]
    assert str(dest) in sys.path
    # rerunning the cell (a common thing to do) does not clone again into the existing folder
    calls = _run_cell(monkeypatch, _cell_for(upstream, dest))
    assert [c[0] for c in calls] == [sys.executable]


def test_failed_clone_stops_with_what_to_do(monkeypatch, upstream, tmp_path):
    dest = tmp_path / "course"
    with pytest.raises(RuntimeError,
                       match=r"(?s)could not download the course .*branch v9\.9\.9.*run this cell again") as err:
        _run_cell(monkeypatch, _cell_for(upstream, dest, ref="v9.9.9"))
    assert "v9.9.9" in str(err.value) and not isinstance(err.value, subprocess.CalledProcessError)
    assert not (dest / "pyproject.toml").exists()


def test_failed_install_stops_with_what_to_do(monkeypatch, upstream, tmp_path):
    with pytest.raises(RuntimeError,
                       match=r"(?s)could not install coursekit .*pip failed for the test.*run this cell again"):
        _run_cell(monkeypatch, _cell_for(upstream, tmp_path / "course"), pip_returncode=1)


def test_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("ran a command outside Colab"))
    exec(compile(colab_setup_source(), "colab-setup-cell", "exec"), {"__name__": "__main__"})
