"""Gaps between groups: Bonett-Price medians against statpsych's documented examples, Newcombe
and Katz against published values, and the minimum-important-gap test at its boundaries."""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, contingency, norm

from qi_equity.equity.gaps import median_gap, median_runs, median_summary, proportion_gap

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


# ---------------------------------------------------------------------------------------------
# Every output at its edges, worked by hand (Bonett & Price 2002; Newcombe 1998; Katz 1978)
# ---------------------------------------------------------------------------------------------





def _z0(n, a):
    """The normal quantile of the exact coverage of the order statistics a and n - a + 1."""
    return norm.isf(binom.cdf(a - 1, n, 0.5))


def test_medians_of_runs_at_their_edges_by_hand():
    """Runs given unsorted and as text, an empty run, zero waits, fractional values and a single value
    at the very end: n = 3 uses a = 1 (y1, y3; coverage from P(B(3, 1/2) <= 0) = 1/8), n = 4 also
    a = 1 (P(B(4, 1/2) <= 0) = 1/16); a lower order statistic of 0 has no log standard error; fewer
    than 3 values have none at all; no numpy warning on the way."""
    samples = [[3, 1, 2], [], [0, 0, 5, 9], [0.5, 0.8, 0.9], ["7", "x", None]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = median_summary(samples)
    assert list(got.columns) == ["n", "median", "se", "se_log"] and got["median"].dtype == float
    assert got["n"].tolist() == [3, 0, 4, 3, 1]
    z3, z4 = _z0(3, 1), _z0(4, 1)
    assert z3 == pytest.approx(1.1503493803760079) and z4 == pytest.approx(1.5341205443525463)
    med = got["median"].tolist()
    assert med[0] == 2 and math.isnan(med[1]) and med[2] == 2.5 and med[3] == 0.8 and med[4] == 7
    se = got["se"].tolist()
    assert se[0] == pytest.approx(2 / (2 * z3)) and se[2] == pytest.approx(9 / (2 * z4))
    assert se[3] == pytest.approx(0.4 / (2 * z3)) and math.isnan(se[1]) and math.isnan(se[4])
    se_log = got["se_log"].tolist()
    assert se_log[0] == pytest.approx(math.log(3) / (2 * z3))
    assert se_log[3] == pytest.approx((math.log(0.9) - math.log(0.5)) / (2 * z3))
    assert math.isnan(se_log[2]) and math.isnan(se_log[1]) and math.isnan(se_log[4])


def test_a_run_of_three_at_the_very_end_uses_the_last_value():
    """The upper order statistic of the last run is the last value there is (y3 of 1, 2, 10)."""
    got = median_summary([[5.0], [1.0, 2.0, 10.0]])
    assert got["se"].iloc[1] == pytest.approx(9 / (2 * _z0(3, 1)))
    assert got["se_log"].iloc[1] == pytest.approx(math.log(10) / (2 * _z0(3, 1)))


def test_medians_of_nothing():
    assert median_summary([]).empty and list(median_summary([]).columns) == ["n", "median", "se", "se_log"]
    none = median_summary([[], []])
    assert none["n"].tolist() == [0, 0] and none[["median", "se", "se_log"]].isna().all().all()
    runs = median_runs(np.array([4.0, 5.0, 6.0]), np.array([0, 3]), np.array([3, 0]))
    assert runs["median"].tolist()[0] == 5.0 and math.isnan(runs["median"].tolist()[1])


def test_median_gap_ratio_intervals_and_its_edges():
    """The ratio's log interval needs both log standard errors; a reference median of 0 has no ratio
    (0.5 has one); equal medians with no spread have no test (p NaN); the difference interval is
    diff -/+ z sqrt(se1^2 + se2^2) at the level asked; no warning reaches the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = median_gap([12.0, 3.0, 4.0, 5.0], [1.0, 0.5, 0.0, 1.0], [10.0, 0.0, 4.0, 0.5], [0.5, 0.5, 0.0, 0.1],
                       se_log1=[0.08, 0.1, 0.1, 0.2], se_log2=[0.05, 0.1, 0.1, 0.2], confidence=0.9)
    z = 1.6448536269514722
    assert g["ratio"].tolist()[0] == pytest.approx(1.2) and math.isnan(g["ratio"].tolist()[1])
    assert g["ratio"].tolist()[3] == pytest.approx(10.0)
    sl = math.sqrt(0.08 ** 2 + 0.05 ** 2)
    assert g["ratio_lower"].iloc[0] == pytest.approx(1.2 * math.exp(-z * sl))
    assert g["ratio_upper"].iloc[0] == pytest.approx(1.2 * math.exp(z * sl))
    assert g["difference_lower"].iloc[0] == pytest.approx(2 - z * math.sqrt(1.25))
    assert g["difference_upper"].iloc[0] == pytest.approx(2 + z * math.sqrt(1.25))
    assert math.isnan(g["z"].iloc[2]) and math.isnan(g["p_value"].iloc[2]) and g["p_value"].dtype == float
    assert g["p_value"].iloc[0] == pytest.approx(norm.sf(2 / math.sqrt(1.25)))
    one = median_gap([12.0], [1.0], [10.0], [0.5], se_log1=[0.08])
    assert one["ratio"].iloc[0] == pytest.approx(1.2) and one[["ratio_lower", "ratio_upper"]].isna().all().all()
    assert one["ratio_lower"].dtype == float


def test_proportion_gap_at_its_edges_by_hand():
    """Rows: an ordinary gap at 99.8% (Newcombe's limits from PHEindicatormethods' Wilson limits for
    5/20 and 12345/50000); no events in the group (Haldane's 0.5 added to both counts: a = 0.5,
    b = 5.5, log ratio = log((0.5/51) / (5.5/51)), se = sqrt(1/0.5 - 1/51 + 1/5.5 - 1/51)); a
    reference without events (no ratio); a group of one pathway; none in the group or the reference
    (nothing at all); no events on either side."""
    x1, n1 = [5, 0, 4, 1, 0, 3, 0], [20, 50, 40, 1, 0, 30, 10]
    x2, n2 = [12345, 5, 0, 10, 10, 0, 0], [50000, 50, 40, 50, 50, 0, 10]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = proportion_gap(x1, n1, x2, n2, confidence=0.998)
    assert list(g.columns) == ["value", "value_reference", "difference", "difference_lower", "difference_upper",
                               "ratio", "ratio_lower", "ratio_upper", "z", "p_value"]
    l1, u1 = 0.0717136628917593, 0.589871544420268        # PHE, 5 of 20 at 99.8%
    l2, u2 = 0.240989434449103, 0.252907226589024         # PHE, 12345 of 50000 at 99.8%
    p1, p2 = 0.25, 0.2469
    assert g["difference_lower"].iloc[0] == pytest.approx(p1 - p2 - math.hypot(p1 - l1, u2 - p2), rel=1e-6)
    assert g["difference_upper"].iloc[0] == pytest.approx(p1 - p2 + math.hypot(u1 - p1, p2 - l2), rel=1e-6)
    lr = math.log((0.5 / 51) / (5.5 / 51))
    se = math.sqrt(1 / 0.5 - 1 / 51 + 1 / 5.5 - 1 / 51)
    assert g["z"].iloc[1] == pytest.approx(lr / se) and g["p_value"].iloc[1] == pytest.approx(norm.sf(lr / se))
    assert g["ratio"].iloc[1] == 0.0 and math.isnan(g["ratio_lower"].iloc[1]) and math.isnan(g["ratio_upper"].iloc[1])
    lr2, se2 = math.log((4.5 / 41) / (0.5 / 41)), math.sqrt(1 / 4.5 - 1 / 41 + 1 / 0.5 - 1 / 41)
    assert math.isnan(g["ratio"].iloc[2]) and g["z"].iloc[2] == pytest.approx(lr2 / se2)
    assert g["value"].iloc[3] == 1.0 and g["ratio"].iloc[3] == pytest.approx(5.0) and np.isfinite(g["z"].iloc[3])
    for row in (4, 5):
        assert g.iloc[row][["value", "value_reference", "difference", "difference_lower", "difference_upper",
                            "z", "p_value"]].isna().all()
    assert all(g[c].dtype == float for c in g.columns)
    # no events on either side: no ratio, and with 0.5 added to both, a log ratio of 0
    one_ref = proportion_gap([3], [10], [1], [1]).iloc[0]                   # a reference of one pathway
    assert one_ref["value_reference"] == 1.0 and np.isfinite(one_ref["z"])
    assert math.isnan(g["ratio"].iloc[6]) and g["z"].iloc[6] == 0.0


def test_proportion_gap_when_lower_is_worse_against_a_margin():
    """z = (-log(p1/p2) - log(margin)) / se: 20 of 100 against 40 of 100 with margin 1.2 gives
    (log 2 - log 1.2) / sqrt(1/20 - 1/100 + 1/40 - 1/100)."""
    g = proportion_gap(20, 100, 40, 100, margin=1.2, higher_is_worse=False).iloc[0]
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 40 - 1 / 100)
    assert g["z"] == pytest.approx((math.log(2) - math.log(1.2)) / se)
    assert g["p_value"] == pytest.approx(norm.sf((math.log(2) - math.log(1.2)) / se))
    assert pd.notna(g["ratio_lower"])
