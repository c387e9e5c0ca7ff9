"""Simulated providers with effects planted at chosen places: for tests and the power benchmark.

Independent of the sample generator (:mod:`qi_equity.data.sample`): patients, waits and DNAs are
drawn here from their own model, and any number of :class:`Plant` effects of known kind, place
and size are planted in any group of any equity dimension, in one specialty or all:

- ``gap``: throughout the window, the group's waits are ``size`` times as long (``measure="wait"``;
  the extra wait falls between first appointment and treatment) or its DNA probability ``size``
  times as high (``measure="dna"``);
- ``shift``: the same from ``start`` (waits: pathways referred from ``start``; DNA: first
  appointments from ``start``);
- ``trend``: the factor grows linearly from 1 at ``start`` to ``size`` ``months`` later.

Background: a mild deprivation and age gradient in DNA (as in many trusts), waits that differ by
specialty only, recording gaps at the usual rates. :func:`simulate_provider` returns the raw
extract (text columns, as the data contract reads them) and the planted rows as ground truth in
the form of ``data_samples/ground_truth.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qi_equity.data import contract as C

SPECIALTIES = [("110", "Trauma and Orthopaedics", 0.30, 15.0), ("120", "Ear Nose and Throat", 0.17, 12.0),
               ("130", "Ophthalmology", 0.18, 10.0), ("100", "General Surgery", 0.20, 12.5),
               ("502", "Gynaecology", 0.15, 11.0)]
AGE_BANDS = {"0-15": (0, 15, 0.10), "16-29": (16, 29, 0.14), "30-44": (30, 44, 0.17), "45-64": (45, 64, 0.28),
             "65-74": (65, 74, 0.16), "75+": (75, 95, 0.15)}
ETHNIC = {"White": (["A", "B", "C"], [0.85, 0.03, 0.12]), "Mixed": (["D", "E", "F", "G"], [0.3, 0.2, 0.3, 0.2]),
          "Asian": (["H", "J", "K", "L"], [0.35, 0.35, 0.15, 0.15]), "Black": (["M", "N", "P"], [0.3, 0.55, 0.15]),
          "Other": (["R", "S"], [0.35, 0.65])}

#: Finding kinds that report each planted kind (see :mod:`qi_equity.findings.evaluate`).
FINDING_KINDS = {"gap": ["gap_now"], "shift": ["group_changing", "gap_changing"],
                 "trend": ["group_changing", "gap_changing"]}
MEASURES = {"wait": "completed_median_wait", "dna": "dna_rate"}


@dataclass
class Plant:
    """One planted effect (see the module docstring)."""

    kind: str            # gap / shift / trend
    measure: str         # wait / dna
    dimension: str
    group: str
    size: float
    specialty: str = "all"
    start: str | None = None
    months: int = 12

    def truth(self, provider: str, pid: str) -> dict:
        return {"id": pid, "kind": self.kind, "finding_kinds": FINDING_KINDS[self.kind], "provider_code": provider,
                "specialty": self.specialty, "dimension": self.dimension, "group": self.group,
                "measure": MEASURES[self.measure], "size": self.size, "start_month": self.start,
                "direction": "worse" if self.kind == "gap" else ("improving" if self.size < 1 else "deteriorating")}


@dataclass
class Background:
    """The provider's population and process, before any plant."""

    referrals_per_month: int = 250
    ethnic_shares: dict = field(default_factory=lambda: {"White": 0.82, "Mixed": 0.03, "Asian": 0.09,
                                                         "Black": 0.04, "Other": 0.02})
    imd_weights: tuple = (10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
    dna_base: float = 0.055
    dna_multiplier: float = 1.0      # the whole provider (a collaborative outlier when far from 1)
    dna_deprivation: float = 0.004   # added per decile below 10
    dna_young: float = 1.25          # ages 16-44
    wait_multiplier: float = 1.0
    unrecorded_ethnicity: float = 0.04
    interpreter_minority: float = 0.10
    learning_disability: float = 0.02


def _labels(frame: pd.DataFrame, dimension: str) -> np.ndarray:
    return C.dimension_values(frame, dimension).to_numpy(dtype=object)


def simulate_provider(code: str, rng: np.random.Generator, background: Background | None = None,
                      plants: list[Plant] = (), census: str = "2026-03-31", months: int = 36,
                      burn_in: int = 12) -> pd.DataFrame:
    """A provider's raw pathway extract (text columns) with ``plants`` planted."""
    bg = background or Background()
    census_ts = pd.Timestamp(census)
    end = census_ts.to_period("M").to_timestamp()
    start_window = end - pd.DateOffset(months=months - 1)
    month_starts = pd.date_range(start_window - pd.DateOffset(months=burn_in), end, freq="MS")
    per_month = rng.poisson(bg.referrals_per_month, size=len(month_starts))
    n = int(per_month.sum())
    referral = pd.DatetimeIndex(np.repeat(month_starts.values, per_month)) + pd.to_timedelta(
        rng.integers(0, 28, size=n), unit="D")
    bands = list(AGE_BANDS)
    band = rng.choice(bands, size=n, p=[AGE_BANDS[b][2] for b in bands])
    lo = np.array([AGE_BANDS[b][0] for b in band])
    hi = np.array([AGE_BANDS[b][1] for b in band])
    age = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(int)
    sex = np.where(rng.random(n) < 0.51, "F", "M").astype(object)
    sex[rng.random(n) < 0.004] = "U"
    groups = list(bg.ethnic_shares)
    w = np.array([bg.ethnic_shares[g] for g in groups], float)
    group = rng.choice(groups, size=n, p=w / w.sum())
    eth = np.empty(n, dtype=object)
    for g, (codes, p) in ETHNIC.items():
        m = group == g
        eth[m] = rng.choice(codes, size=int(m.sum()), p=p)
    imd_w = np.array(bg.imd_weights, float)
    decile = rng.choice(np.arange(1, 11), size=n, p=imd_w / imd_w.sum()).astype(float)
    decile[rng.random(n) < 0.01] = np.nan
    minority = group != "White"
    interp = rng.random(n) < np.where(minority, bg.interpreter_minority, 0.005)
    ld = rng.random(n) < bg.learning_disability
    unrec = rng.random(n) < bg.unrecorded_ethnicity
    eth[unrec] = np.where(rng.random(int(unrec.sum())) < 0.6, "Z", "99")
    sp = rng.choice(len(SPECIALTIES), size=n, p=[s[2] for s in SPECIALTIES])
    spec = np.array([SPECIALTIES[i][0] for i in sp])
    mean_wait = np.array([SPECIALTIES[i][3] for i in sp]) * bg.wait_multiplier
    wait = rng.gamma(2.2, mean_wait * 7 / 2.2)                       # days, referral to clock stop
    first_frac = rng.uniform(0.15, 0.55, size=n)

    # group labels on every planted dimension, from a frame the contract can read
    frame = pd.DataFrame({"sex": sex, "age": pd.array(age, dtype="Int64"), "ethnic_category": eth,
                          "imd_decile": pd.array(decile, dtype="Float64").astype("Int64"),
                          "learning_disability": pd.array(ld, dtype="boolean"),
                          "interpreter_needed": pd.array(interp, dtype="boolean")})
    frame["imd_quintile"] = C.imd_quintile(frame["imd_decile"])
    frame["core20"] = np.where(frame["imd_quintile"].isna(), "Unmatched",
                               np.where(frame["imd_quintile"].fillna(99) == 1, "Core20", "Not Core20"))
    frame["age_band"] = C.age_band(frame["age"])
    lo_w, hi_w = C.WORKING_AGE
    frame["working_age"] = (frame["age"] >= lo_w) & (frame["age"] <= hi_w)
    frame["sex_label"] = frame["sex"].map(C.SEX_LABEL)
    part = np.where(frame["working_age"], "16-64", np.where(frame["age"] < 16, "0-15", "65+"))
    frame["sex_age"] = frame["sex_label"].astype(str) + " " + part
    frame["ethnic_group"] = C.ethnic_group(frame["ethnic_category"])

    stretch = np.ones(n)
    dna_factor = np.ones(n)
    first_date = referral + pd.to_timedelta(wait * first_frac, unit="D")
    for p in plants:
        who = _labels(frame, p.dimension) == p.group
        if p.specialty != "all":
            who &= spec == p.specialty
        if p.kind == "gap":
            factor = np.full(n, p.size)
        else:
            t0 = pd.Timestamp(p.start)
            when = referral if p.measure == "wait" else first_date
            elapsed = ((when - t0) / pd.Timedelta(days=30.44)).to_numpy(float)
            if p.kind == "shift":
                factor = np.where(elapsed >= 0, p.size, 1.0)
            else:
                factor = 1 + (p.size - 1) * np.clip(elapsed / p.months, 0, 1)
        if p.measure == "wait":
            stretch = np.where(who, stretch * factor, stretch)
        else:
            dna_factor = np.where(who, dna_factor * factor, dna_factor)
    first_wait = wait * first_frac
    wait = first_wait + (wait - first_wait) * stretch          # the extra wait falls after the first appointment
    stop = (referral + pd.to_timedelta(wait, unit="D")).floor("D")
    first = (referral + pd.to_timedelta(first_wait, unit="D")).floor("D")
    removed = rng.random(n) < 0.11
    waiting = stop > census_ts
    outcome = np.where(waiting, "waiting", np.where(removed, "removed", "treated"))
    first = pd.DatetimeIndex(np.where(first > census_ts, np.datetime64("NaT"), first.values))
    no_first = removed & (rng.random(n) < 0.3)
    first = pd.DatetimeIndex(np.where(no_first, np.datetime64("NaT"), first.values))
    dep = np.where(np.isnan(decile), 5.5, decile)
    p_dna = (bg.dna_base + bg.dna_deprivation * (10 - dep)) * np.where(np.isin(band, ["16-29", "30-44"]),
                                                                        bg.dna_young, 1.0)
    p_dna = np.clip(p_dna * dna_factor * bg.dna_multiplier, 0, 0.95)
    has_first = ~first.isna()
    dna = ((rng.random(n) < p_dna) & has_first).astype(int) + rng.poisson(0.1, size=n) * (rng.random(n) < p_dna) * has_first
    df = pd.DataFrame({
        "pathway_id": [f"{code}-{i:07d}" for i in range(1, n + 1)], "provider_code": code, "specialty": spec,
        "specialty_name": np.array([SPECIALTIES[i][1] for i in sp]), "referral_date": referral.strftime("%Y-%m-%d"),
        "first_appointment_date": pd.Series(first.strftime("%Y-%m-%d")).fillna("").to_numpy(),
        "clock_stop_date": np.where(waiting, "", stop.strftime("%Y-%m-%d")), "outcome": outcome,
        "dna_count": dna.astype(str), "sex": sex, "age": age.astype(str), "ethnic_category": eth,
        "imd_decile": pd.Series(decile).map(lambda v: "" if np.isnan(v) else str(int(v))).to_numpy(),
        "learning_disability": ld.astype(int).astype(str), "interpreter_needed": interp.astype(int).astype(str),
    })
    keep = (df["outcome"] == "waiting") | (pd.to_datetime(df["clock_stop_date"], errors="coerce") >= start_window)
    out = df[keep].reset_index(drop=True).astype("string")
    return out.replace("", pd.NA)


def derived(raw: pd.DataFrame, census: str = "2026-03-31") -> pd.DataFrame:
    """The derived pathways of a simulated extract (as :func:`qi_equity.reports.provider.load_provider`)."""
    from qi_equity.data.io import to_typed

    return C.derive(to_typed(raw), census)
