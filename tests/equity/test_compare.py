"""Group comparisons and HEAT summary measures against published and hand-worked values."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.equity.compare import compare_groups, summary_measures


@pytest.mark.parametrize("a,b,lo,hi", [
    ((56, 70), (48, 80), 0.0524, 0.3339),   # Newcombe (1998) Table II, example (a), method 10
    ((9, 10), (3, 10), 0.1705, 0.8090),     # example (b)
])
def test_newcombe_published_examples(a, b, lo, hi):
    d = pd.DataFrame({"group": ["g", "ref"], "x": [a[0], b[0]], "n": [a[1], b[1]]})
    r = compare_groups(d, "x", "n", reference="ref", multiplier=1).set_index("group")
    assert r.loc["g", "difference"] == pytest.approx(a[0] / a[1] - b[0] / b[1])
    assert r.loc["g", "difference_lower"] == pytest.approx(lo, abs=6e-5)
    assert r.loc["g", "difference_upper"] == pytest.approx(hi, abs=6e-5)
    assert r.loc["g", "flag"] == "worse" and r.loc["ref", "flag"] == "reference"


def test_log_ratio_hand_worked():
    d = pd.DataFrame({"group": ["g", "ref"], "x": [30, 20], "n": [100, 100]})
    r = compare_groups(d, "x", "n", reference="ref").set_index("group")
    se = np.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    assert r.loc["g", "ratio"] == pytest.approx(1.5)
    assert r.loc["g", "ratio_lower"] == pytest.approx(1.5 * np.exp(-1.959963985 * se))
    rates = compare_groups(d, "x", "n", reference="ref", kind="rate", multiplier=1000).set_index("group")
    assert rates.loc["g", "ratio_upper"] == pytest.approx(1.5 * np.exp(1.959963985 * np.sqrt(1 / 30 + 1 / 20)))


def test_default_reference_is_largest_and_zero_events():
    d = pd.DataFrame({"group": ["a", "b", "c"], "x": [0, 10, 3], "n": [20, 200, 30]})
    r = compare_groups(d, "x", "n").set_index("group")
    assert r.loc["b", "flag"] == "reference"
    assert np.isnan(r.loc["a", "ratio_lower"])  # log method undefined with zero events
    assert np.isfinite(r.loc["a", "difference_lower"])


def test_heat_summary_measures_hand_worked():
    d = pd.DataFrame({"group": ["A", "B", "C"], "value": [10.0, 20.0, 30.0], "population": [50, 30, 20]})
    m = summary_measures(d, higher_is_better=False).set_index("measure")["value"]
    mu = 0.5 * 10 + 0.3 * 20 + 0.2 * 30  # 17
    assert m["D"] == 20 and m["R"] == 3
    assert m["BGV"] == pytest.approx(0.5 * 49 + 0.3 * 9 + 0.2 * 169)
    assert m["MDB"] == pytest.approx(0.3 * 10 + 0.2 * 20)
    assert m["MDM"] == pytest.approx(0.5 * 7 + 0.3 * 3 + 0.2 * 13)
    r = np.array([10, 20, 30]) / mu
    assert m["TI"] == pytest.approx(np.sum(np.array([0.5, 0.3, 0.2]) * r * np.log(r)))
    assert m["MLD"] == pytest.approx(np.sum(np.array([0.5, 0.3, 0.2]) * -np.log(r)))
    assert m["PAR"] == pytest.approx(10 - mu) and m["PAF"] == pytest.approx(100 * (10 - mu) / mu)


def test_heat_intervals_analytic_agree_with_the_spread_of_simulated_measures():
    """The analytic (delta-method) intervals of D, R, BGV, TI and MLD against an independent
    Monte Carlo: groups drawn from normals with their standard errors, each measure's spread
    computed here from its definition (HEAT technical notes)."""
    d = pd.DataFrame({"group": list("ABCDE"), "value": [0.10, 0.14, 0.21, 0.12, 0.30],
                      "population": [400, 250, 150, 120, 80], "se": [0.004, 0.006, 0.009, 0.008, 0.012]})
    m = summary_measures(d, se="se").set_index("measure")
    z = 1.959964
    rng = np.random.default_rng(11)
    y = d["value"].to_numpy() + rng.standard_normal((200_000, 5)) * d["se"].to_numpy()
    p = d["population"].to_numpy() / d["population"].sum()
    mu = y @ p
    r = y / mu[:, None]
    spread = {"D": y[:, 4] - y[:, 0], "BGV": ((y - mu[:, None]) ** 2) @ p,
              "TI": (r * np.log(r)) @ p, "MLD": (-np.log(r)) @ p}
    for k, v in spread.items():
        assert m.loc[k, "ci_method"] == "analytic"
        assert (m.loc[k, "upper"] - m.loc[k, "lower"]) / (2 * z) == pytest.approx(v.std(), rel=0.05), k
    logr = np.log(y[:, 4] / y[:, 0])
    assert np.log(m.loc["R", "upper"] / m.loc["R", "lower"]) / (2 * z) == pytest.approx(logr.std(), rel=0.05)
    for k in ("MDB", "MDM", "PAR", "PAF"):
        assert m.loc[k, "ci_method"].startswith("simulated") and m.loc[k, "lower"] < m.loc[k, "upper"]
    # D by hand: 0.30 - 0.10 +/- 1.96 sqrt(0.012^2 + 0.004^2)
    assert m.loc["D", "lower"] == pytest.approx(0.2 - z * np.sqrt(0.012 ** 2 + 0.004 ** 2), rel=1e-7)
    assert summary_measures(d)["lower"].isna().all()  # no standard errors, no intervals


# ---------------------------------------------------------------------------------------------
# compare_groups on PHEindicatormethods' limits (tests/fixtures/equity/ci_*_phe.csv, PROVENANCE.md)
# ---------------------------------------------------------------------------------------------


FIX = Path(__file__).parents[1] / "fixtures" / "equity"
PHE_RATES = pd.read_csv(FIX / "ci_rate_phe.csv")
PHE_PROPS = pd.read_csv(FIX / "ci_proportion_phe.csv")
Z = {0.95: 1.959963985, 0.998: 3.090232306}


def _phe(table, cases, confidence, statistic):
    t = table[(table["confidence_in"] == confidence) & (table["statistic"] == statistic)]
    return t.set_index("case_id").loc[cases].reset_index()


def _mover(p, lo, hi, r):
    """Newcombe's / Zou and Donner's difference limits from each group's own limits (reference r)."""
    d = p - p[r]
    return d - np.sqrt((p - lo) ** 2 + (hi[r] - p[r]) ** 2), d + np.sqrt((hi - p) ** 2 + (p[r] - lo[r]) ** 2)


def test_rates_take_phes_exact_and_byars_limits_and_mover_differences():
    """Rates per 1,000 at 99.8%: each group's value and limits are PHEindicatormethods' (exact below 10
    events, Byar's from 10); differences by MOVER from those limits; ratios by the log method with
    se = sqrt(1/x + 1/x_ref); the default reference is the largest denominator (R09)."""
    cases = ["R03", "R05", "R07", "R09"]
    ref = _phe(PHE_RATES, cases, 0.998, "rate per 1000")
    d = pd.DataFrame({"group": cases, "x": ref["x"], "n": ref["n"]})
    got = compare_groups(d, "x", "n", kind="rate", confidence=0.998, multiplier=1000)
    assert got["reference"].eq("R09").all() and got["flag"].iloc[3] == "reference"
    for ours, theirs in (("value", "value"), ("lower", "lowercl"), ("upper", "uppercl")):
        assert got[ours].tolist() == pytest.approx(ref[theirs].tolist(), rel=1e-6), ours
    p, lo, hi = (ref[c].to_numpy() for c in ("value", "lowercl", "uppercl"))
    dl, du = _mover(p, lo, hi, 3)
    assert got["difference"].tolist() == pytest.approx((p - p[3]).tolist(), rel=1e-9)
    assert got["difference_lower"].tolist()[:3] == pytest.approx(dl[:3].tolist(), rel=1e-6)
    assert got["difference_upper"].tolist()[:3] == pytest.approx(du[:3].tolist(), rel=1e-6)
    x = ref["x"].to_numpy(float)
    ratio = p / p[3]
    se = np.sqrt(1 / x + 1 / x[3])
    assert got["ratio"].tolist() == pytest.approx(ratio.tolist(), rel=1e-9)
    assert got["ratio_lower"].tolist()[:3] == pytest.approx((ratio * np.exp(-Z[0.998] * se))[:3].tolist(), rel=1e-7)
    assert got["ratio_upper"].tolist()[:3] == pytest.approx((ratio * np.exp(Z[0.998] * se))[:3].tolist(), rel=1e-7)
    # the reference's own difference and ratio limits are empty
    assert got.loc[3, ["difference_lower", "difference_upper", "ratio_lower", "ratio_upper"]].isna().all()
    # flags from the difference limits: worse above 0, better below, similar across it
    want = ["worse" if a > 0 else "better" if b < 0 else "similar" for a, b in zip(dl[:3], du[:3])]
    assert got["flag"].tolist()[:3] == want and "similar" in want


def test_proportions_by_stratum_with_wilsons_limits_and_a_reference_without_events():
    """Percentages at 99.8% in two strata (``by``), each with its own default reference (largest n);
    Wilson limits as PHEindicatormethods gives them; a stratum whose reference has no events has no
    ratio limits; a row with n = 0 has no value and no flag; the by column comes first and the
    strata keep their order."""
    s1, s2 = ["P05", "P07", "P09"], ["P13", "P11", "P01"]
    r1, r2 = _phe(PHE_PROPS, s1, 0.998, "proportion of 1"), _phe(PHE_PROPS, s2, 0.998, "proportion of 1")
    d = pd.concat([pd.DataFrame({"area": "north", "group": s1, "x": r1["x"], "n": r1["n"]}),
                   pd.DataFrame({"area": "south", "group": s2 + ["P00"], "x": list(r2["x"]) + [0], "n": list(r2["n"]) + [0]})],
                  ignore_index=True).iloc[[3, 4, 5, 6, 0, 1, 2]]     # south first
    got = compare_groups(d, "x", "n", by="area", confidence=0.998)
    assert list(got.columns[:2]) == ["area", "group"] and got["area"].tolist() == ["south"] * 4 + ["north"] * 3
    assert list(got.index) == list(range(7))                   # one index across the strata
    south, north = got.iloc[:4].reset_index(drop=True), got.iloc[4:].reset_index(drop=True)
    assert north["reference"].eq("P09").all() and south["reference"].eq("P11").all()
    for part, ref in ((north, r1), (south.iloc[:3], r2)):
        for ours, theirs in (("value", "value"), ("lower", "lowercl"), ("upper", "uppercl")):
            assert part[ours].tolist() == pytest.approx((100 * ref[theirs]).tolist(), rel=1e-6, abs=1e-9), ours
    p, lo, hi = (r1[c].to_numpy() for c in ("value", "lowercl", "uppercl"))
    dl, du = _mover(p, lo, hi, 2)
    assert north["difference_lower"].tolist()[:2] == pytest.approx((100 * dl[:2]).tolist(), rel=1e-6)
    assert north["difference_upper"].tolist()[:2] == pytest.approx((100 * du[:2]).tolist(), rel=1e-6)
    x, n = r1["x"].to_numpy(float), r1["n"].to_numpy(float)
    se = np.sqrt(1 / x - 1 / n + 1 / x[2] - 1 / n[2])
    assert north["ratio_lower"].tolist()[:2] == pytest.approx((p / p[2] * np.exp(-Z[0.998] * se))[:2].tolist(), rel=1e-7)
    assert south["ratio_lower"].isna().all() and south["ratio_upper"].isna().all()
    assert np.isnan(south.loc[3, "value"]) and south.loc[3, "flag"] == "" and south.loc[1, "flag"] == "reference"
    # the lower rate is the better one when higher is better
    flipped = compare_groups(d, "x", "n", by="area", confidence=0.998, higher_is_worse=False)
    f_north = flipped[flipped["area"] == "north"]["flag"].tolist()
    assert f_north[:2] == ["worse" if b < 0 else "better" if a > 0 else "similar" for a, b in zip(dl[:2], du[:2])]
    assert north["flag"].tolist()[:2] == ["worse" if a > 0 else "better" if b < 0 else "similar"
                                          for a, b in zip(dl[:2], du[:2])]
    assert set(f_north[:2]) != set(north["flag"].tolist()[:2])


def test_boundary_compare_groups_at_one_pathway_one_event_and_a_suppressed_count():
    """A group of one pathway has a value; one event has a ratio interval (log method: se =
    sqrt(1/1 - 1/n + 1/x_ref - 1/n_ref)); a suppressed count ("*") has no value and no flag; a
    clearly lower group is "better" when higher is worse; the result has a fresh 0..n-1 index and
    every column the docstring lists; no warning reaches the user with zero events."""
    import warnings

    d = pd.DataFrame({"group": ["one", "single", "hidden", "low", "ref", "none"],
                      "x": ["1", "1", "*", "10", "100", "0"], "n": [1, 200, 50, 1000, 1000, 30]},
                     index=[10, 11, 12, 13, 14, 15])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = compare_groups(d, "x", "n", reference="ref")
        compare_groups(d.assign(x=["0", "0", "0", "0", "0", "0"]), "x", "n", reference="ref", kind="rate")
    assert list(got.columns) == ["group", "x", "n", "value", "lower", "upper", "reference", "difference",
                                 "difference_lower", "difference_upper", "ratio", "ratio_lower", "ratio_upper", "flag"]
    assert list(got.index) == list(range(6))
    g = got.set_index("group")
    assert g.loc["one", "value"] == 100.0 and g.loc["one", "flag"] != ""
    se = np.sqrt(1 / 1 - 1 / 200 + 1 / 100 - 1 / 1000)
    assert g.loc["single", "ratio_lower"] == pytest.approx(0.05 * np.exp(-Z[0.95] * se), rel=1e-9)
    assert np.isnan(g.loc["hidden", "value"]) and g.loc["hidden", "flag"] == ""
    assert g.loc["low", "flag"] == "better" and g.loc["none", "flag"] in ("better", "similar")
    assert np.isnan(g.loc["none", "ratio_lower"]) and got["ratio_upper"].dtype == float
    # a suppressed denominator is no comparison either; a reference with one event has ratio limits
    hidden_n = compare_groups(d.assign(n=["1", "200", "*", "1000", "1000", "30"]), "x", "n", reference="ref")
    assert np.isnan(hidden_n.loc[2, "value"]) and hidden_n.loc[2, "flag"] == ""
    one_ref = compare_groups(pd.DataFrame({"group": ["g", "r"], "x": [4, 1], "n": [50, 60]}), "x", "n", reference="r")
    se1 = np.sqrt(1 / 4 - 1 / 50 + 1 / 1 - 1 / 60)
    assert one_ref.loc[0, "ratio_lower"] == pytest.approx((4 / 50) / (1 / 60) * np.exp(-Z[0.95] * se1), rel=1e-9)


def test_compare_groups_defaults_and_refusals():
    """Percentages and 95% by default; a named reference; errors name the reference and the kind."""
    d = pd.DataFrame({"group": ["a", "b"], "x": [5, 50], "n": [20, 100]})
    got = compare_groups(d, "x", "n", reference="a").set_index("group")
    assert got.loc["b", "value"] == pytest.approx(50.0) and got.loc["b", "reference"] == "a"
    ref = _phe(PHE_PROPS, ["P05"], 0.95, "proportion of 1")
    assert got.loc["a", "lower"] == pytest.approx(100 * ref["lowercl"].iloc[0], rel=1e-6)
    with pytest.raises(ValueError, match=r"reference group 'z' not found in column 'group'"):
        compare_groups(d, "x", "n", reference="z")
    with pytest.raises(ValueError, match=r"^kind must be 'proportion' or 'rate'$"):
        compare_groups(d, "x", "n", kind="ratio")


# ---------------------------------------------------------------------------------------------
# summary_measures: directions, references, a fixed average, the simulated intervals
# ---------------------------------------------------------------------------------------------

HEAT = pd.DataFrame({"group": ["A", "B", "C"], "value": [20.0, 10.0, 30.0], "population": [30, 50, 20],
                     "se": [1.0, 0.5, 2.0]})
DEFINITIONS = {"D": "highest minus lowest group", "R": "highest divided by lowest group",
               "BGV": "between-group variance", "MDB": "mean difference from the best group (weighted)",
               "MDM": "mean difference from the mean (weighted)", "TI": "Theil index", "MLD": "mean log deviation",
               "PAR": "population attributable risk: reference minus average",
               "PAF": "population attributable fraction (%)"}


def _measures_by_hand(y, p, mu, best, yref):
    """HEAT's nine definitions (technical notes), rows of y being draws."""
    y = np.atleast_2d(y)
    r = y / mu[:, None]
    return {"D": y.max(1) - y.min(1), "R": y.max(1) / y.min(1), "BGV": (p * (y - mu[:, None]) ** 2).sum(1),
            "MDB": (p * abs(y - best[:, None])).sum(1), "MDM": (p * abs(y - mu[:, None])).sum(1),
            "TI": (p * r * np.log(r)).sum(1), "MLD": (p * -np.log(r)).sum(1), "PAR": yref - mu,
            "PAF": 100 * (yref - mu) / mu}


def test_heat_measures_when_higher_is_better_with_a_named_reference_and_a_fixed_average():
    """Groups not in order (the lowest is B, second): the best group is the highest (30) when higher
    is better, so MDB = 0.3 * 10 + 0.5 * 20 = 13 and PAR = 30 - 17 = 13; a named reference (A) makes
    PAR = 20 - 17 = 3; a given average (15) replaces mu = 0.3 * 20 + 0.5 * 10 + 0.2 * 30 = 17."""
    good = summary_measures(HEAT, higher_is_better=True).set_index("measure")
    assert good.loc["MDB", "value"] == pytest.approx(13) and good.loc["PAR", "value"] == pytest.approx(13)
    assert good.loc["PAF", "value"] == pytest.approx(100 * 13 / 17)
    assert good["definition"].to_dict() == DEFINITIONS and good["ci_method"].eq("").all()
    assert good[["lower", "upper"]].isna().all().all()
    named = summary_measures(HEAT, higher_is_better=True, reference="A").set_index("measure")["value"]
    assert named["PAR"] == pytest.approx(3) and named["MDB"] == pytest.approx(13)
    fixed = summary_measures(HEAT, setting_average=15.0).set_index("measure")["value"]
    p = np.array([0.3, 0.5, 0.2])
    want = _measures_by_hand(HEAT["value"].to_numpy(), p, np.array([15.0]), np.array([10.0]), np.array([10.0]))
    for k in ("BGV", "MDM", "TI", "MLD", "PAR", "PAF", "D", "R", "MDB"):
        assert fixed[k] == pytest.approx(float(want[k][0]), rel=1e-12), k


def test_heat_simulated_intervals_are_percentiles_of_the_seeded_draws():
    """MDB, MDM, PAR and PAF: each group drawn as value + se x N(0, 1), ``reps`` draws from
    ``default_rng(seed)`` in one (reps, groups) block; the measure recomputed per draw with that
    draw's average (or the given one) and best group (or the named reference); the limits are the
    draws' percentiles at (1 - confidence) / 2 and 1 - (1 - confidence) / 2. The analytic D uses
    the highest and lowest groups' standard errors wherever they are."""
    y, s = HEAT["value"].to_numpy(), HEAT["se"].to_numpy()
    p = np.array([0.3, 0.5, 0.2])
    for kwargs in ({}, {"higher_is_better": True}, {"reference": "C"}, {"setting_average": 15.0}):
        got = summary_measures(HEAT, se="se", confidence=0.9, reps=2_000, seed=7, **kwargs).set_index("measure")
        draws = y + np.random.default_rng(7).standard_normal((2_000, 3)) * s
        mu = np.full(2_000, 15.0) if "setting_average" in kwargs else draws @ p
        best = draws.max(1) if kwargs.get("higher_is_better") else draws.min(1)
        yref = draws[:, 2] if "reference" in kwargs else best
        sim = _measures_by_hand(draws, p, mu, best, yref)
        for k in ("MDB", "MDM", "PAR", "PAF"):
            assert [got.loc[k, "lower"], got.loc[k, "upper"]] == pytest.approx(
                np.quantile(sim[k], [0.05, 0.95]).tolist(), rel=1e-12), (kwargs, k)
            assert got.loc[k, "ci_method"] == "simulated (2,000 draws)"
        z = 1.6448536269514722
        assert got.loc["D", "lower"] == pytest.approx(20 - z * np.sqrt(2.0 ** 2 + 0.5 ** 2), rel=1e-9)
        assert got.loc["R", "ci_method"] == "analytic" and got.loc["D", "ci_method"] == "analytic"


def test_boundary_heat_measures_with_a_group_at_zero_and_standard_errors_of_zero():
    """A group at 0 has no ratio (R needs the lowest above 0), and then no R interval; a standard
    error of exactly 0 is allowed; no numpy warning reaches the user on the way."""
    import warnings

    d = pd.DataFrame({"group": ["A", "B", "C"], "value": [0.0, 10.0, 30.0], "population": [30, 50, 20],
                      "se": [0.0, 0.5, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = summary_measures(d, se="se", reps=500).set_index("measure")
    assert np.isnan(got.loc["R", "value"]) and np.isnan(got.loc["R", "lower"]) and got.loc["R", "ci_method"] == ""
    assert got.loc["D", "value"] == 30 and got.loc["D", "upper"] == pytest.approx(30 + 1.959964 * 2.0, rel=1e-6)


@pytest.mark.parametrize("change, message", [
    ({"population": [30, 0, 20]}, r"^every group needs a value and a positive population$"),
    ({"value": [20.0, None, 30.0]}, r"^every group needs a value and a positive population$"),
    ({"value": ["20", "x", "30"]}, r"^every group needs a value and a positive population$"),
    ({"population": ["30", "many", "20"]}, r"^every group needs a value and a positive population$"),
    ({"se": [1.0, -0.5, None]}, r"^column 'se': 2 group\(s\) without a standard error of 0 or more$"),
    ({"se": [0.0, -0.5, "x"]}, r"^column 'se': 2 group\(s\) without a standard error of 0 or more$"),
    ({"se": [0.5, -0.5, None]}, r"^column 'se': 2 group\(s\) without a standard error of 0 or more$"),
])
def test_heat_measures_refuse_bad_groups_saying_how_many(change, message):
    with pytest.raises(ValueError, match=message):
        summary_measures(HEAT.assign(**change), se="se")
    with pytest.raises(ValueError, match=r"^reference group 'Z' not found$"):
        summary_measures(HEAT, reference="Z")
    # the smallest population there is, and standard errors given as text, are accepted
    one = summary_measures(HEAT.assign(population=[1, 50, 20], se=["1", "0.5", "2"]), se="se", reps=200)
    assert one.set_index("measure").loc["D", "value"] == 20.0


def _gradient(f, y, h=1e-6):
    """Central finite differences of f at y, one group at a time."""
    out = np.empty(len(y))
    for j in range(len(y)):
        up, down = y.copy(), y.copy()
        up[j] += h
        down[j] -= h
        out[j] = (f(up) - f(down)) / (2 * h)
    return out


def test_heat_analytic_standard_errors_exactly():
    """The analytic intervals against standard errors derived here independently of HEAT's
    formulas: TI, MLD, D and R by the delta method with a numerical gradient of each measure's
    definition (the average recomputed from the groups), and BGV as the exact variance of a
    Gaussian quadratic form: BGV = y' A y with A = diag(p) - p p', so Var = 2 tr(A S A S) +
    4 y' A S A y with S = diag(se^2) (e.g. Mathai & Provost 1992, Quadratic Forms in Random
    Variables, Theorem 3.2b.3)."""
    d = pd.DataFrame({"group": list("ABCDE"), "value": [0.10, 0.14, 0.21, 0.12, 0.30],
                      "population": [400, 250, 150, 120, 80], "se": [0.004, 0.006, 0.009, 0.008, 0.012]})
    m = summary_measures(d, se="se").set_index("measure")
    y, s = d["value"].to_numpy(), d["se"].to_numpy()
    p = d["population"].to_numpy() / d["population"].sum()

    def ti(v):
        r = v / (p @ v)
        return float(p @ (r * np.log(r)))

    def mld(v):
        return float(p @ -np.log(v / (p @ v)))

    z = Z[0.95]
    for k, f in (("TI", ti), ("MLD", mld), ("D", lambda v: v.max() - v.min())):
        se = np.sqrt(np.sum(_gradient(f, y.copy()) ** 2 * s ** 2))
        assert (m.loc[k, "upper"] - m.loc[k, "lower"]) / (2 * z) == pytest.approx(se, rel=1e-6), k
        assert m.loc[k, "value"] == pytest.approx(f(y), rel=1e-12), k
    se_r = np.sqrt(np.sum(_gradient(lambda v: v.max() / v.min(), y.copy()) ** 2 * s ** 2))
    R = 3.0
    assert np.log(m.loc["R", "upper"] / m.loc["R", "lower"]) / (2 * z) == pytest.approx(se_r / R, rel=1e-6)
    A = np.diag(p) - np.outer(p, p)
    S = np.diag(s ** 2)
    var_bgv = 2 * np.trace(A @ S @ A @ S) + 4 * y @ A @ S @ A @ y
    assert (m.loc["BGV", "upper"] - m.loc["BGV", "lower"]) / (2 * z) == pytest.approx(np.sqrt(var_bgv), rel=1e-9)
    assert m.loc["BGV", "value"] == pytest.approx(y @ A @ y, rel=1e-12)


def test_heat_measures_by_default_draw_10000_times_from_the_kits_seed():
    """The defaults are part of the result a report shows: 10,000 draws from seed 20261202."""
    got = summary_measures(HEAT, se="se").set_index("measure")
    draws = HEAT["value"].to_numpy() + np.random.default_rng(20261202).standard_normal((10_000, 3)) * HEAT["se"].to_numpy()
    p = np.array([0.3, 0.5, 0.2])
    mu = draws @ p
    mdm = (p * abs(draws - mu[:, None])).sum(1)
    assert [got.loc["MDM", "lower"], got.loc["MDM", "upper"]] == pytest.approx(np.quantile(mdm, [0.025, 0.975]).tolist(),
                                                                            rel=1e-12)
    assert got.loc["MDM", "ci_method"] == "simulated (10,000 draws)"
    assert got["lower"].dtype == float and got["upper"].dtype == float
