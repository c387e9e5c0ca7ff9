"""Centre lines computed as R computes them, so that a value equal to the centre in decimal is on
the line, as in NHSRplotthedots and qicharts2.

Expectations are worked by hand from R's algorithm (``src/main/summary.c``: the sum in long double,
divided by n, one refinement pass, rounded once to double) and the decimal arithmetic of the series:
each series is built so that its mean, or median, is exactly one of its values in decimal.
"""

import math
import statistics
import warnings

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


def _loop_last(seg, nseg, mask):
    out = [-1] * nseg
    for i, (s, m) in enumerate(zip(seg, mask)):
        if m:
            out[s] = i
    return out


def test_the_layout_check_accepts_only_complete_equal_segments():
    L, nseg = 5, 70
    seg = np.repeat(np.arange(nseg), L)
    assert S.regular(seg, nseg) == L
    assert S.regular(seg, 2 * nseg) == 0                       # n is not nseg x L
    assert S.regular(np.repeat(np.arange(40), 5), 40) == 0     # too few segments for the matrix path
    bad = seg.copy()
    bad[3], bad[4] = 1, 1                                      # segment 0 is 3 long, segment 1 is 7
    assert S.regular(bad, nseg) == 0
    ends_wrong = seg.copy()
    ends_wrong[L - 1] = 1                                      # starts right, one segment ends early
    assert S.regular(ends_wrong, nseg) == 0
    middle = seg.copy()
    middle[2] = 5                                              # first and last of each block right, a middle one not
    assert S.regular(middle, nseg) == 0
    uneven = np.repeat(np.arange(nseg), L)[:-1]                # one point short
    assert S.regular(uneven, nseg) == 0
    assert S.regular(seg, nseg) == L                           # the remembered answer is the array's own


def test_last_index_and_position_on_the_matrix_path_match_a_loop():
    rng = np.random.default_rng(5)
    L, nseg = 6, 80
    seg = np.repeat(np.arange(nseg), L)
    mask = rng.random(nseg * L) < 0.6
    mask[:L] = False                                           # a segment with no point
    mask[L * 2 + L - 1] = False                                # a segment whose last point is missing
    assert S.regular(seg, nseg) == L
    assert S.last_index(seg, nseg, mask).tolist() == _loop_last(seg, nseg, mask)
    assert S.last_index(seg, nseg).tolist() == [k * L + L - 1 for k in range(nseg)]
    assert S.position(seg).tolist() == list(range(L)) * nseg
    # the grouped path on an irregular layout, by hand
    irr = np.array([0, 0, 0, 1, 2, 2])
    assert S.position(irr).tolist() == [0, 1, 2, 0, 0, 1]
    assert S.last_index(irr, 3, np.array([1, 1, 0, 0, 1, 0], bool)).tolist() == [1, -1, 4]
    assert S.position(np.zeros(0, dtype=int)).tolist() == []
    assert S.counts(mask, seg, nseg).tolist() == [float(mask[k * L:(k + 1) * L].sum()) for k in range(nseg)]


@pytest.mark.parametrize("length", [1, 2, 3, 7])
def test_in_long_runs_marks_the_points_of_runs_at_least_that_long(length):
    # runs of 1, 3, 2, 7 and 1 points: by hand, then on random breaks against run_lengths
    breaks = np.array([1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    sizes = [1, 3, 3, 3, 2, 2, 7, 7, 7, 7, 7, 7, 7, 1]
    assert S.in_long_runs(breaks, length).tolist() == [s >= length for s in sizes]
    rng = np.random.default_rng(length)
    b = rng.random(500) < 0.3
    b[0] = True
    assert (S.in_long_runs(b, length) == (S.run_lengths(b)[1] >= length)).all()


def test_boundary_in_long_runs_with_no_points_or_no_long_run():
    assert S.in_long_runs(np.zeros(0, dtype=bool), 3).tolist() == []
    assert not S.in_long_runs(np.ones(5, dtype=bool), 2).any()       # five runs of one point
    assert S.in_long_runs(np.r_[True, np.zeros(4, dtype=bool)], 5).all()   # one run of five: at 5
    assert not S.in_long_runs(np.r_[True, np.zeros(3, dtype=bool)], 5).any()  # four: below 5


@pytest.mark.parametrize("kind", ["one decimal", "ties", "mixed signs", "magnitudes", "positive magnitudes",
                                  "cancelling", "masked", "overflow"])
def test_means_skip_the_second_pass_only_where_it_cannot_change_the_double(kind):
    # _means_rows gives the second pass only to rows whose first-pass mean lies near a midpoint
    # between doubles; every row must still be what both passes on every row give
    rng = np.random.default_rng(4)
    n, L = 6000, 36
    x = rng.normal(50, 5, (n, L)).round(1)
    m = np.ones((n, L), dtype=bool)
    if kind == "ties":          # the mean (in tenths, exactly) is the first value
        t = np.round(x * 10).astype(int)
        t[:, -1] = L * t[:, 0] - t[:, :-1].sum(axis=1)
        x = t / 10
    elif kind == "mixed signs":
        x = rng.normal(0, 5, (n, L)).round(2)
    elif kind == "magnitudes":
        x = rng.normal(0, 1, (n, L)) * 10.0 ** rng.integers(-8, 8, (n, L))
    elif kind == "positive magnitudes":  # no value below 0: the bound's size is the mean itself
        x = np.abs(rng.normal(0, 1, (n, L))) * 10.0 ** rng.integers(-8, 8, (n, L))
    elif kind == "cancelling":  # two large values cancel: the first pass loses the small ones
        x[:, :2] = np.c_[np.full(n, 1e16), np.full(n, -1e16)]
        x[:, 2:] = rng.normal(0, 1, (n, L - 2)) * 1e-3
    elif kind == "masked":
        m = rng.random((n, L)) > 0.2
        m[::50] = False          # rows with no values
    elif kind == "overflow":
        x[::7, 2] = np.inf
        x[1::7, :] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # infinities and overflow warn no one
        got, both = S._means_rows(x, m), S._means_rows_two_pass(x, m)
    assert np.array_equal(got, both, equal_nan=True)
    if kind in ("mixed signs", "positive magnitudes", "cancelling"):  # the second pass changes some doubles
        xl = np.where(m, x, 0).astype(np.longdouble)
        first = (np.cumsum(xl, axis=1)[:, -1] / L).astype(float)   # R adds in order
        assert (first != both).sum() > 0


# ---------------------------------------------------------------------------------------------
# Every helper against a loop over its segments, in both layouts (the matrix path for >= 64
# regular segments, the grouped path otherwise), with dyadic values so every sum is exact
# ---------------------------------------------------------------------------------------------



def _layouts():
    """(name, seg, nseg): regular 70 x 5, 70 x 2 and 64 x 1 (the matrix path), 70 x 5 with one
    segment's points out of order, irregular lengths with empty segments, and 63 x 3 (one short of
    the matrix path)."""
    rng = np.random.default_rng(8)
    lengths = rng.integers(0, 7, 40)
    lengths[[0, 5, 39]] = [0, 0, 3]
    out = [("regular_5", np.repeat(np.arange(70), 5), 70), ("regular_2", np.repeat(np.arange(70), 2), 70),
           ("regular_1", np.arange(64), 64), ("irregular", np.repeat(np.arange(40), lengths), 40),
           ("short_of_matrix", np.repeat(np.arange(63), 3), 63)]
    bad = np.repeat(np.arange(70), 5)
    bad[[7, 8]] = bad[[8, 7]]                 # equal ids: still sorted; swap two segments' points instead
    bad[[4, 5]] = [1, 0]
    out.append(("unsorted", bad, 70))
    return out


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-40, 41, n) / 8.0        # dyadic: sums and means are exact in double
    mask = rng.random(n) < 0.7
    return x, mask


def _by_segment(seg, nseg, mask, values=None):
    return [[(i if values is None else values[i]) for i in range(len(seg)) if seg[i] == s and mask[i]]
            for s in range(nseg)]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name, seg, nseg", _layouts(), ids=[lay[0] for lay in _layouts()])
def test_segment_helpers_agree_with_a_loop_over_each_segment(name, seg, nseg):
    x, mask = _data(len(seg), len(seg))
    mask[: 5] = False                          # a segment with nothing in it (regular layouts)
    groups = _by_segment(seg, nseg, mask, x)
    assert S.counts(mask, seg, nseg).tolist() == [float(len(g)) for g in groups]
    assert S.sums(x, mask, seg, nseg).tolist() == [math.fsum(g) for g in groups]
    if name == "unsorted":
        return                                 # the rest need points sorted by segment
    means = S.means(x, mask, seg, nseg)
    medians = S.medians(x, mask, seg, nseg)
    for s, g in enumerate(groups):
        if g:
            assert means[s] == math.fsum(g) / len(g) and medians[s] == statistics.median(g), s
        else:
            assert math.isnan(means[s]) and math.isnan(medians[s]), s
    last = [max(g) if g else -1 for g in _by_segment(seg, nseg, mask)]
    assert S.last_index(seg, nseg, mask).tolist() == last
    every = np.ones(len(seg), bool)
    assert S.last_index(seg, nseg).tolist() == [max(g) if g else -1 for g in _by_segment(seg, nseg, every)]
    assert S.last_index(seg, nseg).dtype.kind == "i"
    if len(seg) and seg[-1] == nseg - 1:
        first = {}
        want = []
        for i, s in enumerate(seg):
            first.setdefault(s, i)
            want.append(i - first[s])
        assert S.position(seg).tolist() == want
    values = (np.arange(len(seg)) * 7 % 11).astype(float)
    assert S.group_max(values, seg, nseg, fill=-1).tolist() == [
        max(g) if g else -1 for g in _by_segment(seg, nseg, every, values)]


@pytest.mark.filterwarnings("error")
def test_segment_helpers_with_no_points():
    none = np.zeros(0)
    seg = np.zeros(0, int)
    assert S.counts(np.zeros(0, bool), seg, 3).tolist() == [0.0] * 3
    assert S.sums(none, np.zeros(0, bool), seg, 3).tolist() == [0.0] * 3
    assert np.isnan(S.means(none, np.zeros(0, bool), seg, 3)).all()
    assert np.isnan(S.medians(none, np.zeros(0, bool), seg, 3)).all()
    assert S.last_index(seg, 3).tolist() == [-1] * 3 and S.last_index(seg, 3).dtype.kind == "i"
    assert S.position(seg).tolist() == [] and S.position(seg).dtype.kind == "i"
    got = S.group_max(np.zeros(0, int), seg, 2, fill=5)
    assert got.tolist() == [5, 5] and got.dtype == float
    assert S.group_max(np.array([3, 9, 4]), np.array([0, 0, 2]), 3).tolist() == [9, 0, 4]
    assert S.group_max(np.array([3, 9, 4]), np.array([0, 0, 2]), 3).dtype == np.array([3]).dtype
    ids, lengths = S.run_lengths(np.zeros(0, bool))
    assert ids.tolist() == [] and lengths.tolist() == [] and lengths.dtype.kind == "i"
    ids, lengths = S.run_lengths(np.array([True, False, True, False, False]))
    assert ids.tolist() == [0, 0, 1, 1, 1] and ids.dtype == np.intp and lengths.tolist() == [2, 2, 3, 3, 3]
    assert S.in_long_runs(np.array([True]), 1).tolist() == [True]
    assert S.in_long_runs(np.array([True]), 2).tolist() == [False]
    prev, cur = S.consecutive_pairs(np.array([4]), np.zeros(5, int))
    assert prev.tolist() == [] and cur.tolist() == []


@pytest.mark.filterwarnings("error")
def test_means_of_many_rows_block_by_block_and_in_both_passes():
    """More rows than one block (MEANS_BLOCK = 4096) give each row's own mean; the fast path (a second
    pass only near a midpoint between doubles) gives what both passes on every row give, on
    decimal values where the first pass is often an ulp away; rows wholly masked are NaN."""
    rng = np.random.default_rng(21)
    rows, L = S.MEANS_BLOCK + 3, 17
    xm = rng.integers(-300, 300, (rows, L)) / 10.0
    mm = rng.random((rows, L)) < 0.8
    mm[5] = False
    got = S.means_matrix(xm, mm)
    want = S._means_rows_two_pass(xm, mm)
    assert np.array_equal(got, want, equal_nan=True) and np.isnan(got[5])
    exact = [math.fsum(r[m]) / m.sum() if m.any() else math.nan for r, m in zip(xm[:50], mm[:50])]
    assert got[:50].tolist() == pytest.approx(exact, rel=1e-15, nan_ok=True)
    full = np.ones_like(mm)
    assert np.array_equal(S.means_matrix(xm, full), S._means_rows_two_pass(xm, full))
    one = S.means_matrix(xm[:1], mm[:1])
    assert one.tolist() == pytest.approx([math.fsum(xm[0][mm[0]]) / mm[0].sum()], rel=1e-15)


def _r_mean(values) -> float:
    """R's mean() of doubles, step by step as ``summary.c`` writes it: a long-double sum added left to
    right, divided by n; then the residuals added left to right, their mean added; rounded once."""
    n = np.longdouble(len(values))
    s = np.longdouble(0)
    for v in values:
        s = s + np.longdouble(v)
    s = s / n
    t = np.longdouble(0)
    for v in values:
        t = t + (np.longdouble(v) - s)
    return float(s + t / n)


def _r_sum(values) -> float:
    s = np.longdouble(0)
    for v in values:
        s = s + np.longdouble(v)
    return float(s)


@needs_extended
@pytest.mark.parametrize("layout", ["matrix", "grouped"])
def test_means_and_sums_add_in_rs_order(layout):
    """Long-double sums depend on the order of the additions in their last bits, and about one mean
    in 600 of decimal values then rounds to another double. Means and sums of 9 to 40 decimal values
    (mixed signs, where the last bits matter most) must be R's, added left to right, on both paths."""
    rng = np.random.default_rng(2024)
    rows = 600 if layout == "matrix" else 300
    if layout == "matrix":
        L = 24
        xm = rng.integers(-3000, 3000, (rows, L)) / 10.0
        x, seg, nseg = xm.ravel(), np.repeat(np.arange(rows), L), rows
        groups = list(xm)
    else:
        lengths = rng.integers(9, 41, rows)
        groups = [rng.integers(-3000, 3000, k) / 10.0 for k in lengths]
        x, seg, nseg = np.concatenate(groups), np.repeat(np.arange(rows), lengths), rows
    mask = np.ones(len(x), bool)
    means = S.means(x, mask, seg, nseg)
    assert means.tolist() == [_r_mean(g) for g in groups]
    assert S.sums(x, mask, seg, nseg).tolist() == [_r_sum(g) for g in groups]


def test_regular_layout_check_at_its_edges():
    """64 segments is the fewest for the matrix layout (63 are grouped); no points at all is never
    regular; unequal or unsorted segments are not; a remembered answer is never used for another
    array, even one that takes a freed array's id."""
    assert S.regular(np.repeat(np.arange(64), 3), 64) == 3
    assert S.regular(np.repeat(np.arange(63), 3), 63) == 0
    assert S.regular(np.zeros(0, int), 70) == 0
    assert S.regular(np.repeat(np.arange(70), 5)[::-1].copy(), 70) == 0
    uneven = np.repeat(np.arange(70), 5)
    uneven[[7, 12]] = uneven[[12, 7]]
    assert S.regular(uneven, 70) == 0
    assert S.regular(np.repeat(np.arange(70), 5), 35) == 0          # 350 points are not 35 x 10 of these
    # a remembered answer whose array has gone (its id now another array's), or for another
    # number of segments, is not used: planted in the memo, as an id reused after a free would be
    import weakref

    gone = np.repeat(np.arange(70), 5)
    dead = weakref.ref(gone)
    del gone
    b = np.repeat(np.arange(70), 5)[::-1].copy()
    S._REGULAR[id(b)] = (dead, 70, 5)
    assert S.regular(b, 70) == 0
    c = np.repeat(np.arange(70), 5)
    S._REGULAR[id(c)] = (weakref.ref(c), 35, 0)
    assert S.regular(c, 70) == 5
