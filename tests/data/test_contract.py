"""Derived fields of the data contract, against hand-worked values."""

import pandas as pd
import pytest

from qi_equity.data import contract as C
from qi_equity.data.io import to_typed


def test_derive_hand_worked(good_raw):
    d = C.derive(to_typed(good_raw), "2025-09-30")
    # P1: 2025-01-06 -> 2025-05-05 is 119 days = 17 weeks
    assert d.loc[0, "wait_weeks"] == pytest.approx(17.0)
    assert not d.loc[0, "over_18_weeks"]
    # P2 still waiting: 2025-02-10 -> census 2025-09-30 = 232 days
    assert d.loc[1, "wait_weeks"] == pytest.approx(232 / 7)
    assert d.loc[1, "over_18_weeks"] and not d.loc[1, "over_52_weeks"]
    assert d["completed"].tolist() == [True, False, True, True]
    assert d["imd_quintile"].tolist()[:2] == [1, 5]
    assert pd.isna(d.loc[2, "imd_quintile"]) and d.loc[3, "imd_quintile"] == 2
    assert d["core20"].tolist() == ["Core20", "Not Core20", "Unmatched", "Not Core20"]
    assert d["age_band"].astype(str).tolist() == ["30-44", "65-74", "0-15", "45-64"]
    assert d["working_age"].tolist() == [True, False, False, True]
    assert d["sex_age"].tolist() == ["Female 16-64", "Male 65+", "Female 0-15", "Not known 16-64"]
    assert d["ethnic_group"].astype(str).tolist() == ["White", "Asian", "Not stated", "Not known"]
    assert d["ethnicity_recorded"].tolist() == [True, True, False, False]
    assert d["any_dna"].tolist() == [False, True, False, True]
    assert d["clock_stop_month"].iloc[0] == pd.Timestamp("2025-05-01")


def test_age_band_edges():
    bands = C.age_band(pd.Series([0, 15, 16, 29, 30, 44, 45, 64, 65, 74, 75, 120]))
    assert bands.astype(str).tolist() == ["0-15", "0-15", "16-29", "16-29", "30-44", "30-44", "45-64", "45-64",
                                          "65-74", "65-74", "75+", "75+"]


def test_every_ethnic_code_has_a_broad_group():
    groups = C.ethnic_group(pd.Series(list(C.ETHNIC_CATEGORY_GROUP)))
    assert groups.notna().all()
    assert set(C.ETHNIC_CATEGORY_GROUP) == set("ABCDEFGHJKLMNPRSZ") | {"99"}


def test_age_band_only_extract(good_raw):
    raw = good_raw.drop(columns="age")
    raw["age_band"] = ["30-44", "65-74", "0-15", "45-64"]
    d = C.derive(to_typed(raw), "2025-09-30")
    assert d["sex_age"].tolist() == ["Female 16-64", "Male 65+", "Female 0-15", "Not known 16-64"]
