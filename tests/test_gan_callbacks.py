import json
import math

import numpy as np
import pytest

from _gan_nets import make_data, make_gan
from coursekit.gan.callbacks import GANMonitor, StepTimer


@pytest.fixture
def data():
    return make_data()


def test_gan_monitor_saves_grids_and_tensorboard(data, tmp_path):
    gan = make_gan()
    z = gan.sample_latent(6, seed=0)
    monitor = GANMonitor(z, tmp_path / "samples", every=2, log_dir=tmp_path / "tb", ncols=3)
    gan.fit(data, batch_size=8, epochs=3, verbose=0, callbacks=[monitor])
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_002.png", "epoch_003.png"]
    assert sorted(monitor.images) == [2, 3]
    np.testing.assert_allclose(monitor.last_images, gan.generate(z), rtol=1e-5, atol=1e-6)
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    with pytest.raises(ValueError, match="z_fixed"):
        GANMonitor(np.zeros(4), tmp_path)


def test_step_timer(data, tmp_path):
    gan = make_gan()
    timer = StepTimer(save_to=tmp_path / "t.json")
    gan.fit(data, batch_size=8, epochs=2, verbose=0, callbacks=[timer])
    assert len(timer.step_ms) == 8 and 0 < timer.ms_per_step < 5000
    assert StepTimer.load(tmp_path / "t.json") == pytest.approx(timer.ms_per_step)
    assert json.loads((tmp_path / "t.json").read_text())["steps"] == 8
    assert math.isnan(StepTimer.load(tmp_path / "missing.json"))
