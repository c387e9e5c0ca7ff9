"""NASSS assessments (qi_equity.assessment.nasss): contract, latest and previous ratings, profile."""

import pandas as pd
import pytest

from qi_equity.assessment.nasss import DOMAINS, NASSS_COLUMNS, load_nasss, nasss_profile, nasss_table
from qi_equity.data.validation import ContractError


def _rows(code="XQB", project="Evening clinics", date="2026-02-20", ratings=None):
    ratings = ratings or ["complex", "simple", "complicated", "complex", "complex", "simple", "simple"]
    return [{"provider_code": code, "project": project, "assessed_on": date, "domain": d, "rating": r,
             "notes": f"why {d}"} for d, r in zip(DOMAINS, ratings)]


def _write(tmp_path, rows):
    p = tmp_path / "nasss.csv"
    pd.DataFrame(rows)[NASSS_COLUMNS].to_csv(p, index=False)
    return p


def test_latest_assessment_in_domain_order_with_the_one_before(tmp_path):
    earlier = _rows(date="2025-10-01", ratings=["complex"] * 7)
    df = load_nasss(_write(tmp_path, earlier + _rows()))
    t = nasss_table(df)
    assert t["domain"].tolist() == list(DOMAINS)  # the framework's order, not alphabetical
    assert t["rating"].tolist() == ["complex", "simple", "complicated", "complex", "complex", "simple", "simple"]
    assert (t["previous_rating"] == "complex").all()
    assert (t["previous_assessed_on"] == pd.Timestamp("2025-10-01")).all()
    assert t["domain_label"].iloc[0] == "The condition" and t["question"].iloc[0].endswith("?")


def test_profile_counts_complex_domains_per_project(tmp_path):
    df = load_nasss(_write(tmp_path, _rows() + _rows("XQC", "Equity check", ratings=["simple"] * 7)))
    p = nasss_profile(df).set_index("provider_code")
    assert p.loc["XQB", "complex_domains"] == 3 and p.loc["XQC", "complex_domains"] == 0
    assert list(p.columns)[2:9] == [v[0] for v in DOMAINS.values()]


@pytest.mark.parametrize("change,column,rule,rows", [
    (lambda r: r[:6], "domain", "each project's assessment must rate all 7 domains", "6 of 6"),
    (lambda r: r + [dict(r[0])], "domain", "must appear once per project and date", "2 of 8"),
    (lambda r: [dict(r[0], rating="hard")] + r[1:], "rating", "must be simple / complicated / complex", "1 of 7"),
    (lambda r: [dict(r[0], domain="people")] + r[1:], "domain", "must be one of condition", "1 of 7"),
    (lambda r: [dict(x, assessed_on="20/02/2026") for x in r], "assessed_on", "must be a date YYYY-MM-DD", "7 of 7"),
])
def test_bad_files_name_column_rule_and_rows(tmp_path, change, column, rule, rows):
    path = _write(tmp_path, change(_rows()))
    with pytest.raises(ContractError) as e:
        load_nasss(path)
    text = e.value.report.format()
    assert str(path) in text and f"{column}: {rule}" in text and f"{rows} rows" in text, text


def test_the_sample_has_a_repeat_assessment():
    from _support import SAMPLE

    t = nasss_table(load_nasss(SAMPLE / "nasss.csv", "XQB"))
    assert t["previous_rating"].notna().all() and (t["rating"] != t["previous_rating"]).any()
