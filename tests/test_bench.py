"""The benchmark command (coursekit.bench): it runs, and what it reports is well-formed and sane.

Speed is never tested (timings depend on the machine and its load): only structure, units and
internal consistency (min <= median <= max, positive rates, identical sampler outputs).
"""

import json

import pytest

from coursekit import bench


def test_time_calls_counts_and_orders():
    calls = []
    t = bench.time_calls(lambda: calls.append(1), warmup=2, repeats=3)
    assert len(calls) == 2 + 3  # the first call is the first warm-up call
    assert set(t) == {"first_s", "median_s", "min_s", "max_s", "repeats"} and t["repeats"] == 3
    assert 0.0 <= t["min_s"] <= t["median_s"] <= t["max_s"] and t["first_s"] >= 0.0
    with pytest.raises(ValueError, match="repeats"):
        bench.time_calls(lambda: None, warmup=1, repeats=0)


def _check_result(r, lecture, settings=("default",)):
    assert r["lecture"] == lecture and r["model"] == bench.TITLES[lecture]
    assert r["parameters"] > 0 and r["batch"] == bench.SIZES["smoke"][lecture]["batch"]
    assert set(r["train"]) == set(settings)
    for t in r["train"].values():
        assert 0.0 < t["min_s"] <= t["median_s"] <= t["max_s"] and t["first_s"] > 0.0 and t["repeats"] == 2
    assert r["samples_per_s"] and all(v > 0 for v in r["samples_per_s"].values())
    assert r["peak_rss_mib"] > 50 and r["rss_growth_mib"] >= 0  # TensorFlow alone needs far more than 50 MiB


def test_quick_run_of_every_lecture(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--in-process", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["profile"] == "smoke" and report["memory_scope"] == "process" and report["settings"] == ["default"]
    assert report["machine"]["cpus"] >= 1 and report["machine"]["tensorflow"]
    assert [r["lecture"] for r in report["results"]] == list(bench.LECTURES)
    for r in report["results"]:
        _check_result(r, r["lecture"])
    sampler = report["results"][bench.LECTURES.index("04")]["sampler"]
    # whether the images are identical is reported; that they are (up to float32 near-ties, which
    # this CPU's rounding could flip) is proved in tests/test_pixelcnn.py
    assert isinstance(sampler["identical"], bool)
    assert sampler["digits"] == bench.SIZES["smoke"]["04"]["sampled"]
    result_04 = report["results"][bench.LECTURES.index("04")]
    assert result_04["samples_per_s"] == {"cached sampler": sampler["samples_per_s"]}
    assert sampler["naive_s"] > 0 and 0 < sampler["cached_s"] and sampler["speedup"] == pytest.approx(
        sampler["naive_s"] / sampler["cached_s"], rel=1e-6)
    printed = capsys.readouterr().out
    for lecture in bench.LECTURES:
        assert f"\n{lecture} " in printed
    assert "PixelCNN sampler" in printed and str(out) in printed


def test_isolated_run_measures_each_lecture_in_its_own_process(tmp_path):
    out = tmp_path / "one.json"
    assert bench.main(["--quick", "--only", "05", "--no-sampler", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["memory_scope"] == "lecture" and len(report["results"]) == 1
    _check_result(report["results"][0], "05")


def test_a_failed_run_keeps_the_previous_report(tmp_path, monkeypatch):
    out = tmp_path / "bench.json"
    out.write_text('{"finished": true}\n')

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")
    monkeypatch.setattr(bench, "bench_lecture", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        bench.main(["--quick", "--in-process", "--only", "02", "--out", str(out)])
    assert json.loads(out.read_text()) == {"finished": True}


def test_bad_arguments_are_named():
    with pytest.raises(SystemExit, match="99"):
        bench.main(["--only", "99", "--in-process"])
    with pytest.raises(SystemExit, match="repeats"):
        bench.main(["--repeats", "0", "--in-process", "--only", "02"])
    with pytest.raises(ValueError, match="lecture '01'"):
        bench.bench_lecture("01")
    with pytest.raises(ValueError, match="settings"):
        bench.bench_lecture("02", settings=("fast",))


def test_table_shows_both_settings_and_the_sampler():
    t = {"first_s": 2.0, "median_s": 0.01, "min_s": 0.009, "max_s": 0.02, "repeats": 3}
    row = {"lecture": "04", "model": bench.TITLES["04"], "parameters": 1234, "batch": 16,
           "train": {"default": t, "xla": t}, "samples_per_s": {"cached sampler": 100.0}, "peak_rss_mib": 900.0,
           "sampler": {"digits": 16, "naive_s": 10.0, "cached_first_s": 1.0, "cached_s": 0.1,
                       "speedup_first_call": 10.0, "speedup": 100.0, "identical": True}}
    table = bench.format_table([row, {**row, "lecture": "05", "train": {"default": t}}])
    assert "10.0 (9.0-20.0)" in table and "1,234" in table and "(10.0x)" in table and "(100x)" in table
    assert table.splitlines()[3].split()[0] == "05" and " - " in table.splitlines()[3]


def test_the_course_command_has_a_bench_subcommand(capsys):
    from coursekit.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0 and "--quick" in capsys.readouterr().out
