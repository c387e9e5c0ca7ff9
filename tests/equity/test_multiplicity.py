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
