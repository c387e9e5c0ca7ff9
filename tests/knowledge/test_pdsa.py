"""PDSA log contract, SPC against cycles, and the planted cycle after which special cause appears."""

import json

import pandas as pd
import pytest

from _support import CENSUS, SAMPLE, _sample_derived
from qi_equity.data.validation import ContractError
from qi_equity.knowledge import (cycle_after_which_special_cause, load_pdsa, pdsa_spc, prediction_table,
                                 validate_pdsa)
from qi_equity.reports.provider import monthly

GOOD = pd.DataFrame({"provider_code": ["A", "A"], "cycle": [1, 2], "change_idea": ["x", "y"],
                     "start_date": ["2024-01-01", "2024-03-01"], "end_date": ["2024-02-01", "2024-04-01"],
                     "measure": ["dna_rate", "dna_rate"], "prediction": ["p", "q"], "what_happened": ["", ""],
                     "decision": ["adapt", None]})


def test_good_log_passes():
    assert validate_pdsa(GOOD).ok


@pytest.mark.parametrize("col,value,rule", [
    ("cycle", 1, "must be unique within a provider"),
    ("end_date", "2023-12-01", "must not be before start_date"),
    ("decision", "keep", "must be adopt / adapt / abandon (or empty while running)"),
    ("measure", "happiness", "must be one of"),
    ("start_date", "01/03/2024", "must be a date YYYY-MM-DD"),
    ("prediction", "", "must not be empty"),
])
def test_failures_name_column_rule_and_rows(col, value, rule):
    bad = GOOD.copy()
    bad.loc[1, col] = value
    rep = validate_pdsa(bad)
    hits = [f for f in rep.failures if f.column == col and f.rule.startswith(rule)]
    assert hits and hits[0].failing_rows >= 1 and col in rep.format()


def test_missing_column(tmp_path):
    p = tmp_path / "p.csv"
    GOOD.drop(columns="prediction").to_csv(p, index=False)
    with pytest.raises(ContractError, match="prediction: required column is missing"):
        load_pdsa(p)


def test_planted_cycle_after_which_the_improving_provider_shows_special_cause():
    gt = {p["id"]: p for p in json.loads((SAMPLE / "ground_truth.json").read_text())["planted"]}["c"]
    agg = monthly(_sample_derived(gt["provider_code"]), CENSUS)
    s = agg[(agg.measure == gt["measure"]) & (agg.dimension == "all") & (agg.specialty == "all")]
    pdsa = load_pdsa(SAMPLE / "pdsa_log.csv", gt["provider_code"])
    res = pdsa_spc(s, pdsa)
    hit = cycle_after_which_special_cause(res, pdsa)
    assert hit["cycle"] == gt["pdsa_cycle"]
    assert hit["first_signal"] >= pd.Timestamp(gt["start_month"])
    t = prediction_table(pdsa, res)
    assert t.loc[t.cycle == 1, "spc_after"].iloc[0].startswith("0 improvement")
    fig = res.plot(title="with cycles")
    assert "PDSA cycles start: cycle 1" in fig.qi_alt_text


def test_baseline_is_frozen_on_the_months_before_the_first_cycle():
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    values = [10.0, 11.0] * 6 + [6.0] * 12  # a drop after month 12
    series = pd.DataFrame({"month": months, "value": values})
    cycles = GOOD.assign(start_date=pd.to_datetime(["2024-01-01", "2024-03-01"]),
                         end_date=pd.to_datetime(["2024-02-01", "2024-04-01"]))
    res = pdsa_spc(series, cycles, improvement="decrease")
    assert res.options["baseline_points"] == 12
    assert res.points["centre"].iloc[-1] == 10.5  # mean of the 12 baseline months, not of all 24
    hit = cycle_after_which_special_cause(res, cycles)
    assert hit["cycle"] == 1 and hit["first_signal"] == pd.Timestamp("2024-01-01")
    table = prediction_table(cycles, res)
    assert table["spc_after"].tolist() == ["2 improvement, 0 concern of 2 points",
                                           "10 improvement, 0 concern of 10 points"]
