"""Units of likelihood for flows: nats per example -> bits per dimension (lecture 10).

``bits/dim = -log p(x) / (D ln 2)`` for a log-likelihood in nats of a ``D``-dimensional example.
On 8-bit images the log-likelihood must be that of the *discrete* image (the dequantization
log-det ``-D log 256`` included, :mod:`coursekit.flows.preprocessing`), so that a model uniform
over the 256 levels scores exactly ``log2 256 = 8`` bits/dim, the published figures
(RealNVP 1.06, Glow 1.05, FFJORD 0.99 on MNIST, as tabulated in FFJORD, Grathwohl et al. 2019,
Table 2) are comparable, and lower is better.
"""

from __future__ import annotations

import math

import numpy as np

LN2 = math.log(2.0)


def bits_per_dim(log_prob_nats, dims: int):
    """``-log_prob / (dims ln 2)``: per example if ``log_prob_nats`` is an array, else a float."""
    if int(dims) < 1:
        raise ValueError(f"dims must be >= 1, got {dims}")
    out = -np.asarray(log_prob_nats, dtype="float64") / (int(dims) * LN2)
    return float(out) if out.ndim == 0 else out


def nats_from_bits_per_dim(bpd, dims: int) -> float:
    """The negative log-likelihood in nats per example of ``bpd`` bits/dim over ``dims`` dimensions."""
    return float(bpd) * int(dims) * LN2


def uniform_bits_per_dim(levels: int = 256) -> float:
    """Bits/dim of the model uniform over ``levels`` values per dimension: ``log2(levels)`` (8 for 8-bit)."""
    return math.log2(int(levels))
