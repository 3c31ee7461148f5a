import json
import math

import pytest

from coursekit.profiles import select_profile
from coursekit.runcard import RUNCARD_DIR_ENV, start_run


def test_run_card_prints_then_records(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(RUNCARD_DIR_ENV, str(tmp_path))
    card = start_run("99_toy", select_profile("cpu"), seed=3)
    card.add_data("toy data: 10 points")
    out = capsys.readouterr().out
    for needle in ("99_toy", "profile   : cpu", "seed      : 3", "tensorflow", "keras", "toy data"):
        assert needle in out
    card.finish("held-out NLL", 1.25, "nats", reference="truth 1.2 nats")
    record = json.loads(card.path.read_text())
    assert record["metric"] == "held-out NLL" and record["value"] == 1.25 and record["profile"] == "cpu"
    assert record["data"] == ["toy data: 10 points"] and record["wall_time_s"] >= 0
    assert "headline  : held-out NLL = 1.25 nats (reference: truth 1.2 nats)" in capsys.readouterr().out


def test_non_finite_metric_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv(RUNCARD_DIR_ENV, str(tmp_path))
    card = start_run("99_toy", select_profile("cpu"))
    with pytest.raises(ValueError, match="not finite"):
        card.finish("loss", math.nan)
