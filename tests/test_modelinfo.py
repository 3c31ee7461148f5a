import keras
import pytest

from coursekit.modelinfo import describe


def test_describe_lists_layers_shapes_and_parameters():
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    out = keras.layers.Dense(1, name="out")(keras.layers.ReLU(name="relu")(hidden))
    model = keras.Model(inputs, out, name="tiny")
    text = describe(model)
    lines = text.splitlines()
    assert lines[-1] == "  tiny: 19 parameters (19 trainable)"  # 4*3+3 + 3*1+1
    assert any(line.split() == ["hidden", "(3,)", "15"] for line in lines)
    assert any(line.split() == ["relu", "(3,)", "0"] for line in lines)
    assert not any("relu" in line for line in describe(model, only_with_parameters=True).splitlines())


def test_describe_needs_a_built_model():
    with pytest.raises(ValueError, match="not built"):
        describe(keras.Sequential([keras.layers.Dense(2)], name="lazy"))
