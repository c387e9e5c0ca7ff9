"""PDSA cycles for any measure (qi_equity.knowledge.pdsa, qi_equity.reports.lenses.pdsa_series):
a group's series, a gap, the team's own series, numeric predictions, running cycles."""

import pandas as pd
import pytest

from qi_equity.knowledge.pdsa import PDSA_COLUMNS, numeric_predictions, validate_pdsa
from qi_equity.reports.lenses import pdsa_series

BASE = {"provider_code": "XQB", "cycle": 1, "change_idea": "Offer slots", "start_date": "2025-11-01",
        "end_date": "", "measure": "dna_rate", "prediction": "More opt in", "what_happened": "", "decision": ""}


def _report(**change):
    return validate_pdsa(pd.DataFrame([dict(BASE, **change)]).replace("", pd.NA))


def test_a_running_cycle_and_the_optional_columns_are_accepted():
    assert _report().ok  # no end date: running
    assert _report(dimension="imd_quintile", group="Q1 most deprived", reference_group="Q5 least deprived").ok
    assert _report(measure="custom", series_file="pdsa_series/x.csv", predicted_value="30",
                   predicted_by="2026-03-31").ok


@pytest.mark.parametrize("change,column,rule", [
    (dict(measure="custom"), "series_file", "must be given when measure is custom (and only then)"),
    (dict(series_file="x.csv"), "series_file", "must be given when measure is custom (and only then)"),
    (dict(group="Q1 most deprived"), "group", "needs a dimension"),
    (dict(dimension="imd_quintile", reference_group="Q5 least deprived"), "reference_group", "needs a group"),
    (dict(predicted_value="a third"), "predicted_value", "must be a number"),
    (dict(predicted_value="30"), "predicted_by", "must be a date YYYY-MM-DD, given with predicted_value"),
])
def test_each_rule_of_the_optional_columns(change, column, rule):
    rep = _report(**change)
    assert (column, rule) in [(f.column, f.rule) for f in rep.failures], rep.format()


def test_numeric_predictions_against_the_series_by_their_date():
    series = pd.DataFrame({"month": pd.date_range("2025-10-01", periods=6, freq="MS"),
                           "value": [14.0, 24.6, 28.8, 30.6, 32.9, 32.9]})
    cycles = pd.DataFrame({"cycle": [1, 2, 3], "predicted_value": [30.0, 35.0, 40.0],
                           "predicted_by": pd.to_datetime(["2026-01-15", "2026-03-31", "2026-12-31"])})
    out = numeric_predictions(cycles, series, "increase", "2026-03-31")
    # cycle 1: by 15 Jan 2026 the last value is January's 30.6 >= 30: met; cycle 2: March 32.9 < 35
    assert out[["cycle", "observed", "met"]].values.tolist() == [[1, 30.6, "met"], [2, 32.9, "not met"],
                                                                   [3, 32.9, "not yet due"]]
    assert numeric_predictions(cycles.iloc[:2], series, "decrease", "2026-03-31")["met"].tolist() == [
        "not met", "met"]  # lower is better: 30.6 is above 30, 32.9 is below 35


def test_the_series_a_cycle_aims_at(tmp_path):
    months = pd.date_range("2025-01-01", periods=2, freq="MS")
    agg = pd.DataFrame({"measure": "dna_rate", "specialty": "all", "month": list(months) * 3,
                        "dimension": ["all"] * 2 + ["imd_quintile"] * 4,
                        "group": ["All"] * 2 + ["Q1 most deprived"] * 2 + ["Q5 least deprived"] * 2,
                        "value": [10.0, 11.0, 15.0, 18.0, 8.0, 9.5]})
    c = pd.Series(dict(BASE, dimension=pd.NA, group=pd.NA, reference_group=pd.NA, series_file=pd.NA))
    s, title, imp = pdsa_series(c, agg)
    assert s["value"].tolist() == [10.0, 11.0] and imp == "decrease"
    s, title, imp = pdsa_series(pd.Series(dict(c, dimension="imd_quintile", group="Q1 most deprived")), agg)
    assert s["value"].tolist() == [15.0, 18.0] and "Q1 most deprived" in title
    s, title, imp = pdsa_series(pd.Series(dict(c, dimension="imd_quintile", group="Q1 most deprived",
                                               reference_group="Q5 least deprived")), agg)
    assert s["value"].tolist() == [7.0, 8.5] and "gap" in title and imp == "decrease"  # 15-8, 18-9.5
    (tmp_path / "own.csv").write_text("date,numerator,denominator\n2025-11-01,17,68\n2025-12-05,19,76\n")
    s, title, imp = pdsa_series(pd.Series(dict(c, measure="custom", series_file="own.csv")), agg, str(tmp_path))
    assert s["value"].tolist() == [25.0, 25.0] and s["month"].tolist() == [pd.Timestamp("2025-11-01"),
                                                                            pd.Timestamp("2025-12-01")]
    assert imp == "increase" and title == "Own"


def test_the_contract_columns_are_unchanged():
    assert PDSA_COLUMNS[:3] == ["provider_code", "cycle", "change_idea"]
