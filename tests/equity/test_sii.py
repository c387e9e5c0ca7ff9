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
