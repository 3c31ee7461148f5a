"""Flow layers: inverse(forward(x)) == x, and each log-det equals the autodiff Jacobian's slogdet."""

import numpy as np
import pytest
import tensorflow as tf

from coursekit.flows.layers import (ActNorm, AffineCoupling, Chain, FactorOut, Invertible1x1Conv, Logit,
                                    SplineCoupling, Squeeze, alternating_mask, channel_mask, checkerboard_mask,
                                    rational_quadratic_spline)

SHAPE = (4, 4, 2)


def _randomise(layer, x, seed=0):
    """Build ``layer`` on ``x`` and give every weight random values (zero-initialised layers are trivial)."""
    layer.forward(x)
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        if w.trainable:
            w.assign(0.3 * rng.standard_normal(w.shape).astype("float32"))
    return layer


def _layers():
    return {
        "coupling_vector": (lambda: AffineCoupling(alternating_mask(3, 0), hidden=8), (3,)),
        # bound 1.5: some standard-normal inputs fall outside the spline, on its identity tails
        "spline_coupling": (lambda: SplineCoupling(alternating_mask(3, 0), bins=5, bound=1.5, hidden=8), (3,)),
        "spline_coupling_2d": (lambda: SplineCoupling(alternating_mask(2, 1), bins=8, bound=2.0, hidden=8), (2,)),
        "coupling_checkerboard": (lambda: AffineCoupling(checkerboard_mask(*SHAPE, 1), hidden=4), SHAPE),
        "coupling_channel": (lambda: AffineCoupling(channel_mask(*SHAPE, 0), hidden=4), SHAPE),
        "actnorm": (lambda: ActNorm(), SHAPE),
        "squeeze": (lambda: Squeeze(), SHAPE),
        "conv1x1": (lambda: Invertible1x1Conv(seed=0), SHAPE),
        "logit": (lambda: Logit(0.05), SHAPE),
        "chain": (lambda: Chain([ActNorm(), Squeeze(), Invertible1x1Conv(seed=1),
                                 AffineCoupling(channel_mask(2, 2, 8, 1), hidden=4)]), SHAPE),
        "factor_out": (lambda: FactorOut(Chain([Squeeze(), AffineCoupling(channel_mask(2, 2, 4, 0), hidden=4)])),
                       SHAPE),
    }


def _inputs(shape, name, n=3):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.05, 0.95, (n, *shape)) if name == "logit" else rng.standard_normal((n, *shape))
    return tf.constant(x.astype("float32"))


@pytest.mark.parametrize("name", list(_layers()))
def test_inverse_undoes_forward(name):
    make, shape = _layers()[name]
    x = _inputs(shape, name)
    layer = _randomise(make(), x)
    y, ld = layer.forward(x)
    back, ld_inv = layer.inverse(y)
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-4)
    np.testing.assert_allclose(ld_inv.numpy(), -ld.numpy(), rtol=1e-4, atol=1e-4)
    assert ld.shape == (x.shape[0],)


@pytest.mark.parametrize("name", list(_layers()))
def test_logdet_matches_the_autodiff_jacobian(name):
    make, shape = _layers()[name]
    x = _inputs(shape, name)
    layer = _randomise(make(), x, seed=2)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y, ld = layer.forward(x)
        flat = tf.reshape(y, (x.shape[0], -1))
    jac = tape.batch_jacobian(flat, x)
    dims = int(np.prod(shape))
    jac = tf.reshape(jac, (x.shape[0], dims, dims)).numpy().astype("float64")
    sign, logabs = np.linalg.slogdet(jac)
    assert np.all(sign != 0)
    np.testing.assert_allclose(ld.numpy(), logabs, rtol=1e-3, atol=1e-3)
    # and the inverse's log-det is the slogdet of the inverse's Jacobian, the negative
    y = tf.constant(y.numpy())
    with tf.GradientTape() as tape:
        tape.watch(y)
        back, ld_inv = layer.inverse(y)
        flat = tf.reshape(back, (y.shape[0], -1))
    jac_inv = tf.reshape(tape.batch_jacobian(flat, y), (y.shape[0], dims, dims)).numpy().astype("float64")
    np.testing.assert_allclose(ld_inv.numpy(), np.linalg.slogdet(jac_inv)[1], rtol=1e-3, atol=1e-3)


def test_untrained_coupling_is_the_identity():
    x = _inputs(SHAPE, "x")
    y, ld = AffineCoupling(checkerboard_mask(*SHAPE, 0), hidden=4).forward(x)
    np.testing.assert_allclose(y.numpy(), x.numpy())
    np.testing.assert_allclose(ld.numpy(), 0.0)


def test_untrained_spline_coupling_is_the_identity():
    x = _inputs((2,), "x", n=64)
    y, ld = SplineCoupling(alternating_mask(2, 0), bins=8, bound=2.0, hidden=4).forward(x)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-6)
    np.testing.assert_allclose(ld.numpy(), 0.0, atol=1e-6)


def test_spline_maps_its_interval_onto_itself_with_the_identity_outside():
    rng = np.random.default_rng(0)
    widths, heights = (tf.constant(rng.standard_normal((1, 1, 6)), tf.float32) for _ in range(2))
    derivatives = tf.constant(rng.standard_normal((1, 1, 5)), tf.float32)
    x = tf.constant([[-2.0], [-1.0], [1.0], [2.0], [0.3]], tf.float32)
    y, ld = rational_quadratic_spline(x, *(tf.repeat(t, 5, axis=0) for t in (widths, heights, derivatives)), 1.0)
    np.testing.assert_allclose(y.numpy()[:4, 0], [-2.0, -1.0, 1.0, 2.0], atol=1e-6)  # ends fixed, tails identity
    np.testing.assert_allclose(ld.numpy()[[0, 3], 0], 0.0)
    assert -1.0 < float(y[4, 0]) < 1.0
    with pytest.raises(ValueError, match="some of each"):
        SplineCoupling(np.ones(2))
    with pytest.raises(ValueError, match="bins must be >= 2"):
        SplineCoupling(alternating_mask(2, 0), bins=1)


def test_actnorm_data_dependent_init_gives_zero_mean_unit_std():
    x = tf.constant((3.0 + 5.0 * np.random.default_rng(0).standard_normal((64, 4, 4, 2))).astype("float32"))
    layer = ActNorm()
    y, _ = layer.forward(x, init=True)
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.numpy().std(axis=(0, 1, 2)), 1.0, atol=1e-3)
    assert float(layer.initialized.numpy()) == 1.0


def test_masks_and_their_errors():
    assert alternating_mask(4, 1).tolist() == [0, 1, 0, 1]
    board = checkerboard_mask(2, 2, 1, 0)[..., 0]
    assert board.tolist() == [[1, 0], [0, 1]]
    assert channel_mask(1, 1, 4, 1)[0, 0].tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="at least 2 channels"):
        channel_mask(4, 4, 1, 0)
    with pytest.raises(ValueError, match="does not fit its mask"):
        AffineCoupling(alternating_mask(3, 0)).forward(tf.zeros((2, 4)))
    with pytest.raises(ValueError, match="even height and width"):
        Squeeze().forward(tf.zeros((1, 3, 4, 1)))
