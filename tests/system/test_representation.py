"""Representation against the catchment population, hand-worked."""

import pandas as pd
import pytest

from qi_equity.data import contract as C
from qi_equity.data.io import to_typed
from qi_equity.equity.intervals import wilson
from qi_equity.system import representation

POP = pd.DataFrame({"provider_code": "XQZ", "sex": ["F", "M", "F", "M", "F", "M"],
                    "age_band": ["30-44", "30-44", "75+", "75+", "0-15", "0-15"], "ethnic_group": "White",
                    "imd_decile": [1, 2, 9, 10, 5, 6], "population": [300, 300, 100, 100, 100, 100]})


def test_hand_worked_shares(good_raw):
    d = C.derive(to_typed(good_raw), "2025-09-30")
    r = representation(d, POP, "sex_age", "2025-09-30").set_index("group")
    # referred Oct 2024 - Sep 2025: P1 (Female 16-64), P2 (Male 65+), P3 (Female 0-15)
    assert r.loc["Female 16-64", "observed"] == 1 and r.loc["Male 16-64", "observed"] == 0
    assert r.loc["Female 16-64", "observed_share"] == pytest.approx(1 / 3)
    assert r.loc["Female 16-64", "expected_share"] == pytest.approx(0.3)
    lo, hi = wilson([0], [3])
    assert r.loc["Male 16-64", "upper"] == pytest.approx(hi[0])
    assert r.loc["Male 16-64", "ratio"] == 0
    with pytest.raises(ValueError, match="population_of"):
        representation(d, POP, "sex_age", "2025-09-30", population_of="everyone")


def test_missing_flag_needs_evidence():
    rows = [("F", 40)] * 15 + [("M", 40)] * 85
    raw = pd.DataFrame({"pathway_id": [f"P{i}" for i in range(100)], "provider_code": "XQZ", "specialty": "110",
                        "referral_date": "2025-06-02", "first_appointment_date": pd.NA, "clock_stop_date": pd.NA,
                        "outcome": "waiting", "dna_count": "0", "sex": [s for s, _ in rows],
                        "age": [str(a) for _, a in rows], "ethnic_category": "A", "imd_decile": "3"}).astype("string")
    d = C.derive(to_typed(raw), "2025-09-30")
    r = representation(d, POP, "sex_age", "2025-09-30", population_of="waiting_list").set_index("group")
    assert bool(r.loc["Female 16-64", "missing"])  # 15% (Wilson upper 23%) against 30% of the population
    assert not bool(r.loc["Male 16-64", "missing"])
