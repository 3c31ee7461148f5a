"""Training to a wall-clock budget: equal compute for models of different families (lecture 12).

Comparing a VAE, a PixelCNN, GANs, a flow and a diffusion model "at the same number of epochs"
favours the cheap models; comparing them at the same **seconds of training** asks which family
makes best use of a laptop's budget. :class:`TimeBudget` is a Keras callback that ends
``model.fit`` once the budget is spent (checked after every batch) and records how far each model
got, so the comparison table can say so.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stop ``fit`` after ``seconds`` of training, and record the epochs it reached.

    The clock starts at ``on_train_begin`` and is read after every batch: the batch that crosses
    the budget finishes, then training stops (so a run overshoots by at most one batch). Time
    spent before ``fit`` (building, compiling) is not counted; the first batch's tracing is.

    Args:
        seconds: the budget in seconds (> 0).
        clock: a function returning seconds (default ``time.perf_counter``; tests pass a fake).
        verbose: print one line when the budget ends training.

    Attributes (after ``fit``):
        seconds_used: wall seconds from the start of training to the last batch.
        epochs_reached: finished epochs plus the finished fraction of the last one (a float,
            e.g. ``3.25``); needs the steps per epoch, which ``fit`` knows for arrays and for
            datasets of known size (else only whole finished epochs are counted).
        steps: batches trained.
        stopped: ``True`` when the budget (not ``epochs``) ended training.
    """

    def __init__(self, seconds: float, clock: Optional[Callable[[], float]] = None, verbose: bool = True):
        super().__init__()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise ValueError(f"seconds must be a positive number of seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self.clock = time.perf_counter if clock is None else clock
        self.verbose = verbose
        self.seconds_used, self.epochs_reached, self.steps, self.stopped = 0.0, 0.0, 0, False
        self._start, self._epoch, self._epoch_start = None, 0, 0

    def on_train_begin(self, logs=None):
        self._start, self._epoch, self._epoch_start = self.clock(), 0, 0
        self.seconds_used, self.epochs_reached, self.steps, self.stopped = 0.0, 0.0, 0, False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = self.steps

    def on_epoch_end(self, epoch, logs=None):
        if not self.stopped:  # an epoch cut short by the budget keeps its fraction (or, unknown, is not counted)
            self.epochs_reached = float(epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.seconds_used = self.clock() - self._start
        per_epoch = (self.params or {}).get("steps")
        if per_epoch:
            self.epochs_reached = self._epoch + (self.steps - self._epoch_start) / per_epoch
        if self.seconds_used >= self.seconds and not self.stopped:
            self.stopped = True
            self.model.stop_training = True
            if self.verbose:
                print(f"time budget of {self.seconds:g} s spent after {self.steps} batches "
                      f"({self.epochs_reached:.2f} epochs): training stops")

    def summary(self) -> dict:
        """``{"budget_s", "seconds_used", "epochs_reached", "steps", "stopped"}`` for a results table."""
        return {"budget_s": self.seconds, "seconds_used": round(self.seconds_used, 2),
                "epochs_reached": round(self.epochs_reached, 3), "steps": self.steps, "stopped": self.stopped}
