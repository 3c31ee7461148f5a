"""TimeBudget: training stops when its seconds are spent, and says how far it got (a fake clock: no timing)."""

import itertools

import numpy as np
import pytest

from coursekit.budget import TimeBudget


def _model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _ticking(step=1.0):
    """A clock that advances ``step`` seconds each time it is read."""
    counter = itertools.count()
    return lambda: next(counter) * step


def test_training_stops_after_the_batch_that_spends_the_budget(capsys):
    x, y = np.zeros((32, 3), "float32"), np.zeros((32, 1), "float32")
    budget = TimeBudget(3.5, clock=_ticking())  # read at the start (0 s), then 1 s per batch
    history = _model().fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[budget])  # 8 batches an epoch
    assert budget.stopped and budget.steps == 4 and budget.seconds_used == 4.0
    assert budget.epochs_reached == pytest.approx(0.5) and len(history.history["loss"]) == 1
    assert "time budget of 3.5 s spent after 4 batches (0.50 epochs)" in capsys.readouterr().out
    assert budget.summary() == {"budget_s": 3.5, "seconds_used": 4.0, "epochs_reached": 0.5, "steps": 4,
                                "stopped": True}


def test_a_budget_that_is_not_spent_lets_every_epoch_run():
    x, y = np.zeros((32, 3), "float32"), np.zeros((32, 1), "float32")
    budget = TimeBudget(1000, clock=_ticking(), verbose=False)
    _model().fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[budget])
    assert not budget.stopped and budget.steps == 12 and budget.epochs_reached == 3.0


def test_the_budget_spans_epochs_and_restarts_with_each_fit():
    x, y = np.zeros((32, 3), "float32"), np.zeros((32, 1), "float32")
    budget = TimeBudget(10.5, clock=_ticking(), verbose=False)
    model = _model()
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[budget])  # 4 batches an epoch
    assert budget.steps == 11 and budget.epochs_reached == pytest.approx(2.75)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[budget])
    assert budget.steps == 4 and not budget.stopped and budget.epochs_reached == 1.0


@pytest.mark.filterwarnings("ignore:.*(shuffle=True|ran out of data).*:UserWarning")
def test_a_dataset_of_unknown_length_counts_whole_epochs():
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.zeros((32, 3), "float32"), np.zeros((32, 1), "float32")))
    ds = ds.filter(lambda a, b: True).batch(8)  # filter: the length is unknown to fit
    budget = TimeBudget(6.5, clock=_ticking(), verbose=False)
    _model().fit(ds, epochs=5, verbose=0, callbacks=[budget])
    assert budget.stopped and budget.steps == 7 and budget.epochs_reached == 1.0


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "90", True, None])
def test_a_bad_budget_is_named(bad):
    with pytest.raises(ValueError, match="seconds must be a positive number of seconds, got"):
        TimeBudget(bad)
