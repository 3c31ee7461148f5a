import pytest

from coursekit.profiles import ENV_VAR, PROFILES, TINY_ENV, check_parameter, select_profile


def test_parameter_wins_over_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "gpu")
    p = select_profile("smoke", gpu_available=True)
    assert (p.name, p.chosen_by) == ("smoke", "parameter")


def test_environment_wins_over_hardware(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "smoke")
    p = select_profile(None, gpu_available=True)
    assert (p.name, p.chosen_by) == ("smoke", "environment")


@pytest.mark.parametrize("gpu, expected", [(True, "gpu"), (False, "cpu")])
def test_hardware_default(monkeypatch, gpu, expected):
    monkeypatch.delenv(ENV_VAR, raising=False)
    p = select_profile(None, gpu_available=gpu)
    assert (p.name, p.chosen_by) == (expected, "hardware")


def test_empty_parameter_means_unset(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert select_profile("", gpu_available=True).name == "cpu"


@pytest.mark.parametrize("bad", ["tpu", "Smokey"])
def test_unknown_profile_names_the_choices(monkeypatch, bad):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(ValueError, match="smoke.*cpu.*gpu"):
        select_profile(bad)
    monkeypatch.setenv(ENV_VAR, bad)
    with pytest.raises(ValueError, match=ENV_VAR):
        select_profile(None)


def test_pick_and_determinism():
    smoke, cpu, gpu = (select_profile(n) for n in ("smoke", "cpu", "gpu"))
    assert [p.pick(smoke=1, cpu=2, gpu=3) for p in (smoke, cpu, gpu)] == [1, 2, 3]
    assert smoke.deterministic and not cpu.deterministic and not gpu.deterministic


@pytest.mark.parametrize("explicit", [0, False])
def test_explicit_falsy_value_wins_over_the_profile(explicit):
    kind = bool if explicit is False else int
    for name in ("smoke", "cpu", "gpu"):
        value = select_profile(name).resolve("X", explicit, smoke=5, cpu=100, gpu=100 if kind is int else True,
                                             kind=kind, low=0 if kind is int else None)
        assert value is explicit or (value == 0 and type(value) is int)


def test_none_means_the_profile_value_which_may_itself_be_none():
    cpu = select_profile("cpu")
    assert cpu.resolve("EPOCHS", None, smoke=1, cpu=8, gpu=40) == 8
    assert cpu.resolve("N_TRAIN", None, smoke=500, cpu=None, gpu=None, low=1) is None
    assert cpu.resolve("LR", 1, smoke=1e-3, cpu=1e-3, gpu=1e-3, kind=float) == 1.0


@pytest.mark.parametrize("value, kind, low, error, message", [
    ("ten", int, 1, TypeError, r"EPOCHS_DENSE must be an integer, got 'ten'"),
    (True, int, 1, TypeError, r"EPOCHS_DENSE must be an integer, got True"),
    (2.5, int, 1, TypeError, r"EPOCHS_DENSE must be an integer, got 2.5"),
    (0, int, 1, ValueError, r"EPOCHS_DENSE must be >= 1, got 0"),
    (float("nan"), float, None, ValueError, r"EPOCHS_DENSE must be a finite number"),
    ("yes", bool, None, TypeError, r"EPOCHS_DENSE must be True or False, got 'yes'"),
])
def test_bad_values_name_the_parameter_and_the_fix(value, kind, low, error, message):
    with pytest.raises(error, match=message) as info:
        select_profile("cpu").resolve("EPOCHS_DENSE", value, smoke=2, cpu=60, gpu=50, kind=kind, low=low)
    assert "None for the profile's value (60 in profile cpu)" in str(info.value)


def test_check_parameter_bounds_and_numpy_types():
    np = pytest.importorskip("numpy")
    assert check_parameter("BATCH_SIZE", np.int64(64), low=1) == 64
    assert check_parameter("FLAG", np.bool_(False), kind=bool) is False
    with pytest.raises(ValueError, match="REAL_LABEL must be <= 1"):
        check_parameter("REAL_LABEL", 1.5, kind=float, low=0, high=1)
    with pytest.raises(ValueError, match="kind must be"):
        check_parameter("X", 1, kind=list)


def test_choices():
    gpu = select_profile("gpu")
    assert gpu.resolve("IMAGE_SIZE", 32, smoke=32, cpu=32, gpu=64, choices=(32, 64)) == 32
    with pytest.raises(ValueError, match="IMAGE_SIZE must be one of 32, 64, got 48"):
        gpu.resolve("IMAGE_SIZE", 48, smoke=32, cpu=32, gpu=64, choices=(32, 64))


# --------------------------------------------------------------------------- tiny gpu runs
def test_tiny_takes_the_tiny_value_of_a_size_and_the_gpu_value_of_an_architecture():
    tiny = select_profile("gpu", tiny=True)
    assert (tiny.name, tiny.tiny) == ("gpu", True)
    assert tiny.pick(smoke=1, cpu=8, gpu=40, tiny=2) == 2  # a size
    assert tiny.pick(smoke=32, cpu=32, gpu=64) == 64  # an architecture: no tiny= given
    assert tiny.pick(smoke=1, cpu=2, gpu=3, tiny=None) is None  # None is a value, not "not given"
    assert tiny.resolve("EPOCHS", None, smoke=1, cpu=8, gpu=40, tiny=1, low=1) == 1
    assert tiny.resolve("WIDTH", None, smoke=8, cpu=32, gpu=64, low=1) == 64
    assert tiny.resolve("EPOCHS", 7, smoke=1, cpu=8, gpu=40, tiny=1, low=1) == 7  # the user's value wins
    with pytest.raises(ValueError, match=r"EPOCHS must be >= 1, got 0; .*\(1 in profile gpu, tiny\)"):
        tiny.resolve("EPOCHS", 0, smoke=1, cpu=8, gpu=40, tiny=1, low=1)


@pytest.mark.parametrize("name", ["smoke", "cpu", "gpu"])
def test_tiny_values_change_nothing_outside_tiny_runs(monkeypatch, name):
    monkeypatch.delenv(TINY_ENV, raising=False)
    p = select_profile(name)
    assert not p.tiny and p.description == PROFILES[name]
    assert p.pick(smoke=1, cpu=2, gpu=3, tiny=99) == {"smoke": 1, "cpu": 2, "gpu": 3}[name]
    assert p.resolve("N", None, smoke=1, cpu=2, gpu=3, tiny=99) == {"smoke": 1, "cpu": 2, "gpu": 3}[name]


def test_the_tiny_environment_variable_selects_a_tiny_gpu_run(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv(TINY_ENV, "1")
    p = select_profile(None, gpu_available=False)  # tiny is gpu even without a GPU
    assert (p.name, p.tiny, p.chosen_by) == ("gpu", True, "environment")
    assert "toy sizes" in p.description and not p.deterministic
    assert select_profile("gpu").tiny
    monkeypatch.setenv(TINY_ENV, "0")
    assert not select_profile("gpu").tiny


@pytest.mark.parametrize("name", ["smoke", "cpu"])
def test_tiny_with_another_profile_is_an_error(monkeypatch, name):
    monkeypatch.setenv(TINY_ENV, "1")
    with pytest.raises(ValueError, match=rf"COURSEKIT_TINY=1 shrinks the gpu profile, but profile '{name}'"):
        select_profile(name)
    monkeypatch.delenv(TINY_ENV)
    monkeypatch.setenv(ENV_VAR, name)
    with pytest.raises(ValueError, match="unset COURSEKIT_TINY"):
        select_profile(None, tiny=True)


def test_tiny_runs_are_kept_apart_from_full_runs(monkeypatch, tmp_path):
    from coursekit.paths import runs_dir

    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.delenv(TINY_ENV, raising=False)
    assert runs_dir() == tmp_path / "runs"
    monkeypatch.setenv(TINY_ENV, "1")
    assert runs_dir() == tmp_path / "runs-tiny"


@pytest.mark.parametrize("value, message", [(0.0, "LEARNING_RATE must be > 0, got 0.0"),
                                            (-1e-3, "LEARNING_RATE must be > 0, got -0.001")])
def test_an_exclusive_lower_bound(value, message):
    assert check_parameter("LEARNING_RATE", 2e-4, kind=float, above=0) == 2e-4
    with pytest.raises(ValueError, match=message):
        check_parameter("LEARNING_RATE", value, kind=float, above=0)
    with pytest.raises(ValueError, match=r"in profile cpu"):
        select_profile("cpu").resolve("LEARNING_RATE", value, smoke=1e-3, cpu=1e-3, gpu=1e-3, kind=float, above=0)
