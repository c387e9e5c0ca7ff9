"""dsr() and isr() against PHEindicatormethods' own test workbook (tests/fixtures/equity/phe_dsr_isr,
see PROVENANCE.md): DSRs by Dobson's method per 100,000 and per 10,000, ISRs with exact and
Byar's limits at 95% and 99.8%."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.equity.standardise import dsr, esp2013, isr

FIX = Path(__file__).parents[1] / "fixtures" / "equity" / "phe_dsr_isr"
AREAS = pd.read_csv(FIX / "testdata_multiarea.csv")
DSR_REF = pd.read_csv(FIX / "testresults_DSR.csv")
ISR_IN = pd.read_csv(FIX / "testdata_multiarea_isr.csv")
ISR_REF = pd.read_csv(FIX / "testresults_ISR.csv")
COLS = [("value", "value"), ("lower95", "lower95_0cl"), ("upper95", "upper95_0cl"),
        ("lower998", "lower99_8cl"), ("upper998", "upper99_8cl")]


def test_esp2013_is_the_published_standard():
    e = esp2013()
    assert len(e) == 19 and e["weight"].sum() == 100_000 and e["age_band"].iloc[-1] == "90+"


@pytest.mark.parametrize("multiplier", [100_000, 10_000])
def test_dsr_dobson_matches_phe(multiplier):
    # the workbook's bands are in ESP order (one is labelled "55-69"): weights by position
    got = dsr(AREAS, "count", "pop", by="area", standard=esp2013()["weight"].to_numpy(),
              multiplier=multiplier).set_index("area")
    ref = DSR_REF[(DSR_REF.statistic == f"dsr per {multiplier}") | DSR_REF.statistic.str.contains("NA")]
    ref = ref[ref.area.isin(got.index)].drop_duplicates("area").set_index("area")
    for area in ["testdata_big", "testdata_small"]:
        assert got.loc[area, "total_count"] == ref.loc[area, "total_count"]
        for ours, theirs in COLS:
            assert got.loc[area, ours] == pytest.approx(ref.loc[area, theirs], rel=1e-9), (area, ours)
    tiny = got.loc["testdata_tiny"]  # 9 events: PHE publishes no DSR
    assert np.isnan(tiny["value"]) and np.isnan(tiny["upper998"]) and "fewer than 10" in tiny["note"]


def test_dsr_with_a_standard_population_column():
    d = pd.read_csv(FIX / "testdata_1976.csv")
    got = dsr(d, "count", "pop", standard="esp1976", multiplier=100_000, confidence=0.95).iloc[0]
    ref = DSR_REF[(DSR_REF.area == "testdata_1976") & (DSR_REF.statistic == "dsr per 100000")].iloc[0]
    for ours, theirs in COLS[:3]:  # the workbook's 99.8% limits for this row are not used by PHE's tests
        assert got[ours] == pytest.approx(ref[theirs], rel=1e-9)


def test_dsr_matches_esp2013_by_band_and_names_bad_bands():
    d = AREAS.rename(columns={"ageband": "age_band"}).replace({"age_band": {"55-69": "55-59"}})
    got = dsr(d, "count", "pop", by="area").set_index("area")
    ref = DSR_REF[DSR_REF.statistic == "dsr per 100000"].set_index("area")
    assert got.loc["testdata_big", "value"] == pytest.approx(ref.loc["testdata_big", "value"], rel=1e-9)
    with pytest.raises(ValueError, match=r"column 'age_band': 3 row\(s\) have bands ESP 2013 does not have"):
        dsr(AREAS.rename(columns={"ageband": "age_band"}), "count", "pop", by="area")
    with pytest.raises(ValueError, match=r"column 'pop': 1 row\(s\) are zero"):
        dsr(d.assign(pop=[0] + [1] * (len(d) - 1)), "count", "pop", by="area")


@pytest.mark.parametrize("multiplier,label", [(1, "indirectly standardised ratio x 1"),
                                              (100, "indirectly standardised ratio x 100")])
def test_isr_exact_and_byars_match_phe(multiplier, label):
    got = isr(ISR_IN, "count", "pop", by="area", reference_count="refcount", reference_population="refpop",
              multiplier=multiplier).set_index("area")
    ref = ISR_REF[ISR_REF.statistic == label].head(3).set_index("area")
    for area in ref.index:
        assert got.loc[area, "observed"] == ref.loc[area, "observed"]
        assert got.loc[area, "expected"] == pytest.approx(ref.loc[area, "expected"], rel=1e-12)
        assert got.loc[area, "method"] == ref.loc[area, "method"]
        for ours, theirs in COLS:
            assert got.loc[area, ours] == pytest.approx(ref.loc[area, theirs], rel=1e-9), (area, ours)


def test_isr_on_the_units_own_pooled_rates_sums_to_one():
    d = ISR_IN.rename(columns={"ageband": "age_band"})
    got = isr(d, "count", "pop", by="area")
    # pooled reference: the units' observed total equals their expected total
    assert got["observed"].sum() == pytest.approx(got["expected"].sum(), rel=1e-12)
    with pytest.raises(ValueError, match="reference_count and reference_population"):
        isr(d, "count", "pop")


def _two_areas():
    """Worked by hand: two units, two bands, reference rates 0.01 and 0.1 per person.
    Unit B (listed first) 5 + 20 events on 1,000 + 100 people: E = 10 + 10 = 20, ISR 1.25.
    Unit A 2 + 3 events on 100 + 50 people: E = 1 + 5 = 6, ISR 5 / 6."""
    return pd.DataFrame({"unit": ["B", "B", "A", "A"], "age_band": ["0-4", "5-9", "0-4", "5-9"],
                         "count": [5, 20, 2, 3], "pop": [1000, 100, 100, 50],
                         "rate": [0.01, 0.1, 0.01, 0.1], "refcount": [10, 10, 1, 5], "refpop": [1000, 100, 100, 50]})


def test_isr_with_a_column_of_reference_rates_by_hand():
    d = _two_areas()
    got = isr(d, "count", "pop", by="unit", reference_rates="rate")
    assert list(got["unit"]) == ["B", "A"]  # units in the order given, not sorted
    assert list(got["expected"]) == pytest.approx([20.0, 6.0])
    assert list(got["value"]) == pytest.approx([1.25, 5 / 6])  # multiplier 1 by default
    with pytest.raises(ValueError, match=r"column 'rate': 1 row\(s\) are not numbers of zero or more"):
        isr(d.assign(rate=[0.01, "x", 0.01, 0.1]), "count", "pop", by="unit", reference_rates="rate")
    with pytest.raises(ValueError, match=r"column\(s\) \['rates'\] not found"):
        isr(d, "count", "pop", by="unit", reference_rates="rates")


def test_isr_reference_counts_need_both_columns_and_a_positive_population():
    d = _two_areas()
    got = isr(d, "count", "pop", by="unit", reference_count="refcount", reference_population="refpop")
    assert list(got["expected"]) == pytest.approx([20.0, 6.0])
    with pytest.raises(ValueError, match=r"^isr: give reference_count and reference_population, or reference_rates, "
                                         r"or by= and an 'age_band' column for the pooled rates of all units$"):
        isr(d.drop(columns="age_band"), "count", "pop", by="unit", reference_count="refcount")
    with pytest.raises(ValueError, match=r"^column 'refpop': 1 row\(s\) are zero or missing$"):
        isr(d.assign(refpop=[1000, 0, 100, 50]), "count", "pop", by="unit", reference_count="refcount",
            reference_population="refpop")
    # a reference population of 1 is a population (the boundary is above 0, not above 1)
    one = isr(d.assign(refpop=[1000, 1, 100, 50], refcount=[10, 0, 1, 5]), "count", "pop", by="unit",
              reference_count="refcount", reference_population="refpop")
    assert one.loc[0, "expected"] == pytest.approx(10.0)


def test_isr_pooled_rates_keep_the_units_order():
    d = _two_areas()
    got = isr(d, "count", "pop", by="unit")
    # pooled by band: 0-4 7 / 1,100, 5-9 23 / 150
    e_b = 1000 * 7 / 1100 + 100 * 23 / 150
    assert list(got["unit"]) == ["B", "A"] and got.loc[0, "expected"] == pytest.approx(e_b)


def test_dsr_validates_its_inputs_with_messages():
    d = pd.DataFrame({"age_band": ["0-4", "5-9"], "count": [np.nan, 12], "pop": [1000, 1]})
    # a missing count is 0; a population of 1 is a population
    got = dsr(d, "count", "pop", standard=np.array([1.0, 1.0]))
    assert got.loc[0, "total_count"] == 12
    assert got.loc[0, "value"] == pytest.approx((0 / 1000 + 12 / 1) / 2 * 100_000)
    with pytest.raises(ValueError, match=r"^column 'pop': 1 row\(s\) are zero or missing \(a rate needs a population "
                                         r"in every age band\)$"):
        dsr(d.assign(pop=[1000, 0]), "count", "pop", standard=np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match=r"^column 'band' not found: needed to match the European Standard "
                                         r"Population 2013$"):
        dsr(d, "count", "pop", age_band="band")
    bad = pd.DataFrame({"age_band": ["a", "b", "c", "d"], "count": [1, 1, 1, 1], "pop": [9, 9, 9, 9]})
    with pytest.raises(ValueError, match=r"e\.g\. \['a', 'b', 'c'\] \(it has"):
        dsr(bad, "count", "pop")


def test_boundary_dsr_needs_10_events():
    """PHEindicatormethods (DSR.R): a DSR is not calculated for a total count below 10; at 10 it
    is. Worked by hand with two equal weights: 10 events on 1,000 and 1,000 people -> (x1/1000 +
    x2/1000) / 2 x 100,000."""
    base = pd.DataFrame({"count": [4, 5], "population": [1000, 1000], "age_band": ["0-4", "5-9"]})
    nine = dsr(base, standard=np.array([1.0, 1.0]))  # the default column names
    assert np.isnan(nine.loc[0, "value"]) and np.isnan(nine.loc[0, "lower95"])
    assert nine.loc[0, "note"] == "not calculated for fewer than 10 events"
    ten = dsr(base.assign(count=[5, 5]), standard=np.array([1.0, 1.0]))
    assert ten.loc[0, "value"] == pytest.approx(500.0) and ten.loc[0, "note"] == ""
    assert ten.loc[0, "method"] == "Dobson" and ten.loc[0, "total_population"] == 2000
    assert not np.isnan(ten.loc[0, "lower95"])


def test_dsr_by_units_keeps_their_order_and_checks_the_weights():
    d = pd.DataFrame({"unit": ["Z", "Z", "A", "A"], "count": [10, 10, 20, 20], "population": [1000] * 4,
                      "age_band": ["0-4", "5-9"] * 2})
    got = dsr(d, by="unit", standard=np.array([1.0, 3.0]))
    assert list(got["unit"]) == ["Z", "A"]
    assert list(got["value"]) == pytest.approx([1000.0, 2000.0])
    with pytest.raises(ValueError, match=r"^standard: 3 weights, but units have \[2\] rows$"):
        dsr(d, by="unit", standard=np.array([1.0, 3.0, 1.0]))


def test_isr_default_columns_and_the_count_of_bad_reference_rows():
    d = _two_areas()
    got = isr(d.rename(columns={"pop": "population"}), by="unit", reference_rates="rate")
    assert list(got["expected"]) == pytest.approx([20.0, 6.0])
    with pytest.raises(ValueError, match=r"^column 'refpop': 1 row\(s\) are zero or missing$"):
        isr(d.assign(refpop=[1000, 0, 1, 50]), "count", "pop", by="unit", reference_count="refcount",
            reference_population="refpop")


def test_isr_of_one_unit_without_by():
    """Without ``by`` the whole frame is one unit: one row, no helper column. Observed 9 + 3 = 12;
    expected 600 x 0.01 + 400 x 0.02 = 14; ISR 12 / 14."""
    d = pd.DataFrame({"count": [9, 3], "pop": [600, 400], "rate": [0.01, 0.02]})
    got = isr(d, "count", "pop", reference_rates="rate")
    assert len(got) == 1 and "_all" not in got.columns
    assert (got.loc[0, "observed"], got.loc[0, "expected"]) == (12.0, pytest.approx(14.0))
    assert got.loc[0, "value"] == pytest.approx(12 / 14)


@pytest.mark.parametrize("observed, method", [(9, "Exact"), (10, "Byars"), (11, "Byars")])
def test_boundary_isr_limits_switch_to_byars_at_10_events(observed, method):
    """PHE: exact Poisson limits below 10 observed events, Byar's from 10."""
    d = pd.DataFrame({"count": [observed], "pop": [1000], "rate": [0.01]})
    assert isr(d, "count", "pop", reference_rates="rate").loc[0, "method"] == method


def test_no_floating_point_warnings_for_units_with_nothing_expected_or_no_events():
    """A unit with a reference rate of 0 (nothing expected) has no finite ratio, and a DSR unit
    without events has no value; neither may raise a numpy warning at the user."""
    import warnings

    d = pd.DataFrame({"unit": ["a", "b", "c"], "count": [0, 3, 4], "pop": [100, 100, 100], "rate": [0.0, 0.0, 0.01]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = isr(d, "count", "pop", by="unit", reference_rates="rate")
        rates = dsr(d.assign(w=1.0), "count", "pop", by="unit", standard="w")
    assert np.isnan(got.loc[0, "value"]) and np.isinf(got.loc[1, "value"]) and got.loc[2, "value"] == 4.0
    assert rates["value"].isna().all()   # fewer than 10 events in every unit
