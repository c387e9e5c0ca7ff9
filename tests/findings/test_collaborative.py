"""Collaborative findings: the leave-one-out funnel (DerSimonian-Laird against metafor/Stata),
an outlier that an overall overdispersion estimate hides, few providers, who to learn from."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.equity.funnel import _dersimonian_laird, funnel, loo_funnel
from qi_equity.findings.collaborative import learn_from, scan_collaborative

BCG = json.loads((Path(__file__).parents[1] / "fixtures" / "equity" / "dersimonian_laird_bcg.json").read_text())


def test_dersimonian_laird_matches_metafor_and_stata():
    a = np.array(BCG["data"], float)
    t1, t0, c1, c0 = a[:, 1], a[:, 2], a[:, 3], a[:, 4]
    y = np.log((t1 / (t1 + t0)) / (c1 / (c1 + c0)))
    v = 1 / t1 - 1 / (t1 + t0) + 1 / c1 - 1 / (c1 + c0)
    tau2 = _dersimonian_laird(y, v)
    assert tau2 == pytest.approx(BCG["tau2"], abs=5e-5)
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    se = np.sqrt(1 / np.sum(w))
    assert mu == pytest.approx(BCG["pooled"], abs=5e-5)
    assert mu - 1.959964 * se == pytest.approx(BCG["pooled_lower"], abs=5e-5)
    assert mu + 1.959964 * se == pytest.approx(BCG["pooled_upper"], abs=5e-5)


def _six(outlier_rate=0.226, third=0.139):
    # five providers with the spread the sample's case mix gives (8-14% DNA) and one far above them
    den = [2800, 3200, 3500, 3500, 2900, 1700]
    rates = [0.080, 0.089, third, 0.110, 0.093, outlier_rate]
    return pd.DataFrame({"group": ["P1", "P2", "P3", "P4", "P5", "P6"],
                         "numerator": [round(r * n) for r, n in zip(rates, den)], "denominator": den})


def test_leave_one_out_flags_the_outlier_that_overall_overdispersion_hides():
    d = _six()
    overall = funnel(d, kind="proportion", multiplier=100)
    assert overall.summary["phi"].iloc[0] > 20          # inflated by the outlier itself ...
    assert not overall.data.set_index("group").loc["P6", "outlier998"]  # ... which it then hides
    loo = loo_funnel(d, multiplier=100).data.set_index("group")
    assert loo.loc["P6", "outlier998"] and loo.loc["P6", "direction"] == "high"
    assert not loo.drop(index="P6")["outlier95"].any()
    others = 100 * d["numerator"][:5] / d["denominator"][:5]
    assert others.min() < loo.loc["P6", "target"] < others.max()  # the others' random-effects mean


def test_with_too_few_others_the_limits_are_unadjusted_and_say_so():
    res = loo_funnel(_six().iloc[[0, 1, 2, 5]], multiplier=100, min_others=4)
    assert (res.data["tau2"] == 0).all() and res.summary["effective_method"].iloc[0] == "leave_one_out_unadjusted"
    assert "too few" in res.summary["reason"].iloc[0]
    with pytest.raises(ValueError, match="at least 3 units"):
        loo_funnel(_six().iloc[:2])


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
