"""Representation: who uses the service (or waits) against who lives in the catchment.

For each group of an equity dimension: the observed share of pathways (referrals in the
window, or the waiting list at the census) with a Wilson interval, the expected share from the
catchment population, their ratio, and a "who is missing" ranking (groups whose observed share
is below the expected share beyond chance, most missing first). Referral propensity differs
by age legitimately (older people need more elective care), so compare like with like:
:func:`referral_rates` gives each group's referrals per head and its indirectly standardised
ratio -- observed referrals against those expected at the provider's own referral rates by
age band -- so what remains is the gap that age does not explain ("who is never referred").

References
----------
.. [1] Wilson EB (1927) for the interval of the observed share.
.. [2] NHS England (2022). Core20PLUS5: "who is missing" from services as a first question.
.. [3] PHE (2018). Technical Guide: Confidence intervals; Age-standardisation (indirect
       standardisation, exact limits below 10 events, Byar's from 10):
       :func:`qi_equity.equity.standardise.isr`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.equity.intervals import rate_ci, wilson
from qi_equity.equity.standardise import isr, level_label
from qi_equity.psychology.engagement import population_by, population_groups


def representation(derived: pd.DataFrame, population: pd.DataFrame, dimension: str, census_date,
                   population_of: str = "referrals", months: int = 12, confidence: float = 0.95) -> pd.DataFrame:
    """Observed against expected shares by group.

    Parameters
    ----------
    derived : pandas.DataFrame
        One provider's pathways with derived fields.
    population : pandas.DataFrame
        That provider's catchment population (``provider_code, sex, age_band, ethnic_group,
        imd_decile, population``).
    dimension : {"sex_age", "ethnic_group", "imd_quintile"}
    population_of : {"referrals", "waiting_list"}
        Referrals received in the last ``months`` months, or the waiting list at the census.

    Returns
    -------
    pandas.DataFrame
        ``group, observed, observed_share, lower, upper, population, expected_share, ratio,
        missing`` (upper limit below the expected share), sorted by ratio (most missing first).
        Pathways whose group is not recorded (not stated / not known / unmatched) are not in the
        shares; their number is in ``attrs['unrecorded']``.
    """
    if population_of == "referrals":
        base = derived[derived["referral_month"].isin(measures.window(census_date, months))]
    elif population_of == "waiting_list":
        base = derived[derived["outcome"].eq("waiting")]
    else:
        raise ValueError("population_of must be 'referrals' or 'waiting_list'")
    g = C.dimension_values(base, dimension)
    pop = population_by(population, dimension)
    groups = [x for x in C.DIMENSIONS[dimension].groups if x in pop.index]
    obs = g.value_counts().reindex(groups, fill_value=0).astype(float)
    total = obs.sum()
    if total <= 0:
        raise ValueError("no pathways with a recorded group")
    lo, hi = wilson(obs.to_numpy(), np.full(len(obs), total), confidence)
    exp = (pop.reindex(groups) / pop.reindex(groups).sum()).to_numpy()
    out = pd.DataFrame({"group": groups, "observed": obs.to_numpy().astype(int), "observed_share": obs.to_numpy() / total,
                        "lower": lo, "upper": hi, "population": pop.reindex(groups).to_numpy(), "expected_share": exp})
    out["ratio"] = out["observed_share"] / out["expected_share"]
    out["missing"] = out["upper"] < out["expected_share"]
    out = out.sort_values("ratio").reset_index(drop=True)
    out.attrs["unrecorded"] = int(len(base) - total)
    return out


def referral_rates(derived: pd.DataFrame, population: pd.DataFrame, dimension: str, census_date, months: int = 12,
                   confidence: float = 0.95, per: float = 1000) -> pd.DataFrame:
    """Referrals per head of catchment population by group, crude and age-standardised [3]_.

    Parameters
    ----------
    derived : pandas.DataFrame
        One provider's pathways with derived fields (``age_band`` among them).
    population : pandas.DataFrame
        Its catchment population (``sex, age_band, ethnic_group, imd_decile, population``).
    dimension : {"sex_age", "ethnic_group", "imd_quintile"}
    months : int
        Referrals received in the last ``months`` months up to the census.
    per : float
        Crude rates per this many people.

    Returns
    -------
    pandas.DataFrame
        One row per group with a catchment population: ``group, referrals, population, rate,
        rate_lower, rate_upper`` (crude, per ``per`` people, exact below 10 referrals and Byar's
        from 10), ``expected`` (referrals expected at the provider's own rates by age band, over
        the groups with a recorded value), ``isr, isr_lower, isr_upper, isr_method`` (observed /
        expected) and ``fewer`` (the ratio's upper limit below 1: fewer referrals than the
        group's ages explain), sorted by ``isr``. Pathways whose group or age band is not
        recorded are left out; their number is in ``attrs['unrecorded']``.
    """
    base = derived[derived["referral_month"].isin(measures.window(census_date, months))]
    g = C.dimension_values(base, dimension).astype(object)
    band = base["age_band"].astype(object)
    pop = population.assign(_group=population_groups(population, dimension).astype(str).to_numpy(),
                            _band=population["age_band"].astype(str).to_numpy())
    groups = [x for x in C.DIMENSIONS[dimension].groups if x in set(pop["_group"])]
    ok = g.isin(groups) & band.notna()
    counts = pd.DataFrame({"_group": g[ok], "_band": band[ok].astype(str)}).value_counts()
    cells = pop[pop["_group"].isin(groups)].groupby(["_group", "_band"], as_index=False)["population"].sum()
    cells = cells[cells["population"] > 0]
    cells["count"] = [counts.get((a, b), 0) for a, b in zip(cells["_group"], cells["_band"])]
    by_band = cells.groupby("_band")[["count", "population"]].sum()
    cells["ref_rate"] = cells["_band"].map(by_band["count"] / by_band["population"]).to_numpy(float)
    ratio = isr(cells, "count", "population", by="_group", reference_rates="ref_rate", confidence=confidence)
    tot = cells.groupby("_group")[["count", "population"]].sum()
    crude = rate_ci(tot["count"].to_numpy(), tot["population"].to_numpy(), confidence, multiplier=per)
    lab = level_label(confidence)
    out = pd.DataFrame({"group": tot.index, "referrals": tot["count"].to_numpy().astype(int),
                        "population": tot["population"].to_numpy()})
    out["rate"], out["rate_lower"], out["rate_upper"] = (crude[c].to_numpy() for c in ("value", "lower", "upper"))
    ratio = ratio.set_index("_group").reindex(out["group"])
    out["expected"] = ratio["expected"].to_numpy()
    out["isr"] = ratio["value"].to_numpy()
    out["isr_lower"], out["isr_upper"] = ratio[f"lower{lab}"].to_numpy(), ratio[f"upper{lab}"].to_numpy()
    out["isr_method"] = ratio["method"].to_numpy()
    out["fewer"] = out["isr_upper"] < 1
    out = out.sort_values("isr", kind="stable").reset_index(drop=True)
    out.attrs["unrecorded"] = int((~ok).sum())
    return out
