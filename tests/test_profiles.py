import pytest

from coursekit.profiles import ENV_VAR, select_profile


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
