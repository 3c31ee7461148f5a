import math

import pytest

from coursekit.gan import diagnostics


def test_reference_values_of_the_rule():
    assert diagnostics.binary_entropy(0.9) == pytest.approx(0.3251, abs=1e-4)
    assert diagnostics.d_loss_floor(1.0) == 0.0
    assert diagnostics.d_loss_won(0.9) == pytest.approx(0.3251 + 0.0513, abs=1e-4)
    assert diagnostics.g_loss_won() == pytest.approx(math.log(20))
    with pytest.raises(ValueError, match="p_won"):
        diagnostics.g_loss_won(0.7)


def test_the_rule_needs_both_curves_and_a_final_streak():
    ahead = {"g_loss": [1.5] * 6, "d_acc_fake": [0.97] * 6}  # D ahead, G still learning: not a failure
    assert not diagnostics.discriminator_has_won(ahead)["won"].any()
    failing = {"g_loss": [1.0, 3.2, 1.0, 3.1, 4.0, 5.0], "d_acc_fake": [0.6, 0.99, 0.7, 0.96, 1.0, 1.0]}
    out = diagnostics.discriminator_has_won(failing)
    assert out["won"].tolist() == [False, True, False, True, True, True]
    assert out["failed"] and out["first_won"] == 4
    recovered = {"g_loss": [3.5, 3.5, 3.5, 1.0], "d_acc_fake": [1.0, 1.0, 1.0, 0.8]}
    assert not diagnostics.discriminator_has_won(recovered)["failed"]
    with pytest.raises(KeyError, match="d_acc_fake"):
        diagnostics.discriminator_has_won({"g_loss": [1.0]})
