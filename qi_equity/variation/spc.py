"""Statistical process control for many series at once.

``spc(data, value=..., date=..., by=[...])`` computes every series (provider x specialty x
equity group x measure ...) in one call: the points are sorted into segments
(series x period) and all arithmetic is vectorised over segments with numpy -- no Python
loop runs per series.

Charts
------
- ``xmr``: Making Data Count XmR: mean +/- 2.66 x mean moving range, moving ranges at or
  above 3.267 x the mean moving range screened out once [1]_ [2]_.
- ``i``: qicharts2's I chart: mean +/- 3 x mean moving range / 1.128 (the same screening) [3]_.
- ``mr``: moving-range chart: centre = mean MR, upper limit 3.267 x mean MR [3]_ [5]_.
- ``run``: run chart around the median [3]_ [4]_.
- ``p`` / ``pp``: proportions with per-point limits; ``pp`` is Laney's P' [3]_ [6]_.
- ``u`` / ``up``: rates with per-point limits; ``up`` is Laney's U' [3]_ [6]_.
- ``c``: counts (Poisson) [5]_. ``g``: counts between events (geometric), centre = median [3]_ [5]_.

References
----------
.. [1] NHS England and NHS Improvement, "Making Data Count" (2019, 2021).
.. [2] NHS-R Community, NHSRplotthedots 0.2.2 (``ptd_spc``), https://github.com/nhs-r-community/NHSRplotthedots
.. [3] Anhøj J, qicharts2 0.8.1 (``qic``), https://github.com/anhoej/qicharts2
.. [4] Anhøj J, Olesen AV (2014). Run charts revisited. PLoS ONE 9(11): e113825.
.. [5] Montgomery DC (2009). Introduction to Statistical Quality Control, 6th ed. Wiley.
       (I chart 6.33; c chart 7.17; u chart 7.19; g chart p. 319.)
.. [6] Laney DB (2002). Improved control charts for attributes. Quality Engineering 14(4): 531-537.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from qi_equity.variation import _segments as S
from qi_equity.variation import anhoej, rules

CHARTS = ("xmr", "run", "i", "mr", "p", "pp", "u", "up", "c", "g")
RATIO_CHARTS = ("p", "pp", "u", "up")
DIRECTIONS = {"increase": 1, "decrease": -1, "neutral": 0}

MDC_LIMIT = 2.66          # Making Data Count: 3 / 1.128 rounded, as in NHSRplotthedots [1]_ [2]_
D2 = 1.128                # bias-correction constant for moving ranges of two [5]_
MR_UPPER = 3.267          # D4 for n = 2: upper limit of moving ranges (Nelson 1982) [5]_
SHORT_PERIOD = 13         # fewer points than this: limits provisional (NHSRplotthedots warning)

POINT_COLUMNS_DOC = """
    by columns : one column per ``by`` entry.
    date : Timestamp of the point.
    value : plotted value (the moving range on an ``mr`` chart; numerator/denominator x multiply on
        ratio charts); NaN for a missing month.
    numerator, denominator : when given.
    period : 0, 1, ... one per rebase within a series.
    missing : the month had no value (inserted explicitly when ``freq`` is set).
    excluded : left out of the limit calculation by ``exclude``.
    baseline : used for the centre and limits (``fix_after``, ``exclude``, not missing).
    centre, lower, upper : centre line and process limits.
    lower_2sigma, upper_2sigma : the 2-sigma lines used by the two-of-three rule.
    outside_limits, close_to_limits : bool.
    relative_to_centre : 1 above, -1 below, 0 on the line or missing.
    rule : the special-cause rule the point is part of, by precedence: outside_upper,
        outside_lower, trend_increasing, trend_decreasing, two_of_three_above,
        two_of_three_below, shift_above, shift_below, or common_cause.
    special_cause : bool.
    point_type : common_cause, special_cause_improvement, special_cause_concern,
        special_cause_neutral_high, special_cause_neutral_low.
    improvement : increase / decrease / neutral.
    target : the target, NaN when none.
    short_period : the point's period has fewer than 13 points.
"""

SUMMARY_COLUMNS_DOC = """
    by columns; period; start, end : first and last date of the period.
    chart : the chart type.
    n : points with a value; n_missing : months without one.
    centre, lower, upper : centre and the limits at the period's last point.
    common_cause, special_cause_improvement, special_cause_concern, special_cause_neutral : point counts.
    variation_type : point type of the period's last point.
    variation : variation icon of the series (from its last point): common_cause, improvement_high,
        improvement_low, concern_high, concern_low, neutral_high, neutral_low.
    assurance : pass / fail / inconsistent from the target and the series' latest limits (None without
        a target or with a neutral direction).
    autocorrelation : lag-1 autocorrelation of the period's values (consecutive months only).
    autocorrelated : autocorrelation above the threshold -- the limits are unreliable.
    short_period : fewer than 13 points.
    no_variation : two or more values in the period's baseline and all equal (limits on the centre).
    warning : what a reader must know about the period's limits, in words, '' when nothing: no
        values (or no denominator above zero), one point (no limits), no variation and whether the
        target was always or never met, limits provisional under 13 points, months shown as gaps
        for want of a denominator.
    n_obs, n_useful, longest_run, longest_run_max, crossings, crossings_min, runs_signal : Anhøj rules.
"""


class SPCInputError(ValueError):
    """Bad input to :func:`spc`: the message names the column, the rule and the rows."""


@dataclass
class SPCResult:
    """Result of :func:`spc`: ``.points`` and ``.summary`` DataFrames and ``.plot()``.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per series x date.
    summary : pandas.DataFrame
        One row per series x period.
    options : dict
        The options used (chart, by, directions, rule lengths, ...).
    """

    points: pd.DataFrame
    summary: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def by(self) -> list[str]:
        return list(self.options.get("by") or [])

    def icons(self) -> pd.DataFrame:
        """One row per series: by columns, ``variation`` and ``assurance`` icons."""
        s = self.summary.drop_duplicates(self.by or None, keep="last") if self.by else self.summary.tail(1)
        return s[self.by + ["variation", "assurance", "autocorrelated"]].reset_index(drop=True)

    def plot(self, ax=None, **kwargs):
        """Draw the chart(s) with Making Data Count conventions; returns the figure.

        See :func:`qi_equity.plotting.plot_spc`.
        """
        from qi_equity.plotting.spc import plot_spc

        return plot_spc(self, ax=ax, **kwargs)


def _as_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        return [x]
    return list(x)


def _require(data: pd.DataFrame, cols: list[str]):
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise SPCInputError(f"column(s) {missing} not found in data (columns: {list(data.columns)})")


_PER_DAY = {"s": 86_400, "ms": 86_400 * 10**3, "us": 86_400 * 10**6, "ns": 86_400 * 10**9}


def _day_numbers(when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of ``datetime64`` times (in the column's own unit: no conversion),
    and whether each time is midnight."""
    unit, count = np.datetime_data(when.dtype)
    if unit not in _PER_DAY or count != 1:
        when, unit = when.astype("datetime64[ns]"), "ns"
    t = when.view(np.int64)
    days = t // _PER_DAY[unit]
    return days, days * _PER_DAY[unit] == t


def _calendar(days: np.ndarray, what: str) -> np.ndarray:
    """The month (``what="month"``: ``year * 12 + month - 1``) of each day number, or whether it is
    the first of its month (``what="first"``). Calendar conversions run once per distinct day of
    the span (a lookup table), not once per row, unless the span is longer than the rows."""
    if not len(days):
        return np.zeros(0, dtype=np.int64 if what == "month" else bool)
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    small = span <= max(len(days), 4096)
    d = np.arange(lo, lo + span).astype("datetime64[D]") if small else days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    out = month.astype(np.int64) + 1970 * 12 if what == "month" else month.astype("datetime64[D]") == d
    return out[days - lo] if small else out


def _not_first_of_month(when: np.ndarray) -> np.ndarray:
    """Whether each ``datetime64`` time is not midnight on the first of a month."""
    days, midnight = _day_numbers(when)
    return ~(midnight & _calendar(days, "first"))


def _count_not_first_of_month(when: np.ndarray) -> int:
    """How many times are not midnight on the first of a month, block by block of rows (no
    full-length arrays of day numbers)."""
    return sum(int(np.count_nonzero(_not_first_of_month(when[i:i + BLOCK_POINTS])))
               for i in range(0, len(when), BLOCK_POINTS))


def _sorted_codes(col: pd.Series, start: int = 0) -> tuple[np.ndarray, int]:
    """Codes of a ``by`` column in sorted order of its values, counted from ``start`` (``start -
    1`` for a missing value), and how many codes there can be: an integer column's values less
    its minimum (no hashing), any other column factorised."""
    v = col.to_numpy()
    if v.dtype.kind in "iu" and len(v):
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 2**40 and -2**62 < lo and hi < 2**62:
            return v.astype(np.int64, copy=False) - (lo - start), hi - lo + 1
    codes, uniq = pd.factorize(col, sort=True)
    return codes.astype(np.int64, copy=False) + start, len(uniq)


def _prepare(data: pd.DataFrame, value, date, numerator, denominator, by, freq, extra_cols):
    """The sorted working frame (one row per series x date, missing months inserted), each row's
    series number, and which rows are missing for want of a month or a denominator above zero
    (a missing or non-finite value is the caller's to add)."""
    cols = by + [date] + [c for c in (value, numerator, denominator) if c] + extra_cols
    _require(data, cols)
    df = data[list(dict.fromkeys(cols))]  # pandas 3 copies on write: the caller's frame is never changed
    if not (pd.api.types.is_datetime64_dtype(df[date]) and not isinstance(df[date].dtype, pd.DatetimeTZDtype)):
        df[date] = pd.to_datetime(df[date], errors="coerce")
    bad = df[date].isna()
    if bad.any():
        raise SPCInputError(f"column '{date}': {int(bad.sum())} row(s) are not dates, e.g. "
                            f"{data.loc[bad.values, date].head(3).tolist()}")
    for c in (value, numerator, denominator):
        if c and df[c].dtype != np.float64:  # a float column is numbers already (NaN is a missing value)
            v = pd.to_numeric(df[c], errors="coerce")
            bad = v.isna() & data[c].notna().values
            if bad.any():
                raise SPCInputError(f"column '{c}': {int(bad.sum())} row(s) are not numbers, e.g. "
                                    f"{data.loc[bad.values, c].head(3).tolist()}")
            df[c] = v.astype(float)
    when = df[date].to_numpy()
    if when.dtype.kind != "M":  # e.g. times with a time zone: as UTC
        when = when.astype("datetime64[ns]")
    if freq == "MS":
        off = _count_not_first_of_month(when)
        if off:
            raise SPCInputError(f"column '{date}': {off} row(s) are not the first day of a month "
                                "(freq='MS'); aggregate to months first or pass freq=None")
    # Series keys from factorised codes and one lexsort (no object-dtype sort, groupby or
    # duplicated over millions of rows).
    n = len(df)
    key = np.zeros(n, dtype=np.int64) if not by else None
    span = 1
    for b in by:
        codes, size = _sorted_codes(df[b], 1)
        if span * (size + 1) >= 2**62:  # too many combinations for one integer: fall back
            key = df.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy().astype(np.int64)
            break
        key = codes if key is None else key * (size + 1) + codes
        span *= size + 1
    t = when.view(np.int64)  # times in the column's unit: their order is what is needed
    same = key[1:] == key[:-1]
    if n > 1 and not ((key[1:] > key[:-1]) | (same & (t[1:] >= t[:-1]))).all():  # sort only if needed
        order = np.lexsort((t, key))
        df = df.iloc[order].reset_index(drop=True)
        key, when = key[order], when[order]
        t = when.view(np.int64)
        same = key[1:] == key[:-1]
    else:
        df = df.reset_index(drop=True)
    dup = same & (t[1:] == t[:-1])
    if dup.any():
        raise SPCInputError(f"{int(dup.sum())} row(s) repeat a series and date ({by + [date]}); "
                            "each series needs one value per date")
    new_series = np.ones(n, dtype=bool)
    np.logical_not(same, out=new_series[1:])
    first_row = np.flatnonzero(new_series)  # rows are sorted by series: each series' first row
    last_row = np.append(first_row[1:], n) - 1
    sid = np.repeat(np.arange(len(first_row)), last_row - first_row + 1)
    missing = np.zeros(n, dtype=bool)
    if freq == "MS" and len(df):
        nser = len(first_row)
        # rows are sorted by series then date: first and last month of each series
        lo, hi = (_calendar(_day_numbers(when[r])[0], "month") for r in (first_row, last_row))
        length = hi - lo + 1
        if (length.sum()) > len(df):
            m = _calendar(_day_numbers(when)[0], "month")
            offset = np.concatenate([[0], np.cumsum(length)[:-1]])
            total = int(length.sum())
            rep = np.repeat(np.arange(nser), length)
            months = lo[rep] + (np.arange(total) - offset[rep])
            full = df.iloc[first_row[rep]][by].reset_index(drop=True) if by else pd.DataFrame(index=range(total))
            full[date] = pd.to_datetime({"year": months // 12, "month": months % 12 + 1, "day": 1})
            pos = offset[sid] + (m - lo[sid])
            sid = rep
            missing = np.ones(total, dtype=bool)   # the months inserted
            missing[pos] = False
            for c in df.columns:
                if c in by or c == date:
                    continue
                col = df[c]
                filled = pd.Series(pd.NA if not pd.api.types.is_float_dtype(col) else np.nan,
                                   index=range(total), dtype=col.dtype if pd.api.types.is_float_dtype(col) else object)
                filled.iloc[pos] = col.to_numpy()
                full[c] = filled
            df = full
    if denominator:
        d = df[denominator].to_numpy(float)
        missing |= ~(d > 0)  # no denominator above zero (NaN compares False)
    return df, sid, missing


def _check_ratio_inputs(data: pd.DataFrame, numerator: str, denominator: str, chart: str) -> None:
    """Counts cannot be negative, and on a p chart a numerator cannot pass its denominator (a
    proportion above 1): an error naming the column, the rule, how many rows and which."""
    _require(data, [numerator, denominator])
    nn = pd.to_numeric(data[numerator], errors="coerce").to_numpy(float)
    dd = pd.to_numeric(data[denominator], errors="coerce").to_numpy(float)
    checks = [(numerator, nn < 0, "is negative"), (denominator, dd < 0, "is negative")]
    if chart in ("p", "pp"):
        checks.append((numerator, nn > dd, f"exceeds '{denominator}' (a proportion above 1)"))
    for col, bad, rule in checks:
        if bad.any():
            rows = data.index[bad][:5].tolist()
            raise SPCInputError(f"column '{col}': {int(bad.sum())} row(s) where the count {rule}; "
                                f"rows {rows}{' ...' if bad.sum() > 5 else ''}")


def _warnings(n_points, n_missing_den, no_variation, assurance, constant, has_den: bool) -> np.ndarray:
    """What a reader must know about each period's limits, in words ('' when nothing):
    no values, one point (no limits), no variation (and whether the target was always or never
    met), provisional limits under 13 points, months without a denominator."""
    out = np.full(len(n_points), "", dtype=object)
    need = np.flatnonzero((n_points < SHORT_PERIOD) | no_variation | (n_missing_den > 0))  # usually few
    for i in need:
        n, k, flat, ass, v = n_points[i], n_missing_den[i], no_variation[i], assurance[i], constant[i]
        w = []
        if n == 0:
            w.append("no point has a denominator above zero: nothing to chart" if has_den else "no values")
        elif n == 1:
            w.append("one point: no limits (they need two or more)")
        elif flat:
            met = {"pass": ": always met the target", "fail": ": never met the target"}.get(ass, "")
            w.append(f"no variation (every value is {v:g}){met}")
        if 1 < n < SHORT_PERIOD:
            w.append(f"{n} points: limits provisional until {SHORT_PERIOD}")
        if k:
            w.append(f"{k} month(s) with a zero or missing denominator shown as gaps")
        out[i] = "; ".join(w)
    return out


def _direction_codes(direction: np.ndarray, one: str | None) -> np.ndarray:
    """Codes of the ``improvement`` column (0 increase, 1 decrease, 2 neutral) from the direction of
    each point (+1, -1, 0); ``one`` is the direction given for every point, if it was."""
    code = np.array([1, 2, 0], dtype=np.int8)
    if one is not None:
        return np.full(len(direction), code[DIRECTIONS[one] + 1])
    return code[np.sign(direction) + 1]


def _directions(df: pd.DataFrame, sid: np.ndarray, improvement, n: int) -> np.ndarray:
    """Direction per point (+1 increase, -1 decrease, 0 neutral), from a string or a column.

    A column is factorised (fast on millions of rows); rows without a value -- months inserted
    as missing -- take their series' direction.
    """
    if isinstance(improvement, str) and improvement in df.columns:
        codes, uniq = pd.factorize(df[improvement])
        bad = [u for u in uniq if u not in DIRECTIONS]
        if bad:
            nbad = int(np.isin(codes, [i for i, u in enumerate(uniq) if u in bad]).sum())
            raise SPCInputError(f"column '{improvement}': {nbad} row(s) are not one of {list(DIRECTIONS)}, "
                                f"e.g. {bad[:3]}")
        values = np.array([DIRECTIONS[u] for u in uniq] + [0], dtype=int)[codes]
        gap = codes < 0
        if gap.any():
            best = np.full(int(sid.max()) + 1, -9)
            np.maximum.at(best, sid[~gap], values[~gap])
            values[gap] = np.where(best[sid[gap]] == -9, 0, best[sid[gap]])
        return values
    if improvement not in DIRECTIONS:
        raise SPCInputError(f"improvement must be one of {list(DIRECTIONS)} or a column name, not {improvement!r}")
    return np.full(n, DIRECTIONS[improvement], dtype=np.int8)


def _periods(df: pd.DataFrame, date: str, by: list[str], rebase, sid: np.ndarray) -> np.ndarray:
    """Period index per point: 0 before the first rebase date, 1 after it, ...

    Rebase dates given per series (a dict) are placed by a binary search within each named
    series (rows are sorted by series, then date), one search per date: no pass over every
    point per series named."""
    n = len(df)
    if rebase is None:
        return np.zeros(n, dtype=int)
    d = df[date].to_numpy()
    if not isinstance(rebase, dict):
        r = np.sort(pd.to_datetime(_as_list(rebase)).to_numpy())
        return np.searchsorted(r, d, side="right")
    if not by:
        raise SPCInputError("rebase given per series (a dict) but no `by` columns")
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]]) if n else np.zeros(0, dtype=int)
    ends = np.append(starts[1:], n)
    firsts = df[by].iloc[starts]
    labels = firsts[by[0]].tolist() if len(by) == 1 else list(firsts.itertuples(index=False, name=None))
    series_of = {label: i for i, label in enumerate(labels)}
    # every named series' dates converted in one call (a series not in the data has nothing to rebase)
    which, when = [], []
    for label, dates in rebase.items():
        i = series_of.get(label)
        if i is not None:
            for x in _as_list(dates):
                which.append(i)
                when.append(x)
    r = pd.to_datetime(pd.Series(when, dtype=object)).to_numpy().astype(d.dtype) if when else np.zeros(0, d.dtype)
    # +1 from each rebase date's first point on, -1 again where its series ends: a running sum
    step = np.zeros(n + 1, dtype=np.int64)
    at = [starts[i] + np.searchsorted(d[starts[i]:ends[i]], x, side="left") for i, x in zip(which, r)]
    np.add.at(step, np.asarray(at, dtype=np.int64), 1)
    np.add.at(step, ends[np.asarray(which, dtype=np.int64)], -1)
    return np.cumsum(step[:n])


def _screened_mean_mr_matrix(ym: np.ndarray, screen: bool) -> np.ndarray:
    """:func:`_mean_moving_range` of each row of a ``(segments, points)`` layout whose every
    point is in the baseline (complete series of equal length): the moving ranges are the
    differences of neighbours in the row."""
    mr = np.abs(ym[:, 1:] - ym[:, :-1])
    ok = np.isfinite(mr)
    amr = S.means_matrix(mr, ok)
    if screen:
        a = amr[:, None]
        amr = S.means_matrix(mr, ok & ((mr < MR_UPPER * a) | (a == 0)))
    return amr


def _mean_moving_range(y, base, seg, nseg, screen: bool):
    """Mean moving range of consecutive baseline points per segment, screened once [2]_ [3]_."""
    L = S.regular(seg, nseg)
    if L > 1 and base.all():
        return _screened_mean_mr_matrix(y.reshape(nseg, L), screen)
    idx = np.flatnonzero(base)
    prev, cur = S.consecutive_pairs(idx, seg)
    mr = np.abs(y[cur] - y[prev])
    ok = np.isfinite(mr)
    mseg = seg[cur]
    amr = S.means(mr, ok, mseg, nseg)
    if screen:
        # a series without variation (every moving range 0) has nothing to screen: 0 < 3.267 x 0
        # would screen every range out and leave no limits (NHSRplotthedots then gives NaN);
        # the kit keeps them, so the limits close onto the centre line
        keep = ok & ((mr < MR_UPPER * amr[mseg]) | (amr[mseg] == 0))
        amr = S.means(mr, keep, mseg, nseg)
    return amr


def _limits(chart, y, num, den, base, seg, nseg, screen, mr_base=None):
    """Centre, limits and 2-sigma lines per point (before ``multiply``).

    ``base`` marks the points the centre is computed from; ``mr_base`` the points whose
    consecutive pairs give moving ranges: it keeps missing points, so a missing month breaks
    the moving range rather than joining its neighbours (excluded points are skipped, as in
    qicharts2).
    """
    n = len(y)
    if mr_base is None:
        mr_base = base
    valid = base & np.isfinite(y)
    if chart in ("xmr", "i"):
        L = S.regular(seg, nseg)
        spread = (lambda a: np.repeat(a, L)) if L else (lambda a: a[seg])
        # one value per segment, spread to the points once (each full-length array is fresh memory)
        centre = S.means(y, valid, seg, nseg)
        amr = _mean_moving_range(y, mr_base, seg, nseg, screen)
        if chart == "xmr":
            half3, half2 = MDC_LIMIT * amr, 2 * (MDC_LIMIT / 3) * amr
        else:
            half3, half2 = 3 * amr / D2, 2 * amr / D2
        with np.errstate(over="ignore"):  # a limit beyond the largest double is none (NaN)
            limits = [np.where(np.isinf(a), np.nan, a) for a in (centre - half3, centre + half3, centre - half2,
                                                                 centre + half2)]
        return tuple(spread(a) for a in (centre, *limits))
    if chart == "run":
        centre = S.medians(y, valid, seg, nseg)[seg]
        nan = np.full(n, np.nan)
        return centre, nan, nan, nan, nan
    if chart == "mr":
        centre = S.means(y, valid, seg, nseg)[seg]
        zero = np.zeros(n)
        return centre, zero, MR_UPPER * centre, zero, (MR_UPPER / 3) * 2 * centre
    if chart in RATIO_CHARTS:
        okr = base & np.isfinite(num) & np.isfinite(den) & (den > 0)
        cl = (S.sums(num, okr, seg, nseg) / np.where(S.sums(den, okr, seg, nseg) > 0,
                                                     S.sums(den, okr, seg, nseg), np.nan))[seg]
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(cl * (1 - cl) / den) if chart in ("p", "pp") else np.sqrt(cl / den)
            sd = np.where(den > 0, sd, np.nan)  # no limits for a month without a denominator
        if chart in ("pp", "up"):
            with np.errstate(invalid="ignore", divide="ignore"):
                z = (y - cl) / sd
            sigma_z = _mean_moving_range(z, mr_base, seg, nseg, screen)[seg] / D2
            sd = sd * sigma_z
        lo3, hi3, lo2, hi2 = cl - 3 * sd, cl + 3 * sd, cl - 2 * sd, cl + 2 * sd
        if chart in ("p", "pp"):
            hi3, hi2 = np.minimum(hi3, 1), np.minimum(hi2, 1)
        return cl, np.maximum(lo3, 0), hi3, np.maximum(lo2, 0), hi2
    if chart == "c":
        cl = S.means(y, valid, seg, nseg)[seg]
        sd = np.sqrt(cl)
        return cl, np.maximum(cl - 3 * sd, 0), cl + 3 * sd, np.maximum(cl - 2 * sd, 0), cl + 2 * sd
    if chart == "g":
        m = S.means(y, valid, seg, nseg)[seg]
        sd = np.sqrt(m * (m + 1))
        centre = S.medians(y, valid, seg, nseg)[seg]
        return centre, np.maximum(m - 3 * sd, 0), m + 3 * sd, np.maximum(m - 2 * sd, 0), m + 2 * sd
    raise SPCInputError(f"chart must be one of {CHARTS}, not {chart!r}")


def _autocorrelation(y, missing, seg, nseg):
    """Lag-1 autocorrelation per segment over pairs of consecutive months with values.

    The kit's own note (no R package computes it), so plain double sums: the long-double
    arithmetic that puts centre lines where R puts them is not needed here."""
    ok = ~missing & np.isfinite(y)
    L = S.regular(seg, nseg)
    if L:  # complete series of equal length: row-wise
        okm = ok.reshape(nseg, L)
        every = bool(ok.all())  # no missing month: no masking
        ym = y.reshape(nseg, L) if every else np.where(okm, y.reshape(nseg, L), 0.0)
        k = okm.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = ym - (ym.sum(axis=1) / k)[:, None]
            if not every:
                dev[~okm] = 0.0
            num = (dev[:, 1:] * dev[:, :-1]).sum(axis=1)  # a pair with a missing month has a zero
            den = (dev * dev).sum(axis=1)
            return np.where(den > 0, num / den, np.nan)
    yv = np.where(ok, y, 0.0)
    k = np.bincount(seg, weights=ok.astype(float), minlength=nseg)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.bincount(seg, weights=yv, minlength=nseg) / k
    dev = np.where(ok, y - m[seg], 0.0)
    den = np.bincount(seg, weights=dev * dev, minlength=nseg)
    pair = np.zeros(len(y), dtype=bool)
    pair[1:] = ok[1:] & ok[:-1] & (seg[1:] == seg[:-1])
    prod = np.zeros(len(y))
    prod[1:] = np.where(pair[1:], dev[1:] * dev[:-1], 0.0)
    num = np.bincount(seg, weights=prod, minlength=nseg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


#: Points per block of the rule phase. The rules look within a segment only, so they run on
#: blocks of whole segments: a block's temporaries stay in cache and are reused, where one pass
#: over 3.6M points would take some forty fresh arrays of the full length (page faults and memory
#: traffic cost more than the comparisons).
BLOCK_POINTS = 1 << 17


def _blocks(seg: np.ndarray, n: int, size: int | None = None) -> list[tuple[int, int]]:
    """``(start, stop)`` point ranges of whole segments, about ``size`` points each (default
    :data:`BLOCK_POINTS`), covering all ``n`` points in order (``seg`` non-decreasing; a segment
    longer than ``size`` is one block)."""
    size = size or BLOCK_POINTS
    if n <= size:
        return [(0, n)]
    cuts = np.searchsorted(seg, seg[np.arange(size, n, size)], side="left")  # back to a segment start
    edges = np.unique(np.r_[0, cuts, n])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _rule_codes(chart, y, centre, lower, upper, lower2, upper2, missing_v, seg, direction, shift_length,
                trend_length):
    """``rel, outside, close, rule_code, point_type`` of the points of whole segments."""
    rel = rules.relative_to_centre(y, centre)
    gaps = bool(missing_v.any())  # (a block without a missing point needs no masking)
    if chart == "run":
        outside = np.zeros(len(y), dtype=bool)
        close = np.zeros(len(y), dtype=bool)
    else:
        outside = rules.outside_limits(y, lower, upper)
        if gaps:
            outside &= ~missing_v
        close = rules.close_to_limits(y, lower2, upper2, outside)
        if gaps:
            close &= ~missing_v
    tdir = rules.trend_direction(np.where(missing_v, np.nan, y) if gaps else y, seg, trend_length)
    two3 = rules.two_of_three(close, rel, seg)
    shift_part = rules.shift(rel, seg, shift_length)
    rule_code = rules.combine(outside, tdir, two3, shift_part, rel)
    if chart == "mr":  # the MDC rules are not applied to a moving-range chart, except the limits
        rule_code = np.where(np.isin(rule_code, [1, 2]), rule_code, np.int8(0))
    return rel, outside, close, rule_code, rules.point_type(rule_code, direction)


def _value_range(y, fin, seg, nseg):
    """Smallest and largest of the values ``y[fin]`` in each segment (+inf and -inf where none)."""
    L = S.regular(seg, nseg)
    if L:
        fm, ym = fin.reshape(nseg, L), y.reshape(nseg, L)
        return np.where(fm, ym, np.inf).min(axis=1), np.where(fm, ym, -np.inf).max(axis=1)
    vmin = np.full(nseg, np.inf)
    vmax = np.full(nseg, -np.inf)
    np.minimum.at(vmin, seg[fin], y[fin])
    np.maximum.at(vmax, seg[fin], y[fin])
    return vmin, vmax


def _segment_statistics(y, centre, include, missing_v, baseline, seg, blocks) -> dict:
    """Per segment, block by block of whole segments: the Anhøj runs (``runs_analysis``'s keys),
    the lag-1 ``autocorrelation``, and ``vmin`` / ``vmax`` of the baseline's finite values."""
    parts = []
    for a, b in blocks:
        if a == b:
            continue
        sb = seg[a:b] - seg[a]
        nb = int(sb[-1]) + 1
        ya = y[a:b]
        parts.append((*anhoej.runs_counts(ya, centre[a:b], include[a:b], sb, nb),
                      _autocorrelation(ya, missing_v[a:b], sb, nb),
                      *_value_range(ya, baseline[a:b] & np.isfinite(ya), sb, nb)))
    if not parts:
        parts = [(*anhoej.runs_counts(y, centre, include, seg, 0), np.zeros(0), np.zeros(0), np.zeros(0))]
    joined = [np.concatenate(column) for column in zip(*parts)]
    out = anhoej.runs_result(*joined[:4])  # the limits and signals once, for every segment
    out.update(autocorrelation=joined[4], vmin=joined[5], vmax=joined[6])
    return out


def spc(data: pd.DataFrame, value: str | None = "value", date: str = "date", *, chart: str = "xmr",
        numerator: str | None = None, denominator: str | None = None, by: list[str] | str | None = None,
        improvement: str = "neutral", target: float | str | None = None, rebase=None,
        fix_after: int | None = None, exclude=None, screen_outliers: bool = True,
        shift_length: int = 7, trend_length: int = 7, multiply: float = 1.0, freq: str | None = "MS",
        autocorrelation_threshold: float = 0.5) -> SPCResult:
    """Statistical process control chart(s) for one or many series.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per series x date.
    value : str or None
        Column of values (not needed for ratio charts given ``numerator``/``denominator``).
    date : str
        Column of dates. With ``freq="MS"`` (default) dates must be first-of-month and
        months missing inside a series are inserted as explicit missing points: they are
        drawn as gaps, break moving ranges, runs and trends, and are never shifted.
    chart : {"xmr", "run", "i", "mr", "p", "pp", "u", "up", "c", "g"}
        See the module docstring. ``xmr`` is the Making Data Count chart.
    numerator, denominator : str, optional
        Columns for ratio charts (p, pp, u, up); limits are per point.
    by : list of str, optional
        Columns identifying series (provider, specialty, equity group, measure ...).
    improvement : {"increase", "decrease", "neutral"} or str
        Which direction is better, or a column holding it per row.
    target : float or str, optional
        A target for the assurance icon, or a column holding it.
    rebase : date, list of dates, or dict
        New limits from each date (a dict maps a series label -- the single ``by`` value
        or the tuple of ``by`` values -- to its own dates).
    fix_after : int, optional
        Compute limits from the first ``fix_after`` points of each period (freeze a baseline).
    exclude : list of dates, optional
        Points left out of the centre and limit calculation (still plotted and tested).
    screen_outliers : bool
        Screen moving ranges >= 3.267 x the mean moving range once before the limits.
    shift_length, trend_length : int
        Points needed for a shift or trend (7 as NHSRplotthedots; 6 as the MDC Excel tools).
    multiply : float
        Multiplier for value, centre and limits (100 for percentages, 1000 for rates per 1,000).
    freq : "MS" or None
        Monthly series (default) or irregular dates (no gap filling).
    autocorrelation_threshold : float
        Lag-1 autocorrelation above which the summary flags the limits as unreliable.

    Returns
    -------
    SPCResult
        ``.points`` columns::
    {points}
        ``.summary`` columns::
    {summary}

    Raises
    ------
    SPCInputError
        A missing column, a non-numeric value, a non-month date, a repeated series-date, a
        negative count, or on a p chart a numerator above its denominator, naming the column,
        the rule and the number of rows.

    References
    ----------
    Making Data Count (NHS England); NHSRplotthedots 0.2.2; qicharts2 0.8.1;
    Anhøj & Olesen (2014); Montgomery (2009); Laney (2002). See the module docstring.
    """
    if chart not in CHARTS:
        raise SPCInputError(f"chart must be one of {CHARTS}, not {chart!r}")
    by = _as_list(by)
    if chart in RATIO_CHARTS and not (numerator and denominator):
        raise SPCInputError(f"chart '{chart}' needs numerator= and denominator= columns")
    ratio_values = bool(numerator and denominator)
    if ratio_values:
        _check_ratio_inputs(data, numerator, denominator, chart)
    if chart not in RATIO_CHARTS and numerator and not denominator and not value:
        value = numerator
    if shift_length < 2 or trend_length < 3:
        raise SPCInputError("shift_length must be >= 2 and trend_length >= 3")
    extra = [c for c in (improvement, target) if isinstance(c, str) and c in data.columns]
    use_value = value if not ratio_values else None
    df, sid, missing = _prepare(data, use_value, date, numerator, denominator, by, freq, extra)
    n = len(df)

    # (no full-length arrays of NaN where neither count is given: nothing reads them then)
    num = df[numerator].to_numpy(float) if numerator else (np.full(n, np.nan) if denominator else None)
    den = df[denominator].to_numpy(float) if denominator else None
    if ratio_values:  # ratio charts, or any chart of numerator / denominator
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(den > 0, num / den, np.nan)
    else:
        y = df[value].to_numpy(float)
    missing |= ~np.isfinite(y)

    period = _periods(df, date, by, rebase, sid)
    if n and period.max() > 0:
        key = sid.astype(np.int64) * (int(period.max()) + 1) + period
        # rows are sorted by series, then date, and periods follow dates: segments are contiguous
        new_seg = np.ones(n, dtype=bool)
        new_seg[1:] = key[1:] != key[:-1]
        seg = np.cumsum(new_seg, dtype=np.int64) - 1
    else:  # one period per series: the segments are the series
        seg = sid.astype(np.int64, copy=False)
    nseg = int(seg[-1]) + 1 if n else 0

    if chart == "mr":
        prev_same = S.same_as_previous(seg)
        mrv = np.full(n, np.nan)
        mrv[1:] = np.where(prev_same[1:], np.abs(y[1:] - y[:-1]), np.nan)
        y = mrv
        missing_v = ~np.isfinite(y)
    else:
        missing_v = missing

    excluded = np.zeros(n, dtype=bool)
    if exclude is not None:
        excluded = df[date].isin(pd.to_datetime(_as_list(exclude))).to_numpy()
    mr_base = ~excluded
    if fix_after is not None:
        mr_base &= S.position(seg) < int(fix_after)
    baseline = mr_base & ~missing

    centre, lower, upper, lower2, upper2 = _limits(chart, y, num, den, baseline, seg, nseg, screen_outliers, mr_base)
    if multiply != 1:
        with np.errstate(over="ignore"):
            y = y * multiply
            centre, lower, upper, lower2, upper2 = [a * multiply for a in (centre, lower, upper, lower2, upper2)]
    if chart not in ("xmr", "i") or multiply != 1:  # (those two have no infinite limit from _limits)
        for a in (lower, upper, lower2, upper2):  # an infinite limit is no limit (in place: _limits' own arrays)
            a[np.isinf(a)] = np.nan

    direction = _directions(df, sid, improvement, n)
    one_direction = None if improvement in df.columns else improvement   # one given for every point
    blocks = _blocks(seg, n)
    rel, outside, close, rule_code, ptype = (np.empty(n, dtype=t) for t in (np.int8, bool, bool, np.int8, np.int8))
    for a, b in blocks:  # the rules never look across segments: block by block of whole segments
        parts = _rule_codes(chart, y[a:b], centre[a:b], lower[a:b], upper[a:b], lower2[a:b], upper2[a:b],
                            missing_v[a:b], seg[a:b], direction[a:b], shift_length, trend_length)
        for whole, part in zip((rel, outside, close, rule_code, ptype), parts):
            whole[a:b] = part

    if isinstance(target, str) and target in df.columns:
        tgt = pd.to_numeric(df[target], errors="coerce").to_numpy(float)
    elif target is None:
        tgt = np.full(n, np.nan)
    else:
        tgt = np.full(n, float(target))

    # ---- summary per segment -------------------------------------------------------
    has_value = ~missing_v
    n_points = S.counts(has_value, seg, nseg)
    short = n_points < SHORT_PERIOD
    include = ~excluded
    runs = _segment_statistics(y, centre, include, missing_v, baseline, seg, blocks)
    acf = runs["autocorrelation"]
    if chart == "mr":
        runs["runs_signal"] = np.zeros(nseg, dtype=bool)
    with np.errstate(invalid="ignore"):
        acf_flag = (acf > autocorrelation_threshold) & (n_points >= 10)
    last_pt = S.last_index(seg, nseg, has_value)
    last_any = S.last_index(seg, nseg)
    seg_sid = sid[last_any]
    # series-level icons from the series' last point with a value
    nser = int(sid.max()) + 1 if n else 0
    ser_last = S.last_index(sid, nser, has_value)
    ser_ok = ser_last >= 0
    ser_var = np.full(nser, None, dtype=object)
    ser_ass = np.full(nser, None, dtype=object)
    if ser_ok.any():
        li = ser_last[ser_ok]
        ser_var[ser_ok] = rules.variation_icon(ptype[li], direction[li])
        ser_ass[ser_ok] = rules.assurance_icon(tgt[li], lower[li], upper[li], direction[li])

    def at_last(a):
        out = np.full(nseg, np.nan)
        ok = last_pt >= 0
        out[ok] = a[last_pt[ok]]
        return out

    pt_counts = {name: S.counts(ptype == code, seg, nseg).astype(int) for code, name in
                 [(0, "common_cause"), (1, "special_cause_improvement"), (2, "special_cause_concern")]}
    pt_counts["special_cause_neutral"] = S.counts((ptype == 3) | (ptype == 4), seg, nseg).astype(int)
    seg_first = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]]) if n else np.zeros(0, dtype=int)
    # Frames are built from one dict each (assigning column by column costs more than the
    # arithmetic on a report's few series).
    vt = np.full(nseg, None, dtype=object)
    okl = last_pt >= 0
    vt[okl] = np.array(rules.POINT_TYPES, dtype=object)[ptype[last_pt[okl]]]
    cols = {b: df[b].iloc[seg_first].reset_index(drop=True) for b in by}
    cols.update(period=period[seg_first], start=df[date].to_numpy()[seg_first], end=df[date].to_numpy()[last_any],
                chart=np.full(nseg, chart, dtype=object), n=n_points.astype(int),
                n_missing=S.counts(missing_v, seg, nseg).astype(int), centre=centre[seg_first],
                lower=at_last(lower), upper=at_last(upper))
    cols.update(pt_counts)
    cols.update(variation_type=vt, variation=ser_var[seg_sid], assurance=ser_ass[seg_sid], autocorrelation=acf,
                autocorrelated=acf_flag, short_period=short)
    for k in ("n_obs", "n_useful", "longest_run", "longest_run_max", "crossings", "crossings_min"):
        cols[k] = runs[k]
    cols["runs_signal"] = runs["runs_signal"]
    # degenerate periods, in words: a period whose baseline values are all equal has no variation
    vmin, vmax = runs["vmin"], runs["vmax"]
    flat = (n_points >= 2) & (vmin == vmax)
    # months given with a zero or missing denominator (months absent from the data are not counted)
    no_den = (S.counts(~(den > 0) & (np.isfinite(num) | np.isfinite(den)), seg, nseg)
              if denominator else np.zeros(nseg)).astype(int)
    cols["no_variation"] = flat
    cols["warning"] = _warnings(n_points.astype(int), no_den, flat, cols["assurance"], vmin, bool(denominator))
    # copy=False: one block per column, not stacked into 2-D blocks (a copy of every column)
    summary = pd.DataFrame(cols, index=pd.RangeIndex(nseg), copy=False)

    # ---- points ------------------------------------------------------------------------
    cols = {b: df[b].reset_index(drop=True) for b in by}
    cols["date"] = df[date].reset_index(drop=True)
    cols["value"] = np.where(missing_v, np.nan, y)
    if numerator:
        cols["numerator"] = num
    if denominator:
        cols["denominator"] = den
    cols.update(period=period, missing=missing_v, excluded=excluded, baseline=baseline, centre=centre, lower=lower,
                upper=upper, lower_2sigma=lower2, upper_2sigma=upper2, outside_limits=outside,
                close_to_limits=close, relative_to_centre=np.where(missing_v, np.int8(0), rel) if missing_v.any() else rel,
                rule=pd.Categorical.from_codes(rule_code, rules.RULES, validate=False), special_cause=rule_code != 0,
                point_type=pd.Categorical.from_codes(ptype, rules.POINT_TYPES, validate=False),
                # direction -1 / 0 / +1 -> decrease / neutral / increase
                improvement=pd.Categorical.from_codes(_direction_codes(direction, one_direction),
                                                      ["increase", "decrease", "neutral"], validate=False),
                target=tgt, short_period=short[seg])
    pts = pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)
    options = dict(chart=chart, value=value, date=date, numerator=numerator, denominator=denominator, by=by,
                   improvement=improvement, target=target, rebase=rebase, fix_after=fix_after, exclude=exclude,
                   screen_outliers=screen_outliers, shift_length=shift_length, trend_length=trend_length,
                   multiply=multiply, freq=freq, autocorrelation_threshold=autocorrelation_threshold)
    return SPCResult(points=pts, summary=summary, options=options)


if spc.__doc__:  # None when wrapped (mutation testing)
    spc.__doc__ = spc.__doc__.replace("{points}", POINT_COLUMNS_DOC).replace("{summary}", SUMMARY_COLUMNS_DOC)
