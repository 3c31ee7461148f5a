"""The flow model: exact densities that integrate to 1, bits/dim known answers, clear errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from coursekit.flows.architectures import multiscale_image_flow, realnvp_2d, spline_flow_2d
from coursekit.flows.bits import bits_per_dim, nats_from_bits_per_dim, uniform_bits_per_dim
from coursekit.flows.layers import FlowLayer, sum_per_example
from coursekit.flows.model import Flow, FlowTrainingError


class NormalQuantile(FlowLayer):
    """y in (0, 1) -> z = Phi^-1(y): maps the uniform density on the unit cube to N(0, I) exactly."""

    def forward(self, x, init=False, check=False):
        z = tf.math.ndtri(x)
        return z, sum_per_example(0.5 * z ** 2 + 0.5 * math.log(2 * math.pi))

    def inverse(self, y):
        x = 0.5 * (1 + tf.math.erf(y / math.sqrt(2)))
        return x, -sum_per_example(0.5 * y ** 2 + 0.5 * math.log(2 * math.pi))


def _digits(n=8, shape=(4, 4, 1), seed=0):
    return (np.random.default_rng(seed).integers(0, 256, (n, *shape)) / 255).astype("float32")


def test_uniform_model_is_exactly_8_bits_per_dim_and_the_offset_is_counted_once():
    flow = Flow(NormalQuantile(), (4, 4, 1), dequantize=True).initialize(_digits())
    bpd = flow.bits_per_dim(_digits(16, seed=1))
    np.testing.assert_allclose(bpd, 8.0, atol=1e-3)  # counted twice: 16; forgotten: 0
    assert uniform_bits_per_dim(256) == 8.0
    assert bits_per_dim(-16 * math.log(256), 16) == pytest.approx(8.0)
    assert nats_from_bits_per_dim(8.0, 16) == pytest.approx(16 * math.log(256))


@pytest.mark.parametrize("architecture", ["affine", "spline"])
def test_trained_2d_flow_density_integrates_to_one(architecture):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal([-1.0, 0.0], 0.3, (512, 2)), rng.normal([1.0, 0.5], 0.3, (512, 2))])
    x = x.astype("float32")
    keras.utils.set_random_seed(0)
    make = realnvp_2d if architecture == "affine" else spline_flow_2d
    flow = make(n_couplings=4, hidden=32).initialize(x)
    flow.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = flow.fit(x, batch_size=256, epochs=40, verbose=0)
    assert history.history["nll"][-1] < history.history["nll"][0] - 0.3  # it learned something
    ticks = np.linspace(-6, 6, 241)
    xx, yy = np.meshgrid(ticks, ticks)
    grid = np.stack([xx.ravel(), yy.ravel()], 1).astype("float32")
    mass = np.exp(flow.log_prob(grid, batch_size=20000)).sum() * (ticks[1] - ticks[0]) ** 2
    assert mass == pytest.approx(1.0, abs=0.02)


def test_image_flow_round_trip_and_samples_on_the_grid():
    x = _digits(6, (8, 8, 1))
    flow = multiscale_image_flow((8, 8, 1), hidden=4, n_checker=1, steps_per_scale=1, levels=2).initialize(x)
    y = (np.round(x * 255) + 0.5) / 256
    z, ld = flow.forward(tf.constant(y))
    back, ld_inv = flow.inverse(z)
    np.testing.assert_allclose(back.numpy(), y, atol=1e-4)
    np.testing.assert_allclose(ld_inv.numpy(), -ld.numpy(), rtol=1e-4)
    s = flow.sample(5, temperature=0.7, seed=0)
    assert s.shape == (5, 8, 8, 1) and np.all(np.abs(s * 255 - np.round(s * 255)) < 1e-3)


def test_bad_inputs_are_clear_errors():
    flow = multiscale_image_flow((8, 8, 1), hidden=4, n_checker=1, steps_per_scale=1, levels=2)
    with pytest.raises(ValueError, match=r"shape \(N, 8, 8, 1\).*x\[\.\.\., None\]"):
        flow.initialize(_digits(4, (8, 8)))
    with pytest.raises(ValueError, match="scaled to \\[0, 1\\].*divide by 255"):
        flow.initialize(_digits(4, (8, 8, 1)) * 255)
    with pytest.raises(ValueError, match="8-bit grid"):
        flow.initialize(np.clip(_digits(4, (8, 8, 1)) + 0.001, 0, 1))
    bad = _digits(4, (8, 8, 1))
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        flow.initialize(bad)
    flow.compile(optimizer=keras.optimizers.Adam(1e-3))
    with pytest.raises(ValueError, match="initialize"):
        flow.fit(_digits(4, (8, 8, 1)), epochs=1, verbose=0)


def test_nan_in_training_names_the_layer_and_the_fixes():
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    flow = realnvp_2d(n_couplings=2, hidden=8).initialize(x)
    flow.compile(optimizer=keras.optimizers.Adam(1e-3))
    layer = flow.bijector.steps[3]  # the second ActNorm (after actnorm0, mix0, coupling0)
    layer.log_scale.assign([np.inf, 0.0])
    with pytest.raises(FlowTrainingError, match=r"layer 'actnorm1'.*ActNorm.*learning rate"):
        flow.fit(x, batch_size=32, epochs=1, verbose=0)
