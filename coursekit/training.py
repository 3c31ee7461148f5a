"""One training mechanism for every lecture: resume an interrupted run, or load a finished one.

``fit_or_load`` wraps ``model.fit``:

- a finished run (``final.weights.h5`` + ``history.json`` in the run folder) is loaded
  instead of trained, so an instructor can train before class and present without waiting;
- an interrupted run (Colab disconnect, restarted kernel) resumes from its last finished
  epoch through Keras' ``BackupAndRestore``; the loss history survives through ``CSVLogger``;
- ``retrain=True`` trains from scratch; the old finished run is replaced only once the new
  one is saved.

Saved state is written atomically (a temporary file, then a rename), so a full disk or a
killed kernel never leaves a half-written checkpoint in place of a good one. Damaged or
mismatched saved state (a truncated or garbage weights file, a broken ``history.json``, an
empty backup metadata file, weights of another architecture) raises :class:`RunStateError`,
naming the file and the fix (``retrain=True``; ``RETRAIN = True`` in a lecture notebook).

Run folders live under ``coursekit.paths.runs_dir()`` (``~/.cache/coursekit/runs``).
Include the profile in the run name so a smoke run is never loaded in place of a gpu run.

A run is keyed by its name **and its settings** (``coursekit.runkey.run_settings``: architecture,
trainer settings, optimizers and schedules, fit arguments, seed, a hash of the data, the code's
run format), kept in ``settings.json`` in its folder:

- the same settings: the finished run loads (or the interrupted one resumes);
- only ``epochs`` larger than a finished run's: that run trains on from where it stopped (the
  shorter one is kept as ``<name>@<key>``), so "train longer" works;
- anything else: the run in the folder is kept as ``<name>@<key>`` and a new one trains in its
  place (or an earlier run with exactly these settings is moved back), after one printed line
  naming what changed, e.g. ``learning_rate 0.0002 -> 0.001; epochs 8 -> 16: training a new run``.

``run_path(name)`` is always the folder of the run in use, so monitors and timers that write
there follow it. A lock per run (``filelock``) makes a second process wait and then load what the
first saved; the operating system releases it when its process dies, so it never goes stale.
Ctrl-C in ``fit`` leaves the last finished epoch's backup in place: the next call resumes from it.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import time
from pathlib import Path
from typing import Optional, Sequence

from coursekit.paths import CACHE_ENV, UnwritableFolderError, display_path, runs_dir, writable_dir
from coursekit.runkey import describe_changes, fingerprint, run_settings

FINAL_WEIGHTS = "final.weights.h5"
FINAL_ARCHITECTURE = "final.architecture.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
BACKUP = "backup"
BACKUP_WEIGHTS = "latest.weights.h5"  # the names Keras' BackupAndRestore uses inside the backup folder
BACKUP_METADATA = "training_metadata.json"
BACKUP_ARCHITECTURE = "architecture.json"
SETTINGS_JSON = "settings.json"  # coursekit.runkey.run_settings of the run in the folder
LOCK_WAIT_MESSAGE_S = 2.0
_FIX = ("pass retrain=True to fit_or_load (in a lecture notebook: RETRAIN = True in the parameters cell) "
        "to train it again")
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, getattr(errno, "EDQUOT", errno.ENOSPC)}


class RunStateError(RuntimeError):
    """Saved training state that cannot be used (damaged, or from another model); the message names the file and fix."""


def run_path(run_name: str) -> Path:
    """The folder of a named run (not created)."""
    if not run_name or "/" in run_name or run_name.startswith("."):
        raise ValueError(f"run_name must be a plain folder name such as '02_dense_ae-cpu', got {run_name!r}")
    return runs_dir() / run_name


# --------------------------------------------------------------------------- atomic writes
def _partial(target: Path) -> Path:
    return target.with_name(f".partial-{os.getpid()}-{target.name}")  # keeps the .weights.h5 suffix Keras wants


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def save_weights_atomically(model, target) -> None:
    """``model.save_weights(target)`` through a temporary file in the same folder, then a rename.

    Either the complete new file is in place or the old one is untouched; never a half-written one.
    """
    target = Path(target)
    tmp = _partial(target)
    try:
        model.save_weights(str(tmp))
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(target, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file and a rename (all or nothing)."""
    target = Path(target)
    tmp = _partial(target)
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _backup_callback(backup_dir: Path):
    """Keras' ``BackupAndRestore`` whose checkpoint and metadata are written atomically."""
    import keras

    class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
        def _save_model(self):
            os.makedirs(self.backup_dir, exist_ok=True)
            save_weights_atomically(self.model, getattr(self, "_weights_path", backup_dir / BACKUP_WEIGHTS))
            write_text_atomically(getattr(self, "_training_metadata_path", backup_dir / BACKUP_METADATA),
                                  json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))

    return AtomicBackupAndRestore(str(backup_dir))


# --------------------------------------------------------------------------- checks of saved state
def _architecture(model) -> list:
    """The shapes of the model's weight arrays, in order: what a weights file must match."""
    return [list(map(int, w.shape)) for w in model.weights]


def _describe(shapes: list) -> str:
    n = sum(int(_prod(s)) for s in shapes)
    return f"{len(shapes)} weight arrays, {n:,} numbers"


def _prod(shape) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out


def _check_architecture(model, fingerprint: Path, weights: Path, what: str, run_name: str) -> None:
    if not fingerprint.exists():  # runs saved before fingerprints existed: Keras' own check remains
        return
    try:
        saved = json.loads(fingerprint.read_text())
        assert isinstance(saved, list)
    except (ValueError, AssertionError, OSError) as err:
        raise RunStateError(f"the {what} run {run_name!r} cannot be used: {fingerprint} is damaged ({err}); "
                            f"{_FIX}") from err
    mine = _architecture(model)
    if saved != mine:
        first = next((i for i, (a, b) in enumerate(zip(saved, mine)) if a != b), min(len(saved), len(mine)))
        detail = (f"array {first}: saved {tuple(saved[first]) if first < len(saved) else 'none'}, "
                  f"this model {tuple(mine[first]) if first < len(mine) else 'none'}")
        raise RunStateError(
            f"the {what} run {run_name!r} was saved by a different model ({weights} holds {_describe(saved)}; this "
            f"model has {_describe(mine)}; first difference at {detail}). Did the model or a parameter change? "
            f"{_FIX[0].upper() + _FIX[1:]}, or give this model its own run_name"
        )


def _load_weights_checked(model, weights: Path, what: str, run_name: str) -> None:
    if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # so its saved state loads too
    try:
        model.load_weights(str(weights))
    except OSError as err:  # h5py: truncated file, no HDF5 signature, empty file
        raise RunStateError(f"the {what} run {run_name!r} cannot be loaded: {weights} is damaged "
                            f"({str(err).splitlines()[0]}); {_FIX}") from err
    except ValueError as err:  # Keras: shapes or layer count do not match
        raise RunStateError(f"the {what} run {run_name!r} was saved by a different model: {weights} does not fit "
                            f"this model ({str(err).strip().splitlines()[0]}); {_FIX}, or give this model its own "
                            "run_name") from err


def _read_history_json(path: Path, run_name: str) -> dict:
    try:
        history = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise RunStateError(f"the finished run {run_name!r} cannot be loaded: {path} is damaged ({err}); "
                            f"{_FIX}") from err
    ok = (isinstance(history, dict) and history and all(
        isinstance(v, list) and v and all(isinstance(e, (int, float)) for e in v) for v in history.values()))
    if not ok:
        raise RunStateError(f"the finished run {run_name!r} cannot be loaded: {path} does not hold a training history "
                            f"({{metric: [one number per epoch]}}, got {str(history)[:80]!r}); {_FIX}")
    return history


def _read_csv_history(path: Path, run_name: str = "") -> dict:
    """``{metric: [per epoch]}`` from CSVLogger's file; a repeated epoch (resumed after a kill) keeps its last row."""
    rows: dict = {}
    if not path.exists():
        return {}
    try:
        with path.open() as f:
            for i, row in enumerate(csv.DictReader(f)):
                epoch = int(row.get("epoch") or i)
                values = {}
                for key, value in row.items():
                    if key in ("epoch", None) or value in ("", "NA", None):  # CSVLogger writes NA for absent metrics
                        continue
                    values[key] = float(value)
                rows[epoch] = values
    except (ValueError, TypeError, csv.Error) as err:
        raise RunStateError(f"the history of run {run_name!r} cannot be read: {path} is damaged ({err}); "
                            f"{_FIX}") from err
    history: dict = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            history.setdefault(key, []).append(value)
    return history


def _check_backup(model, backup: Path, run_name: str) -> int:
    """Validate an interrupted run's backup before Keras loads it; returns its finished epochs."""
    meta = backup / BACKUP_METADATA
    try:
        done = json.loads(meta.read_text())["epoch"]
        done = int(done)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunStateError(f"the interrupted run {run_name!r} cannot resume: {meta} is damaged "
                            f"({type(err).__name__}: {err}); {_FIX}") from err
    _check_architecture(model, backup / BACKUP_ARCHITECTURE, backup / BACKUP_WEIGHTS, "interrupted", run_name)
    if (backup / BACKUP_WEIGHTS).exists():
        _load_weights_checked(model, backup / BACKUP_WEIGHTS, "interrupted", run_name)
    return done


def is_finished(run_name: str) -> bool:
    """Whether a finished run with this name exists (so ``fit_or_load`` would load it)."""
    path = run_path(run_name)
    return (path / FINAL_WEIGHTS).exists() and (path / HISTORY_JSON).exists()


def _disk_error(err: OSError, path: Path, done: str) -> UnwritableFolderError:
    return UnwritableFolderError(
        f"could not save the run in {path} ({err.strerror or err}). {done} Free some space there, or set "
        f"{CACHE_ENV} to a writable folder with room, then run the cell again"
    )


def kept_run_path(run_name: str, key: str) -> Path:
    """Where a run of this name but other settings (fingerprint ``key``) is kept, beside the current one."""
    return run_path(run_name).with_name(f"{run_name}@{key}")


def read_settings(folder: Path) -> Optional[dict]:
    """The settings a run folder was trained with (``None``: no run, or one saved before fingerprints)."""
    try:
        data = json.loads((folder / SETTINGS_JSON).read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _has_state(folder: Path) -> bool:
    return (folder / FINAL_WEIGHTS).exists() or (folder / BACKUP / BACKUP_METADATA).exists()


def _select_run(run_name: str, settings: dict, retrain: bool = False) -> Optional[int]:
    """Arrange that ``run_path(run_name)`` holds the run of ``settings`` (or nothing yet).

    Same settings: nothing to do. Only ``epochs`` larger than a finished run's: that run is kept
    beside and continued (returns its epochs, the epoch to resume after). Anything else: the run
    in the folder is moved beside (``<name>@<key>``) and an earlier run with exactly these
    settings is moved in if there is one; one line says what changed. Returns ``None`` unless
    resuming a shorter finished run.
    """
    path = run_path(run_name)
    current = read_settings(path)
    if current == settings:
        return None
    writable_dir(path.parent, purpose=f"the training run {run_name!r}",
                 without="nothing can be trained and kept without it (the data loaders still work)")
    key = fingerprint(settings)
    if current is None and not _has_state(path):  # nothing trained here yet (or only a monitor's folder)
        path.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path / SETTINGS_JSON, json.dumps(settings, sort_keys=True))
        return None
    if current is None:
        changes, current_key = "saved before run fingerprints (settings unknown)", "unknown"
    else:
        changes, current_key = describe_changes(current, settings), fingerprint(current)
    same_but_epochs = current is not None and fingerprint(current, without=("fit.epochs",)) == fingerprint(
        settings, without=("fit.epochs",))
    finished = (path / FINAL_WEIGHTS).exists() and (path / HISTORY_JSON).exists()
    if same_but_epochs and finished and not retrain and int(current["fit.epochs"]) < int(settings["fit.epochs"]):
        done = int(current["fit.epochs"])
        aside = kept_run_path(run_name, current_key)
        if not aside.exists():  # the shorter run stays loadable as it was: copied whole, then renamed,
            partial = aside.with_name(f".{aside.name}.partial")  # so that Ctrl-C never leaves half a copy
            if partial.exists():
                shutil.rmtree(partial)
            shutil.copytree(path, partial)
            os.replace(partial, aside)
        (path / HISTORY_JSON).unlink()  # not finished until the longer run is saved
        write_text_atomically(path / SETTINGS_JSON, json.dumps(settings, sort_keys=True))
        print(f"{changes}: training the finished run {run_name!r} on from epoch {done} "
              f"(the {done}-epoch run is kept as {aside.name})")
        return done
    aside = kept_run_path(run_name, current_key)
    if aside.exists():
        shutil.rmtree(aside)
    os.replace(path, aside)
    earlier = kept_run_path(run_name, key)
    if read_settings(earlier) == settings:
        os.replace(earlier, path)
        print(f"{changes}: using the earlier run with these settings (the other one is kept as {aside.name})")
        return None
    path.mkdir(parents=True)
    write_text_atomically(path / SETTINGS_JSON, json.dumps(settings, sort_keys=True))
    print(f"{changes}: training a new run (the earlier one is kept as {aside.name})")
    return None


def _run_lock(run_name: str):
    """A lock per run (``filelock``; released by the OS when its process dies, so it never goes stale)."""
    import contextlib

    from filelock import FileLock, Timeout

    folder = runs_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / f".{run_name}.lock"))
        lock.acquire(timeout=LOCK_WAIT_MESSAGE_S)
    except Timeout:
        print(f"Another process (a second kernel, or `coursekit run`) is training or saving the run {run_name!r}; "
              "waiting for it to finish ...", flush=True)
        lock.acquire()
    except OSError:  # a read-only cache: a finished run still loads; training then says what is wrong
        return contextlib.nullcontext()
    return _Held(lock)


class _Held:
    """Context manager that releases an acquired ``filelock.FileLock`` on exit."""

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        return self.lock

    def __exit__(self, *exc):
        self.lock.release()
        return False


def fit_or_load(
    model,
    x,
    *,
    run_name: str,
    epochs: int,
    retrain: bool = False,
    callbacks: Sequence = (),
    tensorboard: bool = False,
    verbose: int = 2,
    **fit_kwargs,
) -> dict:
    """Train ``model`` with ``model.fit(x, epochs=epochs, ...)``, resuming or loading as described above.

    Args:
        model: a compiled, **built** ``keras.Model`` (call it on one batch first).
        x: what ``fit`` takes first (array, ``tf.data.Dataset``, ...).
        run_name: folder name of this run, e.g. ``f"02_dense_ae-{profile.name}"``.
        epochs: total epochs of the run (a resumed run trains only the missing ones).
        retrain: ignore any saved state of this run and train from scratch (the old finished
            run is replaced when the new one is saved, not before).
        callbacks: extra Keras callbacks (monitors, early stopping, ...).
        tensorboard: also log to TensorBoard under ``<run folder>/logs``.
        verbose: passed to ``fit``.
        **fit_kwargs: passed to ``fit`` (``y``, ``batch_size``, ``validation_data``, ...).

    Returns:
        the full history of the run, ``{metric: [one value per epoch]}``, including epochs
        trained before an interruption.

    Raises:
        RunStateError: saved state that is damaged or belongs to another model (file and fix named).
        UnwritableFolderError: the run folder is read-only or full (folder and ``COURSEKIT_CACHE`` named).
    """

    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built; call it on one batch first, e.g. model(x[:1]), "
            "so its weights can be saved and restored"
        )
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    path = run_path(run_name)
    settings = run_settings(model, x, epochs=int(epochs), fit_kwargs=fit_kwargs)
    with _run_lock(run_name):  # a second kernel wanting this run waits, then loads what the first saved
        return _fit_or_load_locked(model, x, path=path, run_name=run_name, settings=settings, epochs=int(epochs),
                                   retrain=retrain, callbacks=callbacks, tensorboard=tensorboard, verbose=verbose,
                                   fit_kwargs=fit_kwargs)


def _fit_or_load_locked(model, x, *, path: Path, run_name: str, settings: dict, epochs: int, retrain: bool,
                        callbacks, tensorboard: bool, verbose: int, fit_kwargs: dict) -> dict:
    import keras

    resume_after = _select_run(run_name, settings, retrain)
    if not retrain and is_finished(run_name):
        _check_architecture(model, path / FINAL_ARCHITECTURE, path / FINAL_WEIGHTS, "finished", run_name)
        history = _read_history_json(path / HISTORY_JSON, run_name)
        _load_weights_checked(model, path / FINAL_WEIGHTS, "finished", run_name)
        n_epochs = len(next(iter(history.values()), []))
        print(f"Loaded the finished run {run_name!r} from {display_path(path)} ({n_epochs} epochs); "
              "pass retrain=True (or set RETRAIN = True) to train again.")
        return history

    writable_dir(path, purpose=f"the training run {run_name!r}",
                 without="nothing can be trained and kept without it (the data loaders still work)")
    backup = path / BACKUP
    if retrain:  # partial state of earlier attempts goes; a finished run stays until the new one is saved
        shutil.rmtree(backup, ignore_errors=True)
        (path / HISTORY_CSV).unlink(missing_ok=True)
    if (backup / BACKUP_METADATA).exists():
        done = _check_backup(model, backup, run_name)
        print(f"Resuming the interrupted run {run_name!r} after epoch {done} of {epochs}.")
    elif resume_after is not None:  # a finished shorter run: its weights, optimizer state and history go on
        _load_weights_checked(model, path / FINAL_WEIGHTS, "finished", run_name)
        fit_kwargs = {**fit_kwargs, "initial_epoch": resume_after}
        backup.mkdir(exist_ok=True)
        write_text_atomically(backup / BACKUP_ARCHITECTURE, json.dumps(_architecture(model)))
    else:
        (path / HISTORY_CSV).unlink(missing_ok=True)  # stale history of an abandoned run
        backup.mkdir(exist_ok=True)
        write_text_atomically(backup / BACKUP_ARCHITECTURE, json.dumps(_architecture(model)))
    cbs = [
        keras.callbacks.CSVLogger(str(path / HISTORY_CSV), append=True),  # before the backup: a kill in between
        _backup_callback(backup),  # repeats the epoch, and its row is then replaced, not lost
        *callbacks,
    ]
    if tensorboard:
        cbs.append(keras.callbacks.TensorBoard(log_dir=str(path / "logs")))
    if not hasattr(x, "shape") and not isinstance(x, (list, tuple, dict)):
        fit_kwargs.setdefault("shuffle", False)  # a dataset shuffles itself; Keras warns that shuffle=True is ignored
    start = time.perf_counter()
    try:
        model.fit(x, epochs=int(epochs), callbacks=cbs, verbose=verbose, **fit_kwargs)
    except KeyboardInterrupt:
        print(f"\nInterrupted: the run {run_name!r} keeps its last finished epoch (saved atomically at each "
              "epoch's end); run the cell again to resume from it.", flush=True)
        raise
    except OSError as err:
        if err.errno in _DISK_ERRNOS:
            kept = "The last finished epoch is kept in the backup; training resumes from it."
            raise _disk_error(err, path, kept) from err
        raise
    elapsed = time.perf_counter() - start
    history = _read_csv_history(path / HISTORY_CSV, run_name)
    try:  # weights first: history.json (is_finished) appears only next to complete weights
        save_weights_atomically(model, path / FINAL_WEIGHTS)
        write_text_atomically(path / FINAL_ARCHITECTURE, json.dumps(_architecture(model)))
        write_text_atomically(path / HISTORY_JSON, json.dumps(history))
    except OSError as err:
        raise _disk_error(err, path, "The trained model is still in memory (save it elsewhere with "
                                     "model.save_weights(...)); any earlier finished run is untouched.") from err
    print(f"Trained {run_name!r} in {elapsed:.1f} s; saved to {display_path(path)}")
    return history
