"""Runs keyed by what they are: every ingredient of the settings, and fit_or_load's three behaviours."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from coursekit import training
from coursekit.runkey import describe_changes, fingerprint, run_settings


def make_model(lr=0.01, optimizer="adam", width=8, seed=0, loss="mse"):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width, activation="relu"), keras.layers.Dense(1)])
    opt = keras.optimizers.Adam(lr) if optimizer == "adam" else keras.optimizers.SGD(lr)
    model.compile(optimizer=opt, loss=loss)
    return model


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _key(model, x, epochs=2, **fit):
    return fingerprint(run_settings(model, x, epochs=epochs, fit_kwargs=fit))


def test_every_ingredient_changes_the_fingerprint_and_nothing_else_does(xy):
    x, y = xy
    base = _key(make_model(), x, y=y, batch_size=16)
    changed = {
        "learning rate": _key(make_model(lr=0.001), x, y=y, batch_size=16),
        "optimizer": _key(make_model(optimizer="sgd"), x, y=y, batch_size=16),
        "architecture": _key(make_model(width=9), x, y=y, batch_size=16),
        "loss": _key(make_model(loss="mae"), x, y=y, batch_size=16),
        "seed": _key(make_model(seed=1), x, y=y, batch_size=16),
        "epochs": _key(make_model(), x, epochs=3, y=y, batch_size=16),
        "batch size": _key(make_model(), x, y=y, batch_size=32),
        "shuffle": _key(make_model(), x, y=y, batch_size=16, shuffle=False),
        "data content": _key(make_model(), x + 1e-3, y=y, batch_size=16),
        "data shape": _key(make_model(), x[:32], y=y[:32], batch_size=16),
        "data dtype": _key(make_model(), x.astype("float64"), y=y, batch_size=16),
        "targets": _key(make_model(), x, y=y * 2, batch_size=16),
    }
    assert all(k != base for k in changed.values()), [name for name, k in changed.items() if k == base]
    assert len(set(changed.values())) == len(changed)
    same = _key(make_model(), x, y=y, batch_size=16, verbose=0, callbacks=[Recorder()])
    assert same == base  # how a run is watched does not change what it is


def test_trainer_settings_and_schedules_are_part_of_the_key(xy):
    x, _ = xy

    class Trainer(keras.Model):  # a GAN-like trainer: settings are plain attributes
        def __init__(self, real_label):
            super().__init__()
            self.net = keras.layers.Dense(1)
            self.real_label = real_label
            self.seed_generator = keras.random.SeedGenerator(3)

        def call(self, x):
            return self.net(x)

    def key(real_label=0.9, decay_steps=100):
        model = Trainer(real_label)
        model(x[:1])
        schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps)
        model.compile(optimizer=keras.optimizers.Adam(schedule))
        return _key(model, x)

    assert key() == key()
    assert key(real_label=1.0) != key()
    assert key(decay_steps=200) != key()


def test_a_dataset_is_keyed_by_its_spec_and_first_batches():
    import tensorflow as tf

    data = np.arange(64, dtype="float32").reshape(16, 4)
    ds = lambda d, b=4: tf.data.Dataset.from_tensor_slices(d).batch(b)  # noqa: E731
    k = lambda d: fingerprint(run_settings(make_model(), d, epochs=1, fit_kwargs={}))  # noqa: E731
    assert k(ds(data)) == k(ds(data))
    assert k(ds(data + 1)) != k(ds(data))
    assert k(ds(data, 8)) != k(ds(data))


def test_a_reshuffling_pipeline_keeps_its_key_so_its_finished_run_loads(xy, capsys):
    import tensorflow as tf

    x, y = xy
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, reshuffle_each_iteration=True).batch(16)
    k = lambda: fingerprint(run_settings(make_model(), ds, epochs=1, fit_kwargs={}))  # noqa: E731
    assert k() == k() == k()  # each pass has another order; the pipeline's key is its first pass's
    first = training.fit_or_load(make_model(), ds, run_name="reshuffled", epochs=2, verbose=0)
    rec = Recorder()  # the training cell run again in the same kernel: loads, trains nothing
    assert training.fit_or_load(make_model(), ds, run_name="reshuffled", epochs=2, verbose=0, callbacks=[rec]) == first
    assert rec.epochs == [] and "Loaded the finished run" in capsys.readouterr().out


def test_compile_settings_are_keyed_by_content_never_by_a_memory_address(xy):
    x, y = xy

    def settings(loss, **compile_kwargs):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss=loss, **compile_kwargs)
        return run_settings(model, x, epochs=1, fit_kwargs={"y": y})

    base = settings(keras.losses.BinaryCrossentropy())
    assert not [v for v in base.values() if "0x" in v]  # a repr with an address changes in every process
    assert fingerprint(settings(keras.losses.BinaryCrossentropy())) == fingerprint(base)
    assert settings(keras.losses.BinaryCrossentropy(from_logits=True))["compile.loss"] != base["compile.loss"]
    assert settings(keras.losses.BinaryCrossentropy(label_smoothing=0.1))["compile.loss"] != base["compile.loss"]
    weighted = settings(keras.losses.BinaryCrossentropy(), loss_weights=[2.0])
    assert weighted["compile.loss_weights"] == "[2.0]" and fingerprint(weighted) != fingerprint(base)
    assert settings(keras.losses.binary_crossentropy)["compile.loss"] == "'binary_crossentropy'"


def test_an_edited_training_step_or_a_new_run_format_is_a_new_run(xy, monkeypatch):
    from coursekit import runkey

    x, _ = xy

    def trainer(scale):  # the same class, edited between two runs: only train_step's body differs
        if scale == 1:
            class Trainer(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.net = keras.layers.Dense(1)

                def call(self, x):
                    return self.net(x)

                def train_step(self, data):
                    return super().train_step(data)
        else:
            class Trainer(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.net = keras.layers.Dense(1)

                def call(self, x):
                    return self.net(x)

                def train_step(self, data):
                    return super().train_step((data[0] * 2, *data[1:]))
        keras.utils.set_random_seed(0)
        model = Trainer()
        model(x[:1])
        model.compile(optimizer="adam", loss="mse")
        return run_settings(model, x, epochs=1, fit_kwargs={})

    one, two = trainer(1), trainer(2)
    assert one["code.trainer"] != two["code.trainer"]
    assert {k for k in one if one[k] != two[k]} == {"code.trainer"}
    assert trainer(1) == one  # the same source, the same key
    monkeypatch.setattr(runkey, "RUN_FORMAT", "runkey-test")
    assert fingerprint(trainer(1)) != fingerprint(one)


def test_describe_changes_names_settings_briefly():
    old = {"fit.epochs": "8", "optimizer.learning_rate": "0.0002", "model.architecture": "0123456789abcdef"}
    new = {"fit.epochs": "16", "optimizer.learning_rate": "0.001", "model.architecture": "fedcba9876543210"}
    assert describe_changes(old, new) == "epochs 8 -> 16; architecture changed; learning_rate 0.0002 -> 0.001"
    assert describe_changes(old, old) == "nothing"


def test_same_settings_load_longer_epochs_resume_other_settings_train_beside(xy, capsys):
    x, y = xy
    first = training.fit_or_load(make_model(), x, y=y, run_name="keyed", epochs=2, verbose=0)
    rec = Recorder()
    assert training.fit_or_load(make_model(), x, y=y, run_name="keyed", epochs=2, verbose=0, callbacks=[rec]) == first
    assert rec.epochs == [] and "Loaded the finished run" in capsys.readouterr().out

    rec = Recorder()  # only epochs larger: train on from epoch 2, keeping the first two epochs' history
    longer = training.fit_or_load(make_model(), x, y=y, run_name="keyed", epochs=4, verbose=0, callbacks=[rec])
    out = capsys.readouterr().out
    assert rec.epochs == [2, 3] and "epochs 2 -> 4: training the finished run 'keyed' on from epoch 2" in out
    assert len(longer["loss"]) == 4 and longer["loss"][:2] == first["loss"]

    rec = Recorder()  # another learning rate: a new run, one line naming the change
    other = training.fit_or_load(make_model(lr=0.001), x, y=y, run_name="keyed", epochs=4, verbose=0,
                                 callbacks=[rec])
    out = capsys.readouterr().out
    assert rec.epochs == [0, 1, 2, 3]
    assert "learning_rate 0.01 -> 0.001: training a new run" in out
    assert other["loss"] != longer["loss"]

    rec = Recorder()  # back to the first settings: the earlier runs are still there, nothing trains
    again = training.fit_or_load(make_model(), x, y=y, run_name="keyed", epochs=2, verbose=0, callbacks=[rec])
    assert rec.epochs == [] and again == first
    assert "using the earlier run with these settings" in capsys.readouterr().out


def test_a_run_saved_before_fingerprints_is_not_loaded_blindly(xy, capsys):
    x, y = xy
    training.fit_or_load(make_model(), x, y=y, run_name="legacy", epochs=2, verbose=0)
    (training.run_path("legacy") / training.SETTINGS_JSON).unlink()
    rec = Recorder()
    training.fit_or_load(make_model(), x, y=y, run_name="legacy", epochs=2, verbose=0, callbacks=[rec])
    assert rec.epochs == [0, 1] and "saved before run fingerprints" in capsys.readouterr().out


_WORKER = textwrap.dedent("""
    import sys, time
    import keras, numpy as np
    from coursekit import training

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            open(sys.argv[2], "a").write(f"epoch {epoch + 1}\\n")
            time.sleep(float(sys.argv[3]))

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((32, 4), "float32")
    history = training.fit_or_load(model, x, y=x[:, :1], run_name=sys.argv[4], epochs=int(sys.argv[1]), verbose=0,
                                   callbacks=[Slow()])
    print("epochs in history:", len(history["loss"]), flush=True)
""")


def _start(tmp_path, epochs, log, sleep, name="shared"):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, str(script), str(epochs), str(log), str(sleep), name], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, text, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_a_second_process_waits_for_the_run_then_loads_it(tmp_path):
    log = tmp_path / "epochs.log"
    first = _start(tmp_path, 3, log, 8.0)  # 16 s after epoch 1: time for the second to import TensorFlow
    _wait_for(log, "epoch 1")
    second = _start(tmp_path, 3, tmp_path / "second.log", 0.0)
    out1, err1 = first.communicate(timeout=180)
    out2, err2 = second.communicate(timeout=180)
    assert first.returncode == 0 and second.returncode == 0, err1[-2000:] + err2[-2000:]
    assert "Trained 'shared'" in out1
    assert "is training or saving the run 'shared'; waiting" in out2 and "Loaded the finished run" in out2
    assert not (tmp_path / "second.log").exists()  # the second process trained nothing


def test_a_killed_process_leaves_no_lock_and_ctrl_c_resumes_from_the_last_epoch(tmp_path):
    log = tmp_path / "epochs.log"
    proc = _start(tmp_path, 4, log, 3.0, name="interrupted")
    _wait_for(log, "epoch 2")
    proc.send_signal(signal.SIGINT)  # Ctrl-C during epoch 3's pause (after epoch 2's backup)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert "Interrupted: the run 'interrupted' keeps its last finished epoch" in out
    resumed = _start(tmp_path, 4, tmp_path / "resumed.log", 0.0, name="interrupted")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-2000:]
    assert "Resuming the interrupted run 'interrupted' after epoch 2 of 4" in out  # no stale lock, no lost epoch
    assert "epochs in history: 4" in out
    assert (tmp_path / "resumed.log").read_text().split() == ["epoch", "3", "epoch", "4"]


def test_a_hard_killed_process_leaves_no_stale_lock_and_the_run_resumes(tmp_path):
    log = tmp_path / "epochs.log"
    proc = _start(tmp_path, 4, log, 3.0, name="killed")
    _wait_for(log, "epoch 2")
    time.sleep(0.5)  # in epoch 3's pause, after epoch 2's backup
    proc.kill()  # SIGKILL, as when a kernel is restarted: no Python code runs, the OS frees the lock
    proc.communicate(timeout=60)
    resumed = _start(tmp_path, 4, tmp_path / "resumed.log", 0.0, name="killed")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-2000:]
    assert "waiting" not in out
    assert "Resuming the interrupted run 'killed' after epoch 2 of 4" in out and "epochs in history: 4" in out


def _gan():
    from _gan_nets import make_data, make_gan

    return make_gan(), make_data(), {"batch_size": 8}


def _pix2pix():
    from coursekit.gan.patchgan import patchgan_discriminator
    from coursekit.gan.pix2pix import Pix2Pix
    from coursekit.gan.unet import unet_generator

    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator((8, 8, 1), out_channels=1, filters=4, depth=2, norm="none"),
                    patchgan_discriminator((8, 8, 1), condition_channels=1, filters=4, n_layers=1, norm="none"))
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    a = np.tanh(np.random.default_rng(0).normal(size=(8, 8, 8, 1))).astype("float32")
    return model, a, {"y": -a, "batch_size": 4}


def _cyclegan():
    import tensorflow as tf

    from coursekit.gan.cyclegan import CycleGAN
    from coursekit.gan.patchgan import patchgan_discriminator
    from coursekit.gan.unet import unet_generator

    keras.utils.set_random_seed(0)
    nets = [unet_generator((8, 8, 1), filters=4, depth=2, norm="instance", name=n) for n in ("g_ab", "g_ba")]
    nets += [patchgan_discriminator((8, 8, 1), filters=4, n_layers=1, norm="instance", name=n) for n in ("d_a", "d_b")]
    model = CycleGAN(*nets, pool_size=5, seed=0)
    model.compile(*[keras.optimizers.Adam(1e-3) for _ in range(4)])
    a = np.tanh(np.random.default_rng(1).normal(size=(8, 8, 8, 1))).astype("float32")
    data = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(a).batch(4),
                                tf.data.Dataset.from_tensor_slices(-a).batch(4)))
    return model, data, {}


def _diffusion():
    from coursekit.diffusion.model import DiffusionModel
    from coursekit.diffusion.networks import build_eps_mlp
    from coursekit.diffusion.schedules import cosine_schedule

    keras.utils.set_random_seed(0)
    model = DiffusionModel(build_eps_mlp(2, hidden=8, depth=1), cosine_schedule(20), data_range=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    model([x[:1], np.ones(1, "int32")])  # built, as lecture 11 does
    return model, x, {"batch_size": 16}


def _flow():
    from coursekit.flows.architectures import realnvp_2d

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    model = realnvp_2d(n_couplings=2, hidden=8, depth=1)
    model.initialize(x)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, x, {"batch_size": 16}


@pytest.mark.parametrize("build", [_gan, _pix2pix, _cyclegan, _diffusion, _flow], ids=lambda f: f.__name__[1:])
def test_each_course_trainer_loads_its_finished_run_when_nothing_changed(build, capsys):
    """Nothing a trainer changes while it trains (counters, initialisation flags) may enter its key:
    the second run of an unchanged notebook must load, not train again."""
    model, x, fit = build()
    first = training.fit_or_load(model, x, run_name=f"same-{build.__name__}", epochs=1, verbose=0, **fit)
    capsys.readouterr()
    model, x, fit = build()
    again = training.fit_or_load(model, x, run_name=f"same-{build.__name__}", epochs=1, verbose=0, **fit)
    out = capsys.readouterr().out
    assert "Loaded the finished run" in out and "training a new run" not in out, out
    assert again == first
