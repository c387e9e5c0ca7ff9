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
