"""Ready-made flows of lecture 10: RealNVP for 2-D points and a multi-scale flow for 8-bit images.

- :func:`realnvp_2d`: ``n_couplings`` affine couplings with alternating masks, each preceded by
  an ActNorm and a learned 2x2 mixing matrix, on ``(B, 2)`` points (Dinh et al. 2017).
- :func:`spline_flow_2d`: the same layout with rational-quadratic spline couplings (Durkan et al.
  2019), which can make a conditional distribution multimodal in one layer.
- :func:`multiscale_image_flow`: the RealNVP / Glow layout for ``(B, H, W, C)`` 8-bit images:
  uniform dequantization, the logit pre-transform, checkerboard couplings at full resolution,
  a squeeze, steps of (ActNorm, invertible 1x1 convolution, channel coupling), then half the
  channels factored out and the other half squeezed again for the next scale.
"""

from __future__ import annotations

from coursekit.flows.layers import (ActNorm, AffineCoupling, Chain, FactorOut, Invertible1x1Conv, Logit,
                                    SplineCoupling, Squeeze, alternating_mask, channel_mask, checkerboard_mask)
from coursekit.flows.model import Flow


def realnvp_2d(n_couplings: int = 8, hidden: int = 64, depth: int = 2, mix: bool = True, seed: int = 0,
               name: str = "realnvp_2d") -> Flow:
    """A RealNVP on 2-D points: [ActNorm, (learned rotation), AffineCoupling(alternating mask)] x ``n_couplings``.

    ``mix=True`` puts a learned 2x2 invertible matrix (:class:`Invertible1x1Conv` on vectors) before each
    coupling. Without it, data whose two coordinates are independent (lecture 09's grid) leave
    alternating affine couplings stuck at the identity: each coordinate's transformation can only
    depend on the other one, which carries no information about it, so the gradient is zero there.
    """
    if n_couplings < 2:
        raise ValueError(f"n_couplings must be >= 2 (each coordinate must be transformed), got {n_couplings}")
    steps = []
    for i in range(int(n_couplings)):
        steps += [ActNorm(name=f"actnorm{i}")]
        if mix:
            steps.append(Invertible1x1Conv(seed=seed + i, name=f"mix{i}"))
        steps += [AffineCoupling(alternating_mask(2, i % 2), hidden=hidden, depth=depth, name=f"coupling{i}")]
    return Flow(Chain(steps, name="chain"), (2,), seed=seed, name=name)


def spline_flow_2d(n_couplings: int = 4, bins: int = 16, bound: float = 3.0, hidden: int = 64, depth: int = 2,
                   mix: bool = True, seed: int = 0, name: str = "spline_flow_2d") -> Flow:
    """:func:`realnvp_2d`'s layout with :class:`SplineCoupling` in place of the affine couplings.

    [ActNorm, (learned 2x2 mixing), SplineCoupling(alternating mask)] x ``n_couplings``; each spline
    has ``bins`` bins on ``[-bound, bound]`` standard deviations (the ActNorm before it standardises
    its input) and is the identity outside.
    """
    if n_couplings < 2:
        raise ValueError(f"n_couplings must be >= 2 (each coordinate must be transformed), got {n_couplings}")
    steps = []
    for i in range(int(n_couplings)):
        steps += [ActNorm(name=f"actnorm{i}")]
        if mix:
            steps.append(Invertible1x1Conv(seed=seed + i, name=f"mix{i}"))
        steps += [SplineCoupling(alternating_mask(2, i % 2), bins=bins, bound=bound, hidden=hidden, depth=depth,
                                 name=f"spline{i}")]
    return Flow(Chain(steps, name="chain"), (2,), seed=seed, name=name)


def _steps(prefix, height, width, channels, n, hidden, use_1x1, seed):
    steps = []
    for i in range(n):
        steps.append(ActNorm(name=f"{prefix}_actnorm{i}"))
        if use_1x1:
            steps.append(Invertible1x1Conv(seed=seed + i, name=f"{prefix}_conv1x1_{i}"))
        steps.append(AffineCoupling(channel_mask(height, width, channels, i % 2), hidden=hidden,
                                    name=f"{prefix}_coupling{i}"))
    return steps


def multiscale_image_flow(image_shape=(28, 28, 1), hidden: int = 64, n_checker: int = 2, steps_per_scale: int = 4,
                          levels: int = 2, use_1x1: bool = True, alpha: float = 0.05, seed: int = 0,
                          name: str = "multiscale_flow") -> Flow:
    """A multi-scale flow for 8-bit images ``(H, W, C)`` in ``[0, 1]`` (see the module docstring).

    Args:
        image_shape: ``(H, W, C)``; ``H`` and ``W`` divisible by ``2 ** levels``.
        hidden: filters of each coupling's conditioner.
        n_checker: checkerboard couplings (each after an ActNorm) at full resolution.
        steps_per_scale: (ActNorm, 1x1 conv, channel coupling) steps after each squeeze.
        levels: squeezes; after each but the last, half the channels leave the flow.
        use_1x1: include Glow's invertible 1x1 convolutions (else channel order is only alternated).
        alpha: the logit pre-transform's margin.
    """
    h, w, c = (int(s) for s in image_shape)
    if h % (2 ** levels) or w % (2 ** levels):
        raise ValueError(f"image height and width must be divisible by 2**levels = {2 ** levels}, got {image_shape}")
    top = [Logit(alpha, name="logit")]
    for i in range(int(n_checker)):
        top += [ActNorm(name=f"s0_actnorm{i}"),
                AffineCoupling(checkerboard_mask(h, w, c, i % 2), hidden=hidden, name=f"s0_coupling{i}")]
    inner = None
    for level in range(int(levels), 0, -1):  # build the deepest scale first
        hh, ww, cc = h // 2 ** level, w // 2 ** level, c * 4 ** level // (2 ** (level - 1))
        scale = [Squeeze(name=f"s{level}_squeeze"),
                 *_steps(f"s{level}", hh, ww, cc, steps_per_scale, hidden, use_1x1, seed + 100 * level)]
        if inner is not None:
            scale.append(FactorOut(inner, name=f"s{level}_factor_out"))
        inner = Chain(scale, name=f"scale{level}")
    return Flow(Chain([*top, inner], name="chain"), image_shape, dequantize=True, seed=seed, name=name)
