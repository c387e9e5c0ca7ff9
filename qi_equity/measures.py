"""Access measures from pathways: monthly aggregates and the provider equity table.

Which series SPC can be trusted on (see docs/measures.md):

- **flow measures** -- pathways completed by clock-stop month (median wait, % over 18 and
  over 52 weeks), DNA by first-appointment month, referrals by referral month -- are
  charted with SPC;
- **snapshot measures** -- the month-end waiting list (count, % over 18 weeks) -- share
  most of their patients from one month to the next, so their monthly series are
  autocorrelated and XmR limits are too narrow. They are computed and shown, with their
  lag-1 autocorrelation, and flagged (``snapshot=True``);
- waits by *referral* month are never charted: the latest cohorts have only their short
  waits completed (censoring).

DNA here is the documented pathway-level alternative: pathways with at least one DNA /
pathways whose first appointment fell in the month (the extract has no appointment-level
attendances).

References
----------
.. [1] NHS England, "Consultant-led Referral to Treatment Waiting Times Rules and Guidance"
       (completed pathways counted in the month the clock stops; incomplete pathways at
       the month-end census; 18-week standard).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qi_equity.data import contract as C
from qi_equity.data.io import AGGREGATE_COLUMNS


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    unit: str
    improvement: str  # increase / decrease / neutral
    kind: str  # "median", "percent", "count"
    snapshot: bool = False


MEASURES: dict[str, Measure] = {m.name: m for m in [
    Measure("completed_median_wait", "Median wait of pathways completed in the month", "weeks", "decrease", "median"),
    Measure("completed_over_18", "Completed pathways that waited over 18 weeks", "%", "decrease", "percent"),
    Measure("completed_over_52", "Completed pathways that waited over 52 weeks", "%", "decrease", "percent"),
    Measure("dna_rate", "Pathways with a DNA, by first-appointment month", "%", "decrease", "percent"),
    Measure("removed_other", "Completed pathways removed without treatment", "%", "decrease", "percent"),
    Measure("first_appointment_wait", "Median wait from referral to first appointment, by first-appointment month",
            "weeks", "decrease", "median"),
    Measure("referrals", "Referrals received in the month", "pathways", "neutral", "count"),
    Measure("waiting_list", "Month-end waiting list (snapshot)", "pathways", "decrease", "count", snapshot=True),
    Measure("waiting_over_18", "Month-end waiting list over 18 weeks (snapshot)", "%", "decrease", "percent",
            snapshot=True),
]}

DEFAULT_DIMENSIONS = ("all", "sex", "age_band", "sex_age", "ethnic_group", "imd_quintile", "core20")


def window(census_date, months: int = 36) -> pd.DatetimeIndex:
    """The ``months`` month-starts ending with the census month."""
    end = pd.Timestamp(census_date).to_period("M").to_timestamp()
    return pd.date_range(end - pd.DateOffset(months=months - 1), end, freq="MS")


def _group_frame(derived: pd.DataFrame, dimensions, by_specialty: bool) -> pd.DataFrame:
    """Long frame: every pathway once per dimension (and once more per specialty)."""
    # Keys as categoricals sharing one set of categories per column, so grouping works on
    # integer codes (grouping on text costs several times more); monthly_measures returns text.
    groups = {dim: C.dimension_values(derived, dim) for dim in dimensions}
    group_cats = pd.unique(np.concatenate([g.dropna().unique().astype(object) for g in groups.values()]))
    spec_cats = pd.unique(np.concatenate([["all"], derived["specialty"].dropna().unique().astype(object)]))
    n = len(derived)
    parts = []
    for dim, g in groups.items():
        f = pd.DataFrame({"_row": np.arange(n),
                          "dimension": pd.Categorical.from_codes(np.full(n, list(dimensions).index(dim)),
                                                                 categories=list(dimensions)),
                          "group": pd.Categorical(g.to_numpy(dtype=object), categories=group_cats),
                          "specialty": pd.Categorical.from_codes(np.zeros(n, dtype=int), categories=spec_cats)})
        parts.append(f)
        if by_specialty:
            f2 = f.copy()
            f2["specialty"] = pd.Categorical(derived["specialty"].to_numpy(dtype=object), categories=spec_cats)
            parts.append(f2)
    return pd.concat(parts, ignore_index=True)


def monthly_measures(derived: pd.DataFrame, census_date, months: int = 36,
                     dimensions=DEFAULT_DIMENSIONS, by_specialty: bool = False,
                     measures=tuple(MEASURES)) -> pd.DataFrame:
    """Monthly measures by equity group, in the aggregate form.

    Parameters
    ----------
    derived : pandas.DataFrame
        Pathways with derived fields (:func:`qi_equity.data.contract.derive`).
    census_date : date
        Month-end census; the window is the ``months`` months ending with it.
    dimensions : sequence of str
        Equity dimensions (keys of :data:`qi_equity.data.contract.DIMENSIONS`).
    by_specialty : bool
        Also break every dimension down by treatment function (``specialty``); the
        all-specialty rows have ``specialty == "all"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``month, provider_code, specialty, dimension, group, measure, numerator,
        denominator, value``: for percentages ``value = 100 * numerator / denominator``;
        for the median wait ``denominator`` is the number of completed pathways and
        ``numerator`` is empty; counts have ``value = denominator``. Every group of a
        dimension appears in every month (zero counts kept), so gaps are explicit.
    """
    months_idx = window(census_date, months)
    provider = str(derived["provider_code"].iloc[0]) if len(derived) else ""
    gf = _group_frame(derived, dimensions, by_specialty)
    row = gf["_row"].to_numpy()
    keys = ["month", "specialty", "dimension", "group"]
    out = []

    def add(frame, measure, num, den, value=None):
        f = frame[keys].copy()
        f["measure"] = measure
        f["numerator"] = num
        f["denominator"] = den
        f["value"] = value if value is not None else np.where(den > 0, 100 * num / np.where(den > 0, den, 1), np.nan)
        out.append(f)

    # completed pathways by clock-stop month
    comp = derived["completed"].to_numpy()[row]
    f = gf[comp].copy()
    f["month"] = derived["clock_stop_month"].to_numpy()[f["_row"]]
    f["wait"] = derived["wait_weeks"].to_numpy()[f["_row"]]
    f["o18"] = derived["over_18_weeks"].to_numpy()[f["_row"]]
    f["o52"] = derived["over_52_weeks"].to_numpy()[f["_row"]]
    f["rem"] = derived["removed"].to_numpy()[f["_row"]]
    f = f[f["month"].isin(months_idx)]
    g = f.groupby(keys, observed=True).agg(n=("wait", "size"), median=("wait", "median"),
                                            o18=("o18", "sum"), o52=("o52", "sum"), rem=("rem", "sum")).reset_index()
    if "completed_median_wait" in measures:
        add(g, "completed_median_wait", np.nan, g["n"].to_numpy(float), g["median"].to_numpy(float))
    if "completed_over_18" in measures:
        add(g, "completed_over_18", g["o18"].to_numpy(float), g["n"].to_numpy(float))
    if "completed_over_52" in measures:
        add(g, "completed_over_52", g["o52"].to_numpy(float), g["n"].to_numpy(float))
    if "removed_other" in measures:
        add(g, "removed_other", g["rem"].to_numpy(float), g["n"].to_numpy(float))

    if "dna_rate" in measures or "first_appointment_wait" in measures:
        fa = derived["first_appointment_month"].to_numpy()[row]
        f = gf[~pd.isna(fa)].copy()
        f["month"] = derived["first_appointment_month"].to_numpy()[f["_row"]]
        f["dna"] = derived["any_dna"].to_numpy()[f["_row"]]
        f["fw"] = derived["first_wait_weeks"].to_numpy()[f["_row"]]
        f = f[f["month"].isin(months_idx)]
        g = f.groupby(keys, observed=True).agg(n=("dna", "size"), k=("dna", "sum"), fw=("fw", "median")).reset_index()
        if "dna_rate" in measures:
            add(g, "dna_rate", g["k"].to_numpy(float), g["n"].to_numpy(float))
        if "first_appointment_wait" in measures:
            add(g, "first_appointment_wait", np.nan, g["n"].to_numpy(float), g["fw"].to_numpy(float))

    if "referrals" in measures:
        f = gf.copy()
        f["month"] = derived["referral_month"].to_numpy()[row]
        f = f[f["month"].isin(months_idx)]
        g = f.groupby(keys, observed=True).size().rename("n").reset_index()
        add(g, "referrals", np.nan, g["n"].to_numpy(float), g["n"].to_numpy(float))

    if "waiting_list" in measures or "waiting_over_18" in measures:
        g = _month_end_snapshots(derived, gf, months_idx)
        if "waiting_list" in measures:
            add(g, "waiting_list", np.nan, g["n"].to_numpy(float), g["n"].to_numpy(float))
        if "waiting_over_18" in measures:
            add(g, "waiting_over_18", g["o18"].to_numpy(float), g["n"].to_numpy(float))

    res = pd.concat(out, ignore_index=True)
    for c in ("specialty", "dimension", "group"):
        res[c] = res[c].astype(str)
    res = _complete(res, months_idx, dimensions)
    res.insert(1, "provider_code", provider)
    order = {m: i for i, m in enumerate(MEASURES)}
    res["_m"] = res["measure"].map(order)
    res = res.sort_values(["_m", "specialty", "dimension", "group", "month"], kind="stable").drop(columns="_m")
    return res[AGGREGATE_COLUMNS].reset_index(drop=True)


def _month_end_snapshots(derived: pd.DataFrame, gf: pd.DataFrame, months_idx: pd.DatetimeIndex) -> pd.DataFrame:
    """Waiting list at each month end: ``month, specialty, dimension, group, n, o18``, rows with n > 0.

    A pathway is on the list at the end of month m when it was referred on or before that day
    and its clock had not stopped by then, i.e. for the months from its referral month up to
    (not including) its clock-stop month; it has waited over 18 weeks (more than 126 days) at the
    end of m from the month of referral + 127 days. Each pathway is therefore a +1 and a -1 at
    two month indices, and the list is their running sum (checked against a month-by-month
    count in tests/test_measures.py).
    """
    n_t = len(months_idx)
    row = gf["_row"].to_numpy()
    first = months_idx[0].year * 12 + months_idx[0].month - 1

    def month_index(values) -> np.ndarray:  # months since the window start; NaT -> a large number
        d = pd.DatetimeIndex(values)
        out = (d.year * 12 + d.month - 1 - first).to_numpy(dtype=float)
        return np.where(np.isnan(out), 10 * n_t + 10, out).astype(np.int64)

    ref = pd.to_datetime(derived["referral_date"]).to_numpy()
    stop = pd.to_datetime(derived["clock_stop_date"]).to_numpy()
    enter, leave = month_index(ref), month_index(stop)
    enter18 = month_index(ref + np.timedelta64(127, "D"))
    sid, keys = _row_ids(gf, ["specialty", "dimension", "group"])
    counts = np.zeros((len(keys), n_t + 1), dtype=np.int64)
    over = np.zeros((len(keys), n_t + 1), dtype=np.int64)
    for grid, start, end in ((counts, enter[row], leave[row]), (over, enter18[row], leave[row])):
        on = (start < end) & (start < n_t)
        np.add.at(grid, (sid[on], np.clip(start[on], 0, n_t)), 1)
        np.add.at(grid, (sid[on], np.clip(end[on], 0, n_t)), -1)
    counts, over = counts.cumsum(axis=1)[:, :n_t], over.cumsum(axis=1)[:, :n_t]
    s_idx, t_idx = np.nonzero(counts > 0)
    spec, dim, grp = (keys[c].to_numpy()[s_idx] for c in ("specialty", "dimension", "group"))
    return pd.DataFrame({"month": months_idx.to_numpy()[t_idx], "specialty": spec, "dimension": dim, "group": grp,
                         "n": counts[s_idx, t_idx], "o18": over[s_idx, t_idx]})


def _row_ids(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """An integer id per distinct combination of ``columns`` for every row, and the combinations
    (one row per id): each column factorised on its own, then the codes combined (much faster
    than factorising a MultiIndex of strings)."""
    codes, uniques = zip(*(pd.factorize(frame[c], sort=False) for c in columns))
    combined = np.zeros(len(frame), dtype=np.int64)
    for c, u in zip(codes, uniques):
        combined = combined * (len(u) + 1) + (c + 1)  # +1: a missing value (-1) is a value of its own
    ids, inverse = np.unique(combined, return_inverse=True)
    first = np.zeros(len(ids), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(frame))[::-1]  # first row of each id
    keys = pd.DataFrame({c: frame[c].to_numpy()[first] for c in columns})
    return inverse.astype(np.int64), keys


def _complete(res: pd.DataFrame, months_idx, dimensions) -> pd.DataFrame:
    """Every (specialty, dimension, group, measure) series gets every month; empty months count 0."""
    series = res[["specialty", "dimension", "group", "measure"]].drop_duplicates()
    grid = series.merge(pd.DataFrame({"month": months_idx}), how="cross")
    full = grid.merge(res, on=["specialty", "dimension", "group", "measure", "month"], how="left")
    empty = full["denominator"].isna()
    full.loc[empty, "denominator"] = 0.0
    kinds = full["measure"].map({k: m.kind for k, m in MEASURES.items()})
    full.loc[empty & (kinds == "percent"), "numerator"] = 0.0
    full.loc[empty & (kinds == "count"), "value"] = 0.0
    return full


def equity_table(derived: pd.DataFrame, census_date, months: int = 12,
                 dimensions=("all", "sex_age", "ethnic_group", "imd_quintile", "core20"),
                 flags: dict | None = None) -> pd.DataFrame:
    """Waits and DNA by equity group, pooled over the last ``months`` months.

    ``dimensions`` may name local PLUS flags declared in ``flags`` (``{column: label}``, see
    :func:`qi_equity.data.contract.get_dimension`).

    Returns
    -------
    pandas.DataFrame
        One row per dimension x group: ``dimension, dimension_label, group, completed``
        (pathways completed in the window), ``median_wait`` (weeks), ``over_18`` and
        ``over_18_pct``, ``over_52`` and ``over_52_pct``, ``dna_denominator`` (pathways whose
        first appointment fell in the window), ``dna`` (of them, with at least one DNA),
        ``dna_rate`` (%), ``waiting`` (on the list at the census date).
        Not suppressed: apply :func:`qi_equity.disclosure.suppress_table` before publishing.
    """
    win = window(census_date, months)
    census = pd.Timestamp(census_date)
    rows = []
    in_win_stop = derived["completed"] & derived["clock_stop_month"].isin(win)
    in_win_first = derived["first_appointment_month"].isin(win)
    waiting = derived["outcome"].eq("waiting") & (derived["referral_date"] <= census)
    for dim in dimensions:
        g = C.dimension_values(derived, dim, flags)
        d = C.get_dimension(dim, flags)
        for group in d.groups:
            m = (g == group).to_numpy()
            if not m.any() and group in ("Not known 0-15", "Not known 16-64", "Not known 65+", "Unmatched"):
                continue
            c = m & in_win_stop.to_numpy()
            w = derived["wait_weeks"].to_numpy()[c]
            o18 = int(derived["over_18_weeks"].to_numpy()[c].sum())
            o52 = int(derived["over_52_weeks"].to_numpy()[c].sum())
            rem = int(derived["removed"].to_numpy()[c].sum())
            f = m & in_win_first.to_numpy()
            k = int(derived["any_dna"].to_numpy()[f].sum())
            n = int(c.sum())
            nf = int(f.sum())
            rows.append({
                "dimension": dim, "dimension_label": d.label, "group": group,
                "completed": n, "median_wait": float(np.median(w)) if n else np.nan,
                "over_18": o18, "over_18_pct": 100 * o18 / n if n else np.nan,
                "over_52": o52, "over_52_pct": 100 * o52 / n if n else np.nan,
                "removed": rem, "removed_pct": 100 * rem / n if n else np.nan,
                "dna_denominator": nf, "dna": k, "dna_rate": 100 * k / nf if nf else np.nan,
                "waiting": int((m & waiting.to_numpy()).sum()),
            })
    return pd.DataFrame(rows)


def data_quality(derived: pd.DataFrame) -> pd.DataFrame:
    """Recording-quality measures for one provider (not errors: poor recording is a finding).

    Returns
    -------
    pandas.DataFrame
        ``measure, label, count, denominator, percent`` for: ethnicity not stated (Z),
        ethnicity not known (99), IMD unmatched, sex not known, treated pathways without a
        first-appointment date, pathways with PLUS flags recorded.
    """
    n = len(derived)
    treated = derived["outcome"].eq("treated")
    items = [
        ("ethnicity_not_stated", "Ethnic category Z (not stated)", int(derived["ethnic_category"].eq("Z").sum()), n),
        ("ethnicity_not_known", "Ethnic category 99 (not known)", int(derived["ethnic_category"].eq("99").sum()), n),
        ("ethnicity_unrecorded", "Ethnicity not recorded (Z or 99)", int((~derived["ethnicity_recorded"]).sum()), n),
        ("imd_unmatched", "IMD decile unmatched", int(derived["imd_quintile"].isna().sum()), n),
        ("sex_not_known", "Sex not known", int(derived["sex"].eq("U").sum()), n),
        ("first_appointment_missing", "Treated pathways without a first-appointment date",
         int((treated & derived["first_appointment_date"].isna()).sum()), int(treated.sum())),
    ]
    for flag in C.BOOL_COLUMNS:
        if flag in derived:
            items.append((f"{flag}_recorded", f"{flag.replace('_', ' ').capitalize()} flag recorded",
                          int(derived[flag].notna().sum()), n))
    df = pd.DataFrame(items, columns=["measure", "label", "count", "denominator"])
    df["percent"] = np.where(df["denominator"] > 0, 100 * df["count"] / df["denominator"].where(df["denominator"] > 0, 1), np.nan)
    return df
