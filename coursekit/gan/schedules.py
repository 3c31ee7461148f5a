"""Learning-rate schedules of the GAN lectures: constant, then a straight line down to zero (lecture 08).

CycleGAN (Zhu et al., 2017) and pix2pix train with Adam at ``2e-4`` for 100 epochs, then decay the
rate linearly to zero over 100 more. :class:`LinearDecay` is that rule counted in optimizer steps
(``steps per epoch x epochs``), so it plugs into any Keras optimizer::

    steps = batches_per_epoch
    lr = LinearDecay(2e-4, constant_steps=100 * steps, total_steps=200 * steps)
    keras.optimizers.Adam(lr, beta_1=0.5)

Each optimizer counts its own ``iterations``; give each network's optimizer its own schedule object
(or the same one: it holds no state).
"""

from __future__ import annotations

import numbers

import keras
from keras import ops


def _check_steps(value, name: str, low: int) -> int:
    try:
        ok = not isinstance(value, bool) and int(value) == value and int(value) >= low
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer number of optimizer steps >= {low}, got {value!r}")
    return int(value)


@keras.saving.register_keras_serializable(package="coursekit")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial_learning_rate`` for ``constant_steps`` steps, then linear to 0 at ``total_steps``.

    ``lr(step) = initial_learning_rate * min(1, (total_steps - step) / (total_steps - constant_steps))``,
    clipped at 0 after ``total_steps`` (training past the end does not make the rate negative).

    Args:
        initial_learning_rate: the constant rate (> 0), e.g. ``2e-4`` (the paper's Adam rate).
        constant_steps: optimizer steps at the full rate (>= 0; 0 = decay from the first step).
        total_steps: step at which the rate reaches 0 (> ``constant_steps``).
    """

    def __init__(self, initial_learning_rate: float, constant_steps: int, total_steps: int, name: str = "linear_decay"):
        rate = initial_learning_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 < float(rate) < float("inf"):
            raise ValueError(f"initial_learning_rate must be a finite number > 0 (e.g. 2e-4), got {rate!r}")
        self.initial_learning_rate = float(rate)
        self.constant_steps = _check_steps(constant_steps, "constant_steps", 0)
        self.total_steps = _check_steps(total_steps, "total_steps", 1)
        if self.total_steps <= self.constant_steps:
            raise ValueError(f"total_steps ({self.total_steps}) must be larger than constant_steps "
                             f"({self.constant_steps}): the rate decays from constant_steps to 0 at total_steps "
                             "(e.g. constant_steps = 100 epochs x steps per epoch, total_steps = 200 epochs x ...)")
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        span = float(self.total_steps - self.constant_steps)
        fraction = ops.clip((self.total_steps - step) / span, 0.0, 1.0)
        return self.initial_learning_rate * fraction

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "constant_steps": self.constant_steps,
                "total_steps": self.total_steps, "name": self.name}
