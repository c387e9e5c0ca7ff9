"""Contract rules: each failure names the column, the rule and how many rows fail."""

import pandas as pd
import pytest

from qi_equity.cli import main
from qi_equity.data.io import load_extract
from qi_equity.data.validation import ContractError, validate_extract


def test_good_extract_passes(good_raw):
    rep = validate_extract(good_raw, census_date="2025-12-31")
    assert rep.ok, rep.format()


def _fail(raw, **kw):
    rep = validate_extract(raw, **kw)
    assert not rep.ok
    return {(f.column, f.rule): f for f in rep.failures}


@pytest.mark.parametrize("column,value,rule", [
    ("ethnic_category", "X", "must be an NHS Data Dictionary ethnic category (A-S, Z, 99)"),
    ("provider_code", "xq", "must be an ODS-style code (3-5 upper-case letters/digits)"),
    ("specialty", "11", "must be a 3-digit treatment function code"),
    ("outcome", "done", "must be one of waiting / treated / removed"),
    ("dna_count", "-1", "must be a whole number >= 0"),
    ("sex", "Female", "must be one of F / M / U"),
    ("age", "1x", "must be a whole number of years"),
    ("age", "130", "must be between 0 and 120"),
    ("imd_decile", "11", "must be an IMD decile 1-10 (empty when unmatched)"),
    ("referral_date", "2025-13-01", "must be a date YYYY-MM-DD"),
    ("learning_disability", "maybe", "must be a yes/no flag (1/0, true/false, Y/N)"),
])
def test_each_rule_reports_column_rule_count_and_sample(good_raw, column, value, rule):
    raw = good_raw.copy()
    raw.loc[1, column] = value
    f = _fail(raw)[(column, rule)]
    assert f.failing_rows == 1 and f.total_rows == 4
    assert f.share == pytest.approx(0.25)
    assert value in [str(v) for v in f.sample_values]
    assert column in f.format() and "1 of 4 rows (25.0%)" in f.format()


def test_cross_column_and_census_rules(good_raw):
    raw = good_raw.copy()
    raw.loc[0, "clock_stop_date"] = "2024-01-01"       # before referral
    raw.loc[1, "clock_stop_date"] = "2025-06-01"       # waiting but stopped
    raw.loc[2, "clock_stop_date"] = pd.NA              # removed without a stop
    raw.loc[3, "first_appointment_date"] = "2024-01-01"  # before referral
    fails = _fail(raw, census_date="2025-06-30")
    assert fails[("clock_stop_date", "must not be before referral_date")].failing_rows == 1
    assert fails[("clock_stop_date", "must be empty while outcome is waiting")].failing_rows == 1
    assert fails[("clock_stop_date", "must be given when outcome is treated or removed")].failing_rows == 1
    assert fails[("first_appointment_date", "must not be before referral_date")].failing_rows == 1
    assert fails[("clock_stop_date", "must not be after the census date 2025-06-30")].failing_rows == 1
    # samples are what a person would write: dates as YYYY-MM-DD, a pair as (this, the other)
    before = fails[("clock_stop_date", "must not be before referral_date")].sample_values
    assert before == [("2024-01-01", good_raw.loc[0, "referral_date"])]
    late = fails[("clock_stop_date", "must not be after the census date 2025-06-30")].sample_values
    assert late == [v for v in raw["clock_stop_date"].dropna() if v > "2025-06-30"]


def test_samples_are_distinct_values(good_raw):
    raw = pd.concat([good_raw] * 3, ignore_index=True)
    raw["pathway_id"] = [f"P{i}" for i in range(len(raw))]
    raw["sex"] = "Q"
    f = _fail(raw)[("sex", "must be one of F / M / U")]
    assert f.failing_rows == len(raw) and f.sample_values == ["Q"]


def test_missing_and_duplicate(good_raw):
    raw = good_raw.drop(columns=["sex"])
    raw.loc[3, "pathway_id"] = "P1"
    fails = _fail(raw)
    assert fails[("sex", "required column is missing")].failing_rows == -1
    assert fails[("pathway_id", "must be unique")].failing_rows == 2
    raw2 = good_raw.drop(columns=["age"])
    assert ("age", "age or age_band must be present") in _fail(raw2)


def test_load_extract_raises_with_report(tmp_path, good_raw):
    raw = good_raw.copy()
    raw.loc[0, "ethnic_category"] = "Q"
    p = tmp_path / "bad.csv"
    raw.to_csv(p, index=False)
    with pytest.raises(ContractError) as err:
        load_extract(p)
    assert err.value.report.n_rows == 4
    assert "ethnic_category" in str(err.value)


def test_cli_validate_names_all_three_problems(tmp_path, good_raw, capsys):
    """Acceptance: a missing column, an invalid ethnicity code and a clock stop before referral."""
    raw = good_raw.drop(columns=["dna_count"])
    raw.loc[1, "ethnic_category"] = "X"
    raw.loc[0, "clock_stop_date"] = "2024-12-01"
    p = tmp_path / "three_problems.csv"
    raw.to_csv(p, index=False)
    code = main(["validate", str(p)])
    out = capsys.readouterr().out
    assert code != 0
    assert "dna_count: required column is missing" in out
    assert "ethnic_category: must be an NHS Data Dictionary ethnic category" in out and "'X'" in out
    assert "clock_stop_date: must not be before referral_date" in out
    assert "none dropped" in out


def test_cli_validate_ok_prints_data_quality(good_csv, capsys):
    assert main(["validate", str(good_csv)]) == 0
    out = capsys.readouterr().out
    assert "meet the data contract" in out
    assert "Ethnicity not recorded (Z or 99): 2 of 4 (50.0%)" in out


def test_calendar_date_pattern_agrees_with_the_calendar():
    """Every day 1896-2104 (and the century years 1600-2800) matches, and nothing else of the form YYYY-MM-DD does (checked
    against Python's own calendar, independently of the pattern)."""
    import datetime
    import re

    from qi_equity.data.contract import CALENDAR_DATE_PATTERN

    pat = re.compile(CALENDAR_DATE_PATTERN)
    years = list(range(1896, 2105)) + [1600, 1700, 1800, 2200, 2300, 2400, 2800]  # every leap-year case
    for year in years:
        for month in range(0, 14):
            for day in range(0, 33):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    datetime.date(year, month, day)
                    real = True
                except ValueError:
                    real = False
                assert bool(pat.match(text)) == real, text
    for bad in ("2025-1-01", "25-01-01", "2025/01/01", "2025-01-01 ", " 2025-01-01", "2025-01-01T00:00"):
        assert not pat.match(bad)


def test_prepare_suite_builds_the_suite_validation_then_uses(good_csv, tmp_path):
    from qi_equity.data import validation as V
    from qi_equity.data.io import read_raw

    V._PLANS.clear()
    V.prepare_suite(good_csv, "2025-12-31")
    assert list(V._PLANS) == [(frozenset(read_raw(good_csv).columns), pd.Timestamp("2025-12-31"))]
    plan = next(iter(V._PLANS.values()))
    assert validate_extract(read_raw(good_csv), census_date="2025-12-31").ok
    assert list(V._PLANS.values()) == [plan]  # reused, not rebuilt
    pq = tmp_path / "x.parquet"
    read_raw(good_csv).to_parquet(pq)
    V.prepare_suite(pq, "2025-12-31")  # a Parquet file's columns come from its schema
    assert len(V._PLANS) == 1
