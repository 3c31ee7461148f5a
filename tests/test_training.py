import json

import keras
import numpy as np
import pytest

from _disconnect import Interrupt, InterruptAfter
from coursekit import training



class EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def make_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_interrupted_run_resumes_then_finished_run_loads(xy):
    x, y = xy
    with pytest.raises(Interrupt):
        training.fit_or_load(make_model(), x, y=y, run_name="toy", epochs=5, verbose=0, callbacks=[InterruptAfter(2)])
    assert not training.is_finished("toy")

    # a fresh kernel: new model object, same run name -> resumes at epoch 2 of 5
    recorder = EpochRecorder()
    model = make_model()
    history = training.fit_or_load(model, x, y=y, run_name="toy", epochs=5, verbose=0, callbacks=[recorder])
    assert recorder.epochs == [2, 3, 4]
    assert len(history["loss"]) == 5, "history must include the epochs before the interruption"
    assert training.is_finished("toy")
    assert history["loss"][-1] < history["loss"][0]

    # finished: loads instead of training, with the same weights and history
    recorder = EpochRecorder()
    other = make_model()
    loaded = training.fit_or_load(other, x, y=y, run_name="toy", epochs=5, verbose=0, callbacks=[recorder])
    assert recorder.epochs == []
    assert loaded == history
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_retrain_starts_from_scratch(xy):
    x, y = xy
    training.fit_or_load(make_model(), x, y=y, run_name="toy2", epochs=2, verbose=0)
    recorder = EpochRecorder()
    history = training.fit_or_load(make_model(), x, y=y, run_name="toy2", epochs=3, retrain=True, verbose=0,
                                   callbacks=[recorder])
    assert recorder.epochs == [0, 1, 2] and len(history["loss"]) == 3
    saved = json.loads((training.run_path("toy2") / training.HISTORY_JSON).read_text())
    assert saved == history


def test_bad_arguments(xy):
    x, y = xy
    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    unbuilt.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="not built"):
        training.fit_or_load(unbuilt, x, y=y, run_name="toy3", epochs=1)
    with pytest.raises(ValueError, match="plain folder name"):
        training.fit_or_load(make_model(), x, y=y, run_name="../escape", epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        training.fit_or_load(make_model(), x, y=y, run_name="toy3", epochs=0)
