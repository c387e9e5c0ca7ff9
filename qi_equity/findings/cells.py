"""The cells a scan tests: every specialty x equity dimension x group, and their series.

A *cell* is one group of one dimension in one specialty (or all specialties pooled), e.g.
"working-age women in Trauma and Orthopaedics". :class:`CellData` holds, for every cell and
every flow measure, the counts (percentages) or the medians (waits) of each month of the
history window, at a monthly grain and coarser ones, and the pooled statistics of the last
``window_months`` months (with Bonett-Price standard errors of medians). It is built from a
provider's derived pathways with numpy (one sort per median measure and grain; bincounts for
counts), or from the aggregate form for trusts that share only counts.

Flow measures only: pathways completed in the month (by clock-stop month), first
appointments in the month; snapshot measures are never scanned (docs/findings.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qi_equity import measures as M
from qi_equity.data import contract as C
from qi_equity.equity.gaps import median_runs

#: Dimensions scanned by default (PLUS flags present in the extract are added).
SCAN_DIMENSIONS = ("all", "sex", "age_band", "sex_age", "ethnic_group", "imd_quintile",
                   "sex_age_core20", "ethnic_core20")
#: PLUS-group flags of the contract, scanned when the extract has them.
CONTRACT_FLAGS = ("learning_disability", "interpreter_needed")
#: Flow measures scanned: (event, kind, value) -- see :data:`MEASURE_EVENTS`.
SCAN_MEASURES = ("completed_median_wait", "completed_over_18", "completed_over_52", "dna_rate",
                 "first_appointment_wait", "removed_other")
#: For each scanned measure: the event it counts (``completed`` by clock-stop month, or ``first``
#: appointment by its month), whether it is a median (of days) or a percentage (of a flag).
MEASURE_EVENTS = {
    "completed_median_wait": ("completed", "median", "wait_days"),
    "completed_over_18": ("completed", "percent", "over_18_weeks"),
    "completed_over_52": ("completed", "percent", "over_52_weeks"),
    "removed_other": ("completed", "percent", "removed"),
    "dna_rate": ("first", "percent", "any_dna"),
    "first_appointment_wait": ("first", "median", "first_days"),
}
#: The reference of the second gap-now comparison of every group: everyone else in its specialty
#: whose group on the dimension is recorded.
EVERYONE_ELSE = "everyone else"
#: A specialty is scanned on its own when it has at least this many completed pathways in the
#: pooled window (20 a month over 12 months): smaller ones are scanned only within "all".
MIN_SPECIALTY_COMPLETED = 240


@dataclass
class CellData:
    """Cells and their series for one provider.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per cell: ``cell`` (its index), ``specialty`` ("all" or a treatment function
        code), ``dimension``, ``group``, ``is_reference`` (the dimension's reference group),
        ``unrecorded`` (a not-recorded group: data quality, never compared), ``pathways``
        (pathways in the extract, all dates).
    months : pandas.DatetimeIndex
        The history window (month starts).
    window_months : int
        Months pooled for the "now" statistics (the last of the history window).
    """

    provider_code: str
    cells: pd.DataFrame
    months: pd.DatetimeIndex
    window_months: int
    dimensions: dict
    specialty_names: dict
    monthly: dict = field(default_factory=dict)   # measure -> {"n": [C, T], "x" or "median": [C, T]}
    coarse: dict = field(default_factory=dict)    # (measure, grain) -> same, for grain > 1
    pooled: dict = field(default_factory=dict)    # measure -> DataFrame per cell
    complement: dict = field(default_factory=dict)  # measure -> the same for "everyone else" of each cell
    source: str = "pathways"
    _members: tuple | None = None                 # (rows, cells) for overlaps, pathway input only

    # ------------------------------------------------------------------------------------
    def series(self, measure: str, grain: int = 1) -> tuple[dict, pd.DatetimeIndex]:
        """Per-period arrays of a measure at a grain (1, 2 or 3 months) and the periods' first months.

        Periods are counted back from the census month, so the latest period always ends with it
        (a coarser grain drops the oldest months that do not fill a period).
        """
        t = len(self.months)
        if grain == 1:
            return self.monthly[measure], self.months
        n_periods = t // grain
        first = t - n_periods * grain
        dates = self.months[first::grain]
        key = (measure, grain)
        if key not in self.coarse:
            m = self.monthly[measure]
            n = m["n"][:, first:].reshape(len(self.cells), n_periods, grain)
            out = {"n": n.sum(axis=2)}
            if "x" in m:
                out["x"] = m["x"][:, first:].reshape(len(self.cells), n_periods, grain).sum(axis=2)
            else:  # aggregate input: no pathways to re-sort, so a count-weighted mean of monthly medians
                med = m["median"][:, first:].reshape(len(self.cells), n_periods, grain)
                with np.errstate(invalid="ignore", divide="ignore"):
                    out["median"] = np.nansum(med * n, axis=2) / np.where(out["n"] > 0, out["n"], np.nan)
            self.coarse[key] = out
        return self.coarse[key], dates

    def overlap(self, a: int, b: int) -> float:
        """Overlap coefficient of two cells' pathways: |A and B| / min(|A|, |B|).

        From the pathways when the cells were built from them; from the definitions otherwise
        (1 when one cell is the other, or a part of it -- a specialty of "all", or an
        intersection of one of its parts; else 0).
        """
        if self._members is not None:
            rows, cells = self._members
            ra, rb = rows[cells == a], rows[cells == b]
            if not len(ra) or not len(rb):
                return 0.0
            return float(len(np.intersect1d(ra, rb, assume_unique=True)) / min(len(ra), len(rb)))
        ca, cb = self.cells.iloc[a], self.cells.iloc[b]
        if not (ca.specialty == cb.specialty or "all" in (ca.specialty, cb.specialty)):
            return 0.0
        if ca.dimension == cb.dimension:
            return 1.0 if ca.group == cb.group else 0.0
        for x, y in ((ca, cb), (cb, ca)):
            dim = self.dimensions.get(x.dimension)
            if dim is not None and dim.kind == "intersection" and y.dimension in dim.parts:
                part = x.group.split(", ")[list(dim.parts).index(y.dimension)]
                return 1.0 if part == y.group else 0.0
        return 0.0


def scan_dimensions(derived_columns, flags: dict | None = None, dimensions=SCAN_DIMENSIONS) -> dict:
    """The dimensions to scan: ``dimensions``, plus every contract PLUS flag in the extract, plus
    the collaborative's own flags (``{column: label}``; a declared flag the extract lacks is an
    error naming it)."""
    out = {d: C.get_dimension(d) for d in dimensions}
    cols = set(derived_columns)
    for f in CONTRACT_FLAGS:
        if f in cols:
            out[f] = C.DIMENSIONS[f]
    for f, label in (flags or {}).items():
        if f not in cols:
            raise ValueError(f"the collaborative declares the PLUS flag '{f}', but the extract has no column '{f}'")
        out[f] = C.flag_dimension(f, label)
    return out


def _cells_table(specialties: list[str], dims: dict) -> tuple[pd.DataFrame, dict]:
    rows, offsets, off = [], {}, 0
    for name, d in dims.items():
        offsets[name] = off
        off += len(d.groups)
    per_spec = off
    for s in specialties:
        for name, d in dims.items():
            for g in d.groups:
                rows.append((s, name, g, g == d.reference, g in d.unrecorded))
    cells = pd.DataFrame(rows, columns=["specialty", "dimension", "group", "is_reference", "unrecorded"])
    cells.insert(0, "cell", np.arange(len(cells)))
    return cells, {"offsets": offsets, "per_spec": per_spec}


def _run_medians(keys_sorted: np.ndarray, span: int, lo: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """n and median (weeks) for every key of ``range(size)`` from sorted ``key * span + (days - lo)``."""
    n = np.zeros(size)
    med = np.full(size, np.nan)
    if not len(keys_sorted):
        return n, med
    k = keys_sorted // span
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    counts = np.diff(np.r_[starts, len(k)])
    runs = k[starts]
    vals = (keys_sorted - k * span + lo) / 7.0
    mid_lo, mid_hi = starts + (counts - 1) // 2, starts + counts // 2
    n[runs] = counts
    med[runs] = (vals[mid_lo] + vals[mid_hi]) / 2
    return n, med


def build(derived: pd.DataFrame, census_date, months: int = 36, window_months: int = 12,
          flags: dict | None = None, dimensions=SCAN_DIMENSIONS,
          min_specialty_completed: int = MIN_SPECIALTY_COMPLETED, grains=(1, 2)) -> CellData:
    """Cells and series of one provider from its derived pathways
    (:func:`qi_equity.data.contract.derive`)."""
    win = M.window(census_date, months)
    t_n = len(win)
    first = win[0].year * 12 + win[0].month - 1
    n_rows = len(derived)
    provider = str(derived["provider_code"].iloc[0]) if n_rows else ""
    dims = scan_dimensions(derived.columns, flags, dimensions)

    def month_index(col) -> np.ndarray:
        d = pd.DatetimeIndex(derived[col])
        out = (d.year * 12 + d.month - 1 - first).to_numpy(dtype=float)
        return np.where(np.isnan(out), -1, out).astype(np.int64)

    t_stop, t_first = month_index("clock_stop_date"), month_index("first_appointment_date")
    completed = derived["completed"].to_numpy(bool) & (t_stop >= 0) & (t_stop < t_n)
    seen = derived["first_appointment_date"].notna().to_numpy() & (t_first >= 0) & (t_first < t_n)
    recent = t_n - window_months
    spec = derived["specialty"].astype(str).to_numpy()
    done_recent = completed & (t_stop >= recent)
    vc = pd.Series(spec[done_recent]).value_counts()
    specialties = ["all"] + sorted(s for s, c in vc.items() if c >= min_specialty_completed)
    names = {}
    if "specialty_name" in derived:
        nm = derived[["specialty", "specialty_name"]].dropna().astype(str)
        names = nm.groupby("specialty")["specialty_name"].agg(lambda s: s.mode().iloc[0]).to_dict()
    cells, layout = _cells_table(specialties, dims)
    per_spec, offsets = layout["per_spec"], layout["offsets"]
    spec_index = {s: i for i, s in enumerate(specialties)}
    spec_i = np.array([spec_index.get(s, -1) for s in spec]) if n_rows else np.zeros(0, np.int64)

    rows_parts, cell_parts = [], []
    for name, d in dims.items():
        labels = C.dimension_values(derived, d).to_numpy(dtype=object)
        lookup = {g: i for i, g in enumerate(d.groups)}
        code = np.array([lookup.get(v, -1) for v in labels], dtype=np.int64) if n_rows else np.zeros(0, np.int64)
        unknown = code < 0
        if unknown.any():
            raise ValueError(f"dimension {name!r}: {int(unknown.sum())} pathway(s) have a group outside "
                             f"{list(d.groups)}, e.g. {sorted(set(labels[unknown]))[:3]}")
        base = offsets[name] + code
        rows_parts.append(np.arange(n_rows))
        cell_parts.append(base)
        own = spec_i > 0
        rows_parts.append(np.flatnonzero(own))
        cell_parts.append(spec_i[own] * per_spec + base[own])
    rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, np.int64)
    cellv = np.concatenate(cell_parts) if cell_parts else np.zeros(0, np.int64)
    n_cells = len(cells)
    cells["pathways"] = np.bincount(cellv, minlength=n_cells)

    wait_days = (derived["wait_weeks"].to_numpy(float) * 7).round()
    first_days = (derived["first_wait_weeks"].to_numpy(float) * 7).round()
    fields = {"wait_days": wait_days, "first_days": first_days,
              "over_18_weeks": derived["over_18_weeks"].to_numpy(bool),
              "over_52_weeks": derived["over_52_weeks"].to_numpy(bool),
              "removed": derived["removed"].to_numpy(bool), "any_dna": derived["any_dna"].to_numpy(bool)}
    events = {"completed": (completed, t_stop), "first": (seen, t_first)}
    data = CellData(provider, cells, win, window_months, dims, names)
    data._members = (rows, cellv)
    for measure in SCAN_MEASURES:
        event, kind, value = MEASURE_EVENTS[measure]
        mask, t = events[event]
        on = mask[rows]
        r, c = rows[on], cellv[on]
        tt = t[r]
        if kind == "percent":
            key = c * t_n + tt
            n = np.bincount(key, minlength=n_cells * t_n).reshape(n_cells, t_n).astype(float)
            x = np.bincount(key, weights=fields[value][r].astype(float),
                            minlength=n_cells * t_n).reshape(n_cells, t_n)
            data.monthly[measure] = {"n": n, "x": x}
            pn, px = n[:, recent:].sum(axis=1), x[:, recent:].sum(axis=1)
            data.pooled[measure] = pd.DataFrame({"n": pn, "x": px})
            data.complement[measure] = _complement_counts(cells, pn, px)
            continue
        v = fields[value][r]
        ok = np.isfinite(v)
        r, c, tt, v = r[ok], c[ok], tt[ok], v[ok].astype(np.int64)
        lo = int(v.min()) if len(v) else 0
        span = (int(v.max()) - lo + 1) if len(v) else 1
        vv = v - lo
        n, med = _run_medians(np.sort((c * t_n + tt) * span + vv), span, lo, n_cells * t_n)
        data.monthly[measure] = {"n": n.reshape(n_cells, t_n), "median": med.reshape(n_cells, t_n)}
        for g in grains:
            if g == 1:
                continue
            n_periods = t_n // g
            first_t = t_n - n_periods * g
            keep = tt >= first_t
            p = (tt[keep] - first_t) // g
            ng, mg = _run_medians(np.sort((c[keep] * n_periods + p) * span + vv[keep]), span, lo,
                                  n_cells * n_periods)
            data.coarse[(measure, g)] = {"n": ng.reshape(n_cells, n_periods), "median": mg.reshape(n_cells, n_periods)}
        rec = tt >= recent
        sk = np.sort(c[rec] * span + vv[rec])
        kc = sk // span
        counts = np.bincount(kc, minlength=n_cells)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        vals = (sk - kc * span + lo) / 7.0
        data.pooled[measure] = median_runs(vals, starts, counts)
        data.complement[measure] = _complement_medians(cells, vals, starts, counts)
    return data


def _blocks(cells: pd.DataFrame):
    """(specialty, dimension) blocks of recorded groups: the cells whose "everyone else" is the rest."""
    rec = cells[~cells["unrecorded"] & (cells["dimension"] != "all")]
    for _, b in rec.groupby(["specialty", "dimension"], sort=False):
        yield b["cell"].to_numpy()


def _complement_counts(cells: pd.DataFrame, n: np.ndarray, x: np.ndarray) -> pd.DataFrame:
    cn, cx = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    for block in _blocks(cells):
        cn[block] = n[block].sum() - n[block]
        cx[block] = x[block].sum() - x[block]
    return pd.DataFrame({"n": cn, "x": cx})


def _complement_medians(cells: pd.DataFrame, vals: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    """Median and Bonett-Price standard errors of everyone else's values, for every recorded cell."""
    out = pd.DataFrame({"n": np.zeros(len(cells)), "median": np.nan, "se": np.nan, "se_log": np.nan})
    for block in _blocks(cells):
        parts = [vals[starts[c]:starts[c] + counts[c]] for c in block]
        arrays, idx = [], []
        for i, c in enumerate(block):
            rest = np.sort(np.concatenate([p for j, p in enumerate(parts) if j != i])) if len(block) > 1 else np.zeros(0)
            arrays.append(rest)
            idx.append(c)
        lens = np.array([len(a) for a in arrays], dtype=np.int64)
        st = np.concatenate([[0], np.cumsum(lens)[:-1]])
        m = median_runs(np.concatenate(arrays) if len(arrays) else np.zeros(0), st, lens)
        out.loc[idx, ["n", "median", "se", "se_log"]] = m[["n", "median", "se", "se_log"]].to_numpy()
    return out


def from_aggregate(agg: pd.DataFrame, census_date, months: int = 36, window_months: int = 12) -> CellData:
    """Cells and series from the aggregate form (``month, provider_code, specialty, dimension,
    group, measure, numerator, denominator, value``).

    What the aggregate form cannot give is approximated and said so in ``source``: a pooled
    median is the count-weighted mean of the window's monthly medians, with a standard error
    from their spread (the months' medians as a sample); coarser grains weight monthly medians
    the same way. Overlaps between cells come from their definitions.
    """
    win = M.window(census_date, months)
    t_n = len(win)
    a = agg[agg["measure"].isin(SCAN_MEASURES)].copy()
    if a.empty:
        raise ValueError("the aggregate has none of the measures a scan needs: " + ", ".join(SCAN_MEASURES))
    codes = a["provider_code"].astype(str).unique()
    if len(codes) != 1:
        raise ValueError(f"the aggregate holds {len(codes)} providers ({', '.join(sorted(codes)[:5])}): scan one at a time")
    a["month"] = pd.to_datetime(a["month"])
    a = a[a["month"].isin(win)]
    a["specialty"] = a["specialty"].astype(str)
    present = list(dict.fromkeys(a["dimension"].astype(str)))
    dims = {}
    for d in present:
        try:
            dims[d] = C.get_dimension(d)
        except ValueError:
            groups = tuple(sorted(a.loc[a["dimension"] == d, "group"].astype(str).unique()))
            dims[d] = C.flag_dimension(d) if set(groups) <= set(C.FLAG_GROUPS) else \
                C.Dimension(d, d, d, groups, groups[0])
    specialties = ["all"] + sorted(s for s in a["specialty"].unique() if s != "all")
    cells, _ = _cells_table(specialties, dims)
    index = {(r.specialty, r.dimension, r.group): r.cell for r in cells.itertuples()}
    a["cell"] = [index.get((s, d, g), -1) for s, d, g in zip(a["specialty"], a["dimension"].astype(str),
                                                              a["group"].astype(str))]
    bad = a["cell"] < 0
    if bad.any():
        raise ValueError(f"{int(bad.sum())} aggregate row(s) name a group outside its dimension, e.g. "
                         f"{a.loc[bad, ['dimension', 'group']].head(3).values.tolist()}")
    a["t"] = (a["month"].dt.year * 12 + a["month"].dt.month - 1) - (win[0].year * 12 + win[0].month - 1)
    n_cells = len(cells)
    done = a[a["measure"] == "completed_median_wait"]  # pathways in a cell: its completions (all months)
    cells["pathways"] = np.bincount(done["cell"].to_numpy(int), weights=done["denominator"].fillna(0).to_numpy(float),
                                    minlength=n_cells).astype(int)
    data = CellData(str(codes[0]), cells, win, window_months, dims, {}, source="aggregate")
    recent = t_n - window_months
    for measure in SCAN_MEASURES:
        part = a[a["measure"] == measure]
        n = np.zeros((n_cells, t_n))
        c, t = part["cell"].to_numpy(int), part["t"].to_numpy(int)
        n[c, t] = part["denominator"].fillna(0).to_numpy(float)
        if MEASURE_EVENTS[measure][1] == "percent":
            x = np.zeros((n_cells, t_n))
            x[c, t] = part["numerator"].fillna(0).to_numpy(float)
            data.monthly[measure] = {"n": n, "x": x}
            data.pooled[measure] = pd.DataFrame({"n": n[:, recent:].sum(axis=1), "x": x[:, recent:].sum(axis=1)})
            data.complement[measure] = _complement_counts(cells, data.pooled[measure]["n"].to_numpy(),
                                                          data.pooled[measure]["x"].to_numpy())
        else:
            med = np.full((n_cells, t_n), np.nan)
            med[c, t] = part["value"].to_numpy(float)
            med[n == 0] = np.nan
            data.monthly[measure] = {"n": n, "median": med}
            mw, nw = med[:, recent:], n[:, recent:]
            with np.errstate(invalid="ignore", divide="ignore"):
                tot = nw.sum(axis=1)
                mean = np.nansum(mw * nw, axis=1) / np.where(tot > 0, tot, np.nan)
                k = np.isfinite(mw).sum(axis=1)
                sd = np.sqrt(np.nansum(nw * (mw - mean[:, None]) ** 2, axis=1) / np.where(tot > 0, tot, np.nan)
                             * k / np.maximum(k - 1, 1))
                se = sd / np.sqrt(np.maximum(k, 1))
            data.pooled[measure] = pd.DataFrame({"n": tot, "median": mean, "se": np.where(k >= 3, se, np.nan),
                                                 "se_log": np.where((k >= 3) & (mean > 0), se / mean, np.nan)})
    return data
