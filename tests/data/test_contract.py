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


@pytest.mark.parametrize("value, expected", [("2026-03-31", "2026-03-31"), (" 2024-02-29 ", "2024-02-29")])
def test_iso_date_accepts_the_iso_form_and_dates(value, expected):
    import datetime as dt

    assert C.iso_date(value) == expected
    assert C.iso_date(dt.date(2026, 3, 31)) == "2026-03-31"
    assert C.iso_date(dt.datetime(2026, 3, 31, 14, 5)) == "2026-03-31"


@pytest.mark.parametrize("value, message", [
    ("31/03/2026", r"^census: '31/03/2026' is not a date in the form YYYY-MM-DD \(e\.g\. 2026-03-31\)$"),
    ("2026-3-31", r"^census: '2026-3-31' is not a date in the form YYYY-MM-DD"),
    ("2025-02-29", r"^census: '2025-02-29' is not a calendar date \(no such day\)$"),
    ("2026-13-01", r"^census: '2026-13-01' is not a calendar date"),
    ("x" * 50, r"^census: '" + "x" * 40 + r"' is not a date"),     # long values cut to 40 characters
])
def test_iso_date_refuses_other_forms_naming_the_key(value, message):
    with pytest.raises(ValueError, match=message):
        C.iso_date(value, "census")
    with pytest.raises(ValueError, match=r"^date: "):
        C.iso_date(value)                           # the default name


def test_flag_values_read_booleans_and_the_contracts_text():
    b = pd.Series([True, False, pd.NA], dtype="boolean", index=[10, 20, 30])   # an extract's row ids
    assert C.flag_values(b).tolist() == ["Yes", "No", "Not recorded"]
    assert C.flag_values(pd.Series([None, True, False], dtype=object)).tolist() == ["Not recorded", "Yes", "No"]
    assert C.flag_values(pd.Series([True, False])).tolist() == ["Yes", "No"]           # numpy booleans
    t = pd.Series(["1", "0", " Y ", "n", "true", "FALSE", "yes", "no", "", None, "maybe"])
    assert C.flag_values(t).tolist() == ["Yes", "No", "Yes", "No", "Yes", "No", "Yes", "No", "Not recorded",
                                         "Not recorded", "Not recorded"]
    assert str(C.flag_values(t).dtype) == "string" and C.flag_values(b).index.equals(b.index)


def test_flag_dimension_for_a_local_plus_group():
    d = C.flag_dimension("armed_forces")
    assert (d.name, d.column, d.label, d.reference, d.kind) == ("armed_forces", "armed_forces", "Armed forces", "No",
                                                                 "flag")
    assert d.groups == ("Yes", "No", "Not recorded") and d.unrecorded == ("Not recorded",)
    assert C.flag_dimension("armed_forces", "Veterans").label == "Veterans"
    for bad in ("", "bad-name", "two words"):
        with pytest.raises(ValueError, match=r"a PLUS flag must be a column name of letters, digits and '_'"):
            C.flag_dimension(bad)


def test_intersections_join_every_pair_of_groups_and_mark_the_unrecorded():
    a = C.Dimension("s", "s", "S", ("F", "Not known"), "F")
    b = C.Dimension("c", "c", "C", ("Core20", "Unmatched"), "Core20")
    x = C._intersection("s_c", "S x C", a, b, "F, Core20")
    assert (x.name, x.column, x.label, x.reference, x.kind, x.parts) == ("s_c", "s_c", "S x C", "F, Core20",
                                                                         "intersection", ("s", "c"))
    assert x.groups == ("F, Core20", "F, Unmatched", "Not known, Core20", "Not known, Unmatched")
    assert x.unrecorded == ("F, Unmatched", "Not known, Core20", "Not known, Unmatched")
    # the kit's own intersections are built the same way
    built = C._intersection("sex_age_core20", "Sex x working age x Core20", C.DIMENSIONS["sex_age"],
                            C.DIMENSIONS["core20"], "Male 16-64, Not Core20")
    assert built == C.DIMENSIONS["sex_age_core20"]
