"""Intervals against PHEindicatormethods 2.0.2 (tests/fixtures/equity, see PROVENANCE.md)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.equity import proportion_ci, rate_ci

FIX = Path(__file__).parents[1] / "fixtures" / "equity"


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("multiplier", [1, 100])
def test_wilson_matches_phe(confidence, multiplier):
    ref = pd.read_csv(FIX / "ci_proportion_phe.csv")
    ref = ref[(ref.confidence_in == confidence) & (ref.multiplier_in == multiplier)]
    assert len(ref) == 7
    got = proportion_ci(ref.x, ref.n, confidence=confidence, multiplier=multiplier)
    np.testing.assert_allclose(got.value, ref.value, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got.lower, ref.lowercl, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got.upper, ref.uppercl, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("multiplier", [1000, 100000])
def test_rates_match_phe(confidence, multiplier):
    ref = pd.read_csv(FIX / "ci_rate_phe.csv")
    ref = ref[(ref.confidence_in == confidence) & (ref.multiplier_in == multiplier)]
    assert len(ref) == 7
    got = rate_ci(ref.x, ref.n, confidence=confidence, multiplier=multiplier)
    np.testing.assert_allclose(got.lower, ref.lowercl, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got.upper, ref.uppercl, rtol=1e-6, atol=1e-12)
    assert got.method.tolist() == ref.method.tolist()


def test_edge_cases_zero_all_and_denominator_one():
    got = proportion_ci([0, 7, 1], [7, 7, 1])
    assert got.lower[0] == 0 and got.upper[1] == pytest.approx(1.0)
    assert 0 < got.lower[2] < 1 and got.upper[2] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        proportion_ci([3], [2])
    with pytest.raises(ValueError):
        rate_ci([1], [0])


def test_boundary_exact_below_10_events_byars_from_10():
    """PHEindicatormethods (ISRate.R, phe_rate): exact chi-squared limits when x < 10, Byar's
    when x >= 10. Worked by hand (z = 1.959964): exact for 9 events 4.11537 to 17.08480
    (Garwood; as published in tables of Poisson limits); Byar's for 10 events
    10 (1 - 1/90 - z / (3 sqrt 10))^3 = 4.78745 and 11 (1 - 1/99 + z / (3 sqrt 11))^3 = 18.39146 --
    not the exact 4.79539 to 18.39036. With the switch at 11, or at x <= 10, the 10-event row
    would give the exact values."""
    r = rate_ci([9, 10, 11], [1, 1, 1], multiplier=1)
    assert list(r["method"]) == ["Exact", "Byars", "Byars"]
    assert r.loc[0, "lower"] == pytest.approx(4.115373, rel=1e-6)
    assert r.loc[0, "upper"] == pytest.approx(17.084803, rel=1e-6)
    assert r.loc[1, "lower"] == pytest.approx(4.787450, rel=1e-6)
    assert r.loc[1, "upper"] == pytest.approx(18.391459, rel=1e-6)
    z = 1.959963984540054
    assert r.loc[2, "lower"] == pytest.approx(11 * (1 - 1 / 99 - z / (3 * 11 ** 0.5)) ** 3, rel=1e-12)
