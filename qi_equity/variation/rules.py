"""Making Data Count special-cause rules, one small pure function per rule.

Each rule takes numpy arrays over many series at once -- ``seg`` gives the segment
(series x period) of each point, points sorted by segment then date -- and returns a
boolean array: True where a point is *part of* a pattern that triggers the rule.
Rules never look across segments: a rebase starts every pattern afresh, as in
NHSRplotthedots.

References
----------
.. [1] NHS England, "Making Data Count: Getting started" (2019) and "Strengthening your
       decisions" (2021): a point beyond the process limits; a run of points one side of
       the mean; a trend of consecutive increases or decreases; two of three points
       close to a process limit.
.. [2] NHS-R Community, NHSRplotthedots 0.2.2, ``ptd_calculate_point_type``: rule logic
       and precedence (outside limits > trend > two-in-three > shift); equal neighbours
       break a trend; a point on the mean breaks a run.
"""

from __future__ import annotations

import numpy as np

from qi_equity.variation import _segments as S

#: Rule names in precedence order; ``rule_code`` indexes this list.
RULES = ["common_cause", "outside_upper", "outside_lower", "trend_increasing", "trend_decreasing",
         "two_of_three_above", "two_of_three_below", "shift_above", "shift_below"]
#: +1 for rules pointing up, -1 down, 0 for common cause.
RULE_SIDE = np.array([0, 1, -1, 1, -1, 1, -1, 1, -1])

POINT_TYPES = ["common_cause", "special_cause_improvement", "special_cause_concern",
               "special_cause_neutral_high", "special_cause_neutral_low"]


def relative_to_centre(value: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Sign of ``value - centre``: 1 above, -1 below, 0 on the line or missing."""
    with np.errstate(invalid="ignore"):  # comparisons with NaN are False: 0
        return (value > centre).view(np.int8) - (value < centre).view(np.int8)


def outside_limits(value: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Rule 1: the point lies strictly beyond a process limit [1]_ [2]_."""
    with np.errstate(invalid="ignore"):
        return (value > upper) | (value < lower)


def close_to_limits(value, lower_2sigma, upper_2sigma, outside) -> np.ndarray:
    """Beyond the 2-sigma line but inside the limits (input to the two-of-three rule)."""
    with np.errstate(invalid="ignore"):
        return ~outside & ((value > upper_2sigma) | (value < lower_2sigma))


def shift(rel: np.ndarray, seg: np.ndarray, length: int = 7) -> np.ndarray:
    """Rule 2: part of a run of ``length`` or more points on one side of the centre line.

    A point on the centre line (``rel == 0``), a missing point or a new segment breaks
    the run [1]_ [2]_.
    """
    prev_same = S.same_as_previous(seg)
    prev_rel = np.concatenate([[0], rel[:-1]])
    breaks = ~prev_same | (rel != prev_rel) | (rel == 0)
    return (rel != 0) & S.in_long_runs(breaks, length)


def trend_direction(value: np.ndarray, seg: np.ndarray, length: int = 7) -> np.ndarray:
    """Rule 3: +1/-1 where a point is part of ``length`` or more points each strictly
    higher (lower) than the one before, else 0.

    Equal neighbours and missing values break a trend [2]_. A point shared by a rising
    and a falling trend takes the direction of the trend to its right, as in
    NHSRplotthedots.
    """
    n = len(value)
    prev_same = S.same_as_previous(seg)
    d = np.zeros(n, dtype=np.int8)  # sign(value[i] - value[i-1]) within segment, 0 at segment start
    if n > 1:  # comparisons with NaN are False: a missing value gives 0 (no step)
        d[1:] = (value[1:] > value[:-1]).view(np.int8) - (value[1:] < value[:-1]).view(np.int8)
        d[1:] *= prev_same[1:]
    # runs of equal non-zero diffs; a run of k diffs covers k + 1 points
    breaks = d == 0
    breaks[:1] = True
    breaks[1:] |= d[1:] != d[:-1]
    in_trend_diff = (d != 0) & S.in_long_runs(breaks, length - 1)
    # point i is in the trend if diff i is (i is the later point) or diff i+1 is (i is the first point)
    part = in_trend_diff.copy()
    part[:-1] |= in_trend_diff[1:]
    # direction: the step to the right when the next point is in a trend too, else the step to the left
    next_part = np.zeros(n, dtype=bool)
    next_part[:-1] = part[1:] & prev_same[1:]
    step = d.copy()
    take = part & next_part
    step[:-1][take[:-1]] = d[1:][take[:-1]]
    out = np.zeros(n, dtype=np.int8)
    out[part] = np.where(step[part] == 1, 1, -1)
    return out


def two_of_three(close: np.ndarray, rel: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Rule 4: a close-to-limit point in a window of three consecutive points, all on the
    same side of the centre line, at least two of them close to the limit.

    Only the close-to-limit points are flagged [1]_ [2]_.
    """
    n = len(close)
    c = close.astype(int)
    ok = np.zeros(n, dtype=bool)  # window ending at i (points i-2, i-1, i) qualifies
    if n >= 3:
        same3 = (seg[2:] == seg[:-2])
        csum = c[2:] + c[1:-1] + c[:-2]
        rsum = rel[2:] + rel[1:-1] + rel[:-2]
        ok[2:] = same3 & (csum >= 2) & (np.abs(rsum) == 3)
    in_window = ok.copy()
    in_window[:-1] |= ok[1:]
    in_window[:-2] |= ok[2:]
    return close & in_window


def combine(outside, trend_dir, two3, shift_part, rel) -> np.ndarray:
    """Rule code per point (index into :data:`RULES`) by the precedence
    outside limits > trend > two-of-three > shift [2]_."""
    up, down = rel > 0, rel < 0
    code = np.zeros(len(rel), dtype=np.int8)
    # the lowest precedence first: each later rule overwrites the points it holds
    for cond, k in ((shift_part & down, 8), (shift_part & up, 7), (two3 & down, 6), (two3 & up, 5),
                    (trend_dir < 0, 4), (trend_dir > 0, 3), (outside & ~up, 2), (outside & up, 1)):
        code = np.where(cond, np.int8(k), code)
    return code


def _point_type_rule(rule_code: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The rule of :func:`point_type`, written out: improvement when the rule points the way
    that is better, concern when it points the other way; with a neutral direction high or low
    by the rule's side; common cause without a rule [2]_."""
    side = RULE_SIDE[rule_code]
    oriented = side * direction
    neutral = direction == 0
    out = np.full(len(side), 2, dtype=np.int8)  # concern unless one of these holds (first listed wins)
    for cond, k in ((oriented > 0, 1), (neutral & (side < 0), 4), (neutral & (side > 0), 3), (side == 0, 0)):
        out = np.where(cond, np.int8(k), out)
    return out


_CODES, _DIRS = np.repeat(np.arange(len(RULES)), 3), np.tile(np.array([-1, 0, 1]), len(RULES))


def point_type(rule_code: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Point type code (index into :data:`POINT_TYPES`) from the rule and the improvement
    direction (+1 increase, -1 decrease, 0 neutral) [2]_: :func:`_point_type_rule` worked out for
    the nine rules by three directions, then looked up (one gather per point)."""
    table = _point_type_rule(_CODES, _DIRS).reshape(len(RULES), 3)
    return table[rule_code, np.sign(direction) + 1]


VARIATION_ICONS = ["common_cause", "improvement_high", "improvement_low", "concern_high", "concern_low",
                   "neutral_high", "neutral_low"]


def variation_icon(point_type_code: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Variation icon from the point type of a series' last point and its direction.

    Improvement is "high" when higher is better; concern is "low" when higher is better
    (NHSRplotthedots 0.2.2 icons).
    """
    return np.select(
        [point_type_code == 0,
         (point_type_code == 1) & (direction > 0), point_type_code == 1,
         (point_type_code == 2) & (direction < 0), point_type_code == 2,
         point_type_code == 3],
        ["common_cause", "improvement_high", "improvement_low", "concern_high", "concern_low", "neutral_high"],
        default="neutral_low").astype(object)


def assurance_icon(target: np.ndarray, lower: np.ndarray, upper: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Assurance from a target and the latest process limits: ``pass`` when the whole range
    of common-cause variation meets the target, ``fail`` when none of it does, else
    ``inconsistent`` (hit and miss). Missing without a target or with a neutral direction
    [1]_ (ptd_calculate_assurance_type in [2]_)."""
    with np.errstate(invalid="ignore"):
        above = target > upper
        below = target < lower
    res = np.where(above, np.where(direction > 0, "fail", "pass"),
                   np.where(below, np.where(direction > 0, "pass", "fail"), "inconsistent")).astype(object)
    res[np.isnan(target) | (direction == 0) | np.isnan(upper) & np.isnan(lower)] = None
    return res
