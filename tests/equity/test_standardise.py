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
