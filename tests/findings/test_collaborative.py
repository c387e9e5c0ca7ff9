"""Collaborative findings: the scan reports the outlier and only it, and who to learn from. (The
leave-one-out funnel itself is tested with the funnels, tests/equity/test_funnel.py.)"""

import pandas as pd

from _support import six_providers as _six
from qi_equity.findings.collaborative import learn_from, scan_collaborative


def _metrics(d: pd.DataFrame) -> list[dict]:
    out = []
    for r in d.itertuples():
        cols = ["dimension", "group", "completed", "over_18", "over_52", "removed", "dna_denominator", "dna"]
        out.append({"provider_code": r.group, "provider_name": f"Trust {r.group}",
                    "equity_table": {"columns": cols, "data": [["all", "All", 3000, 600, 10, 300,
                                                                 r.denominator, r.numerator]]}})
    return out


def test_scan_collaborative_reports_the_outlier_and_only_it():
    cf = scan_collaborative(_metrics(_six()))
    d = cf.data
    assert d["provider_code"].tolist() == ["P6"] and d["measure"].tolist() == ["dna_rate"]
    r = d.iloc[0]
    assert r["kind"] == "collaborative_outlier" and r["direction"] == "worse" and r["limit"] == "99.8%"
    assert "Trust P6" in r["sentence"] and "above the other trusts" in r["sentence"]
    quiet = scan_collaborative(_metrics(_six(outlier_rate=0.10, third=0.105)))
    assert quiet.data.empty


def test_who_to_learn_from_matches_improvements_with_concerns():
    pf = pd.DataFrame([
        {"provider_code": "P1", "kind": "group_changing", "direction": "improving", "measure": "completed_median_wait",
         "dimension": "all", "group": "All", "sentence": "Waits fell.", "headline": True},
        {"provider_code": "P2", "kind": "gap_now", "direction": "worse", "measure": "completed_over_18",
         "dimension": "sex_age", "group": "Female 16-64", "sentence": "A gap.", "headline": True},
        {"provider_code": "P3", "kind": "gap_now", "direction": "worse", "measure": "dna_rate",
         "dimension": "ethnic_group", "group": "Asian", "sentence": "Another gap.", "headline": True}])
    lf = learn_from(pf)
    assert lf["provider_code"].tolist() == ["P1"] and lf["could_help"].iloc[0] == "P2"
