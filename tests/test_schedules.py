"""LinearDecay: constant, then linear to zero (CycleGAN's schedule), serializable, bad values refused."""

import keras
import numpy as np
import pytest

from coursekit.gan.schedules import LinearDecay


def test_constant_then_linear_to_zero():
    lr = LinearDecay(2e-4, constant_steps=100, total_steps=200)
    got = [float(lr(step)) for step in (0, 50, 99, 100, 150, 175, 200, 250)]
    want = [2e-4, 2e-4, 2e-4, 2e-4, 1e-4, 5e-5, 0.0, 0.0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    assert float(LinearDecay(1.0, 0, 4)(1)) == pytest.approx(0.75)  # decay from the first step


def test_drives_an_optimizer_and_survives_serialization():
    lr = LinearDecay(1e-3, constant_steps=1, total_steps=3)
    opt = keras.optimizers.SGD(lr)
    var = keras.Variable(1.0)
    seen = []
    for _ in range(4):
        seen.append(float(opt.learning_rate))
        opt.apply_gradients([(keras.ops.ones(()), var)])
    np.testing.assert_allclose(seen, [1e-3, 1e-3, 5e-4, 0.0], rtol=1e-6, atol=1e-12)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(lr))
    assert isinstance(again, LinearDecay) and again.get_config() == lr.get_config()
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert restored.get_config()["learning_rate"]["registered_name"] == "coursekit>LinearDecay"


@pytest.mark.parametrize("args, word", [
    ((0.0, 10, 20), "initial_learning_rate"), ((-1e-4, 10, 20), "initial_learning_rate"),
    (("2e-4", 10, 20), "initial_learning_rate"), ((float("inf"), 10, 20), "initial_learning_rate"),
    ((2e-4, -1, 20), "constant_steps"), ((2e-4, 1.5, 20), "constant_steps"), ((2e-4, True, 20), "constant_steps"),
    ((2e-4, 10, 10), "larger than constant_steps"), ((2e-4, 10, 5), "larger than constant_steps"),
    ((2e-4, 0, 0), "total_steps"),
])
def test_bad_values_are_refused(args, word):
    with pytest.raises(ValueError, match=word):
        LinearDecay(*args)
