"""Vectorised per-segment arithmetic.

Every SPC computation runs over many series at once. Points are sorted by segment
(series x period) and then by date; ``seg`` is the non-decreasing integer segment id of
each point. These helpers do grouped sums, means, medians and run lengths with numpy
(``bincount``, ``lexsort``, ``cumsum``) so no Python loop runs per series.
"""

from __future__ import annotations

import weakref

import numpy as np


#: Fewest segments for the matrix path: its loops run over the points of a segment, vectorised
#: over segments, which pays only with many segments.
MATRIX_MIN_SEGMENTS = 64


_REGULAR: dict = {}  # id(seg) -> (weak reference to seg, nseg, L): one check per segment array


def regular(seg: np.ndarray, nseg: int) -> int:
    """``L`` when the points form ``nseg`` contiguous segments of ``L`` points each (``seg`` =
    0, 0, ..., 1, 1, ..., as complete monthly series of equal length give), else 0. The matrix
    path then reshapes to ``(nseg, L)`` instead of grouping: same results, less memory. The
    answer is remembered while ``seg`` lives (callers do not change a segment array in place)."""
    n = len(seg)
    if nseg < MATRIX_MIN_SEGMENTS or n == 0 or n % nseg:
        return 0
    hit = _REGULAR.get(id(seg))
    if hit is not None and hit[0]() is seg and hit[1] == nseg:
        return hit[2]
    L = n // nseg
    ids = np.arange(nseg)
    ok = np.array_equal(seg[::L], ids) and np.array_equal(seg[L - 1::L], ids)
    if ok and L > 2:
        ok = not np.any(seg[1:] < seg[:-1])
    L = L if ok else 0
    if len(_REGULAR) > 64:
        _REGULAR.clear()
    _REGULAR[id(seg)] = (weakref.ref(seg), nseg, L)
    return L


def counts(mask: np.ndarray, seg: np.ndarray, nseg: int) -> np.ndarray:
    L = regular(seg, nseg)
    if L:
        if L < 256 and mask.dtype == bool:  # bytes summed as bytes: no wider copy of every point
            return np.add.reduce(mask.view(np.uint8).reshape(nseg, L), axis=1, dtype=np.uint8).astype(float)
        return mask.reshape(nseg, L).sum(axis=1, dtype=float)
    return np.bincount(seg, weights=mask.astype(float), minlength=nseg)


#: R accumulates sums and means of doubles in ``long double`` (80-bit extended on x86-64: 64-bit
#: significand); numpy's ``longdouble`` is the same type there. Where it is only a double (e.g.
#: ARM macOS) the sums below are plain doubles and a tie with the centre may differ by an ulp.
LONG = np.longdouble


def _row_sums(a: np.ndarray) -> np.ndarray:
    """Sum of each row of ``a`` added left to right, as R's loop adds (``summary.c``: ``s += x[i]``).

    numpy's ``sum`` adds rows of 8 or more values pairwise (eight partial sums) and
    ``add.reduceat`` in its own order; in long double the order changes the last bits, and then
    about one mean in 600 rounds to a different double than R's (tested)."""
    out = np.zeros(len(a), dtype=a.dtype)
    for j in range(a.shape[1]):          # column by column, vectorised over the rows
        out += a[:, j]
    return out


def _sequential_sums(xl: np.ndarray, seg: np.ndarray, nseg: int) -> np.ndarray:
    """Per-segment sums of ``xl`` (sorted by segment) added in order within each segment, vectorised
    over segments: the k-th point of every segment is added at step k."""
    out = np.zeros(nseg, dtype=xl.dtype)
    if not len(xl):
        return out
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    if len(starts) * 8 < len(xl):                   # few long segments: one running sum each
        ends = np.r_[starts[1:], len(xl)]
        for a, b in zip(starts, ends):
            out[seg[a]] = np.cumsum(xl[a:b])[-1]     # cumsum adds in order
        return out
    pos = position(seg)
    order = np.argsort(pos, kind="stable")          # step by step: first points, second points, ...
    bounds = np.flatnonzero(np.r_[True, pos[order][1:] != pos[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        at = order[a:b]
        out[seg[at]] += xl[at]                      # one point per segment at each step
    return out


def _sums_long(x: np.ndarray, mask: np.ndarray, seg: np.ndarray, nseg: int) -> np.ndarray:
    """Per-segment sums of ``x[mask]`` accumulated in :data:`LONG` (segments contiguous)."""
    out = np.zeros(nseg, dtype=LONG)
    if not len(x):
        return out
    L = regular(seg, nseg)
    if L:
        return _row_sums(np.where(mask, x, 0.0).reshape(nseg, L).astype(LONG))
    if np.any(seg[1:] < seg[:-1]):  # not sorted by segment: sort (stably) first
        order = np.argsort(seg, kind="stable")
        x, mask, seg = x[order], mask[order], seg[order]
    return _sequential_sums(np.where(mask, x, 0.0).astype(LONG), seg, nseg)


def sums(x: np.ndarray, mask: np.ndarray, seg: np.ndarray, nseg: int) -> np.ndarray:
    """Per-segment sums of ``x[mask]`` as R's ``sum()`` computes them: accumulated in long double,
    rounded once to double (R ``src/main/summary.c``, ``rsum``)."""
    return _sums_long(x, mask, seg, nseg).astype(float)


def means(x: np.ndarray, mask: np.ndarray, seg: np.ndarray, nseg: int) -> np.ndarray:
    """Per-segment means of ``x[mask]`` as R's ``mean()`` computes them (NaN where a segment has
    no values): the sum in long double divided by n, then one refinement pass adding the mean of
    the residuals (also in long double), rounded once to double (R ``src/main/summary.c``,
    ``real_mean``). A value equal to the mean in decimal (0.2 in 0.1, 0.3, 0.2, ...) is then on
    the centre line as in NHSRplotthedots and qicharts2; numpy's double sum can land an ulp away.

    References
    ----------
    R Core Team. R: ``mean.default`` -> ``.Internal(mean(x))``, ``summary.c`` (``LDOUBLE s``;
    ``s /= n; t = sum(x - s); s += t / n``).
    """
    L = regular(seg, nseg)
    if L:  # the same two passes, row-wise (no long-double copy of every point)
        return means_matrix(x.reshape(nseg, L), mask.reshape(nseg, L))
    k = counts(mask, seg, nseg)
    kl = np.where(k > 0, k, 1).astype(LONG)
    s = _sums_long(x, mask, seg, nseg) / kl
    if len(x):
        with np.errstate(invalid="ignore", over="ignore"):
            resid = np.where(mask, x.astype(LONG) - s[seg], 0)
            fin = np.isfinite(s)
            t = _sums_long(resid, mask, seg, nseg)
            s = np.where(fin, s + t / kl, s)
    return np.where(k > 0, s.astype(float), np.nan)


#: Rows per block of :func:`means_matrix`: its long-double copies of a block stay small enough to
#: be reused by the allocator, where copies of a whole 100,000-series matrix (57 MB each) are
#: fresh memory every time (page faults cost more than the arithmetic).
MEANS_BLOCK = 4096


def means_matrix(xm: np.ndarray, mm: np.ndarray) -> np.ndarray:
    """:func:`means` of each row of ``xm`` over ``mm`` (a ``(segments, points)`` layout), block by
    block of :data:`MEANS_BLOCK` rows (each row is independent: the same result)."""
    rows = len(xm)
    if rows <= MEANS_BLOCK:
        return _means_rows(xm, mm)
    out = np.empty(rows)
    for i in range(0, rows, MEANS_BLOCK):
        out[i:i + MEANS_BLOCK] = _means_rows(xm[i:i + MEANS_BLOCK], mm[i:i + MEANS_BLOCK])
    return out


def _means_rows(xm: np.ndarray, mm: np.ndarray) -> np.ndarray:
    """R's two-pass long-double mean (:func:`means`) of each row of ``xm`` over ``mm``.

    The second pass (the mean of the residuals) moves the long-double mean by no more than the
    first pass's rounding error, which is bounded [1]_: at most ``(n + 4) u (sum|x| / n + |mean|)``
    with ``u`` the long-double unit roundoff. Rounded to double, it can change the result only
    when the first-pass mean lies that close to a midpoint between two doubles; only those rows
    (and rows with an overflow) get the second pass. Every row's result is the two-pass one.

    References
    ----------
    .. [1] Higham NJ (2002). Accuracy and Stability of Numerical Algorithms, 2nd ed. SIAM,
           section 4.2 (the error bound of recursive summation, ``gamma_(n-1) sum|x|``).
    """
    full, k, kl, xd, xl, s = _first_pass(xm, mm)
    with np.errstate(invalid="ignore", over="ignore"):
        d = s.astype(float)
        r = s - d.astype(LONG)                                  # exact: where s lies between doubles
        above = (np.nextafter(d, np.inf) - d) / 2               # the midpoints either side of d
        below = (d - np.nextafter(d, -np.inf)) / 2
        room = np.where(r >= 0, above - r, below + r)           # distance to the nearer midpoint
        n = kl.astype(float)
        size = np.abs(d)                                        # sum|x| / n: the mean when no x < 0
        neg = xd.min(axis=1, initial=0.0) < 0
        if neg.any():
            size[neg] = np.abs(xd[neg]).sum(axis=1) / n[neg]
        bound = (n + 4) * _U_LONG * (size + np.abs(d)) * 1.01
        again = ~(room > bound)                                  # near a midpoint, or not finite
    if again.any():
        d[again] = _second_pass(xl[again], s[again], mm[again], kl[again], full)
    return np.where(k > 0, d, np.nan)


#: Unit roundoff of :data:`LONG` (2**-64 for the x86 80-bit format).
_U_LONG = float(np.finfo(LONG).eps) / 2


def _second_pass(xl, s, mm, kl, full: bool) -> np.ndarray:
    """R's refinement ``s + sum(x - s) / n`` in long double, rounded once to double."""
    with np.errstate(invalid="ignore", over="ignore"):
        xl = xl - s[:, None]
        t = _row_sums(xl if full else np.where(mm, xl, 0.0))
        return np.where(np.isfinite(s), s + t / kl, s).astype(float)


def _first_pass(xm: np.ndarray, mm: np.ndarray):
    """R's first pass over each row: ``full`` (no point masked out), the counts ``k`` (and ``kl``,
    at least 1, in long double), the masked values ``xd`` and their long-double copy ``xl``, and
    the first-pass means ``s``."""
    full = bool(mm.all())
    k = np.full(len(mm), mm.shape[1]) if full else mm.sum(axis=1)
    kl = np.where(k > 0, k, 1).astype(LONG)
    xd = xm if full else np.where(mm, xm, 0.0)
    xl = xd.astype(LONG)
    return full, k, kl, xd, xl, _row_sums(xl) / kl


def _means_rows_two_pass(xm: np.ndarray, mm: np.ndarray) -> np.ndarray:
    """Both passes on every row (what :func:`_means_rows` gives, kept for the tests)."""
    full, k, kl, _, xl, s = _first_pass(xm, mm)
    return np.where(k > 0, _second_pass(xl, s, mm, kl, full), np.nan)


def medians(x: np.ndarray, mask: np.ndarray, seg: np.ndarray, nseg: int) -> np.ndarray:
    """Median of ``x[mask]`` within each segment (NaN where a segment has no values)."""
    xm = np.where(mask, x, np.inf)
    order = np.lexsort((xm, seg))
    xs = xm[order]
    total = np.bincount(seg, minlength=nseg)
    start = np.concatenate([[0], np.cumsum(total)[:-1]])
    k = counts(mask, seg, nseg).astype(int)
    ok = k > 0
    lo = start + np.maximum(k - 1, 0) // 2
    hi = start + np.maximum(k, 1) // 2
    lo = np.minimum(lo, len(xs) - 1) if len(xs) else lo
    hi = np.minimum(hi, len(xs) - 1) if len(xs) else hi
    out = np.full(nseg, np.nan)
    if len(xs):  # R's median(): mean() of the middle one or two values, in long double
        out[ok] = ((xs[lo[ok]].astype(LONG) + xs[hi[ok]].astype(LONG)) / 2).astype(float)
    return out


def same_as_previous(seg: np.ndarray) -> np.ndarray:
    """True where a point has a predecessor in the same segment."""
    out = np.zeros(len(seg), dtype=bool)
    out[1:] = seg[1:] == seg[:-1]
    return out


def position(seg: np.ndarray) -> np.ndarray:
    """0-based position of each point within its segment."""
    n = len(seg)
    if n == 0:
        return np.zeros(0, dtype=int)
    L = regular(seg, int(seg[-1]) + 1)
    if L:
        return np.tile(np.arange(L), n // L)
    starts = np.ones(n, dtype=bool)
    starts[1:] = seg[1:] != seg[:-1]
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(starts, idx, 0))
    return idx - first


def run_lengths(breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run id and run length of each point, where ``breaks`` is True at the first point of a run."""
    run_id = np.cumsum(breaks, dtype=np.intp) - 1
    if not len(run_id):
        return run_id, np.zeros(0, dtype=int)
    starts = np.flatnonzero(breaks)
    lengths = np.diff(np.append(starts, len(breaks)))
    return run_id, lengths[run_id]


def in_long_runs(breaks: np.ndarray, length: int) -> np.ndarray:
    """True at the points of runs of ``length`` or more points, where ``breaks`` is True at the
    first point of each run (``breaks[0]`` is). Only the long runs -- usually few -- are written
    out, so no run id or length is spread over every point."""
    n = len(breaks)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    starts = np.flatnonzero(breaks)
    lengths = np.diff(np.append(starts, n))
    long = lengths >= length
    if not long.any():
        return out
    first, size = starts[long], lengths[long]
    # the points of the long runs: each run's start plus 0, 1, ..., its length - 1
    before = np.cumsum(size) - size                    # points of long runs before each one
    out[np.arange(int(size.sum())) + np.repeat(first - before, size)] = True
    return out


def consecutive_pairs(idx: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (previous, current) of the selected points ``idx`` that lie in the same segment.

    ``idx`` must be increasing; points between two selected points are skipped (this is
    how qicharts2 joins moving ranges across excluded points).
    """
    if len(idx) < 2:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    prev, cur = idx[:-1], idx[1:]
    same = seg[prev] == seg[cur]
    return prev[same], cur[same]


def last_index(seg: np.ndarray, nseg: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Index of the last (masked) point of each segment; -1 where there is none.

    ``seg`` is non-decreasing, so the last point of a segment is where the next one starts.
    """
    out = np.full(nseg, -1, dtype=int)
    L = regular(seg, nseg)
    if L:
        if mask is None:
            return np.arange(nseg) * L + (L - 1)
        mm = mask.reshape(nseg, L)
        back = mm[:, ::-1].argmax(axis=1)
        return np.where(mm.any(axis=1), np.arange(nseg) * L + (L - 1 - back), -1)
    idx = np.arange(len(seg)) if mask is None else np.flatnonzero(mask)
    if len(idx) == 0:
        return out
    s = seg[idx]
    ends = np.r_[s[1:] != s[:-1], True]
    out[s[ends]] = idx[ends]
    return out


def group_max(values: np.ndarray, groups: np.ndarray, ngroups: int, fill=0) -> np.ndarray:
    """Maximum of ``values`` per group, for non-decreasing ``groups`` (``fill`` where empty)."""
    out = np.full(ngroups, fill, dtype=values.dtype if len(values) else float)
    if len(values) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    out[groups[starts]] = np.maximum.reduceat(values, starts)
    return out
