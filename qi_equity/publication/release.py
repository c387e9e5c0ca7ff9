"""A provider's release: every count it publishes, decided once.

:func:`provider_release` gathers, from the full data, every count cell that any artefact of the
provider report shows -- the monthly aggregate (metrics file, SPC charts), the 12-month equity
and inequality tables, recording quality, pathway stages, IMD deciles, the Core20PLUS5 areas'
tables, the findings and the series their charts draw -- with the unshown cells their relations need (complete partitions,
all-patient totals), and protects them together (:func:`qi_equity.publication.protect.protect`).
Every table, chart and file is then a *view* of the release: a value is shown only when the
release publishes the cells it rests on, and a median only when it rests on at least the rule's
minimum of pathways.

A view asking for a cell the release does not hold is an error, not a silent publication: that
is how "one place decides" is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qi_equity import measures as M
from qi_equity.data import contract as C
from qi_equity.publication.cells import KEY, month_label, run_label, verified_links
from qi_equity.publication.protect import Protected, Rule, protect

#: Aggregate-form measure -> (numerator count, denominator count, kind of value).
AGG_BASES = {
    "completed_median_wait": (None, "completed", "median"),
    "completed_over_18": ("over_18", "completed", "percent"),
    "completed_over_52": ("over_52", "completed", "percent"),
    "removed_other": ("removed", "completed", "percent"),
    "dna_rate": ("dna", "first_appts", "percent"),
    "first_appointment_wait": (None, "first_appts", "median"),
    "referrals": (None, "referrals", "count"),
    "waiting_list": (None, "waiting", "count"),
    "waiting_over_18": ("waiting_over_18", "waiting", "percent"),
}
#: Scanned measure -> (denominator count, numerator count or None for a median).
SCAN_BASES = {
    "completed_median_wait": ("completed", None), "completed_over_18": ("completed", "over_18"),
    "completed_over_52": ("completed", "over_52"), "removed_other": ("completed", "removed"),
    "dna_rate": ("first_appts", "dna"), "first_appointment_wait": ("first_appts", None),
}
#: Equity-table column -> count.
EQUITY_BASES = {"completed": "completed", "over_18": "over_18", "over_52": "over_52", "removed": "removed",
                "dna_denominator": "first_appts", "dna": "dna"}


# ------------------------------------------------------------------------------------------
# Cells from the full data
# ------------------------------------------------------------------------------------------

def aggregate_cells(agg: pd.DataFrame) -> pd.DataFrame:
    """Count cells of the aggregate form (month periods): one row per distinct count."""
    parts = []
    month = pd.to_datetime(agg["month"]).dt.strftime("%Y-%m")
    for measure, (num, den, _) in AGG_BASES.items():
        sel = (agg["measure"] == measure).to_numpy()
        if not sel.any():
            continue
        a = agg[sel]
        base = pd.DataFrame({"period": month[sel].to_numpy(), "specialty": a["specialty"].astype(str).to_numpy(),
                             "dimension": a["dimension"].astype(str).to_numpy(), "group": a["group"].astype(str).to_numpy()})
        parts.append(base.assign(measure=den, value=a["denominator"].to_numpy(float)))
        if num:
            parts.append(base.assign(measure=num, value=a["numerator"].to_numpy(float)))
    if not parts:
        return pd.DataFrame(columns=KEY + ["value"])
    out = pd.concat(parts, ignore_index=True)[KEY + ["value"]]
    return _dedupe(out, "aggregate")


def _dedupe(cells: pd.DataFrame, what: str) -> pd.DataFrame:
    """One row per key; a key given two different values is an error (two artefacts would
    publish different numbers for the same people)."""
    g = cells.groupby(KEY, sort=False)["value"]
    spread = g.max() - g.min()
    bad = spread[spread.abs() > 1e-9]
    if len(bad):
        raise ValueError(f"{what}: {len(bad)} count(s) computed two ways with different values, e.g. "
                         f"{dict(zip(KEY, bad.index[0]))}")
    return cells.drop_duplicates(KEY).reset_index(drop=True)


def window_cells(derived: pd.DataFrame, census_date, months: int = 12, dimensions=("all", "sex_age", "ethnic_group",
                 "imd_quintile", "core20")) -> pd.DataFrame:
    """The window's counts by group (the equity and inequality tables) and by IMD decile."""
    win = M.window(census_date, months)
    period = run_label(win[0], win[-1])
    t = M.equity_table(derived, census_date, months, dimensions=dimensions)
    parts = []
    for col, base in EQUITY_BASES.items():
        parts.append(pd.DataFrame({"measure": base, "period": period, "specialty": "all",
                                   "dimension": t["dimension"].to_numpy(), "group": t["group"].to_numpy(),
                                   "value": t[col].to_numpy(float)}))
    parts.append(decile_cells(derived, census_date, months))
    parts.append(referral_cells(derived, census_date, months, tuple(dimensions)))
    return pd.concat(parts, ignore_index=True)


#: Counts of a Core20PLUS5 area's table (equity-table column -> count).
AREA_BASES = {"completed": "completed", "over_18": "over_18", "dna_denominator": "first_appts", "dna": "dna"}


def area_cells(derived: pd.DataFrame, census_date, areas: pd.DataFrame, dimensions=("all", "core20"),
               months: int = 12, flags: dict | None = None) -> pd.DataFrame:
    """Window counts of each Core20PLUS5 area by group (shown), and the same counts of each of its
    treatment functions (unshown: the area is their sum, a relation the disclosure check holds).

    Parameters
    ----------
    derived : pathways with derived fields (full data).
    areas : :func:`qi_equity.data.core20plus5.areas_present` output (its ``key`` and ``codes``).
    dimensions : ``all``, ``core20`` and the PLUS flags the collaborative declares.

    Returns
    -------
    pandas.DataFrame
        :data:`KEY`, ``value``, ``shown``; an area's specialty is its ``key``.
    """
    win = M.window(census_date, months)
    period = run_label(win[0], win[-1])
    spec = derived["specialty"].astype(str)
    parts = []

    def counts(sub, specialty, shown):
        t = M.equity_table(sub, census_date, months, dimensions=tuple(dimensions), flags=flags)
        for col, base in AREA_BASES.items():
            parts.append(pd.DataFrame({"measure": base, "period": period, "specialty": specialty,
                                       "dimension": t["dimension"].to_numpy(), "group": t["group"].to_numpy(),
                                       "value": t[col].to_numpy(float), "shown": shown}))

    for a in areas.itertuples(index=False):
        counts(derived[spec.isin(a.codes).to_numpy()], a.key, True)
        for code in a.codes:
            counts(derived[(spec == code).to_numpy()], code, False)
    if not parts:
        return pd.DataFrame(columns=KEY + ["value", "shown"])
    return pd.concat(parts, ignore_index=True)


def referral_cells(derived: pd.DataFrame, census_date, months: int = 12, dimensions=("all",)) -> pd.DataFrame:
    """Referrals received in the window by group (representation and stage tables)."""
    win = M.window(census_date, months)
    period = run_label(win[0], win[-1])
    inwin = derived["referral_month"].isin(win).to_numpy()
    rows = []
    for dim in dimensions:
        g = C.dimension_values(derived, dim).astype(str).to_numpy()
        vc = pd.Series(g[inwin]).value_counts()
        for grp in dict.fromkeys(list(C.DIMENSIONS[dim].groups) + sorted(vc.index)):
            rows.append(("referrals", period, "all", dim, grp, float(vc.get(grp, 0))))
    return pd.DataFrame(rows, columns=KEY + ["value"])


def decile_cells(derived: pd.DataFrame, census_date, months: int = 12) -> pd.DataFrame:
    win = M.window(census_date, months)
    period = run_label(win[0], win[-1])
    dec = derived["imd_decile"]
    label = dec.map(lambda v: str(int(v)) if pd.notna(v) else "Unmatched")
    rows = []
    first = derived["first_appointment_month"].isin(win)
    done = derived["completed"] & derived["clock_stop_month"].isin(win)
    for base, sel, flag in (("first_appts", first, None), ("dna", first, "any_dna"),
                            ("completed", done, None), ("over_18", done, "over_18_weeks")):
        w = sel if flag is None else sel & derived[flag].astype(bool)
        counts = label[w.to_numpy()].value_counts()
        for g in [str(i) for i in range(1, 11)] + ["Unmatched"]:
            rows.append((base, period, "all", "imd_decile", g, float(counts.get(g, 0))))
    return pd.DataFrame(rows, columns=KEY + ["value"])


def quality_cells(derived: pd.DataFrame) -> pd.DataFrame:
    """Recording-quality counts (every pathway of the extract) and their denominators."""
    dq = M.data_quality(derived)
    rows = []
    for r in dq.itertuples():
        den = "treated" if r.measure == "first_appointment_missing" else "pathways"
        rows.append((f"dq:{r.measure}", "extract", "all", "all", "All", float(r.count), den))
        rows.append((den, "extract", "all", "all", "All", float(r.denominator), None))
    out = pd.DataFrame(rows, columns=KEY + ["value", "parent"]).drop_duplicates(KEY)
    return out


def stage_cells(derived: pd.DataFrame, census_date, dimension: str = "sex_age", months: int = 12) -> pd.DataFrame:
    """Counts behind the pathway-stage table (see :func:`qi_equity.system.stage_analysis`)."""
    win = M.window(census_date, months)
    period = run_label(win[0], win[-1])
    g = C.dimension_values(derived, dimension).astype(str).to_numpy()
    done = (derived["completed"] & derived["clock_stop_month"].isin(win) & derived["first_appointment_date"].notna()).to_numpy()
    cohort = derived["referral_month"].isin(win).to_numpy()
    seen = derived["first_appointment_date"].notna().to_numpy()
    comp = derived["completed"].to_numpy(bool)
    treated = derived["outcome"].eq("treated").to_numpy()
    masks = {"stage_completed": done, "referrals_seen": cohort & seen, "seen_completed": cohort & seen & comp,
             "seen_treated": cohort & seen & comp & treated}
    groups = list(dict.fromkeys(list(C.DIMENSIONS[dimension].groups) + sorted(set(g))))
    rows = []
    for base, m in masks.items():
        vc = pd.Series(g[m]).value_counts()
        for grp in groups:
            rows.append((base, period, "all", dimension, grp, float(vc.get(grp, 0))))
        rows.append((base, period, "all", "all", "All", float(m.sum())))
    return pd.DataFrame(rows, columns=KEY + ["value"])


def _period_labels(dates: pd.DatetimeIndex, grain: int) -> list[str]:
    return [run_label(d, d + pd.DateOffset(months=grain - 1)) for d in dates]


@dataclass
class SeriesRequest:
    """A series a chart draws: ``measure`` (a scanned measure) of ``group`` (and, for a gap,
    ``reference``) in ``specialty`` x ``dimension`` at ``grain`` months per period."""

    measure: str
    specialty: str
    dimension: str
    group: str
    reference: str | None
    grain: int


def findings_cells(found, charts: list[SeriesRequest] = (), published_ids=None) -> pd.DataFrame:
    """Counts behind the findings: for each finding about a cell, the window counts of its group and
    its reference (shown), and for each charted series, the counts of each period (shown); with,
    unshown, every other group of the same specialty x dimension (so partitions are complete)."""
    data = found.cells
    if data is None:
        return pd.DataFrame(columns=KEY + ["value", "shown"])
    cells = data.cells
    months = data.months
    w = data.window_months
    win_label = run_label(months[-w], months[-1])
    rows: list[pd.DataFrame] = []
    shown_keys: set = set()

    def block(spec, dim):
        return cells[(cells["specialty"] == spec) & ((cells["dimension"] == dim) | (cells["dimension"] == "all"))]

    def add_counts(measure, spec, dim, period_labels, arr_n, arr_x, idx):
        den, num = SCAN_BASES[measure]
        b = block(spec, dim)
        for lab_i, lab in enumerate(period_labels):
            ci = b["cell"].to_numpy()
            rows.append(pd.DataFrame({"measure": den, "period": lab, "specialty": spec,
                                      "dimension": b["dimension"].to_numpy(), "group": b["group"].to_numpy(),
                                      "value": arr_n[ci, idx[lab_i]] if arr_n.ndim == 2 else arr_n[ci]}))
            if num:
                rows.append(pd.DataFrame({"measure": num, "period": lab, "specialty": spec,
                                          "dimension": b["dimension"].to_numpy(), "group": b["group"].to_numpy(),
                                          "value": arr_x[ci, idx[lab_i]] if arr_x.ndim == 2 else arr_x[ci]}))

    def add_everyone_else(measure, spec, dim, group, period, n, x):
        den, num = SCAN_BASES[measure]
        rows.append(pd.DataFrame({"measure": [den], "period": [period], "specialty": [spec], "dimension": [dim],
                                  "group": ["~" + group], "value": [float(n)]}))
        shown_keys.add((den, period, spec, dim, "~" + group))
        if num:
            rows.append(pd.DataFrame({"measure": [num], "period": [period], "specialty": [spec], "dimension": [dim],
                                      "group": ["~" + group], "value": [float(x)]}))
            shown_keys.add((num, period, spec, dim, "~" + group))

    def mark(measure, period, spec, dim, group):
        den, num = SCAN_BASES[measure]
        shown_keys.add((den, period, spec, dim, group))
        if num:
            shown_keys.add((num, period, spec, dim, group))

    from qi_equity.findings.cells import EVERYONE_ELSE

    f = found.data
    if published_ids is not None:
        f = f[f["finding_id"].isin(published_ids)]
    for r in f.itertuples():
        if r.measure not in SCAN_BASES or pd.isna(r.cell) or int(r.cell) < 0:
            continue
        if r.kind not in ("gap_now", "gap_changing", "improvement", "group_changing", "stage"):
            continue
        pooled = data.pooled[r.measure]
        n = pooled["n"].to_numpy(float)
        x = pooled["x"].to_numpy(float) if "x" in pooled else n * np.nan
        add_counts(r.measure, r.specialty, r.dimension, [win_label], n, x, [0])
        mark(r.measure, win_label, r.specialty, r.dimension, r.group)
        if r.kind in ("gap_now", "gap_changing", "improvement", "stage"):
            if r.reference_group == EVERYONE_ELSE:
                comp = data.complement[r.measure]
                add_everyone_else(r.measure, r.specialty, r.dimension, r.group, win_label,
                                  comp["n"].iat[int(r.cell)], comp["x"].iat[int(r.cell)] if "x" in comp else np.nan)
            elif isinstance(r.reference_group, str) and r.reference_group:
                mark(r.measure, win_label, r.specialty, r.dimension, r.reference_group)
    for s in charts:
        if s.measure not in SCAN_BASES or s.grain <= 0:
            continue
        arr, dates = data.series(s.measure, s.grain)
        labels = _period_labels(dates, s.grain)
        n = arr["n"]
        x = arr.get("x", n * np.nan)
        add_counts(s.measure, s.specialty, s.dimension, labels, n, x, list(range(len(labels))))
        for lab in labels:
            mark(s.measure, lab, s.specialty, s.dimension, s.group)
            if s.reference:
                mark(s.measure, lab, s.specialty, s.dimension, s.reference)
    if not rows:
        return pd.DataFrame(columns=KEY + ["value", "shown"])
    out = pd.concat(rows, ignore_index=True)
    out = out[out["value"].notna()]
    out = _dedupe(out, "findings")
    out["shown"] = [k in shown_keys for k in zip(*(out[c].to_numpy() for c in KEY))]
    return out


# ------------------------------------------------------------------------------------------
# The release
# ------------------------------------------------------------------------------------------

@dataclass
class Release:
    """What a provider publishes (see the module docstring).

    Attributes
    ----------
    cells : pandas.DataFrame
        :data:`~qi_equity.publication.cells.KEY`, ``value`` (full data), ``shown``, ``hidden``,
        ``reason`` and ``published`` (NaN where hidden or unshown).
    rule : Rule
    links : tuple of the link families verified on the data.
    """

    cells: pd.DataFrame
    rule: Rule
    links: tuple = ()
    protected: Protected | None = None
    _index: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._index = {k: i for i, k in enumerate(zip(*(self.cells[c].astype(str).to_numpy() for c in KEY)))}

    @property
    def threshold(self) -> int:
        return self.rule.threshold

    def _rows(self, keys: pd.DataFrame, strict: bool = True) -> np.ndarray:
        tup = zip(*(keys[c].astype(str).to_numpy() for c in KEY))
        idx = np.array([self._index.get(k, -1) for k in tup], dtype=np.int64)
        if strict and (idx < 0).any():
            miss = keys[idx < 0].head(3)[KEY].to_dict("records")
            raise KeyError(f"{int((idx < 0).sum())} count(s) asked of the release are not in it (so they were never "
                           f"checked for disclosure), e.g. {miss}")
        return idx

    def published(self, keys: pd.DataFrame, strict: bool = True) -> np.ndarray:
        """Published value of each key (NaN where hidden)."""
        idx = self._rows(keys, strict)
        vals = self.cells["published"].to_numpy(float)
        shown = self.cells["shown"].to_numpy(bool)
        out = np.full(len(idx), np.nan)
        ok = idx >= 0
        out[ok] = np.where(shown[idx[ok]], vals[idx[ok]], np.nan)
        if strict and ok.any() and not shown[idx[ok]].all():
            bad = keys[ok].iloc[np.flatnonzero(~shown[idx[ok]])[:3]][KEY].to_dict("records")
            raise KeyError(f"count(s) asked of the release that no artefact was declared to show, e.g. {bad}")
        return out

    def count(self, measure, period, specialty, dimension, group) -> float:
        return float(self.published(pd.DataFrame([[measure, period, specialty, dimension, group]], columns=KEY))[0])

    def median_ok(self, base: np.ndarray) -> np.ndarray:
        """Whether a median on these published base counts may be shown."""
        b = np.asarray(base, dtype=float)
        return ~np.isnan(b) & (b >= self.rule.min_median)

    def shown_cells(self) -> pd.DataFrame:
        """The published cells: :data:`KEY` and ``value`` (None where hidden) -- what the metrics file
        carries and the audit reads back."""
        s = self.cells[self.cells["shown"]]
        return s[KEY].assign(value=s["published"].to_numpy(float)).reset_index(drop=True)

    # --- views ------------------------------------------------------------------------------
    def aggregate(self, agg: pd.DataFrame) -> pd.DataFrame:
        """The aggregate form as published: counts hidden where the release hides them, values
        hidden where a count they rest on is, medians hidden below the minimum base."""
        out = agg.copy()
        month = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
        num_pub = np.full(len(out), np.nan)
        den_pub = np.full(len(out), np.nan)
        val = out["value"].to_numpy(float).copy()
        for measure, (num, den, kind) in AGG_BASES.items():
            sel = (out["measure"] == measure).to_numpy()
            if not sel.any():
                continue
            keys = pd.DataFrame({"period": month[sel].to_numpy(), "specialty": out.loc[sel, "specialty"].to_numpy(),
                                 "dimension": out.loc[sel, "dimension"].to_numpy(), "group": out.loc[sel, "group"].to_numpy()})
            d = self.published(keys.assign(measure=den))
            den_pub[sel] = d
            if num:
                nm = self.published(keys.assign(measure=num))
                num_pub[sel] = nm
                ok = ~np.isnan(d) & ~np.isnan(nm)
            elif kind == "median":
                ok = self.median_ok(d)
            else:
                ok = ~np.isnan(d)
            v = val[sel]
            v[~ok] = np.nan
            val[sel] = v
        out["numerator"] = np.where(out["numerator"].isna(), np.nan, num_pub)
        out["denominator"] = den_pub
        out["value"] = val
        return out


def provider_release(derived: pd.DataFrame, census_date, agg: pd.DataFrame | None = None, found=None,
                     rule: Rule | None = None, months: int = 12, charts: list[SeriesRequest] = (),
                     stage_dimension: str | None = "sex_age", extra: pd.DataFrame | None = None,
                     areas: pd.DataFrame | None = None, area_dimensions=("all", "core20"),
                     flags: dict | None = None) -> Release:
    """Everything a provider report publishes, protected together.

    Parameters
    ----------
    derived : pathways with derived fields.
    census_date : the census month.
    agg : the monthly aggregate the report publishes (:func:`qi_equity.measures.monthly_measures`).
    found : the provider's :class:`~qi_equity.findings.FindingsResult` (its findings and charts).
    rule : the disclosure rule (default: counts 1-4, medians on 10 or more).
    months : the window of the equity tables.
    charts : the series the report charts from the scan's cells.
    stage_dimension : the dimension of the pathway-stage table (None: no stage table).
    extra : further cells (``KEY, value``, optional ``shown``, ``parent``).
    areas : the Core20PLUS5 areas the report shows (:func:`qi_equity.data.core20plus5.areas_present`),
        by ``area_dimensions`` (``all``, ``core20`` and the PLUS flags; local ones declared in
        ``flags``): see :func:`area_cells`.
    """
    rule = rule or Rule()
    parts = []
    if agg is not None and len(agg):
        parts.append(aggregate_cells(agg).assign(shown=True))
    parts.append(window_cells(derived, census_date, months).assign(shown=True))
    parts.append(quality_cells(derived).assign(shown=True))
    if stage_dimension:
        parts.append(stage_cells(derived, census_date, stage_dimension, months).assign(shown=True))
    if found is not None:
        parts.append(findings_cells(found, charts))
    if areas is not None and len(areas):
        parts.append(area_cells(derived, census_date, areas, area_dimensions, months, flags))
    if extra is not None and len(extra):
        parts.append(extra if "shown" in extra else extra.assign(shown=True))
    cells = pd.concat(parts, ignore_index=True)
    for c in KEY:
        cells[c] = cells[c].astype(str)
    cells["shown"] = cells.groupby(KEY, sort=False)["shown"].transform("max").astype(bool)
    if "parent" in cells:
        cells["parent"] = cells.groupby(KEY, sort=False)["parent"].transform("first")
    cells = _dedupe(cells, "release")
    links = verified_links(cells)
    p = protect(cells, rule, links)
    return Release(p.cells, rule, links, p)


def aggregate_release(agg: pd.DataFrame, rule: Rule | None = None) -> Release:
    """The release of an aggregate form alone (the ``aggregate`` command, the national path):
    one provider's rows."""
    rule = rule or Rule()
    cells = aggregate_cells(agg).assign(shown=True)
    links = verified_links(cells)
    p = protect(cells, rule, links)
    return Release(p.cells, rule, links, p)


__all__ = ["Release", "SeriesRequest", "provider_release", "aggregate_release", "aggregate_cells", "window_cells",
           "area_cells",
           "quality_cells", "stage_cells", "findings_cells", "month_label"]
