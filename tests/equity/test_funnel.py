"""funnel() against FunnelPlotR 0.5.0 (tests/fixtures/equity, see PROVENANCE.md)."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.equity.funnel import funnel

FIX = Path(__file__).parents[1] / "fixtures" / "equity"
CASES = pd.read_csv(FIX / "funnel_cases.csv")
INPUTS = pd.read_csv(FIX / "funnel_inputs.csv")
PROV = pd.read_csv(FIX / "funnel_fpr_providers.csv")
SUMM = pd.read_csv(FIX / "funnel_fpr_summary.csv")
LIMITS = [("lower95", "LCL95"), ("upper95", "UCL95"), ("lower998", "LCL99"), ("upper998", "UCL99"),
          ("od_lower95", "OD95LCL"), ("od_upper95", "OD95UCL"), ("od_lower998", "OD99LCL"), ("od_upper998", "OD99UCL")]


def _run(case):
    d = INPUTS[INPUTS.case_id == case.case_id]
    r = funnel(d, kind="proportion" if case.data_type == "PR" else "ratio", sr_method=case.sr_method,
               trim_by=case.trim_by, multiplier=case.multiplier)
    ref = PROV[PROV.case_id == case.case_id].set_index("group").loc[r.data["group"]].reset_index()
    return r, ref


@pytest.mark.parametrize("case", list(CASES.itertuples()), ids=lambda c: c.case_id)
def test_summary_phi_tau2_target(case):
    r, _ = _run(case)
    s = SUMM[SUMM.case_id == case.case_id].iloc[0]
    got = r.summary.iloc[0]
    assert got["target"] == pytest.approx(s.target, rel=1e-6)
    assert got["n_units"] == s.n_providers and got["n_used_for_phi"] == s.n_used_for_phi
    assert got["phi"] == pytest.approx(s.phi, rel=1e-6)
    assert got["tau2"] == pytest.approx(s.tau2, rel=1e-6, abs=1e-15)
    assert (got["effective_method"] == "overdispersed") == bool(s.default_draw_adjusted_effective)


@pytest.mark.parametrize("case", list(CASES.itertuples()), ids=lambda c: c.case_id)
def test_values_zscores_and_limits(case):
    r, ref = _run(case)
    d = r.data
    np.testing.assert_allclose(d["value"], ref["rr"], rtol=1e-6)
    np.testing.assert_allclose(d["z"], ref["Uzscore"], rtol=1e-6)
    np.testing.assert_allclose(d["z_winsorised"], ref["Wuzscore"], rtol=1e-6, equal_nan=True)
    trimmed_ref = ref["truncated"] if case.sr_method == "SHMI" and case.data_type == "SR" else ref["winsorised"]
    assert d["trimmed"].astype(int).tolist() == trimmed_ref.astype(int).tolist()
    for mine, theirs in LIMITS:
        np.testing.assert_allclose(d[mine], ref[theirs], rtol=1e-6, err_msg=mine)


@pytest.mark.parametrize("case", list(CASES.itertuples()), ids=lambda c: c.case_id)
def test_outlier_flags_exactly(case):
    r, ref = _run(case)
    d = r.data
    v = d["value"]
    for lev, tag in (("95", "95"), ("998", "99")):
        unadj = (v < d[f"lower{lev}"]) | (v > d[f"upper{lev}"])
        od = (v < d[f"od_lower{lev}"]) | (v > d[f"od_upper{lev}"])
        assert unadj.astype(int).tolist() == ref[f"outlier_unadj_{tag}"].tolist()
        assert od.astype(int).tolist() == ref[f"outlier_od_{tag}"].tolist()
        assert d[f"outlier{lev}"].astype(int).tolist() == ref[f"outlier_default_{tag}"].tolist()
    assert set(r.outliers(0.95)["group"]) == set(ref.loc[ref.outlier_default_95 == 1, "group"])


def test_method_never_switches_silently():
    d = INPUTS[INPUTS.case_id == "F1_PR_noOD"]
    r = funnel(d, method="overdispersed")
    s = r.summary.iloc[0]
    assert s["method"] == "overdispersed" and s["effective_method"] == "unadjusted"
    assert "no overdispersion" in s["reason"]


def test_edge_cases():
    d = pd.DataFrame({"group": list("abcdef"), "numerator": [0, 5, 1, 7, 3, 4], "denominator": [10, 5, 1, 50, 40, 30]})
    r = funnel(d)  # zero events, numerator == denominator, denominator 1
    assert np.isfinite(r.data["lower95"]).all() and (r.data["upper998"] <= 1).all() and (r.data["lower95"] >= 0).all()
    one = funnel(d.iloc[:1])  # a collaborative of one provider
    assert one.summary.iloc[0]["n_units"] == 1
    with pytest.raises(ValueError, match="denominator': 1 row"):
        funnel(d.assign(denominator=[0, 5, 1, 50, 40, 30]))
    with pytest.raises(ValueError, match="exceed the denominator"):
        funnel(d.assign(numerator=[20, 5, 1, 7, 3, 4]))


def test_plot_highlights_a_provider():
    d = INPUTS[INPUTS.case_id == "F2_PR_OD"]
    r = funnel(d, highlight="T05")
    fig = r.plot(highlight="T05", title="Funnel")
    assert "T05" in fig.qi_alt_text and "Funnel" in fig.qi_alt_text


def test_phe_significance_labels_exactly():
    """PHEindicatormethods 2.0.2 phe_funnel_significance (tests/fixtures/equity)."""
    from qi_equity.equity.funnel import phe_significance

    ref = pd.read_csv(FIX / "funnel_phe_significance.csv")
    for case, d in ref.groupby("case_id"):
        stat = "proportion" if d["phe_statistic"].iloc[0] == "proportion" else "ratio"
        assert phe_significance(d, statistic=stat).tolist() == d["significance"].tolist(), case
    with pytest.raises(ValueError):
        phe_significance(ref.head(2), statistic="mean")


def _od_z(r):
    """Each unit's overdispersed z on the square-root scale, Spiegelhalter (2005, QSHC) eq. 3:
    (sqrt(O/E) - 1) / sqrt(1 / (4E) + tau2), computed here term by term."""
    tau2 = float(r.summary["tau2"].iloc[0])
    return [(math.sqrt(o / e) - 1) / math.sqrt(1 / (4 * e) + tau2)
            for o, e in zip(r.data["numerator"], r.data["denominator"])]


def test_cqc_limits_are_the_square_root_scale_limits_squared():
    """A unit lies outside the CQC funnel exactly when its overdispersed z on the square-root
    scale passes the critical value (Spiegelhalter 2005): the squared limits say so for every
    unit; FunnelPlotR's unsquared ones (offered as ``cqc_limits="funnelplotr"``) do not."""
    d = INPUTS[INPUTS.case_id == "F4_SR_SHMI_OD"]
    sq = funnel(d, kind="ratio", sr_method="CQC")
    fpr = funnel(d, kind="ratio", sr_method="CQC", cqc_limits="funnelplotr")
    assert sq.summary["effective_method"].iloc[0] == "overdispersed"
    z = np.array(_od_z(sq))
    for zc, lab in ((1.959964, "95"), (3.090232, "998")):
        assert (sq.data[f"outlier{lab}"].to_numpy() == (np.abs(z) > zc)).all()
        assert np.allclose(sq.data[f"od_upper{lab}"], fpr.data[f"od_upper{lab}"] ** 2, rtol=1e-12)
    assert (fpr.data["outlier95"].to_numpy() != (np.abs(z) > 1.959964)).any()  # the difference the docs state
    with pytest.raises(ValueError, match="cqc_limits"):
        funnel(d, kind="ratio", sr_method="CQC", cqc_limits="cube")


def test_ratio_of_counts_funnel_by_hand():
    """FunnelPlotR's ``RC``: log((O + 0.5) / (D + 0.5)) against log(sum O / sum D) with
    s = sqrt(O / (O + 0.5)^2 + D / (D + 0.5)^2); worked here with the math module."""
    d = pd.DataFrame({"group": ["a", "b", "c", "d", "e"], "numerator": [30, 12, 50, 8, 41],
                      "denominator": [60, 40, 70, 40, 45]})
    r = funnel(d, kind="counts", method="unadjusted")
    target = sum(d.numerator) / sum(d.denominator)  # 141 / 255
    assert r.summary["target"].iloc[0] == pytest.approx(target, rel=1e-12)
    for row, (o, dd) in zip(r.data.itertuples(), zip(d.numerator, d.denominator)):
        s = math.sqrt(o / (o + 0.5) ** 2 + dd / (dd + 0.5) ** 2)
        z = (math.log((o + 0.5) / (dd + 0.5)) - math.log(target)) / s
        assert row.z == pytest.approx(z, rel=1e-12)
        assert row.upper998 == pytest.approx(target * math.exp(3.090232 * s), rel=1e-12)
        assert row.lower95 == pytest.approx(target * math.exp(-1.959964 * s), rel=1e-12)
        lo, hi = target * math.exp(-1.959964 * s), target * math.exp(1.959964 * s)
        assert row.outlier95 == (not lo <= o / dd <= hi)  # judged on the ratio, as FunnelPlotR
    assert r.data.set_index("group").loc["e", "direction"] == "high"  # 41/45 against 0.55
    with pytest.raises(ValueError, match="every count is zero"):
        funnel(d.assign(numerator=0), kind="counts")


@pytest.mark.parametrize("case", [c for c in CASES.itertuples() if c.trim_by == 0.1], ids=lambda c: c.case_id)
def test_boundary_default_trim_by_is_funnelplotrs(case):
    """Reports call funnel() without trim_by: its default must be FunnelPlotR's 10% (the fixtures'
    cases with trim_by = 0.1 are reproduced without passing it)."""
    d = INPUTS[INPUTS.case_id == case.case_id]
    r = funnel(d, kind="proportion" if case.data_type == "PR" else "ratio", sr_method=case.sr_method,
               multiplier=case.multiplier)
    s = SUMM[SUMM.case_id == case.case_id].iloc[0]
    assert r.summary.iloc[0]["n_used_for_phi"] == s.n_used_for_phi
    assert r.summary.iloc[0]["phi"] == pytest.approx(s.phi, rel=1e-6)


def test_boundary_tau2_for_phi_just_under_one():
    """Spiegelhalter (2005), eq. for the additive random effect: tau² = (n phi - (n - 1)) /
    (sum w - sum w² / sum w), w = 1 / s², set to 0 only when n phi < n - 1. With n = 10 and
    phi = 0.95 (n phi = 9.5 >= 9) tau² is positive; with phi = 0.89 (8.9 < 9) it is 0."""
    from qi_equity.equity.funnel import dispersion

    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    w = 1 / s ** 2
    spread = w.sum() - (w ** 2).sum() / w.sum()
    for phi, want in ((0.95, (10 * 0.95 - 9) / spread), (0.89, 0.0), (0.9, 0.0)):
        z = np.full(10, math.sqrt(phi))
        got_phi, tau2 = dispersion(z, s)
        assert got_phi == pytest.approx(phi, rel=1e-12)
        assert tau2 == pytest.approx(want, rel=1e-9, abs=1e-15)
    assert dispersion(np.full(10, math.sqrt(0.95)), s)[1] > 0
