"""One training mechanism for every lecture: resume an interrupted run, or load a finished one.

``fit_or_load`` wraps ``model.fit``:

- a finished run (``final.weights.h5`` + ``history.json`` in the run folder) is loaded
  instead of trained, so an instructor can train before class and present without waiting;
- an interrupted run (Colab disconnect, restarted kernel) resumes from its last finished
  epoch through Keras' ``BackupAndRestore``; the loss history survives through ``CSVLogger``;
- ``retrain=True`` throws the old run away and trains from scratch.

Run folders live under ``coursekit.paths.runs_dir()`` (``~/.cache/coursekit/runs``).
Include the profile in the run name so a smoke run is never loaded in place of a gpu run.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path
from typing import Optional, Sequence

from coursekit.paths import runs_dir

FINAL_WEIGHTS = "final.weights.h5"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
BACKUP = "backup"


def run_path(run_name: str) -> Path:
    """The folder of a named run (not created)."""
    if not run_name or "/" in run_name or run_name.startswith("."):
        raise ValueError(f"run_name must be a plain folder name such as '02_dense_ae-cpu', got {run_name!r}")
    return runs_dir() / run_name


def _read_csv_history(path: Path) -> dict:
    history: dict = {}
    if not path.exists():
        return history
    with path.open() as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key == "epoch" or value in ("", "NA"):  # CSVLogger writes NA for absent metrics
                    continue
                history.setdefault(key, []).append(float(value))
    return history


def is_finished(run_name: str) -> bool:
    """Whether a finished run with this name exists (so ``fit_or_load`` would load it)."""
    path = run_path(run_name)
    return (path / FINAL_WEIGHTS).exists() and (path / HISTORY_JSON).exists()


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
        retrain: discard any saved state of this run and train from scratch.
        callbacks: extra Keras callbacks (monitors, early stopping, ...).
        tensorboard: also log to TensorBoard under ``<run folder>/logs``.
        verbose: passed to ``fit``.
        **fit_kwargs: passed to ``fit`` (``y``, ``batch_size``, ``validation_data``, ...).

    Returns:
        the full history of the run, ``{metric: [one value per epoch]}``, including epochs
        trained before an interruption.
    """
    import keras

    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built; call it on one batch first, e.g. model(x[:1]), "
            "so its weights can be saved and restored"
        )
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    path = run_path(run_name)
    if retrain and path.exists():
        shutil.rmtree(path)
    if is_finished(run_name):
        if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # so its saved state loads too
        model.load_weights(path / FINAL_WEIGHTS)
        history = json.loads((path / HISTORY_JSON).read_text())
        print(f"Loaded the finished run {run_name!r} from {path} ({len(next(iter(history.values()), []))} epochs); "
              "pass retrain=True (or set RETRAIN = True) to train again.")
        return history

    path.mkdir(parents=True, exist_ok=True)
    backup = path / BACKUP
    if (backup / "training_metadata.json").exists():
        done = json.loads((backup / "training_metadata.json").read_text()).get("epoch", 0)
        print(f"Resuming the interrupted run {run_name!r} after epoch {done} of {epochs}.")
    else:
        (path / HISTORY_CSV).unlink(missing_ok=True)  # stale history of an abandoned run
    cbs = [
        keras.callbacks.BackupAndRestore(str(backup)),
        keras.callbacks.CSVLogger(str(path / HISTORY_CSV), append=True),
        *callbacks,
    ]
    if tensorboard:
        cbs.append(keras.callbacks.TensorBoard(log_dir=str(path / "logs")))
    start = time.perf_counter()
    model.fit(x, epochs=int(epochs), callbacks=cbs, verbose=verbose, **fit_kwargs)
    elapsed = time.perf_counter() - start
    history = _read_csv_history(path / HISTORY_CSV)
    model.save_weights(path / FINAL_WEIGHTS)
    (path / HISTORY_JSON).write_text(json.dumps(history))
    print(f"Trained {run_name!r} in {elapsed:.1f} s; saved to {path}")
    return history
