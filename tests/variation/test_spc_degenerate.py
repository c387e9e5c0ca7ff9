"""Degenerate series get a stated outcome, worked by hand (issue: statistics round two, item 2).

NHSRplotthedots 0.2.2 on a constant series with screening gives NaN limits (every moving range of
0 fails ``mr < 3.267 x 0``) and assurance "inconsistent"; the kit keeps the ranges, so the limits
close onto the line, and says "no variation" (docs/spc-differences.md)."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.variation.spc import SPCInputError, spc


def _months(values, **cols):
    return pd.DataFrame({"date": pd.date_range("2024-01-01", periods=len(values), freq="MS"), "value": values,
                         **cols})


@pytest.mark.parametrize("screen", [True, False])
def test_a_constant_series_has_limits_on_its_line_and_says_no_variation(screen):
    r = spc(_months([100.0] * 24), improvement="increase", target=95, screen_outliers=screen)
    s = r.summary.iloc[0]
    assert s["centre"] == s["lower"] == s["upper"] == 100.0
    assert not r.points["special_cause"].any() and (r.points["relative_to_centre"] == 0).all()
    assert bool(s["no_variation"]) and s["assurance"] == "pass"
    assert s["warning"] == "no variation (every value is 100): always met the target"
    below = spc(_months([80.0] * 24), improvement="increase", target=95).summary.iloc[0]
    assert below["assurance"] == "fail" and below["warning"].endswith("never met the target")
    neutral = spc(_months([3.0] * 24)).summary.iloc[0]
    assert neutral["warning"] == "no variation (every value is 3)" and neutral["assurance"] is None


def test_one_point_has_no_limits_and_says_so():
    s = spc(_months([7.0])).summary.iloc[0]
    assert np.isnan(s["lower"]) and np.isnan(s["upper"]) and s["centre"] == 7.0
    assert s["warning"] == "one point: no limits (they need two or more)"


def test_two_points_limits_from_their_one_moving_range():
    # mean 12, one moving range of 4: 12 -/+ 2.66 x 4 = 1.36, 22.64
    r = spc(_months([10.0, 14.0]))
    s = r.summary.iloc[0]
    assert s["centre"] == 12.0 and s["lower"] == pytest.approx(1.36) and s["upper"] == pytest.approx(22.64)
    assert bool(s["short_period"]) and s["warning"] == "2 points: limits provisional until 13"


def test_a_short_period_warns_in_the_result_below_13_points_and_not_at_13():
    vals = [5, 6, 4, 5, 7, 5, 6, 4, 5, 6, 5, 4, 6.0]
    assert spc(_months(vals[:8])).summary.iloc[0]["warning"] == "8 points: limits provisional until 13"
    assert spc(_months(vals[:12])).summary.iloc[0]["short_period"]
    at13 = spc(_months(vals)).summary.iloc[0]
    assert not at13["short_period"] and at13["warning"] == ""


def test_a_short_period_is_written_on_the_chart():
    r = spc(_months([5, 6, 4, 5, 7, 5, 6, 4.0]))
    fig = r.plot()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "8 points: limits provisional until 13" in " ".join(texts).lower(), texts


def test_numerator_above_denominator_names_column_rule_and_rows():
    d = _months([0] * 6, n=[1, 20, 0, 3, 1, 30], d=[10, 10, 5, 10, 10, 10]).drop(columns="value")
    with pytest.raises(SPCInputError, match=r"column 'n': 2 row\(s\) where the count exceeds 'd' \(a proportion "
                                            r"above 1\); rows \[1, 5\]"):
        spc(d, value=None, chart="p", numerator="n", denominator="d")
    with pytest.raises(SPCInputError, match=r"column 'd': 1 row\(s\) where the count is negative"):
        spc(d.assign(n=1, d=[10, 10, -5, 10, 10, 10]), value=None, chart="u", numerator="n", denominator="d")


def test_zero_or_missing_denominators_are_gaps_and_counted():
    d = _months([0] * 6, n=[1, 2, 0, 3, 0, 2], d=[10, 10, 0, 10, None, 10]).drop(columns="value")
    r = spc(d, value=None, chart="p", numerator="n", denominator="d")
    p = r.points
    assert p["missing"].tolist() == [False, False, True, False, True, False]
    assert p.loc[p["missing"], ["lower", "upper"]].isna().all().all()
    # centre 8 / 40 = 0.2; the limits of the months with denominators stand
    assert r.summary.iloc[0]["centre"] == pytest.approx(0.2)
    assert r.summary.iloc[0]["warning"] == ("4 points: limits provisional until 13; 2 month(s) with a zero or "
                                            "missing denominator shown as gaps")


def test_all_zero_denominators_say_there_is_nothing_to_chart():
    d = _months([0] * 6, n=0, d=0).drop(columns="value")
    s = spc(d, value=None, chart="p", numerator="n", denominator="d").summary.iloc[0]
    assert s["n"] == 0 and s["variation"] is None
    assert s["warning"].startswith("no point has a denominator above zero: nothing to chart")


def test_boundary_p_chart_limits_are_capped_at_one():
    """A p chart's limits stay inside [0, 1] (qicharts2 and NHS practice: a proportion cannot
    exceed 1). Worked by hand: 9 of 10 every month, centre 0.9, sigma sqrt(0.9 x 0.1 / 10) =
    0.09487; 3-sigma upper 1.1846 and 2-sigma upper 1.0897 are capped at 1, the lower limits are
    0.6154 and 0.7103."""
    d = _months([np.nan] * 12, n=[9.0] * 12, d=[10.0] * 12)
    pts = spc(d, value=None, chart="p", numerator="n", denominator="d").points
    s = np.sqrt(0.9 * 0.1 / 10)
    assert (pts["upper"] == 1.0).all() and (pts["upper_2sigma"] == 1.0).all()
    np.testing.assert_allclose(pts["lower"], 0.9 - 3 * s)
    np.testing.assert_allclose(pts["lower_2sigma"], 0.9 - 2 * s)
