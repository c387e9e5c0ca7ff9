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
                   confidence: float = 0.95, per: float = 1000, strata: str = "age_band",
                   stratum_referrals: pd.Series | None = None) -> pd.DataFrame:
    """Referrals per head of catchment population by group, crude and standardised [3]_.

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
    strata : {"age_band", "sex_age"}
        What the ratios standardise for: the six age bands, or sex by the three age groups of
        the sex x working-age dimension (recorded sex only).
    stratum_referrals : pandas.Series, optional
        Referrals by stratum (index: the strata's groups) to take the reference rates from
        instead of the recorded groups' own -- e.g. the published counts of every pathway, so
        that the ratios rest only on published numbers. The expected counts are then scaled so
        that the recorded groups' expected total equals their observed total (as it does with
        the groups' own rates); with every pathway's group recorded the two give the same ratios.

    Returns
    -------
    pandas.DataFrame
        One row per group with a catchment population: ``group, referrals`` (every referral of
        the group in the window), ``population, rate, rate_lower, rate_upper`` (crude, per
        ``per`` people, exact below 10 referrals and Byar's from 10), ``observed`` (the
        group's referrals in a recorded stratum), ``expected`` (referrals expected at the
        reference rates by stratum), ``isr, isr_lower, isr_upper, isr_method`` (observed /
        expected) and ``fewer`` (the ratio's upper limit below 1: fewer referrals than the
        group's ages explain), sorted by ``isr``. Pathways whose group is not recorded are left
        out, and from the ratios those whose stratum is not; their number is in
        ``attrs['unrecorded']``.
    """
    if strata not in ("age_band", "sex_age"):
        raise ValueError(f"strata must be 'age_band' or 'sex_age' (got {strata!r})")
    base = derived[derived["referral_month"].isin(measures.window(census_date, months))]
    g = C.dimension_values(base, dimension).astype(object)
    sdim = C.DIMENSIONS[strata]
    band = C.dimension_values(base, strata).astype(object)
    band = band.where(~band.isin(sdim.unrecorded))
    pop = population.assign(_group=population_groups(population, dimension).astype(str).to_numpy(),
                            _band=population_groups(population, strata).astype(str).to_numpy())
    groups = [x for x in C.DIMENSIONS[dimension].groups if x in set(pop["_group"])]
    in_group = g.isin(groups)
    ok = in_group & band.notna()
    counts = pd.DataFrame({"_group": g[ok], "_band": band[ok].astype(str)}).value_counts()
    cells = pop[pop["_group"].isin(groups)].groupby(["_group", "_band"], as_index=False)["population"].sum()
    cells = cells[cells["population"] > 0]
    cells["count"] = [counts.get((a, b), 0) for a, b in zip(cells["_group"], cells["_band"])]
    by_band = cells.groupby("_band")[["count", "population"]].sum()
    if stratum_referrals is None:
        cells["ref_rate"] = cells["_band"].map(by_band["count"] / by_band["population"]).to_numpy(float)
    else:
        br = pd.Series(stratum_referrals, dtype=float)
        br.index = br.index.astype(str)
        missing = sorted(set(by_band.index) - set(br.dropna().index))
        if missing:
            raise ValueError(f"stratum_referrals: no count for {', '.join(missing)}")
        # the stratum's population over everyone (every group of the dimension, recorded or not)
        pop_all = pop.groupby("_band")["population"].sum()
        rate = cells["_band"].map(br / pop_all).to_numpy(float)
        expected = float((rate * cells["population"].to_numpy(float)).sum())
        scale = float(cells["count"].sum()) / expected if expected > 0 else np.nan
        cells["ref_rate"] = rate * scale
    ratio = isr(cells, "count", "population", by="_group", reference_rates="ref_rate", confidence=confidence)
    tot = cells.groupby("_group")[["count", "population"]].sum()
    every = g[in_group].value_counts().reindex(tot.index, fill_value=0).astype(float)
    crude = rate_ci(every.to_numpy(), tot["population"].to_numpy(), confidence, multiplier=per)
    lab = level_label(confidence)
    out = pd.DataFrame({"group": tot.index, "referrals": every.to_numpy().astype(int),
                        "population": tot["population"].to_numpy()})
    out["rate"], out["rate_lower"], out["rate_upper"] = (crude[c].to_numpy() for c in ("value", "lower", "upper"))
    out["observed"] = tot["count"].to_numpy().astype(int)
    ratio = ratio.set_index("_group").reindex(out["group"])
    out["expected"] = ratio["expected"].to_numpy()
    out["isr"] = ratio["value"].to_numpy()
    out["isr_lower"], out["isr_upper"] = ratio[f"lower{lab}"].to_numpy(), ratio[f"upper{lab}"].to_numpy()
    out["isr_method"] = ratio["method"].to_numpy()
    out["fewer"] = out["isr_upper"] < 1
    out = out.sort_values("isr", kind="stable").reset_index(drop=True)
    out.attrs["unrecorded"] = int((~ok).sum())
    return out
