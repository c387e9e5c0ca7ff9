"""From tests to findings: false-discovery control, the chart check, kinds, headlines, words.

1. Every p-value of the provider -- gap now, gap change, group change, data quality, seldom
   heard -- enters one family, weighted (``Settings.all_patients_weight``: the few all-patient
   series a board reads first get a larger share of the error budget; weights average 1, which
   keeps the FDR controlled, Genovese, Roeder and Wasserman 2006 [3]_). One effect shows in many
   overlapping cells, and with plain
   Benjamini-Hochberg [1]_ a trust-wide change (hundreds of discoveries) loosens the threshold for
   everything else, letting chance findings through as headlines of their own. The scan therefore
   counts discoveries in *clusters* of overlapping findings (step 4), as Benjamini and Heller do for
   spatial signals [2]_: the threshold is ``q K / m`` for the largest ``K`` such that at least ``K``
   clusters have a test below it (``m`` tests in all). With no overlaps this is exactly
   Benjamini-Hochberg; with nothing planted it is the same as Benjamini-Hochberg (no discoveries).
2. A change is a finding only when it is material (``Settings.min_change`` of the level) and
   its Making Data Count chart shows special cause in the same direction within the last
   ``Settings.recent_months`` (so what the chart shows and what the finding says agree); a
   narrowing gap only when the group's own level improved (not just its reference's worsening).
3. Kinds: ``gap_now``, ``gap_changing`` (widening), ``improvement`` (narrowing),
   ``group_changing`` (deteriorating or improving), ``stage`` (where a wait gap opens; a
   follow-up of a finding, not a discovery of its own), ``data_quality``, ``seldom_heard``,
   ``too_few`` (a group too small to test).
4. One effect shows in many overlapping cells (working-age women in T&O, all women in T&O,
   working-age women in all specialties ...). Findings of the same polarity and measure family
   whose cells overlap (half the smaller cell's pathways or more) form a cluster; its
   *headline* is a group's own change when the cluster has one, else a gap's change, else a gap; of
   those, the finding whose relative effect is confidently largest (the lower 95% bound of the
   ratio, or of the change over its baseline), moved up to a cell that contains it when that cell
   shows the same kind of finding with a relative effect at least that lower bound: a change everywhere is headlined for everyone, a change confined to
   working-age women in one specialty for them. The others stay in the table, under ``also``.

References
----------
.. [1] Benjamini Y, Hochberg Y (1995). JRSS B 57: 289-300.
.. [2] Benjamini Y, Heller R (2007). False discovery rates for spatial signals. JASA 102: 1272-1281.
.. [3] Genovese CR, Roeder K, Wasserman L (2006). False discovery control with p-value weighting.
       Biometrika 93(3): 509-524.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import yaml
from scipy.stats import binom

from qi_equity.equity.intervals import wilson
from qi_equity.equity.multiplicity import adjust
from qi_equity.findings import scan as S
from qi_equity.findings.cells import MEASURE_EVENTS, CellData
from qi_equity.findings.words import sentence

FINDING_COLUMNS = [
    "finding_id", "provider_code", "kind", "measure", "dimension", "group", "reference_group", "specialty",
    "specialty_name", "period_start", "period_end", "window_months", "grain", "direction", "value_group",
    "value_reference", "mean_before", "mean_after", "size", "size_lower", "size_upper", "size_unit", "ratio",
    "ratio_lower", "ratio_upper", "stage", "evidence", "chart_id", "test", "statistic", "z", "p_value", "weight", "q_value",
    "strength", "headline", "cluster", "also", "sentence", "reason", "measure_list",
]
FINDING_COLUMNS_DOC = """
    finding_id : stable across reruns (a hash of provider, kind, measure, dimension, group, specialty).
    provider_code, kind, measure, dimension, group, reference_group : what and who.
    specialty, specialty_name : treatment function code ("all" for all specialties) and its name.
    period_start, period_end : the period the finding describes (the pooled window, or since the change).
    window_months : months pooled for "now"; grain : months per period of the charted series (0: none).
    direction : worse / deteriorating / improving / widening / narrowing / below (engagement) / above.
    value_group, value_reference : the two values compared (weeks or %), or the share and its standard.
    mean_before, mean_after : levels before and after a change.
    size, size_lower, size_upper, size_unit : the gap or change with its 95% interval.
    ratio, ratio_lower, ratio_upper : the ratio with its 95% interval, where there is one.
    stage : for kind "stage", the pathway stage where the gap opens.
    evidence, chart_id : which chart or table shows it (chart_id is the report's anchor).
    test, statistic, z, p_value, weight, q_value : the test, its statistic, the standardised effect, p,
        its weight in the false-discovery control and the adjusted q (across every test of the provider).
    strength : |z|, the order of "What stands out".
    headline, cluster, also : whether the finding heads its cluster of overlapping findings; the
        cluster's number; the other findings of the cluster (or the headline, for the others).
    sentence : the plain-English sentence.
    reason, measure_list : for "too_few", why and for which measures.
"""

WAITS = ("completed_median_wait", "completed_over_18", "completed_over_52")
MEASURE_FAMILY = {**{m: "waits" for m in WAITS}, "first_appointment_wait": "first", "dna_rate": "dna",
                  "removed_other": "removed"}
ADVERSE = ("gap_now", "gap_changing", "group_changing:deteriorating", "stage")
STANDARDS_FILE = __import__("pathlib").Path(__file__).with_name("standards.yaml")


def finding_id(provider: str, kind: str, measure: str, dimension: str, group: str, specialty: str,
               stage: str = "", reference: str = "") -> str:
    """A short id that is the same on every rerun for the same finding."""
    key = "|".join(str(v) for v in (provider, kind, measure, dimension, group, specialty, stage))
    if reference:
        key += "|" + str(reference)
    return f"{provider}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


def standards(path=None) -> dict:
    """Recording standards for data-quality findings (``standards.yaml``)."""
    return yaml.safe_load((path or STANDARDS_FILE).read_text())


# ------------------------------------------------------------------------------------------
# Data quality and seldom heard: tests that join the provider's family
# ------------------------------------------------------------------------------------------

def data_quality_tests(derived: pd.DataFrame, flags=(), stds: dict | None = None) -> pd.DataFrame:
    """Recording shares against their standards: exact one-sided binomial tests, H0: the share is
    at most the standard.

    Columns: ``measure, dimension, group, x, n, share, standard, share_lower, share_upper, z, p_value``.
    """
    stds = stds or standards()
    n = len(derived)
    treated = derived["outcome"].eq("treated")
    items = [("ethnicity_unrecorded", "ethnic_group", "Not stated / Not known",
              int((~derived["ethnicity_recorded"]).sum()), n),
             ("imd_unmatched", "imd_quintile", "Unmatched", int(derived["imd_quintile"].isna().sum()), n),
             ("sex_not_known", "sex", "Not known", int(derived["sex"].eq("U").sum()), n),
             ("first_appointment_missing", "all", "All", int((treated & derived["first_appointment_date"].isna()).sum()),
              int(treated.sum()))]
    for f in flags:
        if f in derived:
            items.append(("flag_not_recorded", f, "Not recorded", int(derived[f].isna().sum()), n))
    rows = []
    for measure, dim, group, x, nn in items:
        if nn <= 0:
            continue
        s0 = float(stds[measure]["max_share"])
        p = float(binom.sf(x - 1, nn, s0))
        lo, hi = wilson(np.array([x]), np.array([nn]))
        rows.append({"measure": measure, "dimension": dim, "group": group, "x": x, "n": nn, "share": x / nn,
                     "standard": s0, "share_lower": float(lo[0]), "share_upper": float(hi[0]),
                     "z": (x - nn * s0) / np.sqrt(nn * s0 * (1 - s0)), "p_value": p})
    return pd.DataFrame(rows, columns=["measure", "dimension", "group", "x", "n", "share", "standard", "share_lower",
                                       "share_upper", "z", "p_value"])


def seldom_heard_tests(engagement: dict, population: pd.DataFrame, margin: float = 0.5) -> pd.DataFrame:
    """Reach of the engagement by group against the catchment population: exact one-sided binomial
    tests, H0: the group's share of participants is at least ``margin`` times its population share.

    Columns: ``dimension, group, x, n, share, population_share, ratio, ratio_lower, ratio_upper, z, p_value``.
    """
    from qi_equity.psychology.engagement import REACH_DIMENSIONS, reach_vs_population

    rows = []
    for dim in REACH_DIMENSIONS:
        if not (engagement["reach"]["dimension"] == dim).any():
            continue
        r = reach_vs_population(engagement, population, dim)
        total = r["participants"].sum()
        for rec in r.itertuples():
            ps = float(rec.population_share)
            if not ps > 0:
                continue
            s0 = margin * ps
            p = float(binom.cdf(rec.participants, total, s0))
            rows.append({"dimension": dim, "group": rec.group, "x": int(rec.participants), "n": int(total),
                         "share": rec.share, "population_share": ps, "ratio": rec.share / ps,
                         "ratio_lower": rec.share_lower / ps, "ratio_upper": rec.share_upper / ps,
                         "z": (rec.participants - total * s0) / np.sqrt(total * s0 * (1 - s0)), "p_value": p})
    return pd.DataFrame(rows, columns=["dimension", "group", "x", "n", "share", "population_share", "ratio",
                                       "ratio_lower", "ratio_upper", "z", "p_value"])


# ------------------------------------------------------------------------------------------
# The chart check for changes
# ------------------------------------------------------------------------------------------

def series_frame(data: CellData, measure: str, grain: int, cell: int, ref_cell: int = -1) -> pd.DataFrame:
    """A finding's series at its grain: ``date, value`` (the gap, group minus reference, when
    ``ref_cell`` is given; else the group's own values), with ``n_group`` (and ``n_reference``)."""
    arr, dates = data.series(measure, grain)
    v = S._values(arr, measure)
    out = pd.DataFrame({"date": dates, "value": v[cell], "n_group": arr["n"][cell]})
    if ref_cell >= 0:
        out["value"] = v[cell] - v[ref_cell]
        out["group_value"], out["reference_value"] = v[cell], v[ref_cell]
        out["n_reference"] = arr["n"][ref_cell]
    return out


def _mdc_confirms(data: CellData, rows: pd.DataFrame, settings: S.Settings) -> np.ndarray:
    """For each change row: does its XmR chart show special cause in the row's direction within
    the last ``recent_months``? One vectorised SPC call for all of them."""
    from qi_equity.variation import spc

    if rows.empty:
        return np.zeros(0, dtype=bool)
    parts, baseline = [], []
    for i, r in enumerate(rows.itertuples()):
        f = series_frame(data, r.measure, int(r.grain), int(r.cell), int(r.ref_cell) if r.family == "gap_change" else -1)
        parts.append(f[["date", "value"]].assign(_id=i))
        baseline.append(int((f["date"] < pd.Timestamp(r.change_from)).sum()))
    pts = []
    # limits from the periods before the change (as the finding's chart draws them): one SPC call
    # per baseline length, each vectorised over its series
    for before, idx in rows.assign(_i=range(len(rows)), _b=baseline).groupby("_b")["_i"]:
        long = pd.concat([parts[i] for i in idx], ignore_index=True)
        freq = None if any(int(g) > 1 for g in rows["grain"].iloc[list(idx)]) else "MS"
        res = spc(long, value="value", date="date", by=["_id"], improvement="decrease", freq=freq,
                  fix_after=int(before) if int(before) >= 4 else None)
        pts.append(res.points)
    pts = pd.concat(pts, ignore_index=True)
    cutoff = data.months[-1] - pd.DateOffset(months=settings.recent_months - 1)
    recent = pts["date"] >= cutoff
    want = np.where(rows["direction"].to_numpy() > 0, "special_cause_concern", "special_cause_improvement")
    ok = np.zeros(len(rows), dtype=bool)
    hit = pts[recent & (pts["point_type"].astype(str) != "common_cause")]
    for i, ptype in zip(hit["_id"].to_numpy(), hit["point_type"].astype(str).to_numpy()):
        if ptype == want[i]:
            ok[i] = True
    return ok


# ------------------------------------------------------------------------------------------
# Consolidation
# ------------------------------------------------------------------------------------------

def _overlaps(data: CellData, cells: np.ndarray) -> np.ndarray:
    """Overlap coefficients between cells (|A and B| / min(|A|, |B|))."""
    u = np.unique(cells)
    if data._members is not None:
        from scipy.sparse import csr_matrix

        rows, cellv = data._members
        sel = np.isin(cellv, u)
        pos = np.searchsorted(u, cellv[sel])
        m = csr_matrix((np.ones(int(sel.sum())), (pos, rows[sel])), shape=(len(u), int(rows.max()) + 1 if len(rows) else 1))
        inter = (m @ m.T).toarray()
        size = np.diag(inter)
        with np.errstate(invalid="ignore", divide="ignore"):
            ov = inter / np.minimum.outer(size, size)
        ov = np.nan_to_num(ov)
    else:
        ov = np.array([[data.overlap(int(a), int(b)) for b in u] for a in u])
    idx = np.searchsorted(u, cells)
    return ov[np.ix_(idx, idx)]


CONTAIN = 0.9  # a cell contains another when it holds this share of the other's pathways


def _cluster_keys(f: pd.DataFrame) -> pd.Series:
    polarity = np.where(f["kind"].isin(["improvement"]) | (f["direction"] == "improving"), "favourable", "adverse")
    fam = f["measure"].map(MEASURE_FAMILY).fillna(f["measure"])
    return pd.Series(polarity, index=f.index) + ":" + fam.astype(str)


def _components(f: pd.DataFrame, data: CellData, threshold: float = 0.5) -> tuple[np.ndarray, dict]:
    """Cluster number of each row (connected components of 'same polarity and measure family,
    cells overlapping by at least ``threshold``'), and the overlap matrices by key."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    comp = np.full(len(f), -1)
    keys = _cluster_keys(f).to_numpy()
    cellular = (pd.to_numeric(f["cell"], errors="coerce").fillna(-1) >= 0).to_numpy()
    ov_by_key, nxt = {}, 0
    for k in pd.unique(keys[cellular]):
        pos = np.flatnonzero(cellular & (keys == k))
        ov = _overlaps(data, f["cell"].to_numpy()[pos].astype(int))
        ov_by_key[k] = (pos, ov)
        n, lab = connected_components(csr_matrix(ov >= threshold), directed=False)
        comp[pos] = lab + nxt
        nxt += n
    single = np.flatnonzero(comp < 0)
    comp[single] = nxt + np.arange(len(single))
    return comp, ov_by_key


def _relative_effect(r) -> float:
    if r["kind"] in ("gap_now",):
        return abs(float(r["ratio"]) - 1) if pd.notna(r["ratio"]) else abs(float(r["size"]))
    base = r["value_reference"] if r["kind"] in ("gap_changing", "improvement") else r["mean_before"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return abs(float(r["size"])) / abs(float(base)) if pd.notna(base) and float(base) != 0 else abs(float(r["size"]))


def _relative_lower(r) -> float:
    """The lower 95% bound of the relative effect: how much worse (or better), confidently."""
    if r["kind"] == "gap_now" and pd.notna(r.get("ratio_lower")):
        return float(r["ratio_lower"]) - 1
    half = (float(r["size_upper"]) - float(r["size_lower"])) / 2 if pd.notna(r["size_upper"]) else 0.0
    low = max(0.0, abs(float(r["size"])) - half)
    base = r["value_reference"] if r["kind"] in ("gap_now", "gap_changing", "improvement") else r["mean_before"]
    return low / abs(float(base)) if pd.notna(base) and float(base) != 0 else low


def consolidate(found: pd.DataFrame, data: CellData, threshold: float = 0.5) -> pd.DataFrame:
    """Clusters of overlapping findings and their headlines (see module docstring)."""
    f = found.reset_index(drop=True).copy()
    comp, ov_by_key = _components(f, data, threshold)
    f["cluster"] = comp
    f["headline"] = False
    f["also"] = ""
    overlap = {}
    for pos, ov in ov_by_key.values():
        for a, i in enumerate(pos):
            for b, j in enumerate(pos):
                overlap[(i, j)] = ov[a, b]
    size = data.cells["pathways"].to_numpy()
    generality = (data.cells["specialty"].eq("all").astype(int) * 2 + data.cells["dimension"].eq("all").astype(int) * 4
                  - data.cells["dimension"].map(lambda d: getattr(data.dimensions.get(d), "kind", "") == "intersection")
                  .astype(int)).to_numpy()
    for c, g in f.groupby("cluster"):
        main = g[g["kind"] != "stage"] if (g["kind"] != "stage").any() else g
        for kinds in (["group_changing"], ["gap_changing", "improvement"]):
            # a change says when it started, and a group's own change what happened to it: they head
            # their cluster when there is one
            pick = main[main["kind"].isin(kinds)]
            if len(pick):
                main = pick
                break
        head = int(max(main.index, key=lambda i: (_relative_lower(f.loc[i]), float(f.loc[i, "strength"]))))
        moved = True
        while moved:  # up to a containing cell whose effect is as large as the head's is confidently
            moved = False
            h = f.loc[head]
            hc = int(h["cell"])
            floor = _relative_lower(h)
            bigger = [i for i in main.index if i != head and f.loc[i, "kind"] == h["kind"]
                      and overlap.get((head, i), 0) >= CONTAIN
                      and (size[int(f.loc[i, "cell"])], generality[int(f.loc[i, "cell"])]) > (size[hc], generality[hc])
                      and _relative_effect(f.loc[i]) >= floor]
            if bigger:
                head = max(bigger, key=lambda i: (size[int(f.loc[i, "cell"])], generality[int(f.loc[i, "cell"])]))
                moved = True
        f.loc[head, "headline"] = True
        others = [x for x in g.index if x != head]
        f.loc[head, "also"] = " ".join(f.loc[others, "finding_id"])
        f.loc[others, "also"] = f.loc[head, "finding_id"]
    return f


def _weights(tests: pd.DataFrame, settings: S.Settings) -> np.ndarray:
    """Weighted false-discovery control (Genovese, Roeder and Wasserman 2006): the all-patients,
    all-specialties series weigh ``settings.all_patients_weight``, every other test 1, rescaled so
    that the tested family's weights average 1."""
    w = np.where((tests.get("dimension") == "all") & (tests.get("specialty") == "all")
                 & (tests["family"] == "group_change"), settings.all_patients_weight, 1.0).astype(float)
    tested = tests["tested"].to_numpy(bool)
    if tested.any():
        w = w * tested.sum() / w[tested].sum()
    return w


def cluster_threshold(found: pd.DataFrame, data: CellData, m: int, q: float, threshold: float = 0.5) -> float:
    """The cluster-level step-up threshold ``q K / m`` (see module docstring) for candidate
    findings ``found`` (each with ``p_weighted``, the p-value over its weight); 0 when nothing
    qualifies."""
    if found.empty or m == 0:
        return 0.0
    f = found.reset_index(drop=True)
    _, ov_by_key = _components(f, data, threshold)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    p = f["p_weighted"].to_numpy(float)
    cellular = (pd.to_numeric(f["cell"], errors="coerce").fillna(-1) >= 0).to_numpy()
    for k in range(len(f), 0, -1):
        t = q * k / m
        sel = p <= t
        if sel.sum() < k:
            continue
        n = 0
        for key, (pos, ov) in ov_by_key.items():
            s = sel[pos]
            if s.any():
                n += connected_components(csr_matrix(ov[np.ix_(s, s)] >= threshold), directed=False)[0]
        n += int(sel[~cellular].sum())  # data quality, seldom heard: a cluster each
        if n >= k:
            return t
    return 0.0


# ------------------------------------------------------------------------------------------
# Assembly
# ------------------------------------------------------------------------------------------

def _unit(measure: str) -> str:
    return "weeks" if MEASURE_EVENTS.get(measure, ("", "median"))[1] == "median" else "percentage points"


def _chart_evidence(kind: str, grain, measure: str) -> str:
    from qi_equity.data import vocabulary as V

    g = V.grain(int(grain)) if grain and grain == grain and int(grain) > 0 else ""
    return {"gap_now": f"Comparison over the pooled window: {V.measure(measure, 'label')}",
            "gap_changing": f"XmR chart ({g}) of the gap: {V.measure(measure, 'label')}",
            "improvement": f"XmR chart ({g}) of the gap: {V.measure(measure, 'label')}",
            "group_changing": f"XmR chart ({g}): {V.measure(measure, 'label')}",
            "stage": "Time at each pathway stage, group against reference",
            "data_quality": "Data quality table",
            "seldom_heard": "Engagement reach against the catchment population",
            "too_few": "Groups too small to test"}.get(kind, "")


@dataclass
class FindingsResult:
    """Result of :func:`qi_equity.findings.scan`.

    Attributes
    ----------
    data : pandas.DataFrame
        The findings, one row each (columns below), strongest first.
    tests : pandas.DataFrame
        Every test of the scan (:data:`qi_equity.findings.scan.TEST_COLUMNS` plus ``q_value``),
        including the untested comparisons and why.
    cells : CellData
        The cells and their series (for charts).
    settings : Settings
    summary : pandas.DataFrame
        One row: tests run, discoveries, findings by kind, the FDR method and level.
    """

    data: pd.DataFrame
    tests: pd.DataFrame
    cells: CellData | None
    settings: S.Settings
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    def headlines(self) -> pd.DataFrame:
        """Headline findings (one per cluster), strongest first, without "too few to tell"."""
        d = self.data
        return d[d["headline"] & (d["kind"] != "too_few")].reset_index(drop=True)

    def too_few(self) -> pd.DataFrame:
        return self.data[self.data["kind"] == "too_few"].reset_index(drop=True)

    def series(self, finding: str) -> pd.DataFrame:
        """The charted series of a change or gap finding (see :func:`series_frame`)."""
        r = self.data.set_index("finding_id").loc[finding]
        if self.cells is None or not (r["grain"] and r["grain"] > 0):
            raise ValueError(f"finding {finding} has no series to chart")
        ref = int(r["ref_cell"]) if r["kind"] in ("gap_changing", "improvement", "gap_now") and r["ref_cell"] >= 0 else -1
        return series_frame(self.cells, r["measure"], int(r["grain"]), int(r["cell"]), ref)

    def plot(self, finding: str, ax=None, **kw):
        """The finding's chart (see :func:`qi_equity.plotting.findings.plot_finding`)."""
        from qi_equity.plotting.findings import plot_finding

        return plot_finding(self, finding, ax=ax, **kw)


FindingsResult.__doc__ += "\n    Findings columns::\n" + FINDING_COLUMNS_DOC


def assemble(data: CellData, tests: pd.DataFrame, settings: S.Settings, derived: pd.DataFrame | None = None,
             dq: pd.DataFrame | None = None, seldom: pd.DataFrame | None = None,
             flags: dict | None = None) -> FindingsResult:
    """Findings from the scan's tests (plus data-quality and engagement tests) -- see module docstring."""
    provider = data.provider_code
    tests = tests.copy()
    extra = []
    if dq is not None and len(dq):
        extra.append(dq.assign(family="data_quality", tested=True, reason=""))
    if seldom is not None and len(seldom):
        extra.append(seldom.assign(family="seldom_heard", tested=True, reason="", measure="engagement_reach"))
    fam_tests = pd.concat([tests] + extra, ignore_index=True) if extra else tests
    fam_tests["weight"] = _weights(fam_tests, settings)
    fam_tests["p_weighted"] = np.where(fam_tests["tested"], fam_tests["p_value"] / fam_tests["weight"], np.nan)
    fam_tests["q_value"] = adjust(fam_tests["p_weighted"], settings.fdr_method)
    n_tests = int(np.isfinite(fam_tests["q_value"]).sum())
    disc = fam_tests[fam_tests["q_value"] <= settings.q].copy()
    last = data.months[-1]
    win_start = data.months[-data.window_months]
    rows = []

    # --- gap now ------------------------------------------------------------------------
    g = disc[(disc["family"] == "gap_now") & (disc["direction"] > 0)]
    for r in g.itertuples():
        rows.append(dict(kind="gap_now", measure=r.measure, dimension=r.dimension, group=r.group,
                         reference_group=r.reference_group, specialty=r.specialty, cell=r.cell, ref_cell=r.ref_cell,
                         period_start=win_start, period_end=last, grain=0, direction="worse",
                         value_group=r.value_group, value_reference=r.value_reference, size=r.size,
                         size_lower=r.size_lower, size_upper=r.size_upper, ratio=r.ratio, ratio_lower=r.ratio_lower,
                         ratio_upper=r.ratio_upper, test=f"one-sided test of a gap beyond {settings.margin:g} times",
                         statistic=r.statistic, z=r.z, p_value=r.p_value, p_weighted=r.p_weighted, q_value=r.q_value))

    # --- changes --------------------------------------------------------------------------
    ch = disc[disc["family"].isin(["gap_change", "group_change"])].copy()
    if len(ch):
        base = np.where(ch["family"] == "gap_change", ch["value_reference"], ch["mean_before"]).astype(float)
        material = np.abs(ch["size"].to_numpy(float)) >= settings.min_change * np.abs(base)
        ch = ch[material]
    if len(ch):
        # a narrowing gap needs the group's own level to have improved by at least half the narrowing
        # (a reference that got worse narrows a gap without anything improving for the group)
        own = tests[(tests["family"] == "group_change") & tests["tested"]].set_index(["measure", "cell"])["size"]
        narrowing = ((ch["family"] == "gap_change") & (ch["direction"] < 0)).to_numpy()
        own_size = np.array([own.get((m, c), np.nan) for m, c in zip(ch["measure"], ch["cell"])])
        ch = ch[~narrowing | (own_size <= 0.5 * ch["size"].to_numpy(float))]
    if len(ch):
        ch = ch[_mdc_confirms(data, ch, settings)]
    for r in ch.itertuples():
        if r.family == "gap_change":
            kind, direction = ("gap_changing", "widening") if r.direction > 0 else ("improvement", "narrowing")
        else:
            kind, direction = "group_changing", ("deteriorating" if r.direction > 0 else "improving")
        rows.append(dict(kind=kind, measure=r.measure, dimension=r.dimension, group=r.group,
                         reference_group=r.reference_group if r.family == "gap_change" else "", specialty=r.specialty,
                         cell=r.cell, ref_cell=r.ref_cell if r.family == "gap_change" else -1,
                         period_start=pd.Timestamp(r.change_from), period_end=last, grain=r.grain, direction=direction,
                         value_reference=r.value_reference, mean_before=r.mean_before, mean_after=r.mean_after,
                         size=r.size, size_lower=r.size_lower, size_upper=r.size_upper,
                         test="change in level (max-type Mann-Whitney on ranks)", statistic=r.statistic, z=r.z,
                         p_value=r.p_value, p_weighted=r.p_weighted, q_value=r.q_value))

    # --- data quality and seldom heard ------------------------------------------------------
    for r in disc[disc["family"] == "data_quality"].itertuples():
        rows.append(dict(kind="data_quality", measure=r.measure, dimension=r.dimension, group=r.group,
                         reference_group="", specialty="all", cell=-1, ref_cell=-1, period_start=data.months[0],
                         period_end=last, grain=0, direction="above", value_group=100 * r.share,
                         value_reference=100 * r.standard, size=100 * r.share, size_lower=100 * r.share_lower,
                         size_upper=100 * r.share_upper, test="exact binomial test against the recording standard",
                         statistic=r.z, z=r.z, p_value=r.p_value, p_weighted=r.p_weighted, q_value=r.q_value))
    for r in disc[disc["family"] == "seldom_heard"].itertuples():
        rows.append(dict(kind="seldom_heard", measure="engagement_reach", dimension=r.dimension, group=r.group,
                         reference_group="", specialty="all", cell=-1, ref_cell=-1, period_start=pd.NaT,
                         period_end=pd.NaT, grain=0, direction="below", value_group=100 * r.share,
                         value_reference=100 * r.population_share, size=100 * (r.share - r.population_share),
                         ratio=r.ratio, ratio_lower=r.ratio_lower, ratio_upper=r.ratio_upper,
                         test="exact binomial test of reach below half the population share", statistic=r.z,
                         z=-r.z, p_value=r.p_value, p_weighted=r.p_weighted, q_value=r.q_value))

    found = pd.DataFrame(rows)
    if found.empty:
        found = pd.DataFrame(columns=["kind", "measure", "dimension", "group", "reference_group", "specialty", "cell",
                                      "ref_cell", "z"])
    for c in ("mean_before", "mean_after", "value_group", "value_reference", "size", "size_lower", "size_upper",
              "ratio", "ratio_lower", "ratio_upper", "z", "p_value", "p_weighted", "q_value", "statistic"):
        if c not in found:
            found[c] = np.nan
    found["strength"] = np.abs(pd.to_numeric(found.get("z"), errors="coerce")).fillna(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        found["weight"] = pd.to_numeric(found["p_value"]) / pd.to_numeric(found["p_weighted"])
    found = found.reset_index(drop=True)
    p_threshold = cluster_threshold(found, data, n_tests, settings.q) if len(found) else 0.0
    if len(found):
        found = found[found["p_weighted"].to_numpy(float) <= p_threshold].reset_index(drop=True)

    # --- where the gap opens (follow-up of wait gaps; pathway input only) -----------------
    if derived is not None and len(found):
        stage_rows = []
        waits = found[(found["kind"].isin(["gap_now", "gap_changing"])
                       | ((found["kind"] == "group_changing") & (found["direction"] == "deteriorating")))
                      & found["measure"].isin(WAITS) & (found["dimension"] != "all")]
        done = set()
        for r in waits.itertuples():
            ref = r.reference_group or data.dimensions[r.dimension].reference
            key = (r.dimension, r.group, ref, r.specialty)
            if key in done or r.group == ref:
                continue
            done.add(key)
            st = _stage(derived, r, ref, flags)
            if st is not None:
                stage_rows.append(st)
        if stage_rows:
            found = pd.concat([found, pd.DataFrame(stage_rows)], ignore_index=True)

    if len(found):
        found["provider_code"] = provider
        found["finding_id"] = [finding_id(provider, k, m, d, g, s, st if isinstance(st, str) else "",
                                          ref if isinstance(ref, str) else "")
                               for k, m, d, g, s, st, ref in zip(found["kind"], found["measure"], found["dimension"],
                                                                 found["group"], found["specialty"],
                                                                 found.get("stage", pd.Series([""] * len(found))),
                                                                 found["reference_group"])]
        found = consolidate(found, data)

    # --- too few to tell -------------------------------------------------------------------
    too_few = _too_few(data, tests, provider)
    out = pd.concat([found, too_few], ignore_index=True) if len(too_few) else found
    out["window_months"] = data.window_months
    out["specialty_name"] = out["specialty"].map(lambda s: data.specialty_names.get(s, "") if s != "all" else "")
    out["size_unit"] = [("%" if k in ("data_quality", "seldom_heard") else _unit(m)) for k, m in
                        zip(out["kind"], out["measure"])]
    out["evidence"] = [_chart_evidence(k, g, m) for k, g, m in zip(out["kind"], out["grain"], out["measure"])]
    out["chart_id"] = ["chart-" + str(i) for i in out["finding_id"]]
    for c in FINDING_COLUMNS:
        if c not in out:
            out[c] = np.nan if c not in ("reason", "measure_list", "also", "stage", "test") else ""
    for c in ("reason", "measure_list", "also", "stage", "test", "reference_group"):
        out[c] = out[c].fillna("").astype(str)
    out["headline"] = out["headline"].fillna(False).astype(bool)
    out["sentence"] = [sentence(r) for _, r in out.iterrows()]
    out["n_tests"] = n_tests
    order = {"too_few": 1}
    out["_o"] = out["kind"].map(order).fillna(0)
    out = out.sort_values(["_o", "headline", "strength"], ascending=[True, False, False], kind="stable")
    out = out.drop(columns="_o").reset_index(drop=True)
    keep = FINDING_COLUMNS + ["cell", "ref_cell", "n_tests"]
    out = out[[c for c in keep if c in out.columns]]
    counts = out["kind"].value_counts()
    summary = pd.DataFrame([{"provider_code": provider, "tests": n_tests,
                             "discoveries": int((fam_tests["q_value"] <= settings.q).sum()),
                             "findings": int((out["kind"] != "too_few").sum()),
                             "headlines": int((out["headline"] & (out["kind"] != "too_few")).sum()),
                             **{f"n_{k}": int(counts.get(k, 0)) for k in
                                ("gap_now", "gap_changing", "improvement", "group_changing", "stage",
                                 "data_quality", "seldom_heard", "too_few")},
                             "p_threshold": p_threshold,
                             "fdr_method": settings.fdr_method, "q": settings.q, "margin": settings.margin,
                             "source": data.source}])
    return FindingsResult(out, fam_tests, data, settings, summary)


def _stage(derived: pd.DataFrame, r, reference: str, flags) -> dict | None:
    from qi_equity.system.pathway import stage_gaps

    try:
        st = stage_gaps(derived, r.dimension, r.group, reference, r.period_start, r.period_end,
                        specialty=r.specialty, flags=flags)
    except ValueError:
        return None
    st = st.dropna(subset=["difference"])
    if st.empty:
        return None
    best = st.loc[st["difference"].idxmax()]
    if not best["difference_lower"] > 0:
        return None
    se = (best["difference_upper"] - best["difference_lower"]) / (2 * 1.959964)
    z = best["difference"] / se if se > 0 else np.nan
    return dict(kind="stage", measure="completed_median_wait", dimension=r.dimension, group=r.group,
                reference_group=reference, specialty=r.specialty, cell=r.cell, ref_cell=r.ref_cell,
                period_start=r.period_start, period_end=r.period_end, grain=0, direction="worse",
                value_group=best["median_group"], value_reference=best["median_reference"],
                size=best["difference"], size_lower=best["difference_lower"], size_upper=best["difference_upper"],
                stage=best["stage"], test="Bonett-Price difference of medians at each stage (follow-up)",
                statistic=z, z=z, p_value=np.nan, q_value=np.nan, strength=0.0)


def _too_few(data: CellData, tests: pd.DataFrame, provider: str) -> pd.DataFrame:
    """One row per all-specialty group with pathways that some gap-now measure could not test."""
    t = tests[(tests["family"] == "gap_now") & (tests["specialty"] == "all") & ~tests["tested"]]
    if t.empty:
        return pd.DataFrame()
    present = set(data.cells.loc[data.cells["pathways"] > 0, "cell"])
    t = t[t["cell"].isin(present)]
    from qi_equity.data import vocabulary as V

    rows = []
    for (dim, group), g in t.groupby(["dimension", "group"], sort=False):
        rows.append(dict(kind="too_few", measure="", dimension=dim, group=group, reference_group=g["reference_group"].iloc[0],
                         specialty="all", cell=int(g["cell"].iloc[0]), ref_cell=int(g["ref_cell"].iloc[0]),
                         grain=0, direction="", reason=g["reason"].iloc[0],
                         measure_list=", ".join(V.measure(m, "short") for m in g["measure"]),
                         headline=False, strength=0.0, provider_code=provider,
                         finding_id=finding_id(provider, "too_few", "", dim, group, "all")))
    return pd.DataFrame(rows)
