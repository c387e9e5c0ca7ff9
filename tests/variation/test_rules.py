"""One small hand-worked test per Making Data Count rule function."""

import numpy as np

from qi_equity.variation import rules


def seg(n, k=0):
    return np.full(n, k, dtype=np.int64)


def test_outside_limits_is_strict():
    v = np.array([9.0, 10.0, 11.0, 12.0])
    assert rules.outside_limits(v, np.full(4, 10.0), np.full(4, 11.0)).tolist() == [True, False, False, True]


def test_close_to_limits_excludes_outside():
    v = np.array([5.0, 8.5, 9.5, 11.0])
    out = rules.outside_limits(v, np.full(4, 0.0), np.full(4, 10.0))
    assert rules.close_to_limits(v, np.full(4, 2.0), np.full(4, 8.0), out).tolist() == [False, True, True, False]


def test_shift_needs_seven_and_centre_breaks_it():
    rel = np.array([1, 1, 1, 1, 1, 1, 1, -1, 1, 1, 1, 0, 1, 1, 1, 1])
    assert rules.shift(rel, seg(16)).tolist() == [True] * 7 + [False] * 9
    assert rules.shift(rel, seg(16), length=6)[:7].all()


def test_shift_does_not_cross_segments():
    rel = np.ones(10, dtype=int)
    s = np.array([0] * 5 + [1] * 5)
    assert not rules.shift(rel, s).any()


def test_trend_of_seven_and_equal_neighbours_break():
    y = np.array([1, 2, 3, 4, 5, 6, 7, 3.0])
    assert rules.trend_direction(y, seg(8)).tolist() == [1, 1, 1, 1, 1, 1, 1, 0]
    y2 = np.array([1, 2, 3, 3, 5, 6, 7, 8.0])
    assert not rules.trend_direction(y2, seg(8)).any()
    y3 = np.array([9, 8, 7, 6, 5, 4, 3.0])
    assert rules.trend_direction(y3, seg(7)).tolist() == [-1] * 7
    assert rules.trend_direction(y3[:6], seg(6), length=6).tolist() == [-1] * 6


def test_trend_missing_value_breaks():
    y = np.array([1, 2, 3, np.nan, 5, 6, 7, 8.0])
    assert not rules.trend_direction(y, seg(8)).any()


def test_two_of_three_flags_only_close_points_same_side():
    close = np.array([True, False, True, False, False, True, True])
    rel = np.array([1, 1, 1, 1, 1, -1, 1])
    # window 0-2: two close, all above -> points 0 and 2; window 4-6 mixes sides -> nothing
    assert rules.two_of_three(close, rel, seg(7)).tolist() == [True, False, True, False, False, False, False]


def test_combine_precedence():
    n = 1
    f = lambda x: np.array([x])  # noqa: E731
    assert rules.combine(f(True), f(1), f(True), f(True), f(1))[0] == rules.RULES.index("outside_upper")
    assert rules.combine(f(False), f(-1), f(True), f(True), f(1))[0] == rules.RULES.index("trend_decreasing")
    assert rules.combine(f(False), f(0), f(True), f(True), f(-1))[0] == rules.RULES.index("two_of_three_below")
    assert rules.combine(f(False), f(0), f(False), f(True), f(1))[0] == rules.RULES.index("shift_above")
    assert rules.combine(f(False), f(0), f(False), f(False), f(1))[0] == 0 * n


def test_point_types_and_icons():
    codes = np.array([0, 1, 2, 3, 4, 7, 8])
    up = rules.point_type(codes, np.full(7, 1))
    assert [rules.POINT_TYPES[c] for c in up] == ["common_cause", "special_cause_improvement", "special_cause_concern",
                                                  "special_cause_improvement", "special_cause_concern",
                                                  "special_cause_improvement", "special_cause_concern"]
    down = rules.point_type(codes, np.full(7, -1))
    assert rules.POINT_TYPES[down[1]] == "special_cause_concern"
    neutral = rules.point_type(codes, np.zeros(7, dtype=int))
    assert [rules.POINT_TYPES[c] for c in neutral][1:3] == ["special_cause_neutral_high", "special_cause_neutral_low"]
    icons = rules.variation_icon(np.array([0, 1, 1, 2, 2, 3, 4]), np.array([1, 1, -1, 1, -1, 0, 0]))
    assert icons.tolist() == ["common_cause", "improvement_high", "improvement_low", "concern_low", "concern_high",
                              "neutral_high", "neutral_low"]


def test_assurance():
    a = rules.assurance_icon(np.array([5.0, 50.0, 20.0, 5.0, np.nan, 20.0]), np.full(6, 10.0), np.full(6, 30.0),
                             np.array([1, 1, 1, -1, 1, 0]))
    assert a.tolist() == ["pass", "fail", "inconsistent", "fail", None, None]


def test_assurance_at_its_boundaries():
    """A target exactly on a limit is hit and miss ("inconsistent"): NHSRplotthedots 0.2.2
    ``ptd_calculate_assurance_type`` compares strictly (``target > upl``, ``target < lpl``)."""
    lo, hi = np.full(4, 10.0), np.full(4, 30.0)
    up = np.ones(4)
    t = np.array([30.0, np.nextafter(30.0, 99), 10.0, np.nextafter(10.0, -99)])
    assert rules.assurance_icon(t, lo, hi, up).tolist() == ["inconsistent", "fail", "inconsistent", "pass"]
    assert rules.assurance_icon(t, lo, hi, -up).tolist() == ["inconsistent", "pass", "inconsistent", "fail"]


def test_boundary_close_to_limits_is_strictly_beyond_the_two_sigma_lines():
    """At a 2-sigma line is not close to the limit; just beyond it is (values by hand)."""
    lo, hi = np.full(6, 4.0), np.full(6, 6.0)
    v = np.array([6.0, 5.999, 6.001, 4.0, 4.001, 3.999])
    assert rules.close_to_limits(v, lo, hi, np.zeros(6, bool)).tolist() == [False, False, True, False, False, True]


def test_boundary_two_of_three_in_a_series_of_exactly_three_points():
    close, rel = np.array([True, True, False]), np.array([1, 1, 1])
    assert rules.two_of_three(close, rel, np.zeros(3, np.int64)).tolist() == [True, True, False]
    assert rules.two_of_three(close[:2], rel[:2], np.zeros(2, np.int64)).tolist() == [False, False]  # no window


def test_boundary_assurance_with_one_limit_missing_still_judges_the_other():
    """A chart with one limit missing (NaN) is judged on the other (a target above the upper limit of an
    increasing measure fails, one below the lower limit passes); only when both
    limits are missing is there no assurance."""
    t, up = np.array([12.0, 12.0, 12.0]), np.array([1, 1, 1])
    lo, hi = np.array([np.nan, 14.0, np.nan]), np.array([10.0, np.nan, np.nan])
    assert rules.assurance_icon(t, lo, hi, up).tolist() == ["fail", "pass", None]  # 12 < 14: the range passes


def test_boundary_a_trend_does_not_run_across_a_new_period():
    """Seven rising points split 4 + 3 by a rebase are two short runs, not a 7-point trend."""
    v = np.arange(1.0, 8.0)
    assert (rules.trend_direction(v, np.zeros(7, np.int64)) == 1).all()
    assert (rules.trend_direction(v, np.array([0, 0, 0, 0, 1, 1, 1])) == 0).all()


def test_point_types_raise_no_floating_point_warning():
    # every direction, the neutral one (0) included, with every rule: no division or invalid value
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = rules.point_type(np.repeat(np.arange(len(rules.RULES)), 3), np.tile([-1, 0, 1], len(rules.RULES)))
    assert len(out) == 3 * len(rules.RULES)
