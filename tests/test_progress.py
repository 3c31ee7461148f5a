import keras
import numpy as np
import pytest

from coursekit.progress import EpochLog, default_every


def _fit(callback, epochs):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    model.fit(x, x[:, :1], validation_data=(x, x[:, :1]), epochs=epochs, batch_size=8, verbose=0,
              callbacks=[callback])


def test_one_line_every_n_epochs_plus_first_and_last(capsys):
    _fit(EpochLog(every=3), epochs=7)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["1/7", "3/7", "6/7", "7/7"]
    assert all("loss " in line and "val_loss " in line and line.endswith(" s)") for line in lines)
    assert all("\x1b" not in line and "\x08" not in line for line in lines)


def test_default_is_about_ten_lines(capsys):
    assert [default_every(n) for n in (1, 9, 10, 60, 100)] == [1, 1, 1, 6, 10]
    _fit(EpochLog(), epochs=12)
    assert len(capsys.readouterr().out.strip().splitlines()) <= 12


def test_chosen_keys_only(capsys):
    _fit(EpochLog(keys=["val_loss", "absent"]), epochs=1)
    out = capsys.readouterr().out
    assert "val_loss" in out and " loss " not in out.replace("val_loss", "") and "absent" not in out


@pytest.mark.parametrize("every", [0, -1, 2.5, True])
def test_bad_every_is_refused(every):
    with pytest.raises(ValueError, match="every"):
        EpochLog(every=every)


@pytest.mark.parametrize("logs, epoch, epochs, digits", [
    ({"d_loss": 0.4737, "g_loss": 4.382, "d_acc_fake": 0.9834}, 1, 36, 4),
    ({"loss": 1.25e-05, "val_loss": -3.5}, 12, 100, 4),
    ({"g_loss": 3.0, "d_acc_real": 1.0}, 9, 9, 3),
    ({}, 3, 5, 4),
])
def test_a_printed_line_reads_back(logs, epoch, epochs, digits):
    """parse_epoch_line inverts format_line (values to the printed digits): another lecture reads the log."""
    from coursekit.progress import parse_epoch_line

    line = EpochLog(digits=digits).format_line(epoch, epochs, logs, 57.49)
    parsed = parse_epoch_line(line + "\n")
    assert (parsed["epoch"], parsed["epochs"], parsed["seconds"]) == (epoch, epochs, 57.5)
    assert parsed["logs"] == {k: float(f"{v:.{digits}g}") for k, v in logs.items()}


def test_other_lines_are_not_read_as_epochs():
    from coursekit.progress import parse_epoch_line

    for line in ("Trained '06_dcgan' in 535.5 s", "epoch 1/3 went fine (2.0 s)", "epoch  1/3  loss high  (2.0 s)",
                 "", "training step: 120 ms"):
        assert parse_epoch_line(line) is None
