from pathlib import Path

from coursekit.paths import CACHE_ENV, display_path, repo_root, runs_dir


def test_cache_paths_are_shown_without_the_machine(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "somewhere"))
    assert display_path(runs_dir() / "02_dense_ae-cpu") == f"${CACHE_ENV}/runs/02_dense_ae-cpu"
    assert str(tmp_path) not in display_path(runs_dir())


def test_default_cache_home_and_repository(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert display_path(Path.home() / ".cache" / "coursekit" / "runs" / "x") == "~/.cache/coursekit/runs/x"
    assert display_path(Path.home() / "notes.txt") == "~/notes.txt"
    assert display_path(repo_root() / "notebooks" / "01_likelihood_kl.ipynb") == "notebooks/01_likelihood_kl.ipynb"
