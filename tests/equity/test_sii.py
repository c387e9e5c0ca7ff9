"""sii() against PHEindicatormethods 2.0.2 phe_sii (tests/fixtures/equity)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.equity.sii import relative_rank, sii

FIX = Path(__file__).parents[1] / "fixtures" / "equity"
REF = pd.read_csv(FIX / "sii_phe.csv")
WITH_CIS = pd.read_csv(FIX / "sii_inputs_with_cis.csv")


def _ok(mine, theirs, lo, hi):
    return abs(mine - theirs) <= max(0.02 * abs(theirs), 0.05 * (hi - lo))


@pytest.mark.parametrize("row", list(REF.itertuples()), ids=lambda r: r.scenario)
def test_point_estimates_and_simulated_bounds(row):
    d = WITH_CIS[WITH_CIS.case_id == row.case_id]
    out = sii(d, value="value", lower="lowercl", upper="uppercl", kind=row.indicator_type,
              transform=row.transform != "none", reps=100_000, seed=1).iloc[0]
    assert out["sii"] == pytest.approx(row.sii, rel=1e-9)
    assert out["rii"] == pytest.approx(row.rii, rel=1e-9)
    sfx = "cl" if row.transform == "none" else ""
    for stat in ("sii", "rii"):
        for tag in ("95_0", "99_8"):
            lo, hi = getattr(row, f"{stat}_lower{tag}{sfx}"), getattr(row, f"{stat}_upper{tag}{sfx}")
            assert _ok(out[f"{stat}_lower{tag}"], lo, lo, hi), (stat, tag, "lower")
            assert _ok(out[f"{stat}_upper{tag}"], hi, lo, hi), (stat, tag, "upper")


def test_intervals_computed_from_counts_match_supplied_limits():
    """Given only x and population, Wilson (proportions) / Byar (rates) limits are used."""
    row = REF[REF.scenario == "S1a"].iloc[0]
    d = WITH_CIS[WITH_CIS.case_id == "S1_dec_prop"]
    out = sii(d, value=None, x="x", kind="proportion", reps=50_000, seed=2).iloc[0]
    assert out["sii"] == pytest.approx(row.sii, rel=1e-9)
    assert _ok(out["sii_lower95_0"], row.sii_lower95_0cl, row.sii_lower95_0cl, row.sii_upper95_0cl)


def test_relative_rank_hand_worked():
    # PHE's documentation example: quantile 1 holds 12% -> 0.06; quantile 2 holds 10% -> 0.17
    r = relative_rank([12, 10, 78])
    assert r[:2] == pytest.approx([0.06, 0.17])


def test_seeded_and_validated():
    d = WITH_CIS[WITH_CIS.case_id == "S1_dec_prop"]
    a = sii(d, lower="lowercl", upper="uppercl", kind="proportion", reps=2000, seed=5)
    b = sii(d, lower="lowercl", upper="uppercl", kind="proportion", reps=2000, seed=5)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="5 to 100 quantiles"):
        sii(d.head(4), lower="lowercl", upper="uppercl")
    with pytest.raises(ValueError, match="no population"):
        sii(d.assign(population=0), lower="lowercl", upper="uppercl")


def test_intercept_is_the_weighted_fit_at_rank_zero():
    """PHE's ``intercept = TRUE``: the weighted least-squares line's value at rank 0, checked with
    numpy's polyfit (weights sqrt(population share), as the regression of y sqrt(a) on sqrt(a))."""
    d = WITH_CIS[WITH_CIS.case_id == "S1_dec_prop"].sort_values("quantile")
    out = sii(d, value="value", lower="lowercl", upper="uppercl", kind="proportion", reps=1000).iloc[0]
    a = d["population"].to_numpy(float) / d["population"].sum()
    slope, icpt = np.polyfit(np.cumsum(a) - a / 2, d["value"], 1, w=np.sqrt(a))
    assert out["intercept"] == pytest.approx(icpt, rel=1e-9) and out["sii"] == pytest.approx(slope, rel=1e-9)
    t = sii(d, value="value", lower="lowercl", upper="uppercl", kind="proportion", transform=True,
            reps=1000, multiplier=-100).iloc[0]
    lg = np.log(d["value"] / (1 - d["value"]))
    _, icpt_t = np.polyfit(np.cumsum(a) - a / 2, lg, 1, w=np.sqrt(a))
    assert t["intercept"] == pytest.approx(100 / (1 + np.exp(-icpt_t)), rel=1e-9)


def test_small_quantiles_are_simulated_on_the_logit_scale():
    """Deciles of 60 to 200 people: drawn on the raw scale (``kind="normal"`` with the same Wilson
    limits) a decile's proportion often goes below 0, dragging the RII's lower bounds down; drawn
    as PHE does, on the logit scale, no decile goes below 0 and both bounds move up."""
    from qi_equity.equity.intervals import wilson

    rng = np.random.default_rng(7)
    pop = rng.integers(60, 200, 10)
    x = np.maximum(1, np.round(pop * np.linspace(0.12, 0.03, 10))).astype(int)
    lo, hi = wilson(x, pop)
    d = pd.DataFrame({"quantile": range(1, 11), "population": pop, "x": x, "value": x / pop, "lo": lo, "hi": hi})
    out = sii(d, value=None, x="x", kind="proportion", reps=50_000, seed=4).iloc[0]
    raw = sii(d, value="value", lower="lo", upper="hi", kind="normal", reps=50_000, seed=4).iloc[0]
    assert out["simulated_on"] == "logit" and raw["simulated_on"] == "none" and out["transform"] == "none"
    assert out["rii"] == pytest.approx(raw["rii"], rel=1e-12)  # the same line
    assert out["rii_lower99_8"] > 0 > raw["rii_lower99_8"]
    assert out["rii_upper99_8"] > raw["rii_upper99_8"]
    zero = d.assign(x=[3, 2, 0, 2, 1, 1, 1, 1, 1, 1])  # a decile with no events: no logit scale
    assert sii(zero, value=None, x="x", kind="proportion", reps=1000).iloc[0]["simulated_on"] == "none"
    with pytest.raises(ValueError, match="logit transform is undefined"):
        sii(zero, value=None, x="x", kind="proportion", transform=True, reps=1000)


def test_boundary_a_negative_multiplier_inverts_the_rii():
    """PHEindicatormethods' phe_sii: a negative multiplier turns the SII's sign (and scale) and
    inverts the RII (the gradient read from the least deprived end). Expected from the R
    fixture at multiplier 1: SII x -100 and 1 / RII."""
    row = REF[(REF["case_id"] == "S1_dec_prop") & (REF["transform"] == "none")].iloc[0]
    d = WITH_CIS[WITH_CIS.case_id == row.case_id]
    out = sii(d, value="value", lower="lowercl", upper="uppercl", kind="proportion", reps=2000,
              multiplier=-100, seed=1).iloc[0]
    assert out["sii"] == pytest.approx(-100 * row.sii, rel=1e-9)
    assert out["rii"] == pytest.approx(1 / row.rii, rel=1e-9)
    assert out["rii_lower95_0"] < out["rii"] < out["rii_upper95_0"]
    assert out["rii_lower95_0"] == pytest.approx(1 / row.rii_upper95_0cl, rel=0.03)


def _line(k=10, slope=-2.0, s=1.0):
    """k quantiles of equal population whose values fall on a line: the SII is the slope (the
    fitted difference from rank 0 to rank 1), known without R."""
    rank = (np.arange(k) + 0.5) / k
    v = 50 + slope * rank
    return pd.DataFrame({"quantile": np.arange(1, k + 1), "population": 100.0, "value": v,
                         "lowercl": v - 1.959964 * s, "uppercl": v + 1.959964 * s, "se": s})


def test_series_given_by_a_column_each_get_their_own_row_in_the_order_given():
    d = pd.concat([_line(slope=-2.0).assign(area="b"), _line(slope=3.0).assign(area="a")])
    out = sii(d, lower="lowercl", upper="uppercl", by="area", reps=1000, seed=1)
    assert out["area"].tolist() == ["b", "a"] and out["sii"].tolist() == pytest.approx([-2.0, 3.0])
    alone = sii(_line(slope=3.0), lower="lowercl", upper="uppercl", reps=1000, seed=1).iloc[0]
    assert out.iloc[1]["sii"] == pytest.approx(alone["sii"]) and out.iloc[1]["n_quantiles"] == 10


@pytest.mark.parametrize("k, ok", [(4, False), (5, True), (100, True), (101, False)])
def test_boundary_sii_takes_5_to_100_quantiles(k, ok):
    d = _line(k=k)
    if ok:
        assert sii(d, lower="lowercl", upper="uppercl", reps=1000).iloc[0]["sii"] == pytest.approx(-2.0)
    else:
        with pytest.raises(ValueError, match=f"SII needs 5 to 100 quantiles; got {k}"):
            sii(d, lower="lowercl", upper="uppercl", reps=1000)


def test_sii_input_errors_name_the_rule():
    d = _line()
    with pytest.raises(ValueError, match="^kind must be 'normal', 'proportion' or 'rate'$"):
        sii(d, lower="lowercl", upper="uppercl", kind="ratio")
    with pytest.raises(ValueError, match="^reps must be at least 1000$"):
        sii(d, lower="lowercl", upper="uppercl", reps=999)
    assert len(sii(d, lower="lowercl", upper="uppercl", reps=1000)) == 1      # 1000 is enough
    with pytest.raises(ValueError, match=r"^column 'population': 2 quantile\(s\) have no population$"):
        sii(d.assign(population=[0, 1, 0] + [100.0] * 7), lower="lowercl", upper="uppercl")   # 1 is a population
    # a population of 1 is a population
    assert len(sii(d.assign(population=[1.0] + [100.0] * 9), lower="lowercl", upper="uppercl", reps=1000)) == 1
    with pytest.raises(ValueError, match="^give value= or x=$"):
        sii(d.drop(columns="value"), lower="lowercl", upper="uppercl")


def test_standard_errors_given_are_used_as_the_limits_would_be():
    """Limits of value +/- 1.96 x 1 and a standard error of 1 give the same draws (same seed)."""
    d = _line()
    a = sii(d, lower="lowercl", upper="uppercl", reps=2000, seed=3).iloc[0]
    b = sii(d, se="se", reps=2000, seed=3).iloc[0]
    for c in ("sii_lower95_0", "sii_upper95_0", "sii_lower99_8", "sii_upper99_8"):
        assert b[c] == pytest.approx(a[c], rel=1e-4)
    with pytest.raises(ValueError, match="give se=, or lower= and upper="):
        sii(d, lower="lowercl")                 # one limit is not limits


def test_rates_from_counts_are_per_rate_multiplier_people_and_proportions_are_not():
    rng = np.random.default_rng(4)
    d = pd.DataFrame({"quantile": np.arange(1, 11), "population": 10_000.0,
                      "x": rng.integers(40, 120, 10).astype(float)})
    per1 = sii(d, value=None, x="x", kind="rate", reps=1000, seed=1).iloc[0]
    per1000 = sii(d, value=None, x="x", kind="rate", rate_multiplier=1000, reps=1000, seed=1).iloc[0]
    assert per1000["sii"] == pytest.approx(1000 * per1["sii"]) and per1000["rii"] == pytest.approx(per1["rii"])
    p1 = sii(d, value=None, x="x", kind="proportion", reps=1000, seed=1).iloc[0]
    p1000 = sii(d, value=None, x="x", kind="proportion", rate_multiplier=1000, reps=1000, seed=1).iloc[0]
    assert p1000["sii"] == pytest.approx(p1["sii"])
    # by hand: the fitted line through proportions x / population
    rank = (np.arange(10) + 0.5) / 10
    slope = np.polyfit(rank, d["x"] / 10_000, 1)[0]
    assert p1["sii"] == pytest.approx(slope)


def _byars(x, z=1.959963984540054):
    """Byar's approximation to the exact Poisson limits (Breslow & Day 1987), written out."""
    lo = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
    hi = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    return lo, hi


def test_rate_limits_from_counts_are_byars_per_rate_multiplier_people():
    """Given only counts (10 or more each), a rate's limits are Byar's over the population, per
    rate_multiplier people: the same draws as the same limits given as columns."""
    rng = np.random.default_rng(9)
    d = pd.DataFrame({"quantile": np.arange(1, 11), "population": rng.integers(5_000, 20_000, 10).astype(float),
                      "x": rng.integers(40, 120, 10).astype(float)})
    lo, hi = _byars(d["x"].to_numpy())
    d["value"] = d["x"] / d["population"] * 1000
    d["lowercl"], d["uppercl"] = lo / d["population"] * 1000, hi / d["population"] * 1000
    a = sii(d, value=None, x="x", kind="rate", rate_multiplier=1000, reps=2000, seed=7).iloc[0]
    b = sii(d, lower="lowercl", upper="uppercl", kind="rate", reps=2000, seed=7).iloc[0]
    for c in ("sii", "rii", "sii_lower95_0", "sii_upper95_0", "rii_lower99_8", "rii_upper99_8"):
        assert a[c] == pytest.approx(b[c], rel=1e-6), c
    assert a["simulated_on"] == "log"


def test_boundary_a_proportion_at_zero_is_simulated_raw_without_warnings():
    """A quantile with no events has a lower limit of 0: no logit scale, so the series is drawn on
    the raw scale; a transformed fit is refused in words; no numpy warning either way."""
    import warnings

    d = pd.DataFrame({"quantile": np.arange(1, 11), "population": 200.0,
                      "x": [0, 3, 5, 6, 8, 9, 11, 12, 14, 15]}).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sii(d, value=None, x="x", kind="proportion", reps=2000, seed=1).iloc[0]
        with pytest.raises(ValueError, match=r"^a quantile's value or limit is 0 or 1: the logit transform is "
                                             r"undefined; fit untransformed$"):
            sii(d, value=None, x="x", kind="proportion", transform=True, reps=2000)
        with pytest.raises(ValueError, match=r"^a quantile's value or limit is 0: the log transform is undefined"):
            sii(d, value=None, x="x", kind="rate", transform=True, reps=2000)
    assert out["simulated_on"] == "none" and np.isfinite(out[["sii_lower95_0", "sii_upper95_0"]].to_numpy(float)).all()
    # with standard errors given, only the values decide the scale: all above 0 here but one
    se = sii(d.assign(value=d["x"] / 200, se=0.1), se="se", kind="proportion", reps=2000).iloc[0]
    assert se["simulated_on"] == "none"
    pos = sii(d.assign(value=(d["x"] + 1) / 200, se=0.1), se="se", kind="proportion", reps=2000).iloc[0]
    assert pos["simulated_on"] == "logit"


@pytest.mark.parametrize("multiplier", [0.5, 0.0])
def test_boundary_only_a_negative_multiplier_inverts_the_rii(multiplier):
    d = _line(slope=-2.0)
    one = sii(d, lower="lowercl", upper="uppercl", reps=2000, seed=2).iloc[0]
    got = sii(d, lower="lowercl", upper="uppercl", multiplier=multiplier, reps=2000, seed=2).iloc[0]
    assert got["sii"] == pytest.approx(multiplier * one["sii"]) and got["rii"] == pytest.approx(one["rii"])
    assert got["rii_lower95_0"] == pytest.approx(one["rii_lower95_0"])


def test_series_given_by_two_columns_carry_both():
    d = pd.concat([_line(slope=s).assign(area=a, year=y) for a, y, s in [("b", 2024, -2.0), ("b", 2025, 1.0)]])
    out = sii(d, lower="lowercl", upper="uppercl", by=["area", "year"], reps=1000, seed=1)
    assert out[["area", "year"]].values.tolist() == [["b", 2024], ["b", 2025]]
    assert out["sii"].tolist() == pytest.approx([-2.0, 1.0])


def test_the_message_when_no_uncertainty_is_given():
    with pytest.raises(ValueError, match=r"^give se=, or lower= and upper=, or x= with kind proportion or rate$"):
        sii(_line(), lower="lowercl")


def test_counts_are_used_when_the_value_column_is_absent_and_a_normal_transform_is_none():
    d = _line().drop(columns="value").assign(x=np.arange(10, 20.0), population=100.0)
    out = sii(d, x="x", kind="proportion", reps=1000, seed=1).iloc[0]       # value="value" is not there
    assert out["sii"] == pytest.approx(np.polyfit((np.arange(10) + 0.5) / 10, np.arange(10, 20.0) / 100, 1)[0])
    with pytest.raises(ValueError, match=r"^give se=, or lower= and upper=, or x= with kind proportion or rate$"):
        sii(_line(), kind="proportion")                                    # a value, but nothing for its error
    t = sii(_line(), lower="lowercl", upper="uppercl", transform=True, reps=1000, seed=1).iloc[0]
    assert t["transform"] == "none" and t["sii"] == pytest.approx(-2.0)    # nothing to transform a normal by


def test_simulated_bounds_are_the_quantiles_of_a_known_normal():
    """Ten quantiles of equal population, values on a line, each with a standard error of 1: the
    SII is then a fixed linear combination of the values, normal with SD 1 / sqrt(sum (r - mean r)^2)
    = 1 / sqrt(0.825) (ranks 0.05, 0.15, ..., 0.95). Its simulated 2.5% and 97.5% points are the
    SII -/+ 1.96 SD, its 0.1% and 99.9% points -/+ 3.09 SD, within the Monte-Carlo error of
    200,000 draws (under 0.01 here)."""
    from scipy.stats import norm

    sd = 1 / np.sqrt(0.825)
    out = sii(_line(slope=-2.0), se="se", reps=200_000, seed=11).iloc[0]
    z95, z998 = norm.ppf(0.975), norm.ppf(0.999)
    assert out["sii_lower95_0"] == pytest.approx(-2.0 - z95 * sd, abs=0.03)
    assert out["sii_upper95_0"] == pytest.approx(-2.0 + z95 * sd, abs=0.03)
    assert out["sii_lower99_8"] == pytest.approx(-2.0 - z998 * sd, abs=0.06)
    assert out["sii_upper99_8"] == pytest.approx(-2.0 + z998 * sd, abs=0.06)
    assert (out["kind"], out["reps"], out["transform"], out["simulated_on"]) == ("normal", 200_000, "none", "none")


def test_boundary_the_intercept_of_an_untransformed_fit_is_not_scaled_by_the_multiplier():
    # values on 50 - 2 r: the fitted value at rank 0 is 50 whatever multiplies the SII
    one = sii(_line(slope=-2.0), se="se", reps=1000, seed=1).iloc[0]
    two = sii(_line(slope=-2.0), se="se", multiplier=2.0, reps=1000, seed=1).iloc[0]
    assert one["intercept"] == pytest.approx(50.0) and two["intercept"] == pytest.approx(50.0)
    assert two["sii"] == pytest.approx(-4.0)


def test_the_scale_of_the_draws_follows_the_values_and_the_limits():
    """Proportions drawn on the logit scale only when every value and every limit is inside (0, 1):
    a value of 0 with positive limits given, or positive values with a lower limit of 0, are drawn
    raw."""
    v = np.linspace(0.1, 0.3, 10)
    d = pd.DataFrame({"quantile": np.arange(1, 11), "population": 100.0, "value": v,
                      "lowercl": v - 0.05, "uppercl": v + 0.05})
    assert sii(d, lower="lowercl", upper="uppercl", kind="proportion", reps=1000).iloc[0]["simulated_on"] == "logit"
    zero_value = d.assign(value=[0.0] + list(v[1:]))
    assert sii(zero_value, lower="lowercl", upper="uppercl", kind="proportion", reps=1000).iloc[0]["simulated_on"] == "none"
    zero_limit = d.assign(lowercl=[0.0] + list(v[1:] - 0.05))
    assert sii(zero_limit, lower="lowercl", upper="uppercl", kind="proportion", reps=1000).iloc[0]["simulated_on"] == "none"
    with pytest.raises(ValueError, match=r"^give se=, or lower= and upper=, or x= with kind proportion or rate$"):
        sii(d, kind="rate")                                   # a rate with no counts and no limits
