"""A compact, machine-independent description of a Keras model (lectures 05-09).

``model.summary()`` prints box-drawing tables whose width follows the terminal; the regression
checks of the notebooks need text that is the same on every machine, so lectures print
:func:`describe` instead: one line per layer with its output shape and parameter count.
"""

from __future__ import annotations

import numpy as np


def _shape(layer) -> str:
    try:
        out = layer.output
    except (AttributeError, ValueError):  # a layer never called symbolically
        return "?"
    outs = out if isinstance(out, (list, tuple)) else [out]
    text = ", ".join(str(tuple(o.shape[1:])) for o in outs)
    return text if len(outs) == 1 else f"[{text}]"


def describe(model, *, only_with_parameters: bool = False) -> str:
    """One line per layer (name, output shape without the batch axis, parameters), then the totals.

    Args:
        model: a built ``keras.Model`` (functional or ``Sequential``).
        only_with_parameters: leave out layers without weights (activations, reshapes...).

    Returns:
        the text (print it); e.g. ``"  dense_1          (256,)                 25,856"``.
    """
    if not getattr(model, "built", False):
        raise ValueError(f"model {model.name!r} is not built; call it on one batch first")
    lines = []
    for layer in model.layers:
        if only_with_parameters and not layer.count_params():
            continue
        lines.append(f"  {layer.name:16s} {_shape(layer):16s} {layer.count_params():>10,}")
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    lines.append(f"  {model.name}: {model.count_params():,} parameters ({trainable:,} trainable)")
    return "\n".join(lines)
