"""Reading a GAN's curves (lecture 09): one rule for "the discriminator has won".

**The balance point with label smoothing.** A discriminator trained with real target
``y = real_label`` (0.9: one-sided label smoothing) and fake target 0 minimises, at each point
``x``, ``-p_d(x) [y ln D + (1 - y) ln(1 - D)] - p_g(x) ln(1 - D)``; setting the derivative to 0
gives the optimal discriminator

    ``D*(x) = y p_d(x) / (p_d(x) + p_g(x))``,

which is ``y / 2`` (0.45 for ``y = 0.9``) everywhere once the generator matches the data
(:func:`balance_output`). So with smoothing a *converged* GAN's discriminator gives every input,
real or generated, **less than 1/2**: its accuracy on fakes (the fraction with ``D(G(z)) < 1/2``)
goes to 1 and its accuracy on real data to 0, although it is exactly as confused as it can be.
The D loss then sits near :func:`d_loss_at_balance` (1.376 nats for 0.9, ``2 ln 2 = 1.386``
without smoothing) and the non-saturating G loss near ``-ln(y / 2)`` (0.799 nats;
:func:`g_loss_at_balance`). Accuracies measured against 1/2 therefore say nothing about who is
winning when ``y < 1``; lecture 09's baseline ends with ``d_acc_fake`` near 1, ``d_acc_real`` near 0
and a G loss near 0.84 nats: a balanced game, not a discriminator that has won.

**The rule** reads the mean of ``D(G(z))`` instead, through the G loss: the non-saturating loss is
``-mean ln D(G(z))``, so ``exp(-g_loss)`` is the geometric mean of ``D(G(z))``. The discriminator
**has won** in an epoch when that mean is at most ``p_won = 0.05``, i.e.

- ``g_loss >= -ln(p_won)`` (``ln 20 = 3.00`` nats), a factor ``(y / 2) / p_won`` (9 for 0.9, 10
  without smoothing) below the balance value of ``D(G(z))``.

A run has a **convergence failure** when the rule holds for ``window`` (3) epochs in a row at the
end of training. Earlier versions of this rule also asked for ``d_acc_fake >= 0.95``; with
smoothing every converged GAN meets that condition, so it did no work and is no longer part of
the rule. Dropping it changes some verdicts: of the epochs with ``g_loss >= ln 20`` that lectures
05-07 print, most also have ``d_acc_fake >= 0.95``, but not all: lecture 07's face GAN prints
epoch 12 with ``g_loss`` 3.399 and ``d_acc_fake`` 0.9482, won by this rule and not by the old one
(07 prints every second epoch, so its log cannot say how many unprinted epochs differ too).
Lecture 09 prints its runs' counts by this rule only. Why not "the D loss goes to 0" (the source
material's cue):

- with ``y = 0.9`` the D loss never reaches 0: a perfect, calibrated discriminator outputs
  ``D(x) = y`` on real data and pays the binary entropy ``H(y) = 0.325`` nats there
  (:func:`d_loss_floor`). The same winning margin on the fakes adds ``-ln(1 - p_won) = 0.051``, so
  a discriminator that has won sits near ``H(y) - ln(1 - p_won)`` = 0.377 nats (:func:`d_loss_won`);
- a discriminator that is merely ahead (``D(G(z))`` about 0.2, G loss about 1.5 nats) still gives
  the non-saturating generator a full-size gradient (on the logit: ``-(1 - D(G(z)))``, largest when
  D is ahead), and the generator keeps improving. "D ahead" is the normal state of a GAN on easy
  data; only "won and staying won" is a failure.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

#: D's average (geometric-mean) probability that a generated sample is real, below which D "has won"
P_WON = 0.05


def _check_real_label(real_label: float) -> float:
    real_label = float(real_label)
    if not 0.5 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0.5, 1] (1.0 = no smoothing, 0.9 = one-sided smoothing), "
                         f"got {real_label}")
    return real_label


def binary_entropy(y: float) -> float:
    """``H(y) = -y ln y - (1 - y) ln(1 - y)`` in nats (0 for y = 1)."""
    y = float(y)
    if not 0.0 <= y <= 1.0:
        raise ValueError(f"y must be in [0, 1], got {y}")
    return -sum(p * math.log(p) for p in (y, 1.0 - y) if p > 0)


def optimal_discriminator(p_data, p_model, real_label: float = 1.0) -> np.ndarray:
    """``D*(x) = real_label p_d(x) / (p_d(x) + p_g(x))``: the best response to a fixed generator.

    Args:
        p_data, p_model: densities (or probabilities) of the data and the generator at the same
            points, ``>= 0``, broadcastable; not both 0 at a point.
        real_label: the real target of the D loss (fake target 0).

    Returns:
        ``D*`` at each point, in ``[0, real_label]``.
    """
    real_label = _check_real_label(real_label)
    p_d, p_g = np.asarray(p_data, float), np.asarray(p_model, float)
    if (p_d < 0).any() or (p_g < 0).any():
        raise ValueError("p_data and p_model must be densities (>= 0)")
    total = p_d + p_g
    if (total <= 0).any():
        raise ValueError("p_data + p_model must be > 0 at every point (D* is undefined where both are 0)")
    return real_label * p_d / total


def balance_output(real_label: float = 1.0) -> float:
    """``D*`` when the generator matches the data (``p_g = p_d``): ``real_label / 2`` (0.45 for 0.9)."""
    return _check_real_label(real_label) / 2.0


def g_loss_at_balance(real_label: float = 1.0) -> float:
    """The non-saturating G loss at the balance point: ``-ln(real_label / 2)`` (0.799 nats for 0.9, ln 2 for 1)."""
    return -math.log(balance_output(real_label))


def d_loss_at_balance(real_label: float = 1.0) -> float:
    """The D loss (real term + fake term, nats) when D outputs ``real_label / 2`` everywhere (1.376 for 0.9)."""
    y = _check_real_label(real_label)
    d = y / 2.0
    return -(y * math.log(d) + (1.0 - y) * math.log(1.0 - d)) - math.log(1.0 - d)


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
    """Apply the rule to a ``GAN`` history (non-saturating generator loss, nats per epoch).

    Only ``history["g_loss"]`` is read (other keys, e.g. the accuracies, are ignored: see the
    module docstring for why the accuracy on fakes is not part of the rule).

    Returns:
        ``{"won": (epochs,) bool, the rule per epoch; "mean_d_fake": (epochs,) float, the
        geometric mean of D(G(z)) per epoch, ``exp(-g_loss)``; "failed": True when the last
        ``window`` epochs all have "won" (a convergence failure); "first_won": 1-based first epoch
        of that final streak, or None}``.
    """
    if "g_loss" not in history:
        raise KeyError(f"the rule needs g_loss (the non-saturating generator loss) in the history; "
                       f"it has {sorted(history)}")
    window = int(window)
    if window < 1:
        raise ValueError(f"window must be a whole number of epochs >= 1, got {window}")
    g = np.asarray(history["g_loss"], float)
    won = g >= g_loss_won(p_won)
    streak = 0
    for flag in won[::-1]:
        if not flag:
            break
        streak += 1
    failed = streak >= window
    return {"won": won, "mean_d_fake": np.exp(-g), "failed": bool(failed),
            "first_won": int(len(won) - streak + 1) if failed else None}
