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
    np.testing.assert_allclose(got.value, ref.value, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.lower, ref.lowercl, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got.upper, ref.uppercl, rtol=1e-6, atol=1e-12)
    assert got.method.tolist() == ref.method.tolist()


def test_edge_cases_zero_all_and_denominator_one():
    got = proportion_ci([0, 7, 1], [7, 7, 1])
    assert got.lower[0] == 0 and got.upper[1] == pytest.approx(1.0)
    assert 0 < got.lower[2] < 1 and got.upper[2] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"^x must not exceed n$"):
        proportion_ci([3], [2])
    with pytest.raises(ValueError, match=r"^x must be >= 0 and n > 0$"):
        rate_ci([1], [0])
    with pytest.raises(ValueError, match=r"^x must be >= 0 and n > 0$"):
        proportion_ci([-1], [5])
    with pytest.raises(ValueError, match=r"^x must be >= 0 and n > 0$"):
        rate_ci([-1], [5])


def test_output_columns_are_the_documented_ones():
    p = proportion_ci([3], [10], multiplier=100)
    assert list(p.columns) == ["x", "n", "value", "lower", "upper", "confidence", "method"]
    assert p.loc[0, "method"] == "Wilson" and p.loc[0, "confidence"] == 0.95
    assert (p.loc[0, "x"], p.loc[0, "n"], p.loc[0, "value"]) == (3, 10, 30)
    r = rate_ci([3], [1000])
    assert list(r.columns) == ["x", "n", "value", "lower", "upper", "confidence", "method"]
    assert r.loc[0, "confidence"] == 0.95 and (r.loc[0, "x"], r.loc[0, "n"]) == (3, 1000)


def test_boundary_one_event_has_an_exact_lower_limit_above_zero():
    """Exact Poisson limits for 1 event (Garwood; published tables): 0.02532 to 5.57164 -- only
    0 events has a lower limit of 0."""
    r = rate_ci([0, 1], [1, 1], multiplier=1)
    assert r.loc[0, "lower"] == 0
    assert r.loc[1, "lower"] == pytest.approx(0.025318, rel=1e-4)
    assert r.loc[1, "upper"] == pytest.approx(5.571643, rel=1e-6)


def test_no_warnings_at_zero_events():
    """A count of 0 (Byar's formula divides by it; the exact one takes chi-squared at 0) gives
    its interval without a numpy warning, which would reach a report's cells."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = rate_ci([0, 0], [10, 1000])
        p = proportion_ci([0], [10])
        from qi_equity.equity.intervals import byars

        byars([0])
    assert (r["lower"] == 0).all() and p.loc[0, "lower"] == 0


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


def test_defaults_are_95_percent_and_per_1000():
    """rate_ci, byars and poisson_count_ci default to 95% (z = 1.959964) and rates per 1,000:
    Byar's for 10 events as worked by hand above (4.787450 to 18.391459)."""
    from qi_equity.equity.intervals import byars, poisson_count_ci

    lo, hi = byars([10])
    assert lo[0] == pytest.approx(4.787450, rel=1e-6) and hi[0] == pytest.approx(18.391459, rel=1e-6)
    lo, hi = poisson_count_ci([9])
    assert lo[0] == pytest.approx(4.115373, rel=1e-6)
    r = rate_ci([10], [2000])
    assert r.loc[0, "value"] == pytest.approx(5.0) and r.loc[0, "lower"] == pytest.approx(4.787450 / 2, rel=1e-6)
