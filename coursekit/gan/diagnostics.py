"""Reading a GAN's curves (lecture 09): one rule for "the discriminator has won".

The rule is stated with one number, ``p_won = 0.05``: the discriminator has won in an epoch when it
gives the generated samples, on average, less than a 5 % chance of being real, and is right about
almost all of them:

- ``d_acc_fake >= 1 - p_won`` (0.95): at least 95 % of generated samples get ``D(G(z)) < 1/2``;
- ``g_loss >= -ln(p_won)`` (``ln 20 = 3.00`` nats): the non-saturating generator loss is
  ``-mean ln D(G(z))``, so ``exp(-g_loss)`` is the geometric mean of ``D(G(z))``; at or above
  3.00 nats that mean is at most 0.05.

A run has a **convergence failure** when the rule holds for ``window`` (3) epochs in a row at the
end of training. Why these two curves and not "the D loss goes to 0" (the source material's cue):

- with one-sided label smoothing (``real_label = y = 0.9``) the D loss never reaches 0: a perfect,
  calibrated discriminator outputs ``D(x) = y`` on real data and pays the binary entropy
  ``H(y) = 0.325`` nats there (:func:`d_loss_floor`). The same winning margin on the fakes adds
  ``-ln(1 - p_won) = 0.051``, so a discriminator that has won sits below
  ``H(y) - ln(1 - p_won)`` = 0.377 nats (:func:`d_loss_won`), not at 0;
- the accuracy on fakes alone is not enough: 0.97 with ``g_loss`` = 1.5 means ``D(G(z))`` about 0.2,
  a discriminator that is ahead while the non-saturating generator still gets a full-size gradient
  (its gradient on the logit is ``-(1 - D(G(z)))``, largest when D is winning) and keeps improving.
  "D ahead" is the normal state of a GAN on easy data; only "won and staying won" is a failure.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

#: D's average probability that a generated sample is real, below which D "has won"
P_WON = 0.05


def binary_entropy(y: float) -> float:
    """``H(y) = -y ln y - (1 - y) ln(1 - y)`` in nats (0 for y = 1)."""
    y = float(y)
    if not 0.0 <= y <= 1.0:
        raise ValueError(f"y must be in [0, 1], got {y}")
    return -sum(p * math.log(p) for p in (y, 1.0 - y) if p > 0)


def d_loss_floor(real_label: float) -> float:
    """The smallest possible D loss with real target ``real_label`` (and fake target 0): ``H(real_label)``."""
    return binary_entropy(real_label)


def d_loss_won(real_label: float, p_won: float = P_WON) -> float:
    """The D loss of a discriminator that gives real data ``D = real_label`` and fakes ``D = p_won``."""
    return d_loss_floor(real_label) - math.log(1.0 - p_won)


def g_loss_won(p_won: float = P_WON) -> float:
    """The non-saturating G loss at which the geometric mean of ``D(G(z))`` is ``p_won``: ``-ln p_won``."""
    if not 0.0 < p_won < 0.5:
        raise ValueError(f"p_won must be in (0, 0.5), got {p_won}")
    return -math.log(p_won)


def discriminator_has_won(history: Mapping[str, Sequence[float]], *, window: int = 3, p_won: float = P_WON) -> dict:
    """Apply the rule to a ``GAN`` history (non-saturating generator loss).

    Returns:
        ``{"won": (epochs,) bool, the rule per epoch; "failed": True when the last ``window``
        epochs all have "won" (a convergence failure); "first_won": 1-based first epoch of that
        final streak, or None}``.
    """
    missing = [k for k in ("g_loss", "d_acc_fake") if k not in history]
    if missing:
        raise KeyError(f"the rule needs g_loss and d_acc_fake in the history; missing {missing}")
    acc = np.asarray(history["d_acc_fake"], float)
    g = np.asarray(history["g_loss"], float)
    won = (acc >= 1.0 - p_won) & (g >= g_loss_won(p_won))
    streak = 0
    for flag in won[::-1]:
        if not flag:
            break
        streak += 1
    failed = streak >= int(window)
    return {"won": won, "failed": bool(failed), "first_won": int(len(won) - streak + 1) if failed else None}
