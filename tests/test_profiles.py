import pytest

from coursekit.profiles import ENV_VAR, check_parameter, select_profile


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
