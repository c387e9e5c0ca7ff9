"""Centre lines computed as R computes them, so that a value equal to the centre in decimal is on
the line, as in NHSRplotthedots and qicharts2.

Expectations are worked by hand from R's algorithm (``src/main/summary.c``: the sum in long double,
divided by n, one refinement pass, rounded once to double) and the decimal arithmetic of the series:
each series is built so that its mean, or median, is exactly one of its values in decimal.
"""

import numpy as np
import pandas as pd
import pytest

from qi_equity.variation import _segments as S
from qi_equity.variation import spc

needs_extended = pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63,
                                    reason="long double is a plain double on this platform")

# 4 below, 4 above, one value equal to the mean, 4 above, 4 below: decimal mean (0.8 + 2.4 + 0.2 +
# 1.2 + 0.4) / 17 = 3.4 / 17 = 0.2 exactly. numpy's double sum gives 0.19999999999999998, which puts
# the 0.2 point above the line and joins the two runs of 4 into a run of 9 (a shift); on the line, the
# longest run is 4 and there is no shift.
TIED = [0.1] * 4 + [0.3] * 4 + [0.2] + [0.3] * 4 + [0.1] * 4


def _one(x):
    x = np.asarray(x, float)
    return x, np.ones(len(x), bool), np.zeros(len(x), int), 1


@needs_extended
def test_a_mean_equal_to_a_value_in_decimal_is_that_value():
    assert sum(TIED) / len(TIED) != 0.2 and np.mean(TIED) != 0.2  # the double sum misses it
    assert S.means(*_one(TIED))[0] == 0.2
    assert S.means(*_one([0.1, 0.2, 0.3]))[0] == 0.2          # 0.6 / 3; numpy: 0.20000000000000004
    assert S.means(*_one([1.1, 2.2, 3.3]))[0] == 2.2          # 6.6 / 3; numpy: 2.1999999999999997
    assert S.means(*_one([0.15, 0.25, 0.35, 0.45]))[0] == 0.3  # 1.2 / 4, two decimals


@needs_extended
def test_the_point_on_the_mean_breaks_the_run_as_in_nhsrplotthedots():
    months = pd.date_range("2024-01-01", periods=len(TIED), freq="MS")
    res = spc(pd.DataFrame({"date": months, "value": TIED}))
    p = res.points
    assert p.loc[8, "centre"] == 0.2 and p.loc[8, "relative_to_centre"] == 0
    assert not p["rule"].astype(str).str.startswith("shift").any()


def test_sums_and_means_per_segment_with_masks_and_unsorted_segments():
    x = np.array([0.1, 5.0, 0.2, 0.3, np.nan, 7.0])
    seg = np.array([0, 2, 0, 0, 1, 2])       # not sorted; segment 1 has no valid value
    mask = ~np.isnan(x)
    assert S.sums(x, mask, seg, 4).tolist()[0] == pytest.approx(0.6, abs=0)  # 0.6 exactly as R's sum()
    m = S.means(x, mask, seg, 4)
    assert m[0] == 0.2 and np.isnan(m[1]) and m[2] == 6.0 and np.isnan(m[3])


def test_a_median_of_two_middle_values_is_their_mean_in_long_double():
    # R: median(c(0.1, 0.2, 0.3, 0.4)) = mean(c(0.2, 0.3)) = 0.25 (0.2 + 0.3 is 0.5 exactly in long double)
    assert S.medians(*_one([0.4, 0.1, 0.3, 0.2]))[0] == 0.25
    assert S.medians(*_one([3.0, 1.0, 2.0]))[0] == 2.0
