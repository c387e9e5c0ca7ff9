"""funnel() against FunnelPlotR 0.5.0 (tests/fixtures/equity, see PROVENANCE.md)."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _support import six_providers as _six
from qi_equity.equity.funnel import _dersimonian_laird, funnel, loo_funnel, loo_funnel_standardised

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


# ---------------------------------------------------------------------------------------------
# DerSimonian-Laird and the leave-one-out funnels (moved from tests/findings/test_collaborative.py)
# ---------------------------------------------------------------------------------------------


BCG = json.loads((FIX / "dersimonian_laird_bcg.json").read_text())


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


def test_boundary_dersimonian_laird_with_one_study_no_spread_or_less_spread_than_chance():
    """tau2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)): 0 for one study; 0 when the
    studies agree more than chance allows (Q < k - 1); by hand for two studies y = 0, 1 with
    variances 0.1: w = 10 each, mu = 0.5, Q = 10 * 0.25 * 2 = 5, spread = 20 - 200/20 = 10, so
    tau2 = (5 - 1) / 10 = 0.4."""
    assert _dersimonian_laird(np.array([1.0]), np.array([0.1])) == 0.0
    assert _dersimonian_laird(np.array([0.0, 0.01]), np.array([0.1, 0.1])) == 0.0
    assert _dersimonian_laird(np.array([0.0, 1.0]), np.array([0.1, 0.1])) == pytest.approx(0.4, rel=1e-12)
    # unequal weights: w = 10, 5; mu = (0 + 5) / 15 = 1/3; Q = 10/9 + 5 * 4/9 = 10/3;
    # spread = 15 - 125/15 = 20/3; tau2 = (10/3 - 1) / (20/3) = 0.35
    assert _dersimonian_laird(np.array([0.0, 1.0]), np.array([0.1, 0.2])) == pytest.approx(0.35, rel=1e-12)
    # small weights (variances 10: w = 0.1, spread 0.2 - 0.02 / 0.2 = 0.1): y = 0, 10, mu = 5,
    # Q = 0.1 x 25 x 2 = 5, tau2 = (5 - 1) / 0.1 = 40
    assert _dersimonian_laird(np.array([0.0, 10.0]), np.array([10.0, 10.0])) == pytest.approx(40.0, rel=1e-12)


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


def _dl(y, v):
    """DerSimonian-Laird written out with plain floats (as the docstring above)."""
    w = [1 / x for x in v]
    mu = sum(a * b for a, b in zip(w, y)) / sum(w)
    q = sum(a * (b - mu) ** 2 for a, b in zip(w, y))
    spread = sum(w) - sum(a * a for a in w) / sum(w)
    return max(0.0, (q - (len(y) - 1)) / spread) if len(y) > 1 and spread > 0 else 0.0


def _predictive(y_i, s2_i, ys, s2s, tau2):
    """The others' random-effects mean, its variance and unit i's predictive sd and z."""
    w = [1 / (s + tau2) for s in s2s]
    mu = sum(a * b for a, b in zip(w, ys)) / sum(w)
    var_mu = 1 / sum(w)
    sd = math.sqrt(s2_i + tau2 + var_mu)
    return mu, var_mu, sd, (y_i - mu) / sd


Z = {"95": 1.959964, "998": 3.090232}


def _loo_by_hand(num, den, min_others):
    """Each unit against the others on the arcsine-square-root scale, one unit at a time with the
    math module (Spiegelhalter 2005; Ohlssen, Sharples & Spiegelhalter 2007): y = asin(sqrt(p)),
    s^2 = 1/(4n); limits mu -+ z sd back-transformed by sin^2, 0 below 0 and 1 above pi/2."""
    rows = []
    for i in range(len(num)):
        ys = [math.asin(math.sqrt(num[j] / den[j])) for j in range(len(num)) if j != i]
        s2s = [1 / (4 * den[j]) for j in range(len(num)) if j != i]
        tau2 = _dl(ys, s2s) if len(ys) >= min_others else 0.0
        y_i = math.asin(math.sqrt(num[i] / den[i]))
        mu, var_mu, sd, z = _predictive(y_i, 1 / (4 * den[i]), ys, s2s, tau2)
        row = {"target": math.sin(mu) ** 2, "z": z, "tau2": tau2, "n_others": len(ys),
               "p_value": math.erfc(abs(z) / math.sqrt(2))}
        for lab, zz in Z.items():
            lo, hi = mu - zz * sd, mu + zz * sd
            row[f"lower{lab}"] = 0.0 if lo <= 0 else math.sin(min(lo, math.pi / 2)) ** 2
            row[f"upper{lab}"] = 1.0 if hi >= math.pi / 2 else math.sin(max(hi, 0)) ** 2
        rows.append(row)
    return pd.DataFrame(rows)


def test_loo_funnel_against_the_method_worked_unit_by_unit():
    """Every column of ``.data`` against the method worked one unit at a time: five units with
    enough others for DerSimonian-Laird (4), one of them at 1 in 20 (its lower limits fall below 0)
    and one at 95 of 100 (its upper 99.8% limit passes 1), with a multiplier of 100."""
    num, den = [30, 45, 1, 95, 40], [300, 400, 20, 100, 350]
    d = pd.DataFrame({"group": list("ABCDE"), "numerator": num, "denominator": den})
    res = loo_funnel(d, multiplier=100, highlight="C")
    want = _loo_by_hand(num, den, 4)
    got = res.data
    assert got["group"].tolist() == list("ABCDE") and got["numerator"].tolist() == num
    assert got["value"].tolist() == pytest.approx([100 * a / b for a, b in zip(num, den)], rel=1e-12)
    for c in ("z", "p_value", "tau2"):
        assert got[c].tolist() == pytest.approx(want[c].tolist(), rel=1e-9, abs=1e-15), c
    # without D (95%) the others agree more than chance allows: tau2 = 0 there, above 0 elsewhere
    assert got["n_others"].tolist() == [4] * 5 and (want["tau2"] > 0).tolist() == [True, True, True, False, True]
    for c in ("target", "lower95", "upper95", "lower998", "upper998"):
        assert got[c].tolist() == pytest.approx((100 * want[c]).tolist(), rel=1e-9), c
    assert got["outlier95"].tolist() == (want["z"].abs() > 1.959964).tolist()
    assert got["outlier998"].tolist() == (want["z"].abs() > 3.090232).tolist()
    assert got["direction"].tolist() == [("high" if z > 0 else "low") if abs(z) > 1.959964 else ""
                                         for z in want["z"]]
    assert got["highlight"].tolist() == [False, False, True, False, False]
    s = res.summary.iloc[0]
    assert (s["kind"], s["n_units"], s["method"], s["effective_method"], s["min_others"], s["multiplier"]) == (
        "proportion", 5, "leave_one_out", "leave_one_out_random_effects", 4, 100)
    assert s["reason"] == ("each provider against the other 4: their random-effects mean and between-provider "
                           "variance (DerSimonian-Laird)")


def test_boundary_loo_funnel_limits_clip_at_zero_and_one_and_use_min_others():
    """Unadjusted (tau2 = 0) when the others number fewer than ``min_others``, and adjusted when they
    number exactly that; a rate near 0 has lower limits of exactly 0 and one near 1 upper limits
    of exactly 1 (x multiplier), on the grid too."""
    num, den = [1, 2, 19, 5], [20, 40, 20, 50]
    d = pd.DataFrame({"group": list("ABCD"), "numerator": num, "denominator": den})
    at = loo_funnel(d, min_others=3)
    assert (at.data["n_others"] == 3).all() and at.summary["effective_method"].iloc[0] == "leave_one_out_random_effects"
    assert at.data["tau2"].tolist() == pytest.approx(_loo_by_hand(num, den, 3)["tau2"].tolist(), rel=1e-9)
    above = loo_funnel(d, min_others=4, multiplier=10)
    want = _loo_by_hand(num, den, 4)
    assert (above.data["tau2"] == 0).all() and (want["tau2"] == 0).all()
    assert above.summary["reason"].iloc[0] == ("each provider against the other 3: too few to estimate "
                                               "between-provider variance (fewer than 4), so unadjusted limits")
    for c in ("lower95", "upper95", "lower998", "upper998", "target"):
        assert above.data[c].tolist() == pytest.approx((10 * want[c]).tolist(), rel=1e-9), c
    assert 0.0 in above.data["lower998"].tolist() and (want["lower998"] == 0).any()
    grid = above.limits
    assert grid["unit"].unique().tolist() == list("ABCD") and (grid.groupby("unit").size() == 200).all()
    g = grid[grid["unit"] == "A"]["denominator"].to_numpy()
    assert g[0] == pytest.approx(10) and g[-1] == pytest.approx(55) and np.allclose(np.diff(np.log(g)), np.log(5.5) / 199)
    assert grid["lower998"].min() == 0.0 and grid["upper998"].max() <= 10.0
    assert (grid["lower95"] <= grid["upper95"]).all()


@pytest.mark.parametrize("bad, message", [
    ({"denominator": [10, 0, 10]}, r"column 'denominator': 1 row\(s\) are missing, zero or negative"),
    ({"numerator": [1, 11, -1]}, r"column 'numerator': 2 row\(s\) are missing, negative or above the denominator"),
    ({"numerator": [1, None, 2]}, r"column 'numerator': 1 row\(s\) are missing"),
])
def test_loo_funnel_refuses_bad_counts_naming_the_column_and_rows(bad, message):
    d = pd.DataFrame({"group": list("ABC"), "numerator": [1, 2, 3], "denominator": [10, 10, 10]})
    with pytest.raises(ValueError, match=message):
        loo_funnel(d.assign(**bad))
    with pytest.raises(ValueError, match=r"column 'trust' not found"):
        loo_funnel(d, group="trust")


def _standardised_by_hand(rows, min_others, min_sd):
    """Indirect standardisation against the others (Breslow & Day 1987), unit by unit: the others'
    stratum rates (leaving out suppressed strata); each unit's observed and expected over its
    published strata; y = log(max(O, 0.5) / E), s^2 = 1 / E; tau2 from DerSimonian-Laird, at least
    min_sd^2; values and limits as the others' overall proportion x exp(...)."""
    units = list(dict.fromkeys(r[0] for r in rows))
    out = {}
    for u in units:
        others = [r for r in rows if r[0] != u and r[2] is not None]
        rate = {}
        for s in {r[1] for r in others}:
            rate[s] = sum(r[2] for r in others if r[1] == s) / sum(r[3] for r in others if r[1] == s)
        overall = sum(r[2] for r in others) / sum(r[3] for r in others)
        obs = {v: sum(r[2] for r in rows if r[0] == v and r[2] is not None and r[1] in rate) for v in units}
        exp_ = {v: sum(r[3] * rate[r[1]] for r in rows if r[0] == v and r[2] is not None and r[1] in rate) for v in units}
        y = {v: math.log(max(obs[v], 0.5) / exp_[v]) for v in units}
        o = [v for v in units if v != u]
        tau2 = _dl([y[v] for v in o], [1 / exp_[v] for v in o]) if len(o) >= min_others else 0.0
        tau2 = max(tau2, min_sd ** 2)
        mu, var_mu, sd, z = _predictive(y[u], 1 / exp_[u], [y[v] for v in o], [1 / exp_[v] for v in o], tau2)
        out[u] = {"observed": obs[u], "expected": exp_[u], "ratio": obs[u] / exp_[u],
                  "value": overall * obs[u] / exp_[u], "target": overall * math.exp(mu), "z": z, "tau2": tau2,
                  "lower95": overall * math.exp(mu - Z["95"] * sd), "upper95": overall * math.exp(mu + Z["95"] * sd),
                  "lower998": overall * math.exp(mu - Z["998"] * sd),
                  "upper998": overall * math.exp(mu + Z["998"] * sd), "n_others": len(o)}
    return pd.DataFrame(out).T


def test_loo_funnel_standardised_against_the_method_worked_unit_by_unit():
    """Five units in two strata, one stratum of unit C suppressed (left out of its observed and
    expected alike) and unit E with no events in its published strata (the 0.5 floor)."""
    rows = [("A", "q1", 30, 200), ("A", "q5", 10, 300), ("B", "q1", 50, 250), ("B", "q5", 20, 400),
            ("C", "q1", None, 100), ("C", "q5", 15, 300), ("D", "q1", 40, 300), ("D", "q5", 12, 250),
            ("E", "q1", 0, 40), ("E", "q5", 0, 60)]
    d = pd.DataFrame(rows, columns=["group", "stratum", "numerator", "denominator"])
    res = loo_funnel_standardised(d, multiplier=100, highlight=["B"])
    want = _standardised_by_hand(rows, 4, 0.10)
    got = res.data.set_index("group")
    for c in ("observed", "expected", "ratio", "z", "tau2", "n_others"):
        assert got[c].tolist() == pytest.approx(want[c].astype(float).tolist(), rel=1e-9), c
    for c in ("value", "target", "lower95", "upper95", "lower998", "upper998"):
        assert got[c].tolist() == pytest.approx((100 * want[c].astype(float)).tolist(), rel=1e-9), c
    assert got["denominator"].tolist() == [500, 650, 400, 550, 100]    # every stratum's denominator
    assert got["numerator"].tolist() == got["observed"].tolist()
    assert got["p_value"].tolist() == pytest.approx([math.erfc(abs(z) / math.sqrt(2)) for z in want["z"]], rel=1e-9)
    assert got["outlier95"].tolist() == (want["z"].abs() > Z["95"]).tolist()
    assert got["outlier998"].tolist() == (want["z"].abs() > Z["998"]).tolist()
    assert got["highlight"].tolist() == [False, True, False, False, False]
    assert got["direction"].tolist() == [("high" if z > 0 else "low") if abs(z) > Z["95"] else "" for z in want["z"]]
    s = res.summary.iloc[0]
    assert (s["kind"], s["n_units"], s["method"], s["effective_method"]) == (
        "standardised_proportion", 5, "leave_one_out_standardised", "leave_one_out_random_effects")
    assert s["reason"] == ("each provider against the other 4, allowing for its patients' mix by stratum: the others' "
                           "random-effects mean and between-provider variance (DerSimonian-Laird), assuming at least "
                           "10% variation between trusts")
    grid = res.limits[res.limits["unit"] == "A"]
    assert grid["denominator"].iloc[0] == pytest.approx(50) and grid["denominator"].iloc[-1] == pytest.approx(715)


def test_boundary_loo_funnel_standardised_floor_on_between_trust_variation_and_few_others():
    """With one stratum (crude rates) and four similar units, DerSimonian-Laird gives tau2 = 0, so the
    floor min_between_sd^2 holds it; with min_others above the others' number tau2 is the floor too,
    and the summary says so."""
    rows = [("A", "all", 50, 500), ("B", "all", 52, 500), ("C", "all", 49, 500), ("D", "all", 51, 500)]
    d = pd.DataFrame(rows, columns=["group", "stratum", "numerator", "denominator"])
    res = loo_funnel_standardised(d, min_others=3, min_between_sd=0.2)
    want = _standardised_by_hand(rows, 3, 0.2)
    assert res.data["tau2"].tolist() == pytest.approx([0.04] * 4) and want["tau2"].astype(float).tolist() == pytest.approx([0.04] * 4)
    assert res.data["z"].tolist() == pytest.approx(want["z"].astype(float).tolist(), rel=1e-9)
    few = loo_funnel_standardised(d, min_others=4)
    assert few.summary["effective_method"].iloc[0] == "leave_one_out_unadjusted"
    assert few.summary["reason"].iloc[0] == ("each provider against the other 3, crude rates: too few to estimate "
                                             "between-provider variance (fewer than 4), assuming at least 10% "
                                             "variation between trusts")
    assert few.data["tau2"].tolist() == pytest.approx([0.01] * 4)
    with pytest.raises(ValueError, match="at least 3 units"):
        loo_funnel_standardised(d.iloc[:2])
    with pytest.raises(ValueError, match="column 'stratum' not found"):
        loo_funnel_standardised(d.drop(columns="stratum"))


def _loo_others(units, num, den):
    """For each unit, the other units' random-effects mean, its variance and their
    DerSimonian-Laird tau2 on the arcsine scale, worked with plain floats."""
    per = {}
    for i, u in enumerate(units):
        ys = [math.asin(math.sqrt(num[j] / den[j])) for j in range(len(units)) if j != i]
        s2s = [1 / (4 * den[j]) for j in range(len(units)) if j != i]
        tau2 = _dl(ys, s2s)
        mu, var_mu, _, _ = _predictive(0.0, 0.0, ys, s2s, tau2)
        per[u] = (mu, var_mu, tau2)
    return per


def _arcsine_back(per, multiplier):
    """A limit mu -/+ dz back-transformed by sin^2, 0 below 0 and 1 beyond pi/2, x multiplier."""
    def back(u, dz, side):
        x = per[u][0] + dz
        if side == "lower":
            return 0.0 if x <= 0 else multiplier * math.sin(min(x, math.pi / 2)) ** 2
        return multiplier * 1.0 if x >= math.pi / 2 else multiplier * math.sin(max(x, 0)) ** 2
    return back


def _check_grid(limits, units, start, stop, sd_at, back):
    """Each unit's funnel: 200 denominators from ``start`` to ``stop`` evenly on the log scale, the
    limits ``back(mu -/+ z sd(n))`` for unit ``u`` with ``sd_at(u, n)`` and ``back(u, x)``."""
    assert limits["unit"].tolist() == [u for u in units for _ in range(200)]
    assert list(limits.index) == list(range(200 * len(units)))
    for u in units:
        g = limits[limits["unit"] == u]
        n = g["denominator"].to_numpy()
        assert n[0] == pytest.approx(start) and n[-1] == pytest.approx(stop) and len(n) == 200
        assert np.allclose(np.diff(np.log(n)), np.log(stop / start) / 199)
        for lab, zz in Z.items():
            for side, sign in (("lower", -1), ("upper", 1)):
                want = [back(u, sign * zz * sd_at(u, x), side) for x in n]
                assert g[f"{side}{lab}"].tolist() == pytest.approx(want, rel=1e-9, abs=1e-12), (u, side, lab)


def test_loo_funnel_grids_options_and_edges_of_its_checks():
    """Three units (the fewest allowed), one with no events, one with every pathway an event and
    one of a single pathway: the checks accept them. Each unit's funnel is the others' predictive
    limits at every denominator on the grid (from max(min n / 2, 1) = 1 to 1.1 x max n),
    back-transformed by sin^2 with 0 below 0 and 1 beyond pi/2, x multiplier. ``options`` records
    the call; ``outliers()`` returns the flagged units with a fresh index."""
    num, den = [0, 40, 1], [40, 40, 1]
    d = pd.DataFrame({"group": ["none", "all", "one"], "numerator": num, "denominator": den})
    res = loo_funnel(d, multiplier=100, min_others=2)
    want = _loo_by_hand(num, den, 2)
    assert res.data["z"].tolist() == pytest.approx(want["z"].tolist(), rel=1e-9)
    assert res.options == {"kind": "proportion", "method": "leave_one_out", "multiplier": 100, "highlight": None}
    assert res.summary["min_others"].iloc[0] == 2 and res.summary["multiplier"].iloc[0] == 100
    per = _loo_others(["none", "all", "one"], num, den)
    back = _arcsine_back(per, 100)

    _check_grid(res.limits, ["none", "all", "one"], 1.0, 44.0,
                lambda u, n: math.sqrt(1 / (4 * n) + per[u][2] + per[u][1]), back)
    flagged = res.outliers(0.95)
    assert flagged["group"].tolist() == res.data.loc[res.data["outlier95"], "group"].tolist()
    assert list(flagged.index) == list(range(len(flagged))) and "index" not in flagged.columns
    assert res.outliers()["group"].tolist() == res.data.loc[res.data["outlier998"], "group"].tolist()
    low = res.data.set_index("group").loc["none"]
    assert low["direction"] == ("low" if low["outlier95"] else "")


def test_loo_funnel_standardised_grids_directions_and_options():
    """Six units, one above and one below the rest: each unit's funnel is
    overall x exp(mu -/+ z sqrt(1 / (n x overall) + tau2 + var_mu)) on the grid from half the
    smallest unit's denominator to 1.1 x the largest, x multiplier; high and low outliers say so."""
    rows = [("A", "q1", 30, 300), ("A", "q5", 30, 300), ("B", "q1", 33, 300), ("B", "q5", 27, 300),
            ("C", "q1", 70, 300), ("C", "q5", 72, 300), ("D", "q1", 12, 300), ("D", "q5", 10, 300),
            ("E", "q1", 31, 300), ("E", "q5", 29, 300), ("F", "q1", 28, 300), ("F", "q5", 32, 300)]
    d = pd.DataFrame(rows, columns=["group", "stratum", "numerator", "denominator"])
    res = loo_funnel_standardised(d, multiplier=1000, min_others=4)
    want = _standardised_by_hand(rows, 4, 0.10)
    got = res.data.set_index("group")
    assert got.loc["C", "direction"] == "high" and got.loc["D", "direction"] == "low"
    assert got["outlier998"].tolist() == (want["z"].astype(float).abs() > Z["998"]).tolist()
    assert res.options == {"kind": "standardised_proportion", "method": "leave_one_out_standardised",
                           "multiplier": 1000, "highlight": None, "stratum": "stratum"}
    assert res.summary["min_others"].iloc[0] == 4 and res.summary["multiplier"].iloc[0] == 1000
    units = list("ABCDEF")
    per = {}
    for u in units:
        others = [r for r in rows if r[0] != u]
        overall = sum(r[2] for r in others) / sum(r[3] for r in others)
        rate = {s: sum(r[2] for r in others if r[1] == s) / sum(r[3] for r in others if r[1] == s) for s in ("q1", "q5")}
        e = {v: sum(r[3] * rate[r[1]] for r in rows if r[0] == v) for v in units}
        o = {v: sum(r[2] for r in rows if r[0] == v) for v in units}
        ys = [math.log(o[v] / e[v]) for v in units if v != u]
        s2s = [1 / e[v] for v in units if v != u]
        tau2 = max(_dl(ys, s2s), 0.01)
        mu, var_mu, _, _ = _predictive(0.0, 0.0, ys, s2s, tau2)
        per[u] = (mu, var_mu, tau2, overall)
    _check_grid(res.limits, units, 300.0, 660.0,
                lambda u, n: math.sqrt(1 / (n * per[u][3]) + per[u][2] + per[u][1]),
                lambda u, dz, side: 1000 * per[u][3] * math.exp(per[u][0] + dz))
    # the fewest units allowed, and a stratum whose denominator is 0 left out
    three = loo_funnel_standardised(d[d["group"].isin(["A", "B", "E"])].assign(
        denominator=lambda x: np.where(x["stratum"] == "q5", 0, x["denominator"])), min_others=2)
    assert three.data["denominator"].tolist() == [300.0] * 3 and three.data["n_others"].tolist() == [2] * 3


def test_boundary_loo_funnel_accepts_one_pathway_and_counts_bad_rows():
    """The checks at their edges: a denominator of 1 and numerators of 0 and of the whole
    denominator are accepted; the count of bad rows covers each kind."""
    ok = loo_funnel(pd.DataFrame({"group": list("ABC"), "numerator": [0, 1, 5], "denominator": [3, 1, 5]}))
    assert ok.data["n_others"].tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match=r"column 'numerator': 2 row\(s\) are missing, negative or above"):
        loo_funnel(pd.DataFrame({"group": list("ABCD"), "numerator": [0, -1, 6, 5], "denominator": [3, 1, 5, 5]}))
    with pytest.raises(ValueError, match=r"column 'denominator': 2 row\(s\) are missing, zero or negative"):
        loo_funnel(pd.DataFrame({"group": list("ABCD"), "numerator": [0, 0, 0, 0], "denominator": [1, 0, "x", 2]}))
    with pytest.raises(ValueError, match=r"column 'numerator': 1 row\(s\) are missing"):
        loo_funnel(pd.DataFrame({"group": list("ABC"), "numerator": [0, "x", 1], "denominator": [3, 1, 5]}))


def test_funnel_result_plot_passes_its_arguments_on():
    import matplotlib.pyplot as plt

    d = INPUTS[INPUTS.case_id == "F2_PR_OD"]
    fig, ax = plt.subplots()
    out = funnel(d).plot(ax=ax, highlight="T05", title="Waits by trust", label_outliers=False)
    assert out is fig and ax.get_title(loc="left") == "Waits by trust"
    assert [t.get_text() for t in ax.texts] == ["T05"]      # only the highlighted unit is labelled
    plt.close(fig)


LIMIT_COLUMNS = ["lower95", "upper95", "lower998", "upper998", "od_lower95", "od_upper95", "od_lower998", "od_upper998"]


@pytest.mark.parametrize("case", ["F2_PR_OD", "F4_SR_SHMI_OD"])
def test_the_drawn_funnel_meets_each_units_limits(case):
    """``.limits`` is drawn on 200 denominators from max(min n / 2, 1) to 1.1 x max n, evenly on
    the log scale, plus every unit's own denominator; there its limits are the unit's (which
    match FunnelPlotR, above). ``options`` records the call and ``.summary`` has its columns."""
    c = CASES.set_index("case_id").loc[case]
    d = INPUTS[INPUTS.case_id == case]
    kind = "proportion" if c.data_type == "PR" else "ratio"
    r = funnel(d, kind=kind, multiplier=100, highlight="T05")
    den = d["denominator"].to_numpy(float)
    grid = r.limits["denominator"].to_numpy()
    want = np.unique(np.r_[np.geomspace(max(den.min() * 0.5, 1), den.max() * 1.1, 200), den])
    assert grid.tolist() == pytest.approx(want.tolist(), rel=1e-12) and set(den) <= set(grid)
    at = r.limits.set_index("denominator")
    for _, unit in r.data.iterrows():
        assert at.loc[unit["denominator"], LIMIT_COLUMNS].tolist() == pytest.approx(unit[LIMIT_COLUMNS].tolist(),
                                                                                    rel=1e-12), unit["group"]
    assert r.options == {"kind": kind, "method": "overdispersed", "sr_method": "SHMI", "trim_by": 0.1,
                         "multiplier": 100, "highlight": "T05", "cqc_limits": "squared"}
    assert list(r.summary.columns) == ["kind", "target", "n_units", "n_used_for_phi", "phi", "tau2", "method",
                                       "effective_method", "reason", "trim_by", "multiplier"]
    assert r.summary["multiplier"].iloc[0] == 100 and r.summary["kind"].iloc[0] == kind
    assert r.data["highlight"].tolist() == (r.data["group"] == "T05").tolist()
    target = r.summary["target"].iloc[0]
    for _, unit in r.data.iterrows():
        want_dir = ("high" if unit["value"] > target else "low") if unit["outlier95"] else ""
        assert unit["direction"] == want_dir
    assert set(r.data["direction"]) >= {"high", "low"}


def test_cqc_ratio_funnel_worked_by_hand():
    """CQC's square-root method for six ratios (Spiegelhalter 2005): z = (sqrt(O/E) - 1) x 2 sqrt(E);
    winsorised at R's type-7 10% and 90% quantiles; phi = mean square; tau2 = (n phi - (n - 1)) /
    (sum w - sum w^2 / sum w), w = 4E; overdispersed limits (1 -/+ z sqrt(1/(4E) + tau2))^2 with
    a negative lower root set to 0."""
    d = pd.DataFrame({"group": list("ABCDEF"), "numerator": [30, 55, 12, 80, 41, 3],
                      "denominator": [40.0, 50.0, 20.0, 60.0, 40.0, 1.0]})
    r = funnel(d, kind="ratio", sr_method="CQC", highlight=["B", "F"])
    o, e = d["numerator"].to_numpy(float), d["denominator"].to_numpy()
    z = (np.sqrt(o / e) - 1) * 2 * np.sqrt(e)
    lo, hi = np.quantile(z, 0.1), np.quantile(z, 0.9)
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw ** 2))
    w = 4 * e
    tau2 = max(0.0, (6 * phi - 5) / (w.sum() - (w ** 2).sum() / w.sum()))
    s = r.summary.iloc[0]
    assert s["phi"] == pytest.approx(phi, rel=1e-12) and s["tau2"] == pytest.approx(tau2, rel=1e-12) and tau2 > 0
    assert s["effective_method"] == "overdispersed" and s["n_used_for_phi"] == 6
    assert r.data["z"].tolist() == pytest.approx(z.tolist(), rel=1e-12)
    assert r.data["trimmed"].tolist() == ((z < lo) | (z > hi)).tolist()
    for lab, zz in Z.items():
        sd = np.sqrt(1 / (4 * e) + tau2)
        low = 1 - zz * sd
        assert r.data[f"od_lower{lab}"].tolist() == pytest.approx((np.where(low <= 0, 0, low) ** 2).tolist(), abs=1e-12)
        assert r.data[f"od_upper{lab}"].tolist() == pytest.approx(((1 + zz * sd) ** 2).tolist(), rel=1e-12)
    assert (r.data["od_lower998"] == 0).any()          # F's small expected count takes the root below 0
    assert r.data["highlight"].tolist() == [False, True, False, False, False, True]


def test_ratio_of_counts_funnel_is_drawn_with_a_normal_scale_error():
    """Counts: on the drawn grid (no counts there) s = 1 / (2 sqrt(n)), so the limits are
    target x exp(-/+ z sqrt(1/(4n) + tau2)) x multiplier."""
    d = pd.DataFrame({"group": list("ABCDE"), "numerator": [20, 35, 12, 60, 25], "denominator": [25, 30, 20, 40, 30]})
    r = funnel(d, kind="counts", multiplier=10)
    s = r.summary.iloc[0]
    target = s["target"] / 10
    assert target == pytest.approx(152 / 145)
    n = r.limits["denominator"].to_numpy()
    for lab, zz in Z.items():
        for pre, t2 in (("", 0.0), ("od_", s["tau2"])):
            sd = np.sqrt(1 / (4 * n) + t2)
            assert r.limits[f"{pre}lower{lab}"].tolist() == pytest.approx((10 * target * np.exp(-zz * sd)).tolist(), rel=1e-12)
            assert r.limits[f"{pre}upper{lab}"].tolist() == pytest.approx((10 * target * np.exp(zz * sd)).tolist(), rel=1e-12)


def test_boundary_funnel_checks_name_the_column_rule_and_rows():
    import warnings

    d = pd.DataFrame({"group": list("ABCD"), "numerator": [10, 20, 0, 5], "denominator": [10, 40, 30, 20]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        funnel(d)                                           # a numerator equal to its denominator is fine
        funnel(d, kind="ratio")                             # and an SHMI ratio with no events
    with pytest.raises(ValueError, match=r"^column 'numerator': 1 row\(s\) exceed the denominator$"):
        funnel(d.assign(numerator=[10, 41, 0, 5]))
    with pytest.raises(ValueError, match=r"^column 'numerator': 2 row\(s\) are missing or negative$"):
        funnel(d.assign(numerator=[5, -1, None, 3]), kind="ratio")
    with pytest.raises(ValueError, match=r"^column 'numerator': 1 row\(s\) are missing or negative$"):
        funnel(d.assign(numerator=[5, "x", 1, 3]), kind="ratio")
    with pytest.raises(ValueError, match=r"^column 'denominator': 2 row\(s\) are missing, zero or negative$"):
        funnel(d.assign(denominator=[0, "x", 3, 4]))
    with pytest.raises(ValueError, match=r"^column 'trust' not found \(columns: \['group', 'numerator', 'denominator'\]\)$"):
        funnel(d, group="trust")
    with pytest.raises(ValueError, match=r"^kind must be 'proportion', 'ratio' or 'counts'$"):
        funnel(d, kind="rate")
    with pytest.raises(ValueError, match=r"^method must be 'overdispersed' or 'unadjusted'$"):
        funnel(d, method="random")
    with pytest.raises(ValueError, match=r"^cqc_limits must be 'squared' or 'funnelplotr'$"):
        funnel(d, kind="ratio", sr_method="CQC", cqc_limits="cube")
    plain = funnel(d, method="unadjusted").summary.iloc[0]
    assert (plain["effective_method"], plain["reason"]) == ("unadjusted", "unadjusted limits requested")


def test_boundary_dispersion_with_no_units_one_unit_and_small_weights():
    """phi is the mean square of the z-scores used, NaN with none (and no warning); tau2 is 0 with
    one unit (no spread to estimate from) and otherwise (n phi - (n - 1)) / (sum w - sum w^2 / sum w):
    three units with s = 2 (w = 1/4, spread 3/4 - 3/16 / (3/4) = 1/2) and z = 2, 2, 2 give
    phi = 4 and tau2 = (12 - 2) / (1/2) = 20."""
    import warnings

    from qi_equity.equity.funnel import dispersion

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        phi, tau2 = dispersion(np.zeros(0), np.zeros(0))
    assert math.isnan(phi) and tau2 == 0.0
    assert dispersion(np.array([2.0]), np.array([0.5])) == (4.0, 0.0)
    phi, tau2 = dispersion(np.array([2.0, 2.0, 2.0]), np.array([2.0, 2.0, 2.0]))
    assert phi == 4.0 and tau2 == pytest.approx(20.0, rel=1e-12)


def test_boundary_winsorising_moves_only_values_beyond_the_quantiles():
    """Eleven units: R's type-7 10% and 90% quantiles of their z-scores are the 2nd and 10th values
    exactly ((11 - 1) x 0.1 = 1), so only the lowest and highest z move: a value at a quantile is
    not trimmed."""
    from qi_equity.equity.funnel import _winsorise

    z = np.array([-3.0, -1.0, -0.5, -0.2, 0.0, 0.1, 0.2, 0.4, 0.6, 1.5, 4.0])
    zw, trimmed = _winsorise(z, 0.1)
    assert trimmed.tolist() == [True] + [False] * 9 + [True]
    assert zw.tolist() == [-1.0, -1.0, -0.5, -0.2, 0.0, 0.1, 0.2, 0.4, 0.6, 1.5, 1.5]


def test_limits_at_defaults_and_high_proportions():
    """limits_at on its own: ratios default to SHMI's overdispersed limits exp(-/+ z sqrt(1/E +
    tau2)) and CQC's to the squared ones; proportions near 1 (target 0.9) are sin^2 of the arcsine
    limits, reaching 1 where they pass pi/2."""
    from qi_equity.equity.funnel import limits_at

    den = np.array([10.0, 100.0, 1000.0])
    shmi = limits_at(den, "ratio", 1.0, 0.01)
    sd = np.sqrt(1 / den + 0.01)
    assert shmi["od_upper998"].tolist() == pytest.approx(np.exp(Z["998"] * sd).tolist(), rel=1e-12)
    cqc = limits_at(den, "ratio", 1.0, 0.01, sr_method="CQC")
    sd = np.sqrt(1 / (4 * den) + 0.01)
    assert cqc["od_upper95"].tolist() == pytest.approx(((1 + Z["95"] * sd) ** 2).tolist(), rel=1e-12)
    high = limits_at(den, "proportion", 0.9, 0.0)
    t = math.asin(math.sqrt(0.9))
    for lab, zz in Z.items():
        for i, n in enumerate(den):
            lo, hi = t - zz / (2 * math.sqrt(n)), t + zz / (2 * math.sqrt(n))
            assert high[f"lower{lab}"][i] == pytest.approx(math.sin(lo) ** 2 if lo > 0 else 0.0, rel=1e-12)
            assert high[f"upper{lab}"][i] == pytest.approx(1.0 if hi >= math.pi / 2 else math.sin(hi) ** 2, rel=1e-12)
    assert high["upper998"][0] == 1.0 and 0.75 < high["lower998"][2] < 0.9


def test_phe_limits_are_where_the_wilson_interval_reaches_the_average():
    """PHE's funnel limits for proportions: at each denominator, the upper limit is the proportion
    whose Wilson lower bound is the average, and the lower limit the one whose Wilson upper bound is."""
    from qi_equity.equity.funnel import _phe_proportion_limit
    from qi_equity.equity.intervals import wilson

    n = np.array([60.0, 150.0, 2000.0])
    for conf, zz in ((0.95, 1.959963984540054), (0.998, 3.090232306167813)):
        lo, hi = _phe_proportion_limit(zz, n, 0.3)
        assert wilson(hi * n, n, conf)[0].tolist() == pytest.approx([0.3] * 3, rel=1e-9)
        assert wilson(lo * n, n, conf)[1].tolist() == pytest.approx([0.3] * 3, rel=1e-9)


def test_boundary_funnel_values_on_a_clipped_limit_and_mild_overdispersion():
    """A unit at 0% or 100% whose limit is clipped at 0 or 1 is on the limit, not beyond it; a grid
    for a denominator of 1 starts at 1; phi between 1 and 2 still widens the limits."""
    d = pd.DataFrame({"group": list("ABCDEF"), "numerator": [0, 2, 5, 6, 3, 1], "denominator": [2, 20, 25, 30, 20, 1]})
    r = funnel(d, method="unadjusted")
    g = r.data.set_index("group")
    assert g.loc["A", "lower95"] == 0.0 and not g.loc["A", "outlier95"]
    assert r.limits["denominator"].iloc[0] == 1.0
    high = pd.DataFrame({"group": list("ABCDE"), "numerator": [2, 90, 85, 180, 92], "denominator": [2, 100, 100, 200, 100]})
    h = funnel(high, method="unadjusted").data.set_index("group")
    assert h.loc["A", "upper95"] == 1.0 and h.loc["A", "value"] == 1.0 and not h.loc["A", "outlier95"]
    rng = np.random.default_rng(4)
    den = np.full(40, 400)
    mild = pd.DataFrame({"group": [f"T{i}" for i in range(40)], "denominator": den,
                         "numerator": rng.binomial(den, np.clip(rng.normal(0.2, 0.016, 40), 0, 1))})
    s = funnel(mild).summary.iloc[0]
    assert 1 < s["phi"] < 2 and s["effective_method"] == "overdispersed"


def test_cqc_funnelplotr_limits_are_drawn_as_they_are_judged():
    d = pd.DataFrame({"group": list("ABCDEF"), "numerator": [30, 55, 12, 80, 41, 3],
                      "denominator": [40.0, 50.0, 20.0, 60.0, 40.0, 1.0]})
    r = funnel(d, kind="ratio", sr_method="CQC", cqc_limits="funnelplotr")
    at = r.limits.set_index("denominator")
    for _, unit in r.data.iterrows():
        assert at.loc[unit["denominator"], LIMIT_COLUMNS].tolist() == pytest.approx(unit[LIMIT_COLUMNS].tolist(), rel=1e-12)
    assert r.options["cqc_limits"] == "funnelplotr"


def test_loo_funnel_grids_at_moderate_and_high_rates_and_its_defaults():
    """Each unit's drawn funnel for rates between 30% and 90% (so limits fall between pi/3 and
    pi/2 on the arcsine scale as well as below), worked by hand; the multiplier defaults to 1;
    ``options`` keeps the highlight; the denominators are reported; a numerator above its
    denominator is refused on its own."""
    num, den = [90, 200, 160, 270, 50, 85], [300, 400, 200, 300, 100, 100]
    d = pd.DataFrame({"group": list("ABCDEF"), "numerator": num, "denominator": den})
    res = loo_funnel(d, highlight=["B"])
    assert res.summary["multiplier"].iloc[0] == 1.0 and res.options["highlight"] == ["B"]
    assert res.data["denominator"].tolist() == den
    per = _loo_others(list("ABCDEF"), num, den)
    back = _arcsine_back(per, 1)

    _check_grid(res.limits, list("ABCDEF"), 50.0, 440.0,
                lambda u, n: math.sqrt(1 / (4 * n) + per[u][2] + per[u][1]), back)
    assert (res.limits["upper95"] > 0.75).any() and (res.limits["upper95"] < 1).any()
    high_num, high_den = [880, 905, 930, 890, 915], [1000, 1000, 1000, 1000, 1000]
    high = loo_funnel(pd.DataFrame({"group": list("VWXYZ"), "numerator": high_num, "denominator": high_den}))
    want = _loo_by_hand(high_num, high_den, 4)
    for c in ("lower95", "lower998", "upper95", "upper998"):
        assert high.data[c].tolist() == pytest.approx(want[c].tolist(), rel=1e-9), c
    assert (high.data["lower95"] > 0.75).all()
    with pytest.raises(ValueError, match=r"column 'numerator': 1 row\(s\) are missing, negative or above"):
        loo_funnel(pd.DataFrame({"group": list("ABC"), "numerator": [0, 2, 5], "denominator": [3, 1, 5]}))


def test_loo_funnel_standardised_defaults_suppressed_text_and_few_others():
    """A suppressed stratum may come as '*' (the published tables' mark) as well as empty; the
    multiplier defaults to 1 and ``options`` keeps the highlight; with fewer others than
    min_others the between-trust variance is the floor even where DerSimonian-Laird would give
    more; a stratum with a denominator of 1 is kept, one of 0 left out."""
    rows = [("A", "q1", 30, 200), ("A", "q5", 10, 300), ("B", "q1", 50, 250), ("B", "q5", 20, 400),
            ("C", "q1", None, 100), ("C", "q5", 15, 300), ("D", "q1", 40, 300), ("D", "q5", 12, 250),
            ("E", "q1", 0, 40), ("E", "q5", 0, 60)]
    d = pd.DataFrame(rows, columns=["group", "stratum", "numerator", "denominator"])
    star = d.assign(numerator=d["numerator"].astype(object).where(d["numerator"].notna(), "*"))
    a, b = loo_funnel_standardised(d, highlight="B"), loo_funnel_standardised(star, highlight="B")
    assert a.data["z"].tolist() == pytest.approx(b.data["z"].tolist(), rel=1e-12)
    assert a.summary["multiplier"].iloc[0] == 1.0 and a.options["highlight"] == "B"
    spread = pd.DataFrame([("A", "all", 20, 500), ("B", "all", 80, 500), ("C", "all", 45, 500), ("D", "all", 60, 500)],
                          columns=["group", "stratum", "numerator", "denominator"])
    few = loo_funnel_standardised(spread, min_others=4)
    assert few.data["tau2"].tolist() == pytest.approx([0.01] * 4)
    assert (_standardised_by_hand(list(spread.itertuples(index=False)), 3, 0.10)["tau2"].astype(float) > 0.01).all()
    edge = pd.concat([spread, pd.DataFrame([("A", "tiny", 1, 1), ("B", "empty", 3, 0)], columns=spread.columns)])
    e = loo_funnel_standardised(edge, min_others=2).data.set_index("group")
    assert e.loc["A", "denominator"] == 501 and e.loc["B", "denominator"] == 500
    assert np.isfinite(e["z"]).all()


def test_phe_significance_series_defaults_and_a_ratio_case_by_hand():
    """The labels come as a Series named "significance" on the data's own index, proportions by
    default. For a ratio, the expected count against the observed count's exact Poisson interval:
    4 observed (95% interval 1.09 to 10.24, 99.8% 0.39 to 14.8) against 12 expected is "Low
    (0.025)", against 16 "Low (0.001)", against 4 "Not significant"; an unknown statistic is named."""
    from qi_equity.equity.funnel import phe_significance

    ref = pd.read_csv(FIX / "funnel_phe_significance.csv")
    d = ref[ref["phe_statistic"] == "proportion"].head(5).set_index(pd.Index([7, 8, 9, 10, 11]))
    got = phe_significance(d)
    assert got.name == "significance" and list(got.index) == [7, 8, 9, 10, 11]
    r = pd.DataFrame({"numerator": [4, 4, 4, 30], "denominator": [12.0, 16.0, 4.0, 18.0]}, index=[3, 2, 1, 0])
    lab = phe_significance(r, statistic="ratio")
    assert lab.tolist()[:3] == ["Low (0.025)", "Low (0.001)", "Not significant"]
    assert lab.tolist()[3] in ("High (0.025)", "High (0.001)") and list(lab.index) == [3, 2, 1, 0]
    assert lab.name == "significance"
    with pytest.raises(ValueError, match=r"^statistic must be 'proportion' or 'ratio'$"):
        phe_significance(r, statistic="mean")
