"""Representation: who uses the service (or waits) against who lives in the catchment.

For each group of an equity dimension: the observed share of pathways (referrals in the
window, or the waiting list at the census) with a Wilson interval, the expected share from the
catchment population, their ratio, and a "who is missing" ranking (groups whose observed share
is below the expected share beyond chance, most missing first). Referral propensity differs
by age legitimately (older people need more elective care), so compare like with like: the
``age_standardise`` option weights the expected shares by the collaborative's referral rates
by age band, so what remains is the gap that age does not explain.

References
----------
.. [1] Wilson EB (1927) for the interval of the observed share.
.. [2] NHS England (2022). Core20PLUS5: "who is missing" from services as a first question.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.equity.intervals import wilson
from qi_equity.psychology.engagement import population_by


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
