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


ORDERED_BANDS = pd.CategoricalDtype(C.AGE_BAND_LABELS, ordered=True)


def test_boundary_age_bands_at_every_edge_and_the_contracts_oldest_age():
    """Each band from its first year (left-closed: 16 is 16-29, not 0-15) to its last; the contract's
    oldest age is 200 (75+ runs to 200), so 201 and -1 have no band. The result is the ordered
    categorical of all six bands even when only two occur, so 0-15 sorts before 75+."""
    ages = pd.Series([0, 15, 16, 29, 30, 44, 45, 64, 65, 74, 75, 200, 201, -1, None], dtype="Float64")
    bands = C.age_band(ages)
    assert bands.astype(object).where(bands.notna(), None).tolist() == [
        "0-15", "0-15", "16-29", "16-29", "30-44", "30-44", "45-64", "45-64", "65-74", "65-74", "75+", "75+",
        None, None, None]
    two = C.age_band(pd.Series([80, 3]))
    assert two.dtype == ORDERED_BANDS and list(two.dtype.categories) == C.AGE_BAND_LABELS
    assert two.sort_values().tolist() == ["0-15", "75+"] and two.min() == "0-15"


def test_imd_quintile_of_deciles_as_numbers_or_text():
    """Quintile = ceil(decile / 2): deciles 1-2 -> 1 ... 9-10 -> 5, as nullable integers; an empty or
    unreadable decile is unmatched (the validator has already reported an unreadable one)."""
    got = C.imd_quintile(pd.Series(["1", "2", "3", "9", "10", "", None, "x"], dtype=object))
    assert str(got.dtype) == "Int64"
    assert got.astype(object).where(got.notna(), None).tolist() == [1, 1, 2, 5, 5, None, None, None]


def test_ethnic_groups_keep_every_group_in_order():
    got = C.ethnic_group(pd.Series(["N", "A"]))
    assert list(got.dtype.categories) == list(C.ETHNIC_GROUPS) and got.astype(str).tolist() == ["Black", "White"]


def test_derive_without_an_imd_decile_column_leaves_every_pathway_unmatched(good_raw):
    d = C.derive(to_typed(good_raw.drop(columns="imd_decile")), "2025-09-30")
    assert str(d["imd_quintile"].dtype) == "Int64" and d["imd_quintile"].isna().all()
    assert d["core20"].tolist() == ["Unmatched"] * 4


def test_derive_fills_a_missing_age_from_a_given_age_band(good_raw):
    """Where both are given, the age decides and the band fills only rows without an age; the
    result is the ordered band type either way."""
    raw = good_raw.copy()
    raw["age"] = raw["age"].astype(object)
    raw.loc[1, "age"] = None
    raw["age_band"] = ["75+", "16-29", "75+", "75+"]     # the age wins on rows 0, 2 and 3
    d = C.derive(to_typed(raw), "2025-09-30")
    assert d["age_band"].astype(str).tolist() == ["30-44", "16-29", "0-15", "45-64"]
    assert d["age_band"].dtype == ORDERED_BANDS and d["working_age"].tolist() == [True, True, False, True]


def test_derive_from_age_bands_alone_gives_the_ordered_band_type(good_raw):
    raw = good_raw.drop(columns="age")
    raw["age_band"] = ["16-29", "75+", "0-15", "65-74"]
    d = C.derive(to_typed(raw), "2025-09-30")
    assert d["age_band"].dtype == ORDERED_BANDS
    assert d["age_band"].sort_values().astype(str).tolist() == ["0-15", "16-29", "65-74", "75+"]
    # 16-29 starts at 16, the first year of working age (16-64); 65-74 is past it
    assert d["working_age"].tolist() == [True, False, False, False]


def test_get_dimension_names_what_the_kit_knows():
    assert C.get_dimension("age_band") is C.DIMENSIONS["age_band"]
    assert C.get_dimension("veteran", {"veteran": "Veterans"}).label == "Veterans"
    known = sorted(C.DIMENSIONS)
    with pytest.raises(ValueError) as e:
        C.get_dimension("nope")
    assert str(e.value) == (f"unknown equity dimension 'nope'; the kit knows {known} (declare a local PLUS flag "
                            "column under plus_flags in the collaborative file)")
    with pytest.raises(ValueError) as e:
        C.get_dimension("nope", {"zz": "Z", "aa": "A"})
    assert f"the kit knows {known + ['aa', 'zz']} (declare" in str(e.value)


def test_dimension_values_for_all_intersections_columns_and_flags(good_raw):
    raw = good_raw.copy()
    raw["armed_forces"] = ["1", "0", None, "Y"]
    d = C.derive(to_typed(raw), "2025-09-30")
    d.index = [7, 8, 9, 10]
    everyone = C.dimension_values(d, "all")
    assert everyone.tolist() == ["All"] * 4 and str(everyone.dtype) == "string" and list(everyone.index) == [7, 8, 9, 10]
    both = C.dimension_values(d, "sex_age_core20")
    assert both.tolist() == ["Female 16-64, Core20", "Male 65+, Not Core20", "Female 0-15, Unmatched",
                             "Not known 16-64, Not Core20"]
    assert str(both.dtype) == "string"
    flags = {"armed_forces": "Armed forces"}
    assert C.dimension_values(d, "armed_forces", flags).tolist() == ["Yes", "No", "Not recorded", "Yes"]
    # a Dimension given as itself, and a plain column with a missing value
    d.loc[8, "sex_label"] = None
    sex = C.dimension_values(d, C.DIMENSIONS["sex"])
    assert sex.tolist()[1] == "Not known" and str(sex.dtype) == "string"


@pytest.mark.parametrize("n_columns, tail", [(20, ")"), (21, " ...)")])
def test_boundary_a_missing_dimension_column_lists_up_to_20_columns(n_columns, tail):
    """The error names the column and lists the extract's first 20 columns, with ' ...' only when
    there are more than 20."""
    frame = pd.DataFrame({f"c{i}": [1] for i in range(n_columns)})
    with pytest.raises(ValueError) as e:
        C.dimension_values(frame, "ethnic_group")
    listed = ", ".join(f"c{i}" for i in range(20))
    assert str(e.value) == (f"equity dimension 'ethnic_group' needs the column 'ethnic_group', which the extract "
                            f"does not have (columns: {listed}{tail}")
