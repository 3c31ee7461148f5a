import json

import keras
import numpy as np
import pytest

from _disconnect import Interrupt, InterruptAfter
from coursekit import training
from coursekit.runkey import run_settings



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


# --- faults: damaged, mismatched or unwritable saved state --------------------------------------

def make_wide_model(widths=(16,)):
    keras.utils.set_random_seed(0)
    layers = [keras.layers.Dense(w, activation="relu") for w in widths]
    model = keras.Sequential([keras.Input((4,)), *layers, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _finished_files(folder):
    """The bytes of what makes a run finished (history.csv and backup/ are working state)."""
    names = (training.FINAL_WEIGHTS, training.FINAL_ARCHITECTURE, training.HISTORY_JSON)
    return {name: (folder / name).read_bytes() for name in names}


@pytest.fixture
def finished(xy):
    """A finished run of make_model, and the bytes of its files."""
    x, y = xy
    name = "finished-" + str(np.random.default_rng().integers(1 << 30))
    training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=2, verbose=0)
    return name, training.run_path(name), _snapshot(training.run_path(name))


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:300]), r"final\.weights\.h5 is damaged"),  # truncated
    (lambda p: p.write_bytes(b"\x00garbage" * 50), r"final\.weights\.h5 is damaged"),
    (lambda p: p.write_bytes(b""), r"final\.weights\.h5 is damaged"),
])
def test_damaged_final_weights_name_the_file_and_retrain(xy, finished, damage, message):
    x, y = xy
    name, path, _ = finished
    damage(path / training.FINAL_WEIGHTS)
    before = _snapshot(path)
    for _ in range(2):  # the same clear message on every rerun, and nothing is changed
        with pytest.raises(training.RunStateError, match=message + r".*retrain=True.*RETRAIN = True"):
            training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=2, verbose=0)
        assert _snapshot(path) == before
    history = training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=2, retrain=True, verbose=0)
    assert len(history["loss"]) == 2 and training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=2) == history


@pytest.mark.parametrize("text", ["{\"loss\": [0.5, 0.4", "", "[]", "{}", "{\"loss\": \"low\"}"])
def test_broken_history_json_names_the_file(xy, finished, text):
    x, y = xy
    name, path, _ = finished
    (path / training.HISTORY_JSON).write_text(text)
    with pytest.raises(training.RunStateError, match=r"history\.json .*retrain=True"):
        training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=2, verbose=0)


@pytest.mark.parametrize("widths", [(16,), (8, 8), ()])
def test_another_architecture_under_the_same_name_trains_a_new_run_and_keeps_the_old(xy, finished, widths, capsys):
    """Including a smaller model, whose weights Keras would load silently from the bigger file."""
    x, y = xy
    name, path, before = finished
    recorder = EpochRecorder()
    training.fit_or_load(make_wide_model(widths), x, y=y, run_name=name, epochs=2, verbose=0, callbacks=[recorder])
    assert recorder.epochs == [0, 1]
    assert "architecture changed" in capsys.readouterr().out
    kept = [p for p in path.parent.iterdir() if p.name.startswith(name + "@")]
    assert len(kept) == 1 and _finished_files(kept[0]) == {k: before[k] for k in _finished_files(kept[0])}


def _claim_settings_of(model, x, y, path, epochs=2):
    """Write into ``path`` the settings of ``model``: as if the saved weights belonged to it (a damaged run)."""
    settings = run_settings(model, x, epochs=epochs, fit_kwargs={"y": y})
    (path / training.SETTINGS_JSON).write_text(json.dumps(settings, sort_keys=True))


@pytest.mark.parametrize("widths", [(16,), (8, 8), ()])
def test_weights_that_do_not_fit_their_own_settings_are_refused(xy, finished, widths):
    x, y = xy
    name, path, _ = finished
    model = make_wide_model(widths)
    _claim_settings_of(model, x, y, path)
    before = _snapshot(path)
    with pytest.raises(training.RunStateError, match=r"saved by a different model.*retrain=True.*own run_name"):
        training.fit_or_load(model, x, y=y, run_name=name, epochs=2, verbose=0)
    assert _snapshot(path) == before


def test_a_run_of_another_architecture_without_fingerprint_is_refused_by_keras_check(xy, finished):
    """Runs saved before the architecture file existed: Keras' own shape check, with the same advice."""
    x, y = xy
    name, path, _ = finished
    (path / training.FINAL_ARCHITECTURE).unlink()
    model = make_wide_model((16,))
    _claim_settings_of(model, x, y, path)
    with pytest.raises(training.RunStateError, match=r"saved by a different model.*final\.weights\.h5.*retrain=True"):
        training.fit_or_load(model, x, y=y, run_name=name, epochs=2, verbose=0)


@pytest.mark.parametrize("damage, message", [
    (lambda b: (b / training.BACKUP_METADATA).write_text(""), r"cannot resume: .*training_metadata\.json is damaged"),
    (lambda b: (b / training.BACKUP_METADATA).write_text("{\"epo"), r"training_metadata\.json is damaged"),
    (lambda b: (b / training.BACKUP_WEIGHTS).write_bytes((b / training.BACKUP_WEIGHTS).read_bytes()[:200]),
     r"interrupted run .*/latest\.weights\.h5 is damaged"),
])
def test_damaged_backup_of_an_interrupted_run_names_the_file(xy, damage, message):
    x, y = xy
    name = "interrupted-" + str(np.random.default_rng().integers(1 << 30))
    with pytest.raises(Interrupt):
        training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=4, verbose=0, callbacks=[InterruptAfter(2)])
    damage(training.run_path(name) / training.BACKUP)
    with pytest.raises(training.RunStateError, match=message + r".*retrain=True"):
        training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=4, verbose=0)
    history = training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=4, retrain=True, verbose=0)
    assert len(history["loss"]) == 4


def test_an_interrupted_retrain_keeps_the_finished_run(xy, finished):
    x, y = xy
    name, path, before = finished
    with pytest.raises(Interrupt):
        training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=2, retrain=True, verbose=0,
                             callbacks=[InterruptAfter(1)])
    assert _finished_files(path) == {k: before[k] for k in _finished_files(path)}
    assert training.is_finished(name)
    with pytest.raises(Interrupt):  # other settings: the finished run is kept beside, untouched
        training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=3, retrain=True, verbose=0,
                             callbacks=[InterruptAfter(1)])
    kept = [p for p in path.parent.iterdir() if p.name.startswith(name + "@")]
    assert len(kept) == 1 and _finished_files(kept[0]) == {k: before[k] for k in _finished_files(kept[0])}


def _disk_full_after(calls_ok, monkeypatch, model):
    """Make ``model.save_weights`` write half a file and fail with ENOSPC after ``calls_ok`` good saves."""
    import errno

    real, count = model.save_weights, {"n": 0}

    def save_weights(filepath, *args, **kwargs):
        count["n"] += 1
        if count["n"] > calls_ok:
            with open(filepath, "wb") as f:
                f.write(b"\x89HDF\r\n half written")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(filepath, *args, **kwargs)

    monkeypatch.setattr(model, "save_weights", save_weights)
    return model


def test_a_full_disk_at_the_end_never_replaces_a_finished_run(xy, finished, monkeypatch):
    x, y = xy
    name, path, before = finished
    model = _disk_full_after(2, monkeypatch, make_model())  # 2 epoch backups succeed, the final save fails
    with pytest.raises(OSError, match=r"could not save the run .*No space left.*still in memory.*COURSEKIT_CACHE"):
        training.fit_or_load(model, x, y=y, run_name=name, epochs=2, retrain=True, verbose=0)
    assert _finished_files(path) == {k: before[k] for k in _finished_files(path)}, "the finished run was changed"
    assert not [k for k in _snapshot(path) if ".partial-" in k], "a half-written file was left behind"


def test_a_full_disk_during_training_keeps_the_last_good_backup_and_resumes(xy, monkeypatch):
    x, y = xy
    name = "diskfull-" + str(np.random.default_rng().integers(1 << 30))
    model = _disk_full_after(2, monkeypatch, make_model())  # the backup after epoch 3 fails half-way
    with pytest.raises(OSError, match=r"could not save the run .*No space left.*resumes from it.*COURSEKIT_CACHE"):
        training.fit_or_load(model, x, y=y, run_name=name, epochs=4, verbose=0)
    recorder = EpochRecorder()
    history = training.fit_or_load(make_model(), x, y=y, run_name=name, epochs=4, verbose=0, callbacks=[recorder])
    assert recorder.epochs == [2, 3], "resumes after the last complete backup (epoch 2)"
    assert len(history["loss"]) == 4, "the epoch repeated after the failure is counted once"


def test_an_unwritable_runs_folder_is_named_before_training(xy, monkeypatch, tmp_path):
    x, y = xy
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSEKIT_CACHE", str(blocker / "cache"))  # cannot be created, even by root
    recorder = EpochRecorder()
    with pytest.raises(OSError, match=r"cannot write .* to .*a-file/cache.*Set COURSEKIT_CACHE to a writable folder"):
        training.fit_or_load(make_model(), x, y=y, run_name="nowhere", epochs=2, verbose=0, callbacks=[recorder])
    assert recorder.epochs == []


def test_backup_callback_uses_the_files_keras_reads():
    """The atomic backup writes where Keras' BackupAndRestore reads (private names, checked here)."""
    cb = training._backup_callback(training.run_path("names") / training.BACKUP)
    assert str(cb._weights_path).endswith(training.BACKUP_WEIGHTS)
    assert str(cb._training_metadata_path).endswith(training.BACKUP_METADATA)
