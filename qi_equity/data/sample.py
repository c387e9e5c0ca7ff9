"""A seeded generator for the bundled sample collaborative (synthetic data only).

``qi-equity sample-data`` writes ``data_samples/``: one pathway extract per fictional
provider, a catchment-population table, ``collaborative.yaml`` and the planted
inequities in ``GROUND_TRUTH.md`` / ``ground_truth.json``. Everything is drawn from
``numpy.random.default_rng`` with fixed seeds, so regenerating is byte-identical.

Nothing here describes real people or real trusts: codes start with ``XQ`` (no NHS
organisation has such a code) and names are invented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.data import contract as C

SEED = 20261125
START = pd.Timestamp("2023-04-01")  # first month of the 36-month window
CENSUS = pd.Timestamp("2026-03-31")
BURN_IN_MONTHS = 12  # referrals start earlier so the window opens with a real waiting list
COLLABORATIVE = "north_weald"
COLLABORATIVE_TITLE = "North Weald Elective Care Collaborative (synthetic)"

SPECIALTIES = [  # code, name, share of referrals, mean wait in weeks
    ("110", "Trauma and Orthopaedics", 0.30, 15.0),
    ("120", "Ear Nose and Throat", 0.17, 12.0),
    ("130", "Ophthalmology", 0.18, 10.0),
    ("100", "General Surgery", 0.20, 12.5),
    ("502", "Gynaecology", 0.15, 11.0),
]
#: Treatment functions of Core20PLUS5 clinical areas (qi_equity.data.core20plus5): a share of the
#: "100" referrals is moved to them, adults and children apart, by a random stream of its own, so
#: every other column of the extract is what it was. Waits and DNA stay those of the pathway.
AREA_SPECIALTIES = {  # code: (name, share of the adults' / children's "100" referrals)
    "320": ("Cardiology", 0.30, 0.0),
    "340": ("Respiratory Medicine", 0.25, 0.0),
    "258": ("Paediatric Respiratory Medicine", 0.0, 0.40),
    "142": ("Paediatric Dentistry", 0.0, 0.30),
}

AGE_RANGES = {"0-15": (0, 15), "16-29": (16, 29), "30-44": (30, 44), "45-64": (45, 64),
              "65-74": (65, 74), "75+": (75, 94)}
AGE_SHARE = {"0-15": 0.19, "16-29": 0.18, "30-44": 0.20, "45-64": 0.25, "65-74": 0.10, "75+": 0.08}
REFERRAL_PROPENSITY = {"0-15": 0.5, "16-29": 0.7, "30-44": 0.9, "45-64": 1.3, "65-74": 1.9, "75+": 2.2}
ETHNIC_CODES = {"White": ["A", "B", "C"], "Mixed": ["D", "E", "F", "G"], "Asian": ["H", "J", "K", "L"],
                "Black": ["M", "N", "P"], "Other": ["R", "S"]}
ETHNIC_CODE_WEIGHTS = {"White": [0.85, 0.03, 0.12], "Mixed": [0.3, 0.2, 0.3, 0.2],
                       "Asian": [0.35, 0.35, 0.15, 0.15], "Black": [0.3, 0.55, 0.15], "Other": [0.35, 0.65]}


@dataclass
class ProviderSpec:
    code: str
    name: str
    referrals_per_month: int
    population: int
    imd_weights: list[float]  # deciles 1..10
    ethnic_weights: dict[str, float]
    wait_multiplier: float = 1.0
    dna_multiplier: float = 1.0
    unrecorded_ethnicity: float = 0.04  # share coded Z or 99
    imd_unmatched: float = 0.01
    interpreter_minority: float = 0.08  # share of patients of minority ethnic groups needing an interpreter
    plants: list[str] = field(default_factory=list)


PROVIDERS = [
    ProviderSpec("XQA", "Ashbrook Hospitals NHS Trust", 240, 560_000,
                 [8, 9, 10, 10, 11, 11, 11, 10, 10, 10],
                 {"White": 0.58, "Mixed": 0.05, "Asian": 0.22, "Black": 0.10, "Other": 0.05},
                 unrecorded_ethnicity=0.42, interpreter_minority=0.30,
                 plants=["poor_ethnicity_recording", "interpreter_wait_gap_in_t_and_o"]),
    ProviderSpec("XQB", "Brindle Valley University Hospitals NHS Trust", 280, 650_000,
                 [9, 9, 10, 10, 10, 10, 11, 11, 10, 10],
                 {"White": 0.80, "Mixed": 0.03, "Asian": 0.10, "Black": 0.04, "Other": 0.03},
                 plants=["working_age_women_wait_shift", "working_age_women_seldom_heard"]),
    ProviderSpec("XQC", "Calder Moor NHS Foundation Trust", 300, 650_000,
                 [22, 18, 12, 10, 9, 8, 7, 6, 5, 3],
                 {"White": 0.84, "Mixed": 0.03, "Asian": 0.09, "Black": 0.02, "Other": 0.02},
                 plants=["deprived_dna_doubles", "deprived_waits_over_18_rising"]),
    ProviderSpec("XQD", "Dunmere General Hospital NHS Trust", 300, 690_000,
                 [10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
                 {"White": 0.70, "Mixed": 0.03, "Asian": 0.22, "Black": 0.03, "Other": 0.02},
                 wait_multiplier=1.15, plants=["improvement_after_change", "asian_dna_gap_in_t_and_o"]),
    ProviderSpec("XQE", "Eastcombe Community Hospitals NHS Trust", 150, 330_000,
                 [11, 11, 10, 10, 10, 10, 10, 10, 9, 9],
                 {"White": 0.88, "Mixed": 0.03, "Asian": 0.05, "Black": 0.02, "Other": 0.02},
                 dna_multiplier=2.5, plants=["dna_outlier"]),
    ProviderSpec("XQF", "Fenwick Moor Hospitals NHS Trust", 250, 580_000,
                 [12, 11, 11, 10, 10, 10, 9, 9, 9, 9],
                 {"White": 0.82, "Mixed": 0.03, "Asian": 0.09, "Black": 0.04, "Other": 0.02},
                 plants=[]),  # nothing planted: its reports must stay quiet
]
CLEAN_PROVIDERS = [p.code for p in PROVIDERS if not p.plants]

# Planted changes ------------------------------------------------------------------------
SHIFT_PROVIDER, SHIFT_SPECIALTY, SHIFT_START, SHIFT_STRETCH = "XQB", "110", pd.Timestamp("2024-10-01"), 1.7
SHIFT_REFERRED_FROM = pd.Timestamp("2024-07-01")  # referred from here, so their completions shift from about SHIFT_START
DNA_PROVIDER, DNA_START, DNA_FACTOR = "XQC", pd.Timestamp("2024-07-01"), 2.0
TREND_PROVIDER, TREND_START, TREND_MONTHS, TREND_REDUCTION = "XQD", pd.Timestamp("2024-09-01"), 12, 0.40
TREND_CHANGE = "Patient-initiated validation and pooled T&O/ENT theatre lists"  # PDSA cycle 3 at XQD
OUTLIER_PROVIDER = "XQE"
POOR_RECORDING_PROVIDER = "XQA"
# (g) people needing an interpreter wait longer for T&O treatment (throughout the window)
INTERP_PROVIDER, INTERP_SPECIALTY, INTERP_STRETCH = "XQA", "110", 2.5
# (h) Asian patients miss T&O first appointments more often (throughout the window)
ETHNIC_DNA_PROVIDER, ETHNIC_DNA_SPECIALTY, ETHNIC_DNA_GROUP, ETHNIC_DNA_FACTOR = "XQD", "110", "Asian", 3.5
# (i) waits for treatment of the most deprived quintile lengthen steadily from October 2024
DEPRIVED_TREND_PROVIDER, DEPRIVED_TREND_START, DEPRIVED_TREND_MONTHS, DEPRIVED_TREND_STRETCH = (
    "XQC", pd.Timestamp("2024-07-01"), 18, 0.8)  # by referral date: completions deteriorate from about October


def _base_dna_probability(imd_decile: np.ndarray, age_band: np.ndarray) -> np.ndarray:
    """Background DNA probability per first appointment: a mild deprivation and age gradient."""
    dep = np.where(np.isnan(imd_decile), 5.5, imd_decile)
    p = 0.055 + 0.004 * (10 - dep)
    young = np.isin(age_band, ["16-29", "30-44"])
    return p * np.where(young, 1.25, 1.0)


def population_table(spec: ProviderSpec) -> pd.DataFrame:
    """Catchment population by sex x age band x ethnic group x IMD decile (deterministic shares)."""
    rows = []
    imd = np.array(spec.imd_weights, float)
    imd = imd / imd.sum()
    for sex, s_share in (("F", 0.505), ("M", 0.495)):
        for band, a_share in AGE_SHARE.items():
            for group, e_share in spec.ethnic_weights.items():
                # minority groups are younger and more often in deprived areas
                tilt = 1.0 if group == "White" else (1.25 if band in ("0-15", "16-29", "30-44") else 0.55)
                dep_tilt = np.linspace(1.5, 0.6, 10) if group != "White" else np.ones(10)
                w = imd * dep_tilt
                w = w / w.sum()
                for d in range(10):
                    rows.append((spec.code, sex, band, group, d + 1,
                                 spec.population * s_share * a_share * e_share * tilt * w[d]))
    df = pd.DataFrame(rows, columns=["provider_code", "sex", "age_band", "ethnic_group", "imd_decile", "population"])
    df["population"] = np.round(df["population"]).astype(int)
    return df


def _area_specialties(spec_code: np.ndarray, spec_name: np.ndarray, age: np.ndarray,
                      rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """Move a share of the General Surgery pathways to the Core20PLUS5 areas' treatment functions
    (:data:`AREA_SPECIALTIES`), adults (16+) and children (0-15) apart; ``rng=None`` moves none."""
    if rng is None:
        return spec_code, spec_name
    code, name = spec_code.astype(object).copy(), spec_name.astype(object).copy()
    u = rng.random(len(code))
    gs = spec_code == "100"
    for child in (False, True):
        who = gs & ((age < 16) if child else (age >= 16))
        lo = 0.0
        for c, (n, adult_share, child_share) in AREA_SPECIALTIES.items():
            share = child_share if child else adult_share
            m = who & (u >= lo) & (u < lo + share)
            code[m], name[m] = c, n
            lo += share
    return code.astype(str), name.astype(str)


def _generate_provider(spec: ProviderSpec, rng: np.random.Generator,
                       area_rng: np.random.Generator | None = None) -> pd.DataFrame:
    pop = population_table(spec)
    months = pd.date_range(START - pd.DateOffset(months=BURN_IN_MONTHS), CENSUS, freq="MS")
    n_per_month = rng.poisson(spec.referrals_per_month, size=len(months))
    n = int(n_per_month.sum())
    month_start = np.repeat(months.values, n_per_month)
    day = rng.integers(0, 28, size=n)
    referral = pd.to_datetime(month_start) + pd.to_timedelta(day, unit="D")

    weights = pop["population"].to_numpy(float) * pop["age_band"].map(REFERRAL_PROPENSITY).to_numpy(float)
    cell = rng.choice(len(pop), size=n, p=weights / weights.sum())
    demo = pop.iloc[cell].reset_index(drop=True)
    band = demo["age_band"].to_numpy()
    lo = np.array([AGE_RANGES[b][0] for b in band])
    hi = np.array([AGE_RANGES[b][1] for b in band])
    age = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(int)
    sex = demo["sex"].to_numpy().astype(object)
    sex[rng.random(n) < 0.004] = "U"
    group = demo["ethnic_group"].to_numpy()
    eth = np.empty(n, dtype=object)
    for g, codes in ETHNIC_CODES.items():
        m = group == g
        eth[m] = rng.choice(codes, size=int(m.sum()), p=ETHNIC_CODE_WEIGHTS[g])
    unrec = rng.random(n) < spec.unrecorded_ethnicity
    eth[unrec] = np.where(rng.random(int(unrec.sum())) < 0.6, "Z", "99")
    imd = demo["imd_decile"].to_numpy(float)
    imd[rng.random(n) < spec.imd_unmatched] = np.nan

    sp_idx = rng.choice(len(SPECIALTIES), size=n, p=[s[2] for s in SPECIALTIES])
    spec_code = np.array([SPECIALTIES[i][0] for i in sp_idx])
    spec_name = np.array([SPECIALTIES[i][1] for i in sp_idx])
    mean_wait = np.array([SPECIALTIES[i][3] for i in sp_idx]) * spec.wait_multiplier
    shape = 2.2
    wait_days = rng.gamma(shape, mean_wait * 7 / shape)
    stop = referral + pd.to_timedelta(wait_days, unit="D")

    # (c) improvement: waits fall progressively after a dated change.
    if spec.code == TREND_PROVIDER:
        frac = ((stop - TREND_START) / pd.Timedelta(days=30.44)).to_numpy(float) / TREND_MONTHS
        factor = 1 - TREND_REDUCTION * np.clip(frac, 0, 1)
        stop = referral + pd.to_timedelta(wait_days * factor, unit="D")
    # (a) working-age women in T&O referred from SHIFT_REFERRED_FROM wait SHIFT_STRETCH times as long
    # for treatment, so the median wait of their completed pathways shifts up from about SHIFT_START.
    # Referral and first-appointment dates are unchanged: the extra wait falls between the first
    # appointment and treatment (waiting for surgery), so the gap opens at the second stage. Plants
    # (g) and (i) lengthen waits the same way: (g) for people needing an interpreter in T&O, by a
    # constant factor throughout; (i) for the most deprived quintile, by a factor growing with the
    # referral date from 1 at the trend's start to 1 + DEPRIVED_TREND_STRETCH 18 months later.
    need_interp = rng.random(n) < np.where(np.isin(group, ["Asian", "Black", "Other", "Mixed"]),
                                           spec.interpreter_minority, 0.005)
    stretch = np.ones(n)
    if spec.code == SHIFT_PROVIDER:
        target = (spec_code == SHIFT_SPECIALTY) & (sex == "F") & (age >= 16) & (age <= 64)
        stretch = np.where(target & (referral >= SHIFT_REFERRED_FROM), SHIFT_STRETCH, stretch)
    if spec.code == INTERP_PROVIDER:
        stretch = np.where((spec_code == INTERP_SPECIALTY) & need_interp, INTERP_STRETCH, stretch)
    if spec.code == DEPRIVED_TREND_PROVIDER:
        frac = ((referral - DEPRIVED_TREND_START) / pd.Timedelta(days=30.44)).to_numpy(float) / DEPRIVED_TREND_MONTHS
        grow = 1 + DEPRIVED_TREND_STRETCH * np.clip(frac, 0, 1)
        stretch = np.where((imd <= 2) & (referral >= DEPRIVED_TREND_START), grow, stretch)
    first_offset = None
    late = stretch != 1
    if late.any():
        first_frac_late = rng.uniform(0.15, 0.55, size=n)
        first_offset = (stop - referral) * first_frac_late  # referral -> first appointment, as without the plant
        stop = referral + (stop - referral) * stretch
    stop = stop.floor("D")

    removed = rng.random(n) < 0.11
    waiting = stop > CENSUS
    outcome = np.where(waiting, "waiting", np.where(removed, "removed", "treated"))
    first_frac = rng.uniform(0.15, 0.55, size=n)
    first = (referral + (stop - referral) * first_frac).floor("D")
    if first_offset is not None:
        first = pd.DatetimeIndex(np.where(late, (referral + first_offset).floor("D").values, first.values))
    first = pd.DatetimeIndex(np.where(first > CENSUS, np.datetime64("NaT"), first.values))
    no_first = removed & (rng.random(n) < 0.3)
    first = pd.DatetimeIndex(np.where(no_first, np.datetime64("NaT"), first.values))

    p_dna = _base_dna_probability(imd, band) * spec.dna_multiplier
    if spec.code == DNA_PROVIDER:
        q1 = (imd <= 2) & (first >= DNA_START)
        p_dna = np.where(q1, p_dna * DNA_FACTOR, p_dna)
    if spec.code == ETHNIC_DNA_PROVIDER:
        p_dna = np.where((group == ETHNIC_DNA_GROUP) & (spec_code == ETHNIC_DNA_SPECIALTY), p_dna * ETHNIC_DNA_FACTOR, p_dna)
    has_first = ~first.isna()
    dna_first = (rng.random(n) < p_dna) & has_first
    extra = rng.poisson(0.15, size=n) * (rng.random(n) < p_dna)
    dna = dna_first.astype(int) + extra * has_first

    ld = rng.random(n) < 0.02

    spec_code, spec_name = _area_specialties(spec_code, spec_name, age, area_rng)
    df = pd.DataFrame({
        "pathway_id": [f"{spec.code}-{i:06d}" for i in range(1, n + 1)],
        "provider_code": spec.code,
        "specialty": spec_code,
        "specialty_name": spec_name,
        "referral_date": referral.strftime("%Y-%m-%d"),
        "first_appointment_date": first.strftime("%Y-%m-%d"),
        "clock_stop_date": np.where(waiting, "", stop.strftime("%Y-%m-%d")),
        "outcome": outcome,
        "dna_count": dna,
        "sex": sex,
        "age": age,
        "ethnic_category": eth,
        "imd_decile": pd.array(imd, dtype="Float64").astype("Int64"),
        "learning_disability": ld.astype(int),
        "interpreter_needed": need_interp.astype(int),
    })
    df["first_appointment_date"] = df["first_appointment_date"].fillna("")
    # The extract covers pathways open at the window start or later.
    keep = (df["outcome"] == "waiting") | (pd.to_datetime(df["clock_stop_date"], errors="coerce") >= START)
    return df[keep].reset_index(drop=True)


PDSA_CYCLES = [  # provider, cycle, change idea, start, end, measure, prediction, what happened, decision
    ("XQA", 1, "Ask ethnicity at booking with a scripted explanation", "2024-05-01", "2024-07-31", "referrals",
     "Ethnicity not stated/not known falls below 20% of new referrals", "Recording improved in one clinic only",
     "adapt"),
    ("XQA", 2, "Add ethnicity to the e-referral mandatory fields", "2024-11-01", "2025-02-28", "referrals",
     "Recording of ethnicity reaches 90% of new referrals", "Not yet approved by the system supplier", "abandon"),
    ("XQB", 1, "Text reminders two days before first appointments", "2024-02-01", "2024-04-30", "dna_rate",
     "DNA rate falls by a quarter", "No visible change in DNA", "abandon"),
    ("XQC", 1, "Evening and Saturday clinics for working-age patients", "2025-03-01", "2025-06-30", "dna_rate",
     "DNA in the most deprived quintile returns to its 2023 level", "Too early to tell; uptake low", "adapt"),
    ("XQD", 1, "Telephone validation of patients waiting over 40 weeks", "2024-03-01", "2024-05-31",
     "completed_median_wait", "Median wait of completed pathways falls by 1 week", "Many patients already treated "
     "elsewhere; little change", "adapt"),
    ("XQD", 2, "Partial booking for follow-ups", "2024-06-01", "2024-08-31", "completed_median_wait",
     "Median wait falls by 1 week", "No visible change", "abandon"),
    ("XQD", 3, "Patient-initiated validation and pooled T&O/ENT theatre lists", "2024-09-01", "2025-02-28",
     "completed_median_wait", "Median wait falls steadily by a third within a year",
     "Median wait fell month on month from October", "adopt"),
    ("XQD", 4, "Extend pooled lists to general surgery", "2025-03-01", "2025-08-31", "completed_median_wait",
     "Improvement sustained; general surgery waits fall too", "Sustained", "adopt"),
    ("XQE", 1, "Interpreter booked with the appointment letter", "2024-09-01", "2024-12-31", "dna_rate",
     "DNA among patients needing an interpreter halves", "Bookings made but letters unchanged", "adapt"),
    ("XQB", 2, "Offer evening and weekend slots by text and gauge interest", "2025-11-01", "", "custom",
     "At least 30% of working-age women offered a slot opt in by March 2026", "", ""),
]
#: What the cycles aim at beyond a measure for all patients (the optional columns of the PDSA
#: log): a group's series, the gap between two groups, or the team's own series.
PDSA_TARGETS = {
    ("XQC", 1): {"dimension": "imd_quintile", "group": "Q1 most deprived", "reference_group": "Q5 least deprived",
                 "change_idea_id": "C1"},
    ("XQB", 2): {"series_file": "pdsa_series/XQB_people_opting_in.csv", "predicted_value": "30",
                 "predicted_by": "2026-03-31", "change_idea_id": "C1"},
}
#: XQB's own series for its running cycle: working-age women offered an evening or weekend slot
#: each month and how many opted in (a user-supplied series, as a team would keep it).
OPTING_IN = [("2025-05-01", 9, 62), ("2025-06-01", 11, 70), ("2025-07-01", 8, 58), ("2025-08-01", 10, 66),
             ("2025-09-01", 12, 71), ("2025-10-01", 9, 64), ("2025-11-01", 17, 69), ("2025-12-01", 19, 66),
             ("2026-01-01", 22, 72), ("2026-02-01", 23, 70), ("2026-03-01", 24, 73)]


def pdsa_log() -> pd.DataFrame:
    """The sample collaborative's PDSA log (theory of knowledge), with the optional target columns."""
    optional = ["dimension", "group", "reference_group", "series_file", "predicted_value", "predicted_by",
                "change_idea_id"]
    rows = [list(r) + [PDSA_TARGETS.get((r[0], r[1]), {}).get(c, "") for c in optional] for r in PDSA_CYCLES]
    return pd.DataFrame(rows, columns=["provider_code", "cycle", "change_idea", "start_date", "end_date", "measure",
                                       "prediction", "what_happened", "decision"] + optional)


def opting_in_series() -> pd.DataFrame:
    """XQB's people-opting-in series (``date, numerator, denominator``)."""
    return pd.DataFrame(OPTING_IN, columns=["date", "numerator", "denominator"])


#: The sample action log (docs/lenses.md): actions against findings the scan makes on the sample
#: (finding ids are stable hashes of what a finding is about).
ACTIONS = [
    ('XQA-A1', 'XQA', 'XQA-61f95623', 'Ask and record ethnicity at booking with a scripted explanation of why it is asked', 'Head of patient access', '2024-05-01', '2025-03-31', 'in progress', 'Ask ethnicity at booking with a scripted explanation', '1;2', '', ''),
    ('XQA-A2', 'XQA', 'XQA-6d794668', 'Book an interpreter with the first orthopaedic appointment instead of after the first DNA', 'Trauma and orthopaedics service manager', '2025-10-01', '2026-06-30', 'planned', 'Interpreter booked with the appointment', '', 'completed_over_18', 'Yes'),
    ('XQB-A1', 'XQB', 'XQB-434e1f9b;XQB-8ac34edb', "Co-design evening and weekend clinic slots with working-age women through the community partners' forum", 'Equity lead', '2025-11-01', '2026-09-30', 'in progress', 'Evening and weekend clinics', '', 'completed_over_18', 'Female 16-64'),
    ('XQC-A1', 'XQC', 'XQC-e25c86b0', 'Review long waiters from the most deprived fifth of areas at the weekly access meeting', 'Deputy chief operating officer', '2025-09-01', '2026-03-31', 'in progress', 'Equity check of the waiting list every month', '', 'completed_over_18', 'Q1 most deprived'),
    ('XQD-A1', 'XQD', 'XQD-afc399dc', 'Text reminders in the languages most spoken by patients who missed orthopaedic appointments', 'Outpatients manager', '2025-06-01', '2025-12-31', 'done', 'Plain-language and translated letters', '', 'dna_rate', 'Asian'),
    ('XQD-A2', 'XQD', 'XQD-afc399dc', 'Offer a telephone first appointment where travel is the barrier', 'Outpatients manager', '2026-01-15', '', 'planned', 'Choice of video or face-to-face', '', 'dna_rate', 'Asian'),
]
#: NASSS assessments of the sample's change projects (XQB's assessed twice).
NASSS_ROWS = [
    ('XQA', 'Ethnicity recorded at booking', '2025-10-15', 'condition', 'complicated', 'Recording matters most for groups with several conditions and language needs'),
    ('XQA', 'Ethnicity recorded at booking', '2025-10-15', 'technology', 'simple', 'A mandatory field in the booking system'),
    ('XQA', 'Ethnicity recorded at booking', '2025-10-15', 'value_proposition', 'complicated', 'Value clear to the equity team; less so to booking staff'),
    ('XQA', 'Ethnicity recorded at booking', '2025-10-15', 'adopters', 'complex', 'Booking staff uneasy asking; some patients decline'),
    ('XQA', 'Ethnicity recorded at booking', '2025-10-15', 'organisation', 'complicated', 'Training time competes with backlog work'),
    ('XQA', 'Ethnicity recorded at booking', '2025-10-15', 'wider_system', 'complicated', 'Supplier change needed for e-referral fields'),
    ('XQA', 'Ethnicity recorded at booking', '2025-10-15', 'embedding', 'complicated', 'Audit monthly; adapt the script from feedback'),
    ('XQB', 'Evening and weekend clinics for working-age women', '2026-02-20', 'condition', 'complicated', 'Orthopaedic needs vary; many have caring responsibilities'),
    ('XQB', 'Evening and weekend clinics for working-age women', '2026-02-20', 'technology', 'complicated', 'Booking rules and staffing rotas must change'),
    ('XQB', 'Evening and weekend clinics for working-age women', '2026-02-20', 'value_proposition', 'complicated', 'Fewer missed appointments and shorter waits; cost of premium-time sessions'),
    ('XQB', 'Evening and weekend clinics for working-age women', '2026-02-20', 'adopters', 'complex', "Consultants' job plans; patients want predictable slots"),
    ('XQB', 'Evening and weekend clinics for working-age women', '2026-02-20', 'organisation', 'complex', 'Premium pay and estates opening hours'),
    ('XQB', 'Evening and weekend clinics for working-age women', '2026-02-20', 'wider_system', 'complicated', 'Commissioner support for extended hours'),
    ('XQB', 'Evening and weekend clinics for working-age women', '2026-02-20', 'embedding', 'complicated', 'Review after each quarter with the community partners'),
    ('XQC', 'Monthly equity check of the waiting list', '2025-12-01', 'condition', 'complicated', 'Deprivation linked to several conditions'),
    ('XQC', 'Monthly equity check of the waiting list', '2025-12-01', 'technology', 'simple', 'A standard report from the waiting list'),
    ('XQC', 'Monthly equity check of the waiting list', '2025-12-01', 'value_proposition', 'simple', 'Clear: who waits longest, and why'),
    ('XQC', 'Monthly equity check of the waiting list', '2025-12-01', 'adopters', 'complicated', 'Service managers must act on the list'),
    ('XQC', 'Monthly equity check of the waiting list', '2025-12-01', 'organisation', 'complicated', 'Access meeting time'),
    ('XQC', 'Monthly equity check of the waiting list', '2025-12-01', 'wider_system', 'simple', 'In line with national elective recovery guidance'),
    ('XQC', 'Monthly equity check of the waiting list', '2025-12-01', 'embedding', 'simple', 'Part of the weekly access meeting'),
    ('XQD', 'Translated text reminders', '2025-07-01', 'condition', 'complicated', 'Missed appointments have many causes besides language'),
    ('XQD', 'Translated text reminders', '2025-07-01', 'technology', 'simple', 'An existing text service with translated templates'),
    ('XQD', 'Translated text reminders', '2025-07-01', 'value_proposition', 'simple', 'Fewer missed appointments'),
    ('XQD', 'Translated text reminders', '2025-07-01', 'adopters', 'complicated', 'Patients must consent to texts'),
    ('XQD', 'Translated text reminders', '2025-07-01', 'organisation', 'simple', 'Small cost; one team'),
    ('XQD', 'Translated text reminders', '2025-07-01', 'wider_system', 'complicated', 'Information governance review for new languages'),
    ('XQD', 'Translated text reminders', '2025-07-01', 'embedding', 'simple', 'Templates reviewed yearly'),
    ('XQB', 'Evening and weekend clinics for working-age women', '2025-10-01', 'condition', 'complicated', ''),
    ('XQB', 'Evening and weekend clinics for working-age women', '2025-10-01', 'technology', 'complex', ''),
    ('XQB', 'Evening and weekend clinics for working-age women', '2025-10-01', 'value_proposition', 'complex', ''),
    ('XQB', 'Evening and weekend clinics for working-age women', '2025-10-01', 'adopters', 'complex', ''),
    ('XQB', 'Evening and weekend clinics for working-age women', '2025-10-01', 'organisation', 'complex', ''),
    ('XQB', 'Evening and weekend clinics for working-age women', '2025-10-01', 'wider_system', 'complex', ''),
    ('XQB', 'Evening and weekend clinics for working-age women', '2025-10-01', 'embedding', 'complicated', ''),
]


#: Lens worksheet answers (docs/lenses.md): a few teams' words; XQB answered the intentional-equity
#: questions twice (repeat assessment, with scores).
WORKSHEET_ANSWERS = [
    ("XQB", "Equity steering group", "2026-01-20", "system", "S1",
     "Working-age women on the orthopaedic list, their employers and carers; the booking team; community partners. "
     "Missing: women who never reach a referral.", ""),
    ("XQB", "Equity steering group", "2026-01-20", "system", "S2",
     "A belief that missed appointments are a patient choice rather than a sign the offer does not fit.", ""),
    ("XQB", "Equity steering group", "2026-01-20", "system", "S3",
     "Clinic templates set by consultant job plans; no evening sessions in the estates contract.", ""),
    ("XQB", "Equity steering group", "2026-01-20", "system", "S4",
     "The gap opens between the first appointment and treatment, at booking of the surgery date.", ""),
    ("XQB", "Equity steering group", "2026-01-20", "knowledge", "K1",
     "Working-age women in trauma and orthopaedics wait longer than working-age men; the findings show it.", ""),
    ("XQB", "Equity steering group", "2026-01-20", "knowledge", "K3",
     "If we offer evening and weekend slots, more working-age women will take the first date offered.", ""),
    ("XQB", "Equity steering group", "2026-01-20", "knowledge", "K4",
     "At least 30% of women offered a slot opt in by March 2026.", ""),
    ("XQA", "Data quality group", "2025-11-10", "variation", "V1",
     "Ethnicity is not recorded for four in ten pathways; recording varies by clinic.", ""),
    ("XQA", "Data quality group", "2025-11-10", "variation", "V2",
     "Booking staff differ in how comfortable they are asking; some see it as intrusive.", ""),
    ("XQC", "Access board", "2026-02-02", "psychology", "P1",
     "Service managers welcome the monthly equity check but ask for time to act on it.", ""),
    ("XQC", "Access board", "2026-02-02", "psychology", "P3",
     "Some fatigue after two years of recovery targets; hope that the check makes the work fairer.", ""),
    ("XQB", "Equity steering group", "2025-06-30", "intentional_equity", "D2",
     "The elective team, from the waiting-list report.", "1"),
    ("XQB", "Equity steering group", "2026-01-20", "intentional_equity", "D2",
     "The team with women from the community partners' forum, from what they told us and the findings.", "3"),
    ("XQB", "Equity steering group", "2025-06-30", "intentional_equity", "O3",
     "The performance team owns the data.", "1"),
    ("XQB", "Equity steering group", "2026-01-20", "intentional_equity", "O3",
     "Shared with the forum every quarter; partners help read the charts.", "2"),
]


def worksheets() -> pd.DataFrame:
    """The sample's lens worksheet answers (the columns of qi_equity.assessment.worksheets)."""
    return pd.DataFrame(WORKSHEET_ANSWERS, columns=["provider_code", "team", "answered_on", "lens", "code", "answer",
                                                    "score"])


def action_log() -> pd.DataFrame:
    """The sample collaborative's action log (theory of knowledge: from data to action; the
    columns of qi_equity.knowledge.actions' contract, which tests/data/test_sample.py checks)."""
    return pd.DataFrame(ACTIONS, columns=["action_id", "provider_code", "finding_ids", "action", "owner_role",
                                          "start_date", "due_date", "status", "change_idea", "pdsa_cycles", "measure",
                                          "group"])


def nasss() -> pd.DataFrame:
    """The sample's NASSS assessments (the columns of qi_equity.assessment.nasss' contract)."""
    return pd.DataFrame(NASSS_ROWS, columns=["provider_code", "project", "assessed_on", "domain", "rating", "notes"])


SELDOM_PROVIDER, SELDOM_GROUP = "XQB", "Female 16-64"
ENGAGEMENT_PLAN = [  # channel, format, mean participants, day of month
    ("online", "survey", 140, 3), ("offline", "workshop", 22, 10), ("offline", "drop-in", 30, 17),
    ("hybrid", "focus group", 18, 24), ("online", "survey", 110, 5), ("offline", "community event", 45, 12),
    ("hybrid", "workshop", 26, 20), ("offline", "interview", 12, 26),
]
BARRIERS_BY_GROUP = {
    "Female 16-64": ["working_hours", "caring_responsibilities", "letters_and_booking"],
    "Male 16-64": ["working_hours", "cost", "awareness"],
    "Female 65+": ["transport", "digital_access", "letters_and_booking"],
    "Male 65+": ["transport", "digital_access", "disability_access"],
    "Female 0-15": ["caring_responsibilities", "transport"],
    "Male 0-15": ["caring_responsibilities", "transport"],
}


#: Free text for the sample questionnaire responses, written for the kit (what helps, what works).
HELP_TEXTS = ["Evening or Saturday clinics so I do not lose a day's pay", "A text the week before, not a letter",
              "Let me change the date online without phoning", "Somewhere to leave the children, or a later slot",
              "An interpreter booked before I arrive", "Appointments near the bus station", "Telephone first, then visit",
              "Help with parking costs", "Fewer changes to my date", "Being able to bring someone with me"]
WORKS_TEXTS = ["The reminder text worked", "The nurse explained everything", "Video call for the follow-up",
               "Staff were kind when I was late", "The volunteer at the door showed me the way", ""]
PLANTED_PII = {3: "Please call me on 07700 900123 about evening slots",
               11: "My name is Grace Okafor, email grace.okafor@example.com"}


def questionnaire_samples(seed: int = SEED) -> dict:
    """Sample responses to the kit's default questionnaire at XQB, in three channels: paper forms
    typed into the data-entry layout (``paper.csv``; wordings as the drop-downs give them),
    answers from the online form (``online.csv``; five people also filled in a paper form and gave
    its reference), and a survey tool's export (``forms_export.csv``, column headings as
    Microsoft Forms writes them, ``;`` between ticked answers) with its column mapping. Two free
    texts carry planted identifiers (a phone number in the drama range and an example.com
    address) for the scrubber. Returns file name -> text."""
    from qi_equity.psychology.forms import entry_columns
    from qi_equity.psychology.questionnaire import load_questionnaire

    rng = np.random.default_rng([seed, 41])
    q = load_questionnaire("default")
    cols = [c for c, _, _ in entry_columns(q)]
    # working-age women are under-represented on paper (daytime events), as in the engagement log
    people = {"paper": 40, "online": 25, "export": 30}

    def person(k, channel):
        woman = rng.random() < (0.08 if channel == "paper" else 0.2)   # a working-age woman
        older_woman = not woman and rng.random() < 0.2
        sex = "F" if woman or older_woman else "M"
        age = (rng.choice(["16-29", "30-44", "45-64"]) if woman else rng.choice(["65-74", "75+"]) if older_woman
               else rng.choice(["16-29", "30-44", "45-64", "65-74", "75+"]))
        ticks = [c for c in q.question("barriers").codes[:-1] if rng.random() < (0.45 if (woman and c in (
            "working_hours", "caring_responsibilities")) else 0.15)]
        return {"missed": rng.choice(q.question("missed").codes, p=[0.4, 0.5, 0.1]), "barriers": ticks or ["none"],
                "easy_to_rebook": rng.choice(q.question("easy_to_rebook").codes), "travel_minutes": int(rng.integers(10, 90)),
                "what_would_help": HELP_TEXTS[int(rng.integers(len(HELP_TEXTS)))], "what_works":
                WORKS_TEXTS[int(rng.integers(len(WORKS_TEXTS)))], "age_band": age, "sex": sex,
                "ethnic_category": rng.choice(["A", "A", "A", "C", "H", "J", "N"]), "disability": rng.choice(["yes", "no", "no"])}

    def label(qid, code):
        return dict(q.question(qid).options).get(code, code)

    out = {}
    for channel in ("paper", "online"):
        rows = []
        for k in range(people[channel]):
            a = person(k, channel)
            ref = f"XQB-P{k + 1:03d}" if channel == "paper" or k < 5 else f"XQB-W{k + 1:03d}"
            r = dict.fromkeys(cols, "")
            r.update(respondent_ref=ref, channel="offline" if channel == "paper" else "online",
                     response_date=f"2026-02-{1 + k % 27:02d}", consent="No" if channel == "paper" and k in (7, 19) else "Yes")
            for qid in ("missed", "easy_to_rebook", "age_band", "sex", "ethnic_category", "disability"):
                r[qid] = label(qid, a[qid]) if channel == "paper" else a[qid]
            for c in a["barriers"]:
                r[f"barriers:{c}"] = "Yes"
            r["travel_minutes"] = str(a["travel_minutes"])
            r["what_would_help"] = PLANTED_PII.get(k, a["what_would_help"]) if channel == "paper" else a["what_would_help"]
            r["what_works"] = a["what_works"]
            rows.append(r)
        out[f"{channel}.csv"] = pd.DataFrame(rows, columns=cols).to_csv(index=False, lineterminator="\n")
    heads = {"missed": q.question("missed").text, "barriers": q.question("barriers").text,
             "what_would_help": q.question("what_would_help").text, "age_band": q.question("age_band").text,
             "sex": q.question("sex").text}
    rows = []
    for k in range(people["export"]):
        a = person(k, "export")
        rows.append({"ID": k + 1, "Start time": f"2/{1 + k % 27}/26 09:00:00", "Completion time": f"2/{1 + k % 27}/26 09:06:00",
                     "Email": "anonymous", "Name": "", heads["missed"]: label("missed", a["missed"]),
                     heads["barriers"]: ";".join(label("barriers", c) for c in a["barriers"]) + ";",
                     heads["what_would_help"]: a["what_would_help"], heads["age_band"]: label("age_band", a["age_band"]),
                     heads["sex"]: label("sex", a["sex"]), q.consent_question: "Yes"})
    out["forms_export.csv"] = pd.DataFrame(rows).to_csv(index=False, lineterminator="\n")
    mapping = {"columns": {v: k for k, v in heads.items()}, "separator": ";", "channel": "online",
               "consent": q.consent_question, "response_date": "Completion time", "date_format": "%m/%d/%y %H:%M:%S"}
    import yaml

    out["forms_export_mapping.yaml"] = ("# Column mapping of forms_export.csv (a Microsoft Forms export) onto the default "
                                        "questionnaire (docs/engagement.md)\n" + yaml.safe_dump(mapping, sort_keys=False,
                                                                                                 width=200))
    out.update(_coding_samples(out, rng))
    return out


#: How the sample's first coder codes each (scrubbed) free text (the kit's coding frame).
TEXT_CODES = {
    "Evening or Saturday clinics so I do not lose a day's pay": "flexible_times;working_hours;cost",
    "A text the week before, not a letter": "letters_and_booking", "Let me change the date online without phoning":
    "easier_rebooking", "Somewhere to leave the children, or a later slot": "caring_responsibilities;support_on_the_day",
    "An interpreter booked before I arrive": "language;support_on_the_day",
    "Appointments near the bus station": "transport;closer_to_home", "Telephone first, then visit": "remote_options",
    "Help with parking costs": "transport;cost", "Fewer changes to my date": "letters_and_booking",
    "Being able to bring someone with me": "support_on_the_day", "Please call me on [phone] about evening slots":
    "flexible_times", "My name is [name], email [e-mail]": "", "The reminder text worked": "reminders_work",
    "The nurse explained everything": "kind_staff", "Video call for the follow-up": "remote_options",
    "Staff were kind when I was late": "kind_staff", "The volunteer at the door showed me the way": "community_help"}
WORKSHOP_IDEAS = [  # idea, votes, themes, status, change idea of XQB's driver diagram
    ("Saturday morning and weekday evening clinics for orthopaedics", 17, "flexible_times;working_hours",
     "taken forward", "C1"),
    ("Choose a video first appointment when booking", 11, "remote_options;working_hours", "taken forward", "C2"),
    ("A creche or a later slot on school days", 9, "caring_responsibilities;flexible_times", "proposed", ""),
    ("Change the date by text without phoning", 8, "easier_rebooking;letters_and_booking", "proposed", ""),
    ("Parking refunds for long appointments", 3, "cost;transport", "not taken forward", ""),
]


def _coding_samples(sources: dict, rng: np.random.Generator) -> dict:
    """The sample's coding sheet, coded by the equity lead (every item) and a patient partner (the
    first 50, disagreeing now and then), and one co-design workshop at XQB."""
    import io
    import tempfile

    from qi_equity.psychology.coding import coding_sheet
    from qi_equity.psychology.questionnaire import load_questionnaire
    from qi_equity.psychology.responses import Source, merge_responses

    q = load_questionnaire("default")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in sources.items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        merged = merge_responses([Source(Path(tmp, "paper.csv")), Source(Path(tmp, "online.csv")),
                                  Source(Path(tmp, "forms_export.csv"), Path(tmp, "forms_export_mapping.yaml"))], q)
    sheet = coding_sheet(merged.responses, q)
    first = sheet.assign(codes=sheet["text"].map(TEXT_CODES).fillna(""), coder="Equity lead")
    second = first.head(50).copy()
    second["coder"] = "Patient partner"
    for i in second.index:
        codes = [c for c in second.at[i, "codes"].split(";") if c]
        u = rng.random()
        if u < 0.15 and len(codes) > 1:
            codes = codes[:-1]
        elif u < 0.2:
            codes = codes + ["awareness"]
        second.at[i, "codes"] = ";".join(codes)
    buf = io.StringIO()
    pd.concat([first, second], ignore_index=True).to_csv(buf, index=False, lineterminator="\n")
    workshop = pd.DataFrame([("XQB", "XQB-W1", "2026-03-05", f"XQB-I{k}", idea, votes, themes, status, ci)
                             for k, (idea, votes, themes, status, ci) in enumerate(WORKSHOP_IDEAS, 1)],
                            columns=["provider_code", "workshop_id", "date", "idea_id", "idea", "votes", "themes", "status",
                                     "change_idea_id"])
    return {"coded_sheet.csv": buf.getvalue(), "workshop.csv": workshop.to_csv(index=False, lineterminator="\n")}


def engagement_log(seed: int = SEED) -> dict:
    """Sample hybrid engagement (psychology of change) for every provider: activities, reach
    by sex x working age, and barrier themes. At XQB working-age women are seldom heard:
    offline daytime activities reach few of them."""
    from qi_equity.psychology.engagement import population_by

    rng = np.random.default_rng([seed, 99])
    acts, reach, bars = [], [], []
    for spec in PROVIDERS:
        pop = population_by(population_table(spec), "sex_age")
        groups = [g for g in pop.index if not g.startswith("Not known")]
        base = (pop.reindex(groups) / pop.reindex(groups).sum()).to_numpy()
        for k, (channel, fmt, mean, day) in enumerate(ENGAGEMENT_PLAN):
            aid = f"{spec.code}-E{k + 1:02d}"
            month = pd.Timestamp("2024-04-01") + pd.DateOffset(months=3 * k)
            n = int(rng.poisson(mean))
            acts.append((spec.code, aid, (month + pd.Timedelta(days=day - 1)).strftime("%Y-%m-%d"), channel, fmt, n))
            w = base.copy()
            for i, g in enumerate(groups):
                if g.endswith("65+"):
                    w[i] *= 1.6 if channel == "offline" else 0.7 if channel == "online" else 1.0
                if g.endswith("0-15"):
                    w[i] *= 0.7  # children take part through their families: reached a little less
                if spec.code == SELDOM_PROVIDER and g == SELDOM_GROUP:
                    w[i] *= 0.05 if channel == "offline" else 0.2 if channel == "online" else 0.1
            recorded = int(round(n * 0.9))  # some participants do not give their characteristics
            counts = rng.multinomial(recorded, w / w.sum())
            for g, c in zip(groups, counts):
                if c:
                    reach.append((aid, "sex_age", g, int(c)))
                    for theme in BARRIERS_BY_GROUP.get(g, []):
                        m = int(rng.binomial(c, 0.4))
                        if m:
                            bars.append((aid, "sex_age", g, theme, m))
    return {
        "activities": pd.DataFrame(acts, columns=["provider_code", "activity_id", "date", "channel", "format",
                                                  "participants"]),
        "reach": pd.DataFrame(reach, columns=["activity_id", "dimension", "group", "participants"]),
        "barriers": pd.DataFrame(bars, columns=["activity_id", "dimension", "group", "theme", "mentions"]),
    }


ISSUES = {  # provider: (issue, aim measure, aim statement, target)
    "XQA": ("Ethnicity is not recorded for two in five patients, so inequities by ethnicity cannot be seen",
            "referrals", "Record ethnicity for 95% of new referrals by March 2026", 95),
    "XQB": ("Working-age women wait longer for trauma and orthopaedic surgery after their first appointment",
            "completed_median_wait", "Close the gap in T&O waits between working-age women and men by March 2026", 0),
    "XQC": ("Patients from the most deprived areas miss twice as many first appointments as before",
            "dna_rate", "Bring DNA in IMD quintile 1 back to its 2023 level by March 2026", 10),
    "XQD": ("Waits for elective treatment are long for everyone", "completed_median_wait",
            "Reduce the median wait of completed pathways by a third by September 2025", 8),
    "XQE": ("The DNA rate is the highest in the collaborative", "dna_rate",
            "Halve the DNA rate by March 2026", 9),
    "XQF": ("Keeping waits fair while the waiting list grows", "completed_median_wait",
            "Keep every group's median wait within 10% of the trust's by March 2026", 10),
}


#: Aims that are a group's level or a gap between two groups (driver diagrams).
AIM_GROUPS = {"XQB": {"dimension": "sex_age", "group": "Female 16-64", "reference_group": "Male 16-64"},
              "XQC": {"dimension": "imd_quintile", "group": "Q1 most deprived"}}


def driver_diagram(code: str) -> dict:
    issue, measure, aim, target = ISSUES[code]
    return {
        "provider_code": code,
        "aim": {"statement": aim, "measure": measure, "target": target, "by": "2026-03-31", **AIM_GROUPS.get(code, {})},
        "primary_drivers": [
            {"id": "P1", "statement": "Access that fits people's lives",
             "secondary_drivers": [
                 {"id": "S1", "statement": "Appointment times and places people can reach",
                  "change_ideas": [{"id": "C1", "statement": "Evening and weekend clinics", "measure": measure},
                                   {"id": "C2", "statement": "Choice of video or face-to-face", "measure": measure}]},
                 {"id": "S2", "statement": "Communication people understand",
                  "change_ideas": [{"id": "C3", "statement": "Plain-language and translated letters",
                                    "measure": "dna_rate"}]}]},
            {"id": "P2", "statement": "Fair flow through the pathway",
             "secondary_drivers": [
                 {"id": "S3", "statement": "Lists scheduled by clinical need and time waited, checked for equity",
                  "change_ideas": [{"id": "C4", "statement": "Equity check of the waiting list every month",
                                    "measure": "completed_median_wait"}]},
                 {"id": "S4", "statement": "Data good enough to see who is waiting",
                  "change_ideas": [{"id": "C5", "statement": "Ethnicity and deprivation recorded at booking",
                                    "measure": "referrals"}]}]},
        ],
    }


def system_map(code: str) -> dict:
    issue = ISSUES[code][0]
    return {
        "provider_code": code,
        "issue": issue,
        "people": ["Patients on the waiting list and their carers", "Booking and validation teams",
                   "Consultants and theatre teams", "Community and voluntary sector partners",
                   "The collaborative's elective-care leads"],
        "culture": ["Waiting lists managed in date order, with little look at who waits",
                    "Engagement done mostly in working hours", "Willingness to share data across trusts"],
        "structures": ["A shared patient-tracking list across the collaborative", "Referral through the e-referral service",
                       "Monthly elective recovery board", "Interpreting contract managed centrally"],
        "key_processes": ["Referral triage and first-appointment booking", "Validation of the waiting list",
                          "Listing for surgery and theatre scheduling", "DNA follow-up and rebooking"],
    }


ROLES = ("consultant", "nurse", "booking team", "manager")


def readiness_survey(seed: int = SEED) -> pd.DataFrame:
    """Staff readiness-for-change answers (1-5) for every provider; XQD (the improving trust) is
    the most ready, booking teams the least sure they have time."""
    from qi_equity.psychology.readiness import items

    codes = items()["code"].tolist()
    rng = np.random.default_rng([seed, 77])
    rows = []
    for spec in PROVIDERS:
        lift = 0.6 if spec.code == "XQD" else 0.0
        for r in range(24):
            role = ROLES[r % len(ROLES)]
            person = rng.normal(0, 0.5)
            for c in codes:
                mu = 3.3 + lift + person + (-0.7 if (role == "booking team" and c == "R3") else 0)
                rows.append((spec.code, f"{spec.code}-S{r + 1:02d}", role, c, int(np.clip(np.rint(rng.normal(mu, 0.8)), 1, 5))))
    return pd.DataFrame(rows, columns=["provider_code", "respondent_id", "role", "item", "response"])


FIRST_ROUND, SECOND_ROUND = "2025-04-01", "2026-01-15"


def self_assessment(seed: int = SEED) -> pd.DataFrame:
    """Canvas and intentional-equity scores (now, target, action) for every provider, assessed on
    :data:`SECOND_ROUND`; XQA and XQB also scored the canvas on :data:`FIRST_ROUND`."""
    from qi_equity.assessment import frameworks

    rng = np.random.default_rng([seed, 55])
    rows = []
    for spec in PROVIDERS:
        for fw, table in frameworks().items():
            for code in table["code"]:
                now = int(rng.integers(0, 4))
                if spec.code == "XQA" and code == "T03":
                    now = 0  # population data and recording: where XQA's ethnicity recording starts
                target = int(min(4, now + rng.integers(0, 3)))
                action = "" if target == now else f"Plan agreed at the {spec.code} equity steering group"
                rows.append((spec.code, fw, code, now, target, action, SECOND_ROUND))
    # an earlier round of the canvas for two trusts (repeat assessment: movement since then)
    first = []
    for code_, fw, code, now, target, action, _ in rows:
        if code_ in ("XQA", "XQB") and fw == "canvas":
            before = max(0, now - (1 if int(code[1:]) % 2 else 0))
            first.append((code_, fw, code, before, target, "" if target == before else
                          f"Plan agreed at the {code_} equity steering group", FIRST_ROUND))
    return pd.DataFrame(first + rows, columns=["provider_code", "framework", "code", "now", "target", "action",
                                               "assessed_on"])


def ground_truth() -> dict:
    """The planted inequities, as data (also written to ``ground_truth.json``).

    Each row names the provider, measure, dimension, group and specialty of the effect, the
    ``finding_kinds`` by which a scan that finds it reports it, and ``direction`` of the finding.
    ``clean_providers`` have nothing planted: a scan must find nothing there but "too few to tell".
    """
    gt = {
        "collaborative": COLLABORATIVE,
        "census_date": str(CENSUS.date()),
        "window": [str(START.date()), str(CENSUS.date())],
        "clean_providers": CLEAN_PROVIDERS,
        "planted": [
            {"id": "a", "kind": "shift", "finding_kinds": ["group_changing", "gap_changing"],
             "provider_code": SHIFT_PROVIDER, "specialty": SHIFT_SPECIALTY,
             "dimension": "sex_age", "group": "Female 16-64", "measure": "completed_median_wait",
             "start_month": str(SHIFT_START.date()), "direction": "deteriorating",
             "description": "Working-age women (16-64) in Trauma and Orthopaedics referred from "
                            f"{SHIFT_REFERRED_FROM:%B %Y} wait {SHIFT_STRETCH}x as long for treatment, so the median "
                            f"wait of their completed pathways shifts up from about {SHIFT_START:%B %Y}."},
            {"id": "a2", "kind": "stage", "finding_kinds": ["stage"], "provider_code": SHIFT_PROVIDER,
             "specialty": SHIFT_SPECIALTY, "dimension": "sex_age", "group": "Female 16-64",
             "measure": "completed_median_wait", "stage": "first_appointment_to_clock_stop", "direction": "worse",
             "description": "The time from referral to first appointment is unchanged for them: the gap in (a) opens "
                            "between the first appointment and treatment."},
            {"id": "b", "kind": "shift", "finding_kinds": ["group_changing", "gap_changing"],
             "provider_code": DNA_PROVIDER, "specialty": "all",
             "dimension": "imd_quintile", "group": "Q1 most deprived", "measure": "dna_rate",
             "start_month": str(DNA_START.date()), "direction": "deteriorating",
             "description": f"The DNA probability of first appointments for IMD quintile 1 doubles from {DNA_START:%B %Y}."},
            {"id": "c", "kind": "trend", "finding_kinds": ["group_changing"], "provider_code": TREND_PROVIDER,
             "specialty": "all", "dimension": "all", "group": "All", "measure": "completed_median_wait",
             "start_month": str(TREND_START.date()), "direction": "improving",
             "change": TREND_CHANGE, "pdsa_cycle": 3,
             "description": f"After '{TREND_CHANGE}' ({TREND_START:%B %Y}) waits fall steadily by "
                            f"{TREND_REDUCTION:.0%} over {TREND_MONTHS} months (special cause improvement). The change is "
                            "PDSA cycle 3 in the sample PDSA log; cycles 1 and 2 changed nothing."},
            {"id": "d", "kind": "outlier", "finding_kinds": ["collaborative_outlier"], "provider_code": OUTLIER_PROVIDER,
             "specialty": "all", "dimension": "all", "group": "All", "measure": "dna_rate", "direction": "worse",
             "description": "Its DNA probability is 2.5 times the background, so over the last 12 months its "
                            "DNA rate is far above the other trusts'. With six providers, an overdispersion estimate "
                            "that includes it is inflated by it; compared with the other five it stands out."},
            {"id": "e", "kind": "data_quality", "finding_kinds": ["data_quality"],
             "provider_code": POOR_RECORDING_PROVIDER, "specialty": "all",
             "dimension": "ethnic_group", "group": "Not stated / Not known", "measure": "ethnicity_unrecorded",
             "value": 0.42, "direction": "above",
             "description": "About 42% of pathways have ethnic category Z (not stated) or 99 (not known), "
                            "against about 4% at the other providers."},
            {"id": "f", "kind": "seldom_heard", "finding_kinds": ["seldom_heard"], "provider_code": SELDOM_PROVIDER,
             "specialty": "all", "dimension": "sex_age", "group": SELDOM_GROUP, "measure": "engagement_reach",
             "direction": "below",
             "description": "In the engagement log, working-age women are the seldom-heard group at this provider: "
                            "offline daytime activities reach very few of them, online ones fewer than their share."},
            {"id": "g", "kind": "gap", "finding_kinds": ["gap_now"], "provider_code": INTERP_PROVIDER,
             "specialty": INTERP_SPECIALTY, "dimension": "interpreter_needed", "group": "Yes",
             "measure": "completed_median_wait", "direction": "worse",
             "description": f"People who need an interpreter wait {INTERP_STRETCH}x as long for Trauma and Orthopaedics "
                            "treatment, throughout the window (a PLUS group in one specialty); other specialties and "
                            "other patients are unaffected."},
            {"id": "h", "kind": "gap", "finding_kinds": ["gap_now"], "provider_code": ETHNIC_DNA_PROVIDER,
             "specialty": ETHNIC_DNA_SPECIALTY, "dimension": "ethnic_group", "group": ETHNIC_DNA_GROUP,
             "measure": "dna_rate", "direction": "worse",
             "description": f"Asian or Asian British patients miss Trauma and Orthopaedics first appointments "
                            f"{ETHNIC_DNA_FACTOR}x as often as the background, throughout the window; in other "
                            "specialties they attend as everyone else does."},
            {"id": "i", "kind": "trend", "finding_kinds": ["group_changing", "gap_changing"],
             "provider_code": DEPRIVED_TREND_PROVIDER, "specialty": "all", "dimension": "imd_quintile",
             "group": "Q1 most deprived", "measure": "completed_over_18", "start_month": str(DEPRIVED_TREND_START.date()),
             "direction": "deteriorating",
             "description": f"For patients of the most deprived quintile referred from {DEPRIVED_TREND_START:%B %Y}, waits "
                            f"for treatment lengthen steadily, to {1 + DEPRIVED_TREND_STRETCH:.1f}x for those referred 18 "
                            "months later, so the share of their completed pathways that waited over 18 weeks rises "
                            "month on month."},
        ],
        "background": "Mild gradients everywhere: DNA probability rises from about 5.5% (IMD decile 10) to 9% "
                      "(decile 1) and is 25% higher at ages 16-44; waits differ by specialty only. "
                      f"{', '.join(CLEAN_PROVIDERS)} has nothing planted.",
    }
    return gt


def _ground_truth_md(gt: dict) -> str:
    lines = [f"# Ground truth of the sample collaborative `{gt['collaborative']}`", "",
             "Synthetic data written by `qi-equity sample-data` (seeded, byte-identical on regeneration). "
             "No real patient or trust is described. The analyses are tested to find each planted fact.", "",
             f"Window: {gt['window'][0]} to {gt['window'][1]} (census date {gt['census_date']}).", "",
             f"Providers with nothing planted: {', '.join(gt['clean_providers'])}. A scan of them must find nothing "
             "but groups too small to tell.", "",
             "| id | provider | kind | reported as | measure | group | from | what |",
             "|---|---|---|---|---|---|---|---|"]
    for p in gt["planted"]:
        lines.append(f"| {p['id']} | {p['provider_code']} | {p['kind']} | {' or '.join(p['finding_kinds'])} | "
                     f"{p['measure']} | "
                     f"{p['dimension']}: {p['group']}{' (specialty ' + p['specialty'] + ')' if p['specialty'] != 'all' else ''} | "
                     f"{p.get('start_month', '-')} | {p['description']} |")
    lines += ["", "Background: " + gt["background"], ""]
    return "\n".join(lines)


def generate(out_dir: str | Path = "data_samples", seed: int = SEED) -> Path:
    """Write the sample collaborative to ``out_dir``; returns the path of ``collaborative.yaml``."""
    import yaml

    out = Path(out_dir)
    (out / "providers").mkdir(parents=True, exist_ok=True)
    pops = []
    for i, spec in enumerate(PROVIDERS):
        rng = np.random.default_rng([seed, i])
        df = _generate_provider(spec, rng, np.random.default_rng([seed, i, 5]))
        df.to_csv(out / "providers" / f"{spec.code}.csv", index=False, lineterminator="\n")
        pops.append(population_table(spec))
    pd.concat(pops).to_csv(out / "population.csv", index=False, lineterminator="\n")
    pdsa_log().to_csv(out / "pdsa_log.csv", index=False, lineterminator="\n")
    (out / "pdsa_series").mkdir(exist_ok=True)
    opting_in_series().to_csv(out / "pdsa_series" / "XQB_people_opting_in.csv", index=False, lineterminator="\n")
    action_log().to_csv(out / "action_log.csv", index=False, lineterminator="\n")
    nasss().to_csv(out / "nasss.csv", index=False, lineterminator="\n")
    worksheets().to_csv(out / "worksheets.csv", index=False, lineterminator="\n")
    for folder, make in (("driver_diagrams", driver_diagram), ("system_maps", system_map)):
        (out / folder).mkdir(exist_ok=True)
        for spec in PROVIDERS:
            (out / folder / f"{spec.code}.yaml").write_text(yaml.safe_dump(make(spec.code), sort_keys=False, width=100))
    readiness_survey(seed).to_csv(out / "readiness_survey.csv", index=False, lineterminator="\n")
    self_assessment(seed).to_csv(out / "self_assessment.csv", index=False, lineterminator="\n")
    (out / "engagement").mkdir(exist_ok=True)
    for name, table in engagement_log(seed).items():
        table.to_csv(out / "engagement" / f"{name}.csv", index=False, lineterminator="\n")
    (out / "engagement_responses" / "XQB").mkdir(parents=True, exist_ok=True)
    for name, text in questionnaire_samples(seed).items():
        (out / "engagement_responses" / "XQB" / name).write_text(text, encoding="utf-8")
    gt = ground_truth()
    (out / "ground_truth.json").write_text(json.dumps(gt, indent=2) + "\n")
    (out / "GROUND_TRUTH.md").write_text(_ground_truth_md(gt))
    config = {
        "name": COLLABORATIVE,
        "title": COLLABORATIVE_TITLE,
        "census_date": str(CENSUS.date()),
        "population": "population.csv",
        "lens_data": ".",
        "providers": [{"code": s.code, "name": s.name, "extract": f"providers/{s.code}.csv"} for s in PROVIDERS],
    }
    path = out / "collaborative.yaml"
    path.write_text("# The bundled sample collaborative (synthetic). Paths are relative to this file.\n"
                    "# lens_data: folder with the lens files (system_maps/, engagement/, pdsa_log.csv, ...; docs/lenses.md)\n"
                    + yaml.safe_dump(config, sort_keys=False))
    return path


__all__ = ["generate", "ground_truth", "population_table", "PROVIDERS", "C"]
