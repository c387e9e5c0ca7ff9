"""The report's referral rates: ratios rest only on published counts."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.reports import lenses as L
from qi_equity.reports import provider as R

ROOT = Path(__file__).resolve().parents[2]
CENSUS = "2026-03-31"


@pytest.fixture(scope="module")
def xqa():
    derived = R.load_provider(ROOT / "data_samples" / "providers" / "XQA.csv", CENSUS, validate=False)
    pop = pd.read_csv(ROOT / "data_samples" / "population.csv")
    return derived, pop[pop["provider_code"] == "XQA"]


def test_ratios_shown_when_every_count_they_rest_on_is(xqa):
    derived, pop = xqa
    pub = L.referral_rate_table(derived, pop, CENSUS, "imd_quintile")
    assert not pub.mask.any().any()
    # by hand from the counts the table itself publishes: crude rate = referrals / population
    np.testing.assert_allclose(pub.data["rate"], 1000 * pub.data["referrals"] / pub.data["population"])
    # the ratios' expected counts add up to the referrals they standardise (indirect
    # standardisation): those of a recorded quintile and a recorded sex, counted here directly
    from qi_equity import measures
    from qi_equity.data import contract as C

    win = derived[derived["referral_month"].isin(measures.window(CENSUS, 12))]
    q = C.dimension_values(win, "imd_quintile")
    sa = C.dimension_values(win, "sex_age")
    n = int((q.isin(C.DIMENSIONS["imd_quintile"].groups) & ~q.isin(C.DIMENSIONS["imd_quintile"].unrecorded)
             & ~sa.isin(C.DIMENSIONS["sex_age"].unrecorded)).sum())
    assert pub.data["expected"].sum() == pytest.approx(n, rel=1e-9)
    shown = L.referral_rate_display(pub)
    assert "Against their ages and sexes (95% CI)" in shown.columns


def test_a_hidden_stratum_hides_every_ratio_but_not_the_rates(xqa):
    derived, pop = xqa
    # a threshold above the smallest sex x age group's referrals (Female 0-15: 147) hides it
    pub = L.referral_rate_table(derived, pop, CENSUS, "imd_quintile", threshold=150)
    assert pub.mask["isr"].all() and pub.data["isr"].isna().all()
    assert pub.data["expected"].isna().all() and (pub.data["fewer"] == "").all()
    assert pub.data["rate"].notna().sum() >= 3  # a quintile's rate is shown where its referrals are
    assert (pub.data["rate"].notna() == ~pub.mask["referrals"]).all()


def test_no_ratio_by_sex_and_age_itself(xqa):
    derived, pop = xqa
    pub = L.referral_rate_table(derived, pop, CENSUS, "sex_age")
    assert pub.data["isr"].isna().all() and not pub.mask["isr"].any()
    assert list(L.referral_rate_display(pub).columns) == ["Group", "Referrals", "Population", "Per 1,000 people (95% CI)"]


def test_with_the_ratios_hidden_the_rows_do_not_keep_their_order(xqa):
    from qi_equity.data import contract as C

    derived, pop = xqa
    pub = L.referral_rate_table(derived, pop, CENSUS, "imd_quintile", threshold=150)
    assert list(pub.data["group"]) == [g for g in C.DIMENSIONS["imd_quintile"].groups if g in set(pub.data["group"])]
    assert list(pub.keys["referrals"].str.split("|").str[-1]) == list(pub.data["group"])
