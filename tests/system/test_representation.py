"""Representation against the catchment population, hand-worked."""

import pandas as pd
import pytest

from qi_equity.data import contract as C
from qi_equity.data.io import to_typed
from qi_equity.equity.intervals import wilson
from qi_equity.system import representation

POP = pd.DataFrame({"provider_code": "XQZ", "sex": ["F", "M", "F", "M", "F", "M"],
                    "age_band": ["30-44", "30-44", "75+", "75+", "0-15", "0-15"], "ethnic_group": "White",
                    "imd_decile": [1, 2, 9, 10, 5, 6], "population": [300, 300, 100, 100, 100, 100]})


def test_hand_worked_shares(good_raw):
    d = C.derive(to_typed(good_raw), "2025-09-30")
    r = representation(d, POP, "sex_age", "2025-09-30").set_index("group")
    # referred Oct 2024 - Sep 2025: P1 (Female 16-64), P2 (Male 65+), P3 (Female 0-15)
    assert r.loc["Female 16-64", "observed"] == 1 and r.loc["Male 16-64", "observed"] == 0
    assert r.loc["Female 16-64", "observed_share"] == pytest.approx(1 / 3)
    assert r.loc["Female 16-64", "expected_share"] == pytest.approx(0.3)
    lo, hi = wilson([0], [3])
    assert r.loc["Male 16-64", "upper"] == pytest.approx(hi[0])
    assert r.loc["Male 16-64", "ratio"] == 0
    with pytest.raises(ValueError, match="population_of"):
        representation(d, POP, "sex_age", "2025-09-30", population_of="everyone")


def test_missing_flag_needs_evidence():
    rows = [("F", 40)] * 15 + [("M", 40)] * 85
    raw = pd.DataFrame({"pathway_id": [f"P{i}" for i in range(100)], "provider_code": "XQZ", "specialty": "110",
                        "referral_date": "2025-06-02", "first_appointment_date": pd.NA, "clock_stop_date": pd.NA,
                        "outcome": "waiting", "dna_count": "0", "sex": [s for s, _ in rows],
                        "age": [str(a) for _, a in rows], "ethnic_category": "A", "imd_decile": "3"}).astype("string")
    d = C.derive(to_typed(raw), "2025-09-30")
    r = representation(d, POP, "sex_age", "2025-09-30", population_of="waiting_list").set_index("group")
    assert bool(r.loc["Female 16-64", "missing"])  # 15% (Wilson upper 23%) against 30% of the population
    assert not bool(r.loc["Male 16-64", "missing"])


def _referrals(rows):
    """Pathways referred in June 2025 from (sex, age, ethnic category) triples."""
    raw = pd.DataFrame({"pathway_id": [f"P{i}" for i in range(len(rows))], "provider_code": "XQZ", "specialty": "110",
                        "referral_date": "2025-06-02", "first_appointment_date": pd.NA, "clock_stop_date": pd.NA,
                        "outcome": "waiting", "dna_count": "0", "sex": [r[0] for r in rows],
                        "age": [str(r[1]) for r in rows], "ethnic_category": [r[2] for r in rows],
                        "imd_decile": "3"}).astype("string")
    return C.derive(to_typed(raw), "2025-09-30")


def test_referral_rates_standardise_away_age_and_find_who_is_referred_less():
    """Worked by hand. Catchment: White 1,000 aged 30-44 and 1,000 aged 75+; Asian 1,500 aged
    30-44 and 500 aged 75+. Referrals: White 10 (30-44) + 100 (75+); Asian 15 + 25.
    Pooled rates by band: 30-44 25/2,500 = 0.01; 75+ 125/1,500 = 1/12.
    Expected: White 1,000 x 0.01 + 1,000 / 12 = 93.33; Asian 15 + 41.67 = 56.67.
    ISR: White 110 / 93.33 = 1.1786; Asian 40 / 56.67 = 0.7059 (crude: 55 against 20 per 1,000)."""
    from qi_equity.system.representation import referral_rates

    pop = pd.DataFrame({"provider_code": "XQZ", "sex": "F", "age_band": ["30-44", "75+", "30-44", "75+"],
                        "ethnic_group": ["White", "White", "Asian", "Asian"], "imd_decile": 3,
                        "population": [1000, 1000, 1500, 500]})
    rows = ([("F", 40, "A")] * 10 + [("F", 80, "A")] * 100 + [("F", 40, "H")] * 15 + [("F", 80, "H")] * 25)
    r = referral_rates(_referrals(rows), pop, "ethnic_group", "2025-09-30").set_index("group")
    assert r.loc["White", "referrals"] == 110 and r.loc["Asian", "referrals"] == 40
    assert r.loc["White", "rate"] == pytest.approx(55.0) and r.loc["Asian", "rate"] == pytest.approx(20.0)
    assert r.loc["White", "expected"] == pytest.approx(10 + 1000 / 12)
    assert r.loc["Asian", "isr"] == pytest.approx(40 / (15 + 500 / 12), rel=1e-12)
    assert r.loc["White", "isr"] == pytest.approx(110 / (10 + 1000 / 12), rel=1e-12)
    # Byar's limits for 40 events (PHE), over the expected count
    z = 1.959963984540054
    lo = 40 * (1 - 1 / 360 - z / (3 * 40 ** 0.5)) ** 3 / (15 + 500 / 12)
    assert r.loc["Asian", "isr_lower"] == pytest.approx(lo, rel=1e-9)
    assert bool(r.loc["Asian", "fewer"]) and not bool(r.loc["White", "fewer"])
    assert r.index[0] == "Asian"  # most under-referred first


_POP2 = pd.DataFrame({"provider_code": "XQZ", "sex": "F", "age_band": ["30-44", "75+", "30-44", "75+"],
                      "ethnic_group": ["White", "White", "Asian", "Asian"], "imd_decile": 3,
                      "population": [1000, 1000, 1500, 500]})
_ROWS2 = [("F", 40, "A")] * 10 + [("F", 80, "A")] * 100 + [("F", 40, "H")] * 15 + [("F", 80, "H")] * 25


def test_reference_rates_from_given_stratum_counts_are_scaled_to_the_recorded_total():
    """Worked by hand. The example above plus 20 referrals whose ethnicity is not stated (10 aged
    30-44, 10 aged 75+). Given every pathway's counts by band (35 and 135), the rates are
    35 / 2,500 = 0.014 and 135 / 1,500 = 0.09; unscaled expected White 14 + 90 = 104, Asian
    21 + 45 = 66, total 170 against 150 recorded referrals: scaled by 150 / 170.
    ISR: White 110 / (104 x 150 / 170) = 1.19872; Asian 40 / (66 x 150 / 170) = 0.68687."""
    from qi_equity.system.representation import referral_rates

    rows = _ROWS2 + [("F", 40, "Z")] * 10 + [("F", 80, "Z")] * 10
    given = pd.Series({"30-44": 35, "75+": 135})
    r = referral_rates(_referrals(rows), _POP2, "ethnic_group", "2025-09-30", stratum_referrals=given).set_index("group")
    assert r.loc["White", "expected"] == pytest.approx(104 * 150 / 170, rel=1e-12)
    assert r.loc["White", "isr"] == pytest.approx(110 / (104 * 150 / 170), rel=1e-12)
    assert r.loc["Asian", "isr"] == pytest.approx(40 / (66 * 150 / 170), rel=1e-12)
    assert r["referrals"].sum() == 150  # the not-stated referrals are in no group
    with pytest.raises(ValueError, match="no count for 75\\+"):
        referral_rates(_referrals(rows), _POP2, "ethnic_group", "2025-09-30", stratum_referrals=given.drop("75+"))


def test_given_stratum_counts_equal_to_the_groups_own_give_the_same_ratios():
    from qi_equity.system.representation import referral_rates

    own = referral_rates(_referrals(_ROWS2), _POP2, "ethnic_group", "2025-09-30")
    given = referral_rates(_referrals(_ROWS2), _POP2, "ethnic_group", "2025-09-30",
                           stratum_referrals=pd.Series({"30-44": 25, "75+": 125}))
    pd.testing.assert_frame_equal(own, given)


def test_standardised_by_sex_and_age_group():
    """Worked by hand. Catchment: White women 16-64 1,000, White men 16-64 1,000; Asian women
    16-64 1,500, Asian men 16-64 500. Referrals: White 10 women + 50 men, Asian 15 women + 25
    men, and one White referral of sex not known: a stratum not recorded, so it is in
    ``referrals`` (and the crude rate) but not in ``observed``. Rates: women 25 / 2,500 = 0.01, men 75 / 1,500 = 0.05. Expected: White 10 + 50
    = 60; Asian 15 + 25 = 40; ISR 1 for both; the crude rates differ (30.5 vs 20 per 1,000)."""
    from qi_equity.system.representation import referral_rates

    pop = pd.DataFrame({"provider_code": "XQZ", "sex": ["F", "M", "F", "M"], "age_band": "30-44",
                        "ethnic_group": ["White", "White", "Asian", "Asian"], "imd_decile": 3,
                        "population": [1000, 1000, 1500, 500]})
    rows = ([("F", 40, "A")] * 10 + [("M", 40, "A")] * 50 + [("F", 40, "H")] * 15 + [("M", 40, "H")] * 25
            + [("X", 40, "A")])
    r = referral_rates(_referrals(rows), pop, "ethnic_group", "2025-09-30", strata="sex_age").set_index("group")
    assert r.loc["White", "referrals"] == 61 and r.loc["White", "observed"] == 60
    assert r.loc["White", "expected"] == pytest.approx(60.0) and r.loc["Asian", "expected"] == pytest.approx(40.0)
    assert r.loc["White", "isr"] == pytest.approx(1.0) and r.loc["Asian", "isr"] == pytest.approx(1.0)
    assert r.loc["White", "rate"] == pytest.approx(30.5) and r.loc["Asian", "rate"] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="strata"):
        referral_rates(_referrals(rows), pop, "ethnic_group", "2025-09-30", strata="imd_quintile")
