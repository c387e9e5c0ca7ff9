"""Pathway stage analysis by equity group.

Stages of a referral-to-treatment pathway:

1. ``referral_to_first_appointment`` -- weeks from referral to the first appointment, and
   the share of referrals seen (a first appointment recorded);
2. ``first_appointment_to_clock_stop`` -- weeks from the first appointment to the clock
   stop, and the share of those seen who were treated (rather than removed).

Times are medians over pathways whose clock stopped in the window (completed pathways have
every stage); conversions count the cohort referred in the window and still its outcome.
A group's gap to the reference group is computed at each stage; the stage where the gap
*opens* is the one with the largest step in the gap (on the worse side).

References
----------
.. [1] Institute for Healthcare Improvement (2017). "Appreciation of a system", in the
       Science of Improvement; Provost LP, Murray SK (2011) The Health Care Data Guide.
.. [2] NHS England, RTT rules: clock starts at referral, stops at first definitive
       treatment or removal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity import measures
from qi_equity.data import contract as C

STAGES = {
    "referral_to_first_appointment": "Referral to first appointment",
    "first_appointment_to_clock_stop": "First appointment to treatment or removal",
}


def stage_analysis(derived: pd.DataFrame, census_date, dimension: str = "sex_age", months: int = 12,
                   specialty: str | None = None, reference: str | None = None) -> pd.DataFrame:
    """Time and conversion at each pathway stage, by group, with the gap to a reference group.

    Parameters
    ----------
    derived : pandas.DataFrame
        Pathways with derived fields (:func:`qi_equity.data.contract.derive`).
    census_date : date
        The window is the ``months`` months ending with the census month.
    dimension : str
        Equity dimension (``sex_age``, ``ethnic_group``, ``imd_quintile`` ...).
    specialty : str, optional
        Restrict to one treatment function code.
    reference : str, optional
        Reference group (default: the dimension's stated reference).

    Returns
    -------
    pandas.DataFrame
        One row per group x stage: ``group, stage, stage_label, completed`` (pathways with both
        ends of the stage, clock stopped in the window), ``median_weeks``, ``cohort`` (referred
        in the window) and ``converted_pct`` (seen, for stage 1; treated among those seen,
        for stage 2), ``reference``, ``gap_weeks`` (median minus the reference's median) and
        ``gap_step`` (the gap at this stage: stages' medians are separate, so each stage's gap
        is its own step).
    """
    ref = reference or C.DIMENSIONS[dimension].reference
    win = measures.window(census_date, months)
    d = derived if specialty is None else derived[derived["specialty"] == str(specialty)]
    g = C.dimension_values(d, dimension)
    done = d["completed"] & d["clock_stop_month"].isin(win) & d["first_appointment_date"].notna()
    s1 = (d["first_appointment_date"] - d["referral_date"]).dt.days / 7
    s2 = (d["clock_stop_date"] - d["first_appointment_date"]).dt.days / 7
    cohort = d["referral_month"].isin(win)
    seen = d["first_appointment_date"].notna()
    treated = d["outcome"].eq("treated")
    rows = []
    for group in C.DIMENSIONS[dimension].groups:
        m = (g == group).to_numpy()
        if not m.any():
            continue
        for stage, weeks, conv_num, conv_den in (
                ("referral_to_first_appointment", s1, cohort & seen, cohort),
                ("first_appointment_to_clock_stop", s2, cohort & seen & treated & d["completed"],
                 cohort & seen & d["completed"])):
            sel = m & done.to_numpy()
            den = int((m & conv_den.to_numpy()).sum())
            rows.append({"group": group, "stage": stage, "stage_label": STAGES[stage], "completed": int(sel.sum()),
                         "median_weeks": float(np.median(weeks.to_numpy()[sel])) if sel.any() else np.nan,
                         "cohort": den,
                         "converted_pct": 100 * int((m & conv_num.to_numpy()).sum()) / den if den else np.nan})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    refm = out[out["group"] == ref].set_index("stage")["median_weeks"]
    out["reference"] = ref
    out["gap_weeks"] = out["median_weeks"] - out["stage"].map(refm)
    out["gap_step"] = out["gap_weeks"]
    return out


def gap_opens_at(stages: pd.DataFrame, group: str) -> str | None:
    """The stage where a group's gap to the reference opens: the largest (worse-side) step."""
    s = stages[stages["group"] == group].dropna(subset=["gap_step"])
    if s.empty:
        return None
    return str(s.loc[s["gap_step"].idxmax(), "stage"])


def stage_gaps(derived: pd.DataFrame, dimension: str, group: str, reference: str, start, end,
               specialty: str | None = None, confidence: float = 0.95, flags: dict | None = None) -> pd.DataFrame:
    """The gap between a group and its reference at each pathway stage, with intervals.

    Pathways whose clock stopped from ``start`` to ``end`` (months, inclusive) and that have a
    first appointment; the time at each stage is compared as a difference of medians with
    Bonett and Price's distribution-free interval [3]_. ``reference="everyone else"`` compares the
    group with every other pathway whose group on the dimension is recorded.

    Returns
    -------
    pandas.DataFrame
        One row per stage: ``stage, stage_label, n_group, n_reference, median_group,
        median_reference, difference, difference_lower, difference_upper`` (weeks). The stage
        where the gap opens is the one with the largest difference.

    References
    ----------
    .. [3] Bonett DG, Price RM (2002). Statistical inference for a linear function of medians.
           Psychological Methods 7(3): 370-383.
    """
    from qi_equity.equity.gaps import median_gap, median_summary

    d = derived if specialty in (None, "all") else derived[derived["specialty"].astype(str) == str(specialty)]
    lo, hi = pd.Timestamp(start).to_period("M").to_timestamp(), pd.Timestamp(end).to_period("M").to_timestamp()
    done = (d["completed"] & d["clock_stop_month"].between(lo, hi) & d["first_appointment_date"].notna()).to_numpy()
    g = C.dimension_values(d, dimension, flags).to_numpy(dtype=object)
    s1 = ((d["first_appointment_date"] - d["referral_date"]).dt.days / 7).to_numpy(float)
    s2 = ((d["clock_stop_date"] - d["first_appointment_date"]).dt.days / 7).to_numpy(float)
    rows = []
    for stage, weeks in (("referral_to_first_appointment", s1), ("first_appointment_to_clock_stop", s2)):
        if reference == "everyone else":
            unrec = set(C.get_dimension(dimension, flags).unrecorded)
            ref_mask = (g != group) & ~np.isin(g, list(unrec))
        else:
            ref_mask = g == reference
        a, b = weeks[done & (g == group)], weeks[done & ref_mask]
        s = median_summary([a, b])
        gap = median_gap(s["median"][0], s["se"][0], s["median"][1], s["se"][1], confidence=confidence)
        rows.append({"stage": stage, "stage_label": STAGES[stage], "n_group": len(a), "n_reference": len(b),
                     "median_group": s["median"][0], "median_reference": s["median"][1],
                     "difference": gap["difference"][0], "difference_lower": gap["difference_lower"][0],
                     "difference_upper": gap["difference_upper"][0]})
    return pd.DataFrame(rows)
