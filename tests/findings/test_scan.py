"""The scan finds what is planted by scanning -- never told where to look -- and stays quiet where
nothing is planted. Simulated providers (qi_equity.data.simulate) are independent of the sample."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.data.simulate import Background, Plant, derived, simulate_provider
from qi_equity.findings import Settings, find, scan
from qi_equity.findings.cells import CellData
from qi_equity.findings.evaluate import match_ground_truth
from qi_equity.findings.scan import choose_grain

CENSUS = "2026-03-31"
DIVERSE = Background(referrals_per_month=320, ethnic_shares={"White": 0.6, "Mixed": 0.05, "Asian": 0.25,
                                                             "Black": 0.07, "Other": 0.03}, interpreter_minority=0.35)


def _scan(code, seed, plants=(), background=None, **kw):
    raw = simulate_provider(code, np.random.default_rng(seed), background, list(plants))
    return scan(derived(raw), CENSUS, **kw)


def _found(res, plants, code):
    truth = {"planted": [p.truth(code, str(i)) for i, p in enumerate(plants)]}
    return match_ground_truth(res.data, truth)


def test_a_plus_group_wait_gap_in_one_specialty_is_found_by_scanning():
    plants = [Plant("gap", "wait", "interpreter_needed", "Yes", 2.5, specialty="110")]
    res = _scan("XZA", 11, plants, DIVERSE)
    m = _found(res, plants, "XZA")
    assert m["found"].all(), res.headlines()["sentence"].tolist()
    assert len(res.headlines()) == 1  # one effect, one headline (its echoes are listed under it)
    head = res.headlines().iloc[0]
    assert head["kind"] == "gap_now" and (head["dimension"], head["group"]) == ("interpreter_needed", "Yes")
    assert head["specialty"] == "110" and "interpreter" in head["sentence"] and "Trauma" in head["sentence"]


def test_an_ethnic_group_dna_gap_in_one_specialty_and_a_deprived_shift():
    plants = [Plant("gap", "dna", "ethnic_group", "Asian", 3.5, specialty="110"),
              Plant("shift", "dna", "imd_quintile", "Q1 most deprived", 2.0, start="2024-07-01")]
    res = _scan("XZB", 12, plants, DIVERSE)
    m = _found(res, plants, "XZB")
    assert m["found"].all(), m
    shift = res.data[(res.data["kind"] == "group_changing") & (res.data["group"] == "Q1 most deprived")
                     & (res.data["measure"] == "dna_rate") & (res.data["specialty"] == "all")].iloc[0]
    assert shift["period_start"] == pd.Timestamp("2024-07-01") and shift["direction"] == "deteriorating"


def test_a_confined_shift_is_headlined_where_it_is_not_in_a_diluted_superset():
    plants = [Plant("shift", "wait", "sex_age", "Female 16-64", 1.8, specialty="110", start="2024-07-01")]
    res = _scan("XZC", 13, plants)
    head = res.headlines()
    assert len(head) == 1, head["sentence"].tolist()
    assert (head["group"].iloc[0], head["specialty"].iloc[0]) == ("Female 16-64", "110")
    cluster = res.data[res.data["cluster"] == head["cluster"].iloc[0]]
    assert len(cluster) > 1 and (~cluster["headline"]).sum() == len(cluster) - 1  # the echoes are listed, not lost
    stage = res.data[res.data["kind"] == "stage"]
    assert (stage["stage"] == "first_appointment_to_clock_stop").any()


def test_a_change_everywhere_is_headlined_for_all_patients():
    plants = [Plant("trend", "wait", "all", "All", 0.6, start="2024-09-01", months=12)]
    res = _scan("XZD", 14, plants)
    waits = res.headlines()
    waits = waits[waits["measure"].isin(["completed_median_wait", "completed_over_18", "completed_over_52"])]
    assert len(waits) == 1 and waits.iloc[0]["group"] == "All" and waits.iloc[0]["direction"] == "improving"


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_provider_with_nothing_planted_gets_nothing(seed):
    res = _scan("XZE", seed)
    assert res.data[res.data["kind"] != "too_few"].empty, res.data["sentence"].tolist()
    assert (res.data["kind"] == "too_few").any()  # small groups are listed, never dropped
    assert res.summary["tests"].iloc[0] > 500


def test_a_mild_gradient_is_not_a_finding_however_large_the_provider():
    bg = Background(referrals_per_month=2500, dna_deprivation=0.0006, dna_young=1.05)  # about 10% more DNA in Q1
    res = _scan("XZF", 31, (), bg)
    assert res.data[(res.data["kind"] == "gap_now")].empty


def test_finding_ids_are_stable_across_reruns():
    plants = [Plant("gap", "dna", "ethnic_group", "Asian", 3.5, specialty="110")]
    a = _scan("XZB", 12, plants, DIVERSE).data["finding_id"].tolist()
    b = _scan("XZB", 12, plants, DIVERSE).data["finding_id"].tolist()
    assert a == b and len(set(a)) == len(a)


def test_find_returns_the_documented_columns():
    from qi_equity.findings import FINDING_COLUMNS

    raw = simulate_provider("XZG", np.random.default_rng(5), None, [])
    f = find(derived(raw), CENSUS)
    assert list(f.columns[:len(FINDING_COLUMNS)]) == FINDING_COLUMNS


def _cells(n_month: np.ndarray, x_month=None) -> CellData:
    n = np.atleast_2d(n_month).astype(float)
    months = pd.date_range("2023-04-01", periods=n.shape[1], freq="MS")
    cells = pd.DataFrame({"cell": range(len(n)), "specialty": "all", "dimension": "all", "group": "All",
                          "is_reference": True, "unrecorded": False, "pathways": n.sum(axis=1)})
    data = CellData("XZZ", cells, months, 12, {}, {})
    data.monthly["completed_median_wait"] = {"n": n, "median": np.ones_like(n)}
    data.monthly["dna_rate"] = {"n": n, "x": np.atleast_2d(x_month).astype(float) if x_month is not None else n * 0.1}
    return data


def test_grain_rule_for_medians_at_its_boundary():
    s = Settings()
    ten = np.full(36, 10)
    nine_once = ten.copy()
    nine_once[5] = 9
    data = _cells(np.vstack([ten, nine_once, np.full(36, 5)]))
    # every month 10: monthly; one month of 9: two-monthly (every pair >= 10); 5 a month: 10 per pair
    assert choose_grain(data, "completed_median_wait", s).tolist() == [1, 2, 2]
    data = _cells(np.vstack([np.full(36, 4)]))
    assert choose_grain(data, "completed_median_wait", s).tolist() == [0]  # too few to tell


def test_grain_rule_for_percentages_needs_three_expected_events_each_period():
    s = Settings()
    n = np.full((2, 36), 50)
    x = np.vstack([np.full(36, 3), np.full(36, 2)])   # 6% of 50 = 3 expected; 4% = 2
    assert choose_grain(_cells(n, x), "dna_rate", s).tolist() == [1, 2]


def test_no_change_is_called_on_fewer_periods_than_mdc_asks_for():
    s = Settings(grains=(3,))  # quarterly over 36 months: 12 periods, below NHSRplotthedots' 13
    data = _cells(np.full((1, 36), 200))
    assert choose_grain(data, "completed_median_wait", s).tolist() == [0]
