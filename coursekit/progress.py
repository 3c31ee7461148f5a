"""One way to report training progress in every lecture: a line every few epochs.

Keras' own progress bar (``verbose=1``) redraws itself with terminal escape codes and
backspaces, which a saved notebook keeps as garbage; ``verbose=2`` prints every epoch, too much
for 100 epochs. :class:`EpochLog` prints one plain line every ``every`` epochs (and after the
first and the last), readable live in Jupyter and in the committed notebook::

    epoch   1/60  loss 0.2614  val_loss 0.2011  (1.2 s)
    epoch  10/60  loss 0.1030  val_loss 0.1021  (9.8 s)

Pass it to ``fit`` (or ``coursekit.training.fit_or_load``) with ``verbose=0``.
"""

from __future__ import annotations

import math
import re
import time
from typing import Optional, Sequence

import keras


def default_every(epochs: int, lines: int = 10) -> int:
    """How many epochs apart to print so that a run of ``epochs`` epochs prints about ``lines`` lines."""
    return max(1, math.ceil(int(epochs) / max(1, int(lines))))


class EpochLog(keras.callbacks.Callback):
    """Print ``epoch k/N`` and the epoch's metrics every ``every`` epochs, first and last included.

    Args:
        every: epochs between lines; ``None`` = about ten lines per run (:func:`default_every`).
        keys: the metrics to print, in order; ``None`` = all of them, as Keras logs them.
        digits: significant digits of each value.
    """

    def __init__(self, every: Optional[int] = None, keys: Optional[Sequence[str]] = None, digits: int = 4):
        super().__init__()
        if every is not None and (isinstance(every, bool) or int(every) != every or every < 1):
            raise ValueError(f"every must be a whole number of epochs >= 1 or None, got {every!r}")
        self.every = every
        self.keys = None if keys is None else list(keys)
        self.digits = int(digits)
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def format_line(self, epoch: int, epochs: int, logs: dict, elapsed: float) -> str:
        """The line printed after ``epoch`` (1-based) of ``epochs``."""
        keys = self.keys if self.keys is not None else list(logs)
        values = []
        for key in keys:
            if key in logs:
                try:
                    values.append(f"{key} {float(logs[key]):.{self.digits}g}")
                except (TypeError, ValueError):
                    continue  # not a scalar (e.g. a learning-rate schedule object)
        width = len(str(epochs))
        return f"epoch {epoch:>{width}}/{epochs}  " + "  ".join(values) + f"  ({elapsed:.1f} s)"

    def on_epoch_end(self, epoch, logs=None):
        epochs = int((self.params or {}).get("epochs") or 0) or epoch + 1
        every = self.every or default_every(epochs)
        done = epoch + 1
        if done == 1 or done == epochs or done % every == 0:
            elapsed = time.perf_counter() - (self._start or time.perf_counter())
            print(self.format_line(done, epochs, dict(logs or {}), elapsed), flush=True)


_LINE_RE = re.compile(r"^epoch +(?P<epoch>\d+)/(?P<epochs>\d+)  (?P<values>.*?)  \((?P<seconds>[0-9.]+) s\)$")
_VALUE_RE = re.compile(r"(?P<key>\S+) (?P<value>[-+]?(?:inf|nan|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))(?:  |$)")


def parse_epoch_line(line: str) -> Optional[dict]:
    """The inverse of :meth:`EpochLog.format_line`, for reading a committed notebook's training log.

    Returns:
        ``{"epoch": k, "epochs": N, "seconds": s, "logs": {key: value}}`` (values as printed, to
        ``digits`` significant digits), or ``None`` when ``line`` is not such a line.
    """
    found = _LINE_RE.match(line.strip())
    if found is None:
        return None
    values = found["values"]
    logs = {m["key"]: float(m["value"]) for m in _VALUE_RE.finditer(values)}
    if sum(len(m.group(0)) for m in _VALUE_RE.finditer(values)) != len(values):
        return None  # something in it is not "key value"
    return {"epoch": int(found["epoch"]), "epochs": int(found["epochs"]), "seconds": float(found["seconds"]),
            "logs": logs}
