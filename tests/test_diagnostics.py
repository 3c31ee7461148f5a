import math

import numpy as np
import pytest

from coursekit.gan import diagnostics


def test_reference_values_of_the_rule():
    assert diagnostics.binary_entropy(0.9) == pytest.approx(0.3251, abs=1e-4)
    assert diagnostics.d_loss_floor(1.0) == 0.0
    assert diagnostics.d_loss_won(0.9) == pytest.approx(0.3251 + 0.0513, abs=1e-4)
    assert diagnostics.g_loss_won() == pytest.approx(math.log(20))
    with pytest.raises(ValueError, match="p_won"):
        diagnostics.g_loss_won(0.7)


def test_optimal_discriminator_with_label_smoothing():
    # D*(x) = y p_d / (p_d + p_g): 0.45 at balance with y = 0.9, below 1/2 everywhere when p_g = p_d
    p_d = np.array([0.1, 1.0, 3.0, 0.0])
    np.testing.assert_allclose(diagnostics.optimal_discriminator(p_d, p_d + (p_d == 0), 0.9)[:3], 0.45)
    np.testing.assert_allclose(diagnostics.optimal_discriminator([3.0, 1.0, 0.0], [1.0, 3.0, 2.0], 0.9),
                               [0.675, 0.225, 0.0])
    assert diagnostics.optimal_discriminator(1.0, 1.0) == pytest.approx(0.5)  # no smoothing: the textbook 1/2
    assert diagnostics.balance_output(0.9) == pytest.approx(0.45) and diagnostics.balance_output() == 0.5
    assert diagnostics.g_loss_at_balance(0.9) == pytest.approx(-math.log(0.45))
    assert diagnostics.g_loss_at_balance(1.0) == pytest.approx(math.log(2))
    assert diagnostics.d_loss_at_balance(1.0) == pytest.approx(2 * math.log(2))
    assert diagnostics.d_loss_at_balance(0.9) == pytest.approx(
        -(0.9 * math.log(0.45) + 0.1 * math.log(0.55)) - math.log(0.55))
    with pytest.raises(ValueError, match="real_label"):
        diagnostics.balance_output(0.3)
    with pytest.raises(ValueError, match="both are 0"):
        diagnostics.optimal_discriminator([0.0], [0.0])


def test_d_star_minimises_the_smoothed_d_loss():
    # the pointwise D loss p_d CE(y, D) + p_g CE(0, D) on a fine grid of D has its minimum at D*
    y, p_d, p_g = 0.9, 0.7, 1.3
    d = np.linspace(1e-4, 1 - 1e-4, 200_001)
    loss = -p_d * (y * np.log(d) + (1 - y) * np.log(1 - d)) - p_g * np.log(1 - d)
    assert d[loss.argmin()] == pytest.approx(diagnostics.optimal_discriminator(p_d, p_g, y), abs=1e-4)


def test_a_converged_smoothed_gan_is_not_a_win():
    # at balance with y = 0.9 every D(G(z)) = 0.45 < 1/2: accuracy on fakes 1, on real 0, yet D has not won
    balanced = {"g_loss": [diagnostics.g_loss_at_balance(0.9)] * 5, "d_acc_fake": [1.0] * 5, "d_acc_real": [0.0] * 5,
                "d_loss": [diagnostics.d_loss_at_balance(0.9)] * 5}
    verdict = diagnostics.discriminator_has_won(balanced)
    assert not verdict["won"].any() and not verdict["failed"]
    np.testing.assert_allclose(verdict["mean_d_fake"], 0.45)


def test_the_rule_reads_the_g_loss_and_needs_a_final_streak():
    ahead = {"g_loss": [1.5] * 6, "d_acc_fake": [0.97] * 6}  # D ahead, G still learning: not a failure
    assert not diagnostics.discriminator_has_won(ahead)["won"].any()
    failing = {"g_loss": [1.0, 3.2, 1.0, 3.1, 4.0, 5.0]}
    out = diagnostics.discriminator_has_won(failing)
    assert out["won"].tolist() == [False, True, False, True, True, True]
    assert out["failed"] and out["first_won"] == 4
    np.testing.assert_allclose(out["mean_d_fake"], np.exp(-np.array(failing["g_loss"])))
    recovered = {"g_loss": [3.5, 3.5, 3.5, 1.0]}
    assert not diagnostics.discriminator_has_won(recovered)["failed"]
    assert not diagnostics.discriminator_has_won(failing, window=4)["failed"]
    with pytest.raises(KeyError, match="g_loss"):
        diagnostics.discriminator_has_won({"d_acc_fake": [1.0]})
    with pytest.raises(ValueError, match="window"):
        diagnostics.discriminator_has_won(failing, window=0)
