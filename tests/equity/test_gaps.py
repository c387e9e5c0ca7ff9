"""Gaps between groups: Bonett-Price medians against statpsych's documented examples, Newcombe
and Katz against published values, and the minimum-important-gap test at its boundaries."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import contingency

from qi_equity.equity.gaps import median_gap, median_summary, proportion_gap

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "equity" / "statpsych_median2.json").read_text())


@pytest.mark.parametrize("case", [c for c in FIX["cases"] if "difference" in c], ids=lambda c: c["name"])
def test_bonett_price_difference_matches_statpsych(case):
    s = median_summary([case["y1"], case["y2"]])
    assert s["median"].tolist() == [case["median1"], case["median2"]]
    g = median_gap(s["median"][0], s["se"][0], s["median"][1], s["se"][1]).iloc[0]
    assert g["difference"] == pytest.approx(case["difference"])
    # statpsych prints 7 significant digits: agree to half a unit in the last of them
    assert np.hypot(s["se"][0], s["se"][1]) == pytest.approx(case["se"], rel=5e-7 * 10)
    assert g["difference_lower"] == pytest.approx(case["lower"], rel=5e-6)
    assert g["difference_upper"] == pytest.approx(case["upper"], rel=5e-6)


def test_bonett_price_ratio_matches_statpsych():
    case = next(c for c in FIX["cases"] if "ratio" in c)
    s = median_summary([case["y1"], case["y2"]])
    g = median_gap(s["median"][0], s["se"][0], s["median"][1], s["se"][1], s["se_log"][0], s["se_log"][1]).iloc[0]
    assert g["ratio"] == pytest.approx(case["ratio"], rel=5e-6)
    assert g["ratio_lower"] == pytest.approx(case["ratio_lower"], rel=5e-6)
    assert g["ratio_upper"] == pytest.approx(case["ratio_upper"], rel=5e-6)


def test_median_of_fewer_than_three_has_no_standard_error():
    s = median_summary([[4.0], [1.0, 2.0], [1.0, 2.0, 3.0]])
    assert s["median"].tolist() == [4.0, 1.5, 2.0]
    assert np.isnan(s["se"][0]) and np.isnan(s["se"][1]) and np.isfinite(s["se"][2])


@pytest.mark.parametrize("a,b,lo,hi", [
    ((56, 70), (48, 80), 0.0524, 0.3339),   # Newcombe (1998) Table II, example (a), method 10
    ((9, 10), (3, 10), 0.1705, 0.8090),     # example (b)
])
def test_proportion_gap_newcombe_published(a, b, lo, hi):
    g = proportion_gap(a[0], a[1], b[0], b[1]).iloc[0]
    assert g["difference"] == pytest.approx(a[0] / a[1] - b[0] / b[1])
    assert g["difference_lower"] == pytest.approx(lo, abs=6e-5)
    assert g["difference_upper"] == pytest.approx(hi, abs=6e-5)


def test_proportion_ratio_interval_matches_scipy_katz():
    # scipy's relative_risk interval is the Katz log method: an independent implementation
    rr = contingency.relative_risk(30, 120, 20, 150).confidence_interval(0.95)
    g = proportion_gap(30, 120, 20, 150).iloc[0]
    assert g["ratio"] == pytest.approx((30 / 120) / (20 / 150))
    assert g["ratio_lower"] == pytest.approx(rr.low) and g["ratio_upper"] == pytest.approx(rr.high)


def test_margin_test_is_dual_to_the_ratio_interval():
    """One-sided p <= 0.025 exactly when the lower 95% ratio bound is above the margin: at, just
    below and just above the boundary."""
    g = proportion_gap(60, 200, 30, 200).iloc[0]
    lower = g["ratio_lower"]
    for margin, significant in ((lower * 0.999, True), (lower * 1.001, False)):
        p = proportion_gap(60, 200, 30, 200, margin=margin)["p_value"].iloc[0]
        assert (p <= 0.025) == significant, (margin, p)
    at = proportion_gap(60, 200, 30, 200, margin=lower)["p_value"].iloc[0]
    assert at == pytest.approx(0.025, abs=1e-9)


def test_a_gap_at_the_margin_is_not_beyond_it_however_large_the_groups():
    # ratio exactly 1.2 with a million pathways: p = 0.5 against margin 1.2
    p = proportion_gap(120_000, 1_000_000, 100_000, 1_000_000, margin=1.2)["p_value"].iloc[0]
    assert p == pytest.approx(0.5, abs=1e-9)
    # the same ratio is overwhelming evidence of *a* gap (margin 1)
    assert proportion_gap(120_000, 1_000_000, 100_000, 1_000_000)["p_value"].iloc[0] < 1e-100


def test_median_margin_test_is_a_linear_contrast():
    """Bonett-Price contrast m1 - margin*m2: its z crosses 0 where the ratio equals the margin."""
    g = median_gap([12.0], [0.5], [10.0], [0.4], margin=1.2).iloc[0]
    assert g["z"] == pytest.approx(0.0) and g["p_value"] == pytest.approx(0.5)
    worse = median_gap([14.0], [0.5], [10.0], [0.4], margin=1.2).iloc[0]
    assert worse["z"] == pytest.approx((14 - 12) / np.sqrt(0.25 + 1.44 * 0.16))
    lower_is_worse = median_gap([10.0], [0.5], [14.0], [0.4], margin=1.2, higher_is_worse=False).iloc[0]
    assert lower_is_worse["z"] == pytest.approx((14 - 12) / np.sqrt(0.16 + 1.44 * 0.25))


def test_zero_events_get_haldane_correction_and_no_ratio_interval():
    g = proportion_gap(0, 50, 5, 50).iloc[0]
    assert np.isnan(g["ratio_lower"]) and g["p_value"] > 0.5
    g = proportion_gap(10, 50, 0, 50).iloc[0]
    assert np.isfinite(g["z"]) and g["z"] > 0
