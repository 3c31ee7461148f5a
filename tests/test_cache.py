"""``python3 -m coursekit cache``: the runs on disk listed (lecture, profile, size, age, what differs) and pruned."""

import json
import os
import subprocess
import sys
import time

import pytest

from coursekit import cache
from coursekit.training import SETTINGS_JSON


def _run(folder, name, settings=None, size=100, age_days=0.0):
    path = folder / name
    path.mkdir(parents=True)
    (path / "final.weights.h5").write_bytes(b"x" * size)
    if settings is not None:
        (path / SETTINGS_JSON).write_text(json.dumps(settings))
    stamp = time.time() - age_days * 86400
    for f in [path / "final.weights.h5", path / SETTINGS_JSON, path]:
        if f.exists():
            os.utime(f, (stamp, stamp))
    return path


@pytest.fixture
def runs(tmp_path):
    base = {"fit.epochs": "8", "model.real_label": "0.9", "optimizer.learning_rate": "0.0002"}
    _run(tmp_path, "05_gan_mnist-cpu", base, size=3000, age_days=1)
    _run(tmp_path, "05_gan_mnist-cpu@abc123", {**base, "model.real_label": "1.0"}, size=2000, age_days=10)
    _run(tmp_path, "09b_pacgan-smoke", {"fit.epochs": "1"}, size=10, age_days=0.01)
    _run(tmp_path, "my_experiment", None, size=5, age_days=30)
    return tmp_path


def test_runs_are_listed_with_lecture_profile_size_age_and_what_differs(runs):
    found = {r.folder: r for r in cache.list_runs(runs)}
    assert set(found) == {"05_gan_mnist-cpu", "05_gan_mnist-cpu@abc123", "09b_pacgan-smoke", "my_experiment"}
    kept = found["05_gan_mnist-cpu@abc123"]
    on_disk = sum(f.stat().st_size for f in kept.path.iterdir())
    assert (kept.lecture, kept.profile, kept.key, kept.size_bytes) == ("05", "cpu", "abc123", on_disk)
    assert 2000 < on_disk < 2200  # the weights and settings.json
    assert kept.differs == "real_label 0.9 -> 1.0"
    assert found["05_gan_mnist-cpu"].differs == ""  # the current run is the reference
    assert (found["09b_pacgan-smoke"].lecture, found["09b_pacgan-smoke"].profile) == ("09b", "smoke")
    assert (found["my_experiment"].lecture, found["my_experiment"].profile) == ("?", "?")
    assert 9.9 < kept.age_s / 86400 < 10.1
    table = cache.format_runs(cache.list_runs(runs))
    assert "real_label 0.9 -> 1.0" in table and "4 runs, 5.2 KB in all" in table


def test_an_empty_cache_says_so(tmp_path):
    assert cache.format_runs(cache.list_runs(tmp_path / "none")) == "no training runs in the cache"


@pytest.mark.parametrize("text, seconds", [("7d", 7 * 86400), ("12h", 12 * 3600), ("30m", 1800), ("2", 2 * 86400),
                                           ("0.5d", 43200)])
def test_ages_are_parsed(text, seconds):
    assert cache.parse_age(text) == seconds


@pytest.mark.parametrize("bad", ["week", "-1d", "7 days", ""])
def test_a_bad_age_is_named(bad):
    with pytest.raises(ValueError, match=rf"--older-than must be .* got {bad!r}"):
        cache.parse_age(bad)


def test_prune_selects_by_age_lecture_or_all_and_never_by_default(runs):
    listed = cache.list_runs(runs)
    names = lambda chosen: sorted(r.folder for r in chosen)  # noqa: E731
    assert names(cache.select(listed, older_than_s=7 * 86400)) == ["05_gan_mnist-cpu@abc123", "my_experiment"]
    assert names(cache.select(listed, lectures=["5"])) == ["05_gan_mnist-cpu", "05_gan_mnist-cpu@abc123"]
    assert names(cache.select(listed, lectures=["05"], older_than_s=7 * 86400)) == ["05_gan_mnist-cpu@abc123"]
    assert len(cache.select(listed, everything=True)) == 4
    with pytest.raises(ValueError, match="say which runs to prune"):
        cache.select(listed)


def test_prune_removes_the_folders_but_not_a_run_being_trained(runs):
    from filelock import FileLock

    chosen = cache.select(cache.list_runs(runs), lectures=["05"])
    removed, _ = cache.prune(chosen, dry_run=True)
    assert len(removed) == 2 and (runs / "05_gan_mnist-cpu").exists(), "a dry run removes nothing"
    with FileLock(str(runs / ".05_gan_mnist-cpu.lock")):  # as training.fit_or_load holds it
        removed, skipped = cache.prune(chosen)
    assert not removed and len(skipped) == 2
    removed, skipped = cache.prune(chosen)
    assert len(removed) == 2 and not skipped
    assert sorted(p.name for p in runs.iterdir() if not p.name.startswith(".")) == ["09b_pacgan-smoke",
                                                                                   "my_experiment"]


def test_the_command_lists_and_prunes(tmp_path):
    env = {**os.environ, "COURSEKIT_CACHE": str(tmp_path), "COURSEKIT_NO_VENV": "1"}
    _run(tmp_path / "runs", "03_vae-cpu", {"fit.epochs": "3"}, size=1500, age_days=20)
    _run(tmp_path / "runs", "03_vae-smoke", {"fit.epochs": "1"}, size=10)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "coursekit", "cache", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    listed = cli()
    assert listed.returncode == 0, listed.stderr
    assert "03_vae-cpu" in listed.stdout and "2 runs" in listed.stdout and str(tmp_path) not in listed.stdout
    refused = cli("prune")
    assert refused.returncode == 2 and "say which runs to prune" in refused.stdout
    listing_with_prune_options = cli("--all")  # would list and remove nothing: refused, naming the command
    assert listing_with_prune_options.returncode == 2
    assert "python3 -m coursekit cache prune --all" in listing_with_prune_options.stdout
    pruned = cli("prune", "--older-than", "7d")
    assert pruned.returncode == 0 and "removed 1 runs (1.5 KB): 03_vae-cpu" in pruned.stdout
    assert sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")) == ["03_vae-smoke"]
