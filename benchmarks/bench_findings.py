"""Findings: power and false alarms measured by simulation, and the scan's speed at national scale.

``./kit bench findings`` simulates collaboratives of 4-8 providers (qi_equity.data.simulate, which
is independent of the sample generator), plants effects of known kind and size at random places
-- a gap, a shift or a trend in waits or DNA, in a random group of a random dimension, in one
specialty or all; a DNA outlier provider -- leaves about a third of providers with nothing
planted, scans every provider (and the collaborative) without being told where anything is, and
reports the sensitivity by kind and effect size and the share of clean providers with any finding.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

N_COLLABORATIVES = int(os.environ.get("QI_BENCH_COLLABORATIVES", "200"))
CENSUS = "2026-03-31"
HERE = Path(__file__).resolve().parent
#: Effect sizes: "small" and "sample" (the size of the bundled sample's plants).
SIZES = {"gap_wait": {"small": 1.6, "sample": 2.5}, "gap_dna": {"small": 2.0, "sample": 3.5},
         "shift_wait": {"small": 1.4, "sample": 1.7}, "shift_dna": {"small": 1.5, "sample": 2.0},
         "trend_wait": {"small": 1.4, "sample": 1.8}, "improvement_wait": {"small": 0.8, "sample": 0.6},
         "outlier_dna": {"small": 1.6, "sample": 2.5}}
PLACES = [("sex_age", "Female 16-64"), ("sex_age", "Male 65+"), ("imd_quintile", "Q1 most deprived"),
          ("ethnic_group", "Asian"), ("interpreter_needed", "Yes"), ("age_band", "30-44")]
SPECIALTIES = ["all", "110", "100", "130"]


def _background(rng, diverse: bool):
    from qi_equity.data.simulate import Background

    eth = ({"White": 0.62, "Mixed": 0.04, "Asian": 0.24, "Black": 0.07, "Other": 0.03} if diverse else
           {"White": 0.85, "Mixed": 0.03, "Asian": 0.07, "Black": 0.03, "Other": 0.02})
    return Background(referrals_per_month=int(rng.integers(200, 351)), ethnic_shares=eth,
                      imd_weights=tuple(rng.dirichlet(np.full(10, 4.0)) * 100),
                      interpreter_minority=0.30 if diverse else 0.08)


def _plant(rng, kind: str, size: float):
    from qi_equity.data.simulate import Plant

    # changes begin 18-27 months before the census, as the sample's do (a shift in waits for patients
    # referred from a date shows in completions a wait later)
    start = str((pd.Timestamp("2024-01-01") + pd.DateOffset(months=int(rng.integers(0, 9)))).date())
    if kind in ("trend_wait", "improvement_wait"):  # trends of everyone or of a large group, in all specialties
        dim, group = [("all", "All"), ("sex_age", "Female 16-64"), ("imd_quintile", "Q1 most deprived")][rng.integers(3)]
        return Plant("trend", "wait", dim, group, size, "all", start, int(rng.integers(12, 19)))
    dim, group = PLACES[rng.integers(len(PLACES))]
    spec = SPECIALTIES[rng.integers(len(SPECIALTIES))]
    measure = "wait" if kind.endswith("wait") else "dna"
    return Plant(kind.split("_")[0], measure, dim, group, size, spec, start if kind.startswith("shift") else None)


def simulate_collaborative(seed: int) -> dict:
    """One collaborative: scan every provider and the collaborative; match against what was planted."""
    from qi_equity import measures
    from qi_equity.data.simulate import derived, simulate_provider
    from qi_equity.findings import scan
    from qi_equity.findings.collaborative import scan_collaborative
    from qi_equity.findings.evaluate import false_findings, match_ground_truth

    rng = np.random.default_rng([20261202, seed])
    k = int(rng.integers(4, 9))
    kinds = [kd for kd in SIZES if kd != "outlier_dna"]
    outlier = int(rng.integers(k)) if rng.random() < 0.35 else -1
    truth, found, metrics, clean = [], [], [], []
    for i in range(k):
        code = f"S{seed:03d}{i}"
        diverse = rng.random() < 0.4
        bg = _background(rng, diverse)
        plants = []
        if rng.random() >= 0.35:
            for _ in range(int(rng.integers(1, 3))):
                kind = kinds[rng.integers(len(kinds))]
                band = ["small", "sample"][rng.integers(2)]
                p = _plant(rng, kind, SIZES[kind][band])
                if p.dimension == "interpreter_needed" and not diverse:
                    bg.interpreter_minority = 0.30
                if p.dimension == "ethnic_group" and not diverse:
                    bg.ethnic_shares = {"White": 0.62, "Mixed": 0.04, "Asian": 0.24, "Black": 0.07, "Other": 0.03}
                plants.append((p, kind, band))
        if i == outlier:
            band = ["small", "sample"][rng.integers(2)]
            bg.dna_multiplier = SIZES["outlier_dna"][band]
            truth.append({"id": f"{code}-outlier", "kind": "outlier_dna", "band": band, "volume": 10_000,
                          "finding_kinds": ["collaborative_outlier"], "provider_code": code, "specialty": "all",
                          "dimension": "all", "group": "All", "measure": "dna_rate", "direction": "worse"})
        raw = simulate_provider(code, np.random.default_rng([seed, i, 7]), bg, [p for p, _, _ in plants])
        d = derived(raw)
        res = scan(d, CENSUS)
        found.append(res.data)
        for j, (p, kind, band) in enumerate(plants):
            truth.append({**p.truth(code, f"{code}-{j}"), "kind": kind, "band": band, "volume": _volume(d, p),
                          "overlapping": _found_overlapping(res, d, p)})
        if not plants and i != outlier:
            clean.append(code)
        from qi_equity.reports.provider import equity_summary

        t = equity_summary(d, CENSUS).data  # as published: suppressed
        metrics.append({"provider_code": code, "provider_name": code,
                        "equity_table": {"columns": list(t.columns), "data": t.astype(object).where(t.notna(), None)
                                         .values.tolist()}})
    provider = pd.concat(found, ignore_index=True)
    collab = scan_collaborative(metrics, provider).data
    allf = pd.concat([provider, collab], ignore_index=True)
    m = match_ground_truth(allf, {"planted": truth})
    m["band"] = [t["band"] for t in truth]
    m["volume"] = [t["volume"] for t in truth]
    m["overlapping"] = [t.get("overlapping", t["kind"] == "outlier_dna") for t in truth]
    m["overlapping"] = m["overlapping"] | m["found"]
    m["kind"] = [t["kind"] for t in truth]
    ff = false_findings(allf, clean)
    per_clean = ff.groupby("provider_code").size().reindex(clean, fill_value=0)
    return {"matches": m.drop(columns=["sentence"]).to_dict("records"), "clean": clean,
            "false_per_clean": per_clean.tolist(),
            "false_kinds": ff["kind"].value_counts().to_dict(),
            "false_examples": ff[["provider_code", "kind", "measure", "dimension", "group", "specialty", "sentence"]]
            .to_dict("records")}


def _volume(d, plant) -> int:
    """Pathways a year in the planted cell: completions (waits) or first appointments (DNA) in the
    last 12 months."""
    from qi_equity import measures
    from qi_equity.data import contract as C

    win = measures.window(CENSUS, 12)
    who = C.dimension_values(d, plant.dimension).to_numpy(dtype=object) == plant.group
    if plant.specialty != "all":
        who &= (d["specialty"].astype(str) == plant.specialty).to_numpy()
    event = (d["completed"] & d["clock_stop_month"].isin(win)) if plant.measure == "wait" else \
        d["first_appointment_month"].isin(win)
    return int((who & event.to_numpy()).sum())


WAITS = {"completed_median_wait", "completed_over_18", "completed_over_52"}


def _found_overlapping(res, d, plant) -> bool:
    """Found at its place: a finding (not too few) on the planted measure family, in the planted
    direction, whose cell shares at least half its pathways with the planted cell (Jaccard index
    on pathways): the same patients under another name (working-age women outside Core20 in T&O
    for working-age women in T&O)."""
    from qi_equity.data import contract as C

    fam = WAITS if plant.measure == "wait" else {"dna_rate"}
    f = res.data[(res.data["kind"] != "too_few") & res.data["measure"].isin(fam) & (res.data["cell"] >= 0)]
    bad = {"improving", "narrowing"} if plant.size > 1 else {"worse", "widening", "deteriorating"}
    f = f[~f["direction"].isin(bad)]
    if f.empty:
        return False
    who = C.dimension_values(d, plant.dimension).to_numpy(dtype=object) == plant.group
    if plant.specialty != "all":
        who &= (d["specialty"].astype(str) == plant.specialty).to_numpy()
    plant_rows = np.flatnonzero(who)
    rows, cells = res.cells._members
    for c in f["cell"].astype(int).unique():
        mine = rows[cells == c]
        inter = len(np.intersect1d(mine, plant_rows, assume_unique=True))
        union = len(mine) + len(plant_rows) - inter
        if union and inter / union >= 0.5:
            return True
    return False


#: Cells at least this large (pathways a year) are the size of the sample's smallest planted cell
#: (people needing an interpreter in one specialty: about 100 a year).
SAMPLE_CELL = 100


def setup_power():
    return list(range(N_COLLABORATIVES))


def run_power(seeds):
    with ProcessPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        return list(pool.map(simulate_collaborative, seeds, chunksize=4))


def _wilson(k, n):
    from qi_equity.equity.intervals import wilson

    lo, hi = wilson(np.array([k]), np.array([max(n, 1)]))
    return 100 * lo[0], 100 * hi[0]


def summarise_power(results) -> dict:
    m = pd.DataFrame([r for res in results for r in res["matches"]])
    clean = [c for res in results for c in res["clean"]]
    per_clean = [x for res in results for x in res["false_per_clean"]]
    kinds = pd.Series(dtype=float)
    for res in results:
        kinds = kinds.add(pd.Series(res["false_kinds"], dtype=float), fill_value=0)
    any_false = int(sum(1 for x in per_clean if x > 0))
    rows = []
    for (kind, band), g in m.groupby(["kind", "band"]):
        lo, hi = _wilson(int(g["found"].sum()), len(g))
        rows.append({"kind": kind, "size": f"{band} ({SIZES[kind][band]}x)", "planted": len(g),
                     "found": int(g["found"].sum()), "sensitivity_%": 100 * g["found"].mean(), "ci_low": lo,
                     "ci_high": hi, "any_kind_%": 100 * g["found_any_kind"].mean(),
                     "overlap_%": 100 * g["overlapping"].mean(),
                     "headline_%": 100 * g["headline"].mean()})
    table = pd.DataFrame(rows)
    m["cell_size"] = pd.cut(m["volume"], [-1, 49, SAMPLE_CELL - 1, 299, 10**9],
                            labels=["under 50", f"50-{SAMPLE_CELL - 1}", f"{SAMPLE_CELL}-299", "300 or more"])
    sample = m[(m["band"] == "sample") & (m["volume"] >= SAMPLE_CELL)]
    sens = 100 * sample["found"].mean()
    sens_any = 100 * sample["found_any_kind"].mean()
    sens_overlap = 100 * sample["overlapping"].mean()
    big = m[(m["band"] == "sample") & (m["volume"] >= 300)]
    fa = 100 * any_false / max(len(clean), 1)
    fa_lo, fa_hi = _wilson(any_false, len(clean))
    lines = ["## Findings: power and false alarms (simulated)", "",
             f"{len(results)} simulated collaboratives of 4-8 providers (qi_equity.data.simulate, independent of the "
             f"sample generator), {len(m)} planted effects at random places, {len(clean)} providers with nothing "
             "planted; every provider scanned without being told where to look (`./kit bench findings`).", "",
             "| kind | size | planted | found as planted | sensitivity % (95% CI) | at its place, any kind % | "
             "on the same patients % | as the headline % |", "|---|---|---|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        lines.append(f"| {r['kind']} | {r['size']} | {r['planted']} | {r['found']} | {r['sensitivity_%']:.1f} "
                     f"({r['ci_low']:.1f}-{r['ci_high']:.1f}) | {r['any_kind_%']:.0f} | {r['overlap_%']:.0f} | "
                     f"{r['headline_%']:.0f} |")
    by_cell = m.groupby(["band", "cell_size"], observed=True).agg(planted=("found", "size"), rate=("found", "mean"),
                                                                  anywhere=("found_any_kind", "mean"),
                                                                  overlap=("overlapping", "mean")).reset_index()
    lines += ["", "Sensitivity by the planted cell's size (pathways a year in the group and specialty):", "",
              "| size | cell | planted | found as planted % | at its place, any kind % | on the same patients % |",
              "|---|---|---|---|---|---|"]
    for r in by_cell.itertuples():
        lines.append(f"| {r.band} | {r.cell_size} | {r.planted} | {100 * r.rate:.0f} | {100 * r.anywhere:.0f} | "
                     f"{100 * r.overlap:.0f} |")
    lines += ["", f"- Sensitivity for effects the size of the sample's, in cells as large as the sample's "
                  f"smallest planted cell ({SAMPLE_CELL} pathways a year or more): **{sens:.1f}%** "
                  f"({int(sample['found'].sum())} of {len(sample)}) found as the kind planted, **{sens_any:.1f}%** "
                  f"at their place as any kind of finding, **{sens_overlap:.1f}%** on the same patients (a finding "
                  f"whose cell shares at least half its pathways with the planted one); target at least 90%: "
                  f"{'met' if sens >= 90 else ('met on the same patients' if sens_overlap >= 90 else 'NOT met')}. "
                  f"In cells of 300 pathways a year or more: {100 * big['found'].mean():.1f}% as planted, "
                  f"{100 * big['overlapping'].mean():.1f}% on the same patients.",
              f"- Clean providers with any finding: **{fa:.1f}%** ({any_false} of {len(clean)}; 95% CI "
              f"{fa_lo:.1f}-{fa_hi:.1f}%); target at most 5%: {'met' if fa <= 5 else 'NOT met'}.",
              f"- False findings per clean provider: {np.mean(per_clean) if per_clean else 0:.3f} on average"
              + (f" (kinds: {', '.join(f'{k} {int(v)}' for k, v in kinds.items())})" if len(kinds) else "") + "."]
    small = m[m["band"] == "small"]
    lines.append(f"- Smaller effects (the 'small' rows): {100 * small['found'].mean():.1f}% found; a group of a few "
                 "dozen pathways a year cannot show a 1.5x change against hundreds of comparisons, and the scan says "
                 "'too few to tell' for the smallest.")
    out = {"table": table.to_dict("records"), "sensitivity_sample_%": sens, "sensitivity_sample_any_kind_%": sens_any,
           "sensitivity_sample_same_patients_%": sens_overlap,
           "clean_any_finding_%": fa,
           "n_clean": len(clean), "n_planted": len(m), "markdown": "\n".join(lines)}
    (HERE / "findings_power.json").write_text(json.dumps(out, indent=1, default=float) + "\n")
    return out


# ------------------------------------------------------------------------------------------
# Speed: one national-size provider, and every provider of a national extract
# ------------------------------------------------------------------------------------------

def setup_one_national():
    from qi_equity.data.simulate import Background, derived, simulate_provider
    from qi_equity.variation.change import null_distribution

    null_distribution(36, 4), null_distribution(18, 3)  # once per process, as in a report kernel
    return derived(simulate_provider("XNN", np.random.default_rng(1), Background(referrals_per_month=780)))


def run_one_national(d):
    from qi_equity.findings import scan

    return scan(d, CENSUS)


def setup_national_200():
    """The national extract's 200 providers (``qi-equity national-data``; ~7.5M pathways), derived
    one provider (one Parquet row group) at a time."""
    import pyarrow.parquet as pq

    from qi_equity.data import contract as C
    from qi_equity.data.national import generate

    path = HERE / ".out" / "national.parquet"
    if not path.exists():
        generate(path)
    f = pq.ParquetFile(path)
    out = []
    for i in range(f.num_row_groups):
        df = f.read_row_group(i).to_pandas()
        for c in C.DATE_COLUMNS:
            df[c] = pd.to_datetime(df[c])
        df["imd_decile"] = df["imd_decile"].astype("Int64")
        for c in C.BOOL_COLUMNS:
            df[c] = df[c].astype(bool).astype("boolean")
        for c in ("provider_code", "specialty", "ethnic_category", "sex", "outcome"):
            df[c] = df[c].astype(str)
        out.append(C.derive(df, CENSUS))
    return out


def run_national_200(providers):
    from qi_equity.findings import scan

    return [scan(d, CENSUS).summary for d in providers]


BENCHMARKS = {
    "findings": dict(setup=setup_power, run=run_power, summarise=summarise_power, repeats=1, warmup=False,
                     note=f"power and false alarms: {N_COLLABORATIVES} simulated collaboratives (see the findings section)"),
    "findings_scan_one_national_provider": dict(setup=setup_one_national, run=run_one_national,
                                                note="scan of one provider of ~30,000 pathways (every dimension, "
                                                     "specialty and measure; target under 2 s)"),
    "findings_scan_national_200_providers": dict(setup=setup_national_200, run=run_national_200, repeats=3,
                                                 note="scan of every provider of the 7.5M-pathway national extract, "
                                                      "derived beforehand (target under 2 minutes)"),
}
