"""Adjusted p-values: hand-worked Benjamini-Hochberg, Benjamini-Yekutieli and Bonferroni."""

import numpy as np
import pytest

from qi_equity.equity.multiplicity import adjust


def test_bh_hand_worked():
    # m = 4; sorted p * m / rank = 0.04, 0.04, 0.04 (0.03*4/3), 0.8; then the running minimum from the top
    p = [0.01, 0.02, 0.03, 0.8]
    assert adjust(p, "fdr_bh") == pytest.approx([0.04, 0.04, 0.04, 0.8])
    # step-up: a larger p-value can pull smaller ones down to its own adjusted value
    assert adjust([0.04, 0.045, 0.05], "fdr_bh") == pytest.approx([0.05, 0.05, 0.05])


def test_bh_rejects_exactly_the_step_up_set_at_its_boundary():
    q, m = 0.25, 8  # binary fractions: the boundary k q / m is exact in floating point
    # the 3rd smallest exactly at 3 q / m: three discoveries; just above it: two
    p = np.array([0.001, 0.004, 3 * q / m] + [0.9] * 5)
    assert int((adjust(p) <= q).sum()) == 3
    p[2] = np.nextafter(3 * q / m, 1)
    assert int((adjust(p) <= q).sum()) == 2


def test_by_is_bh_times_the_harmonic_sum():
    p = [0.01, 0.02, 0.03]
    assert adjust(p, "fdr_by") == pytest.approx(np.array([0.03, 0.03, 0.03]) * (1 + 1 / 2 + 1 / 3))


def test_bonferroni_none_and_missing_values():
    out = adjust([0.01, np.nan, 0.4], "bonferroni")
    assert out[0] == pytest.approx(0.02) and np.isnan(out[1]) and out[2] == pytest.approx(0.8)
    assert adjust([0.3], "none") == pytest.approx([0.3])
    with pytest.raises(ValueError, match="method must be one of"):
        adjust([0.1], "holm-ish")


def test_boundary_p_values_outside_zero_to_one_are_clipped_before_adjusting():
    # a p-value a rounding error below 0 or above 1 is read as 0 or 1 (never a negative or a
    # supra-unit q); method "none" returns them clipped too
    assert adjust([-1e-12, 0.5, 1 + 1e-9], "none").tolist() == [0.0, 0.5, 1.0]
    assert adjust([1.5], "none").tolist() == [1.0]


def test_missing_p_values_may_be_none():
    # a column of p-values with gaps arrives as objects: None is missing, not an error
    out = adjust([0.01, None, 0.03], "fdr_bh")
    assert np.isnan(out[1]) and out[[0, 2]] == pytest.approx([0.02, 0.03])


def test_none_leaves_several_p_values_as_they_are():
    # (a single p-value is the same under every method; two tell "none" from the step-up)
    assert adjust([0.01, 0.02], "none").tolist() == [0.01, 0.02]


def test_boundary_every_method_caps_adjusted_values_at_one():
    # Bonferroni: 0.9 x 2 = 1.8 -> 1; BY: 0.95 x 2 / 2 x (1 + 1/2) = 1.425 -> 1
    assert adjust([0.4, 0.9], "bonferroni").tolist() == pytest.approx([0.8, 1.0])
    assert adjust([0.9, 0.95], "fdr_by").tolist() == [1.0, 1.0]
