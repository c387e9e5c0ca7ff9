"""Monthly measures and the equity table on a hand-worked extract."""

import numpy as np
import pandas as pd
import pytest

from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.data.io import to_typed


@pytest.fixture
def derived(good_raw):
    return C.derive(to_typed(good_raw), "2025-09-30")


def test_monthly_measures_hand_worked(derived):
    agg = measures.monthly_measures(derived, "2025-09-30", months=12, dimensions=("all", "sex_age"))
    assert list(agg.columns) == ["month", "provider_code", "specialty", "dimension", "group", "measure",
                                 "numerator", "denominator", "value"]

    def get(measure, month, dim="all", group="All"):
        r = agg[(agg.measure == measure) & (agg.month == month) & (agg.dimension == dim) & (agg.group == group)]
        assert len(r) == 1
        return r.iloc[0]

    # P1 completed 2025-05-05 after 17 weeks; P3 removed 2025-03-31 after 4 weeks; P4 2025-08-04 after 61 weeks
    assert get("completed_median_wait", "2025-05-01")["value"] == pytest.approx(17.0)
    assert get("completed_median_wait", "2025-03-01")["value"] == pytest.approx(4.0)
    o52 = get("completed_over_52", "2025-08-01")
    assert (o52["numerator"], o52["denominator"], o52["value"]) == (1, 1, 100)
    assert get("completed_median_wait", "2025-06-01")["denominator"] == 0  # explicit empty month
    # DNA by first-appointment month: P2 (1 DNA) in March 2025
    d = get("dna_rate", "2025-03-01")
    assert (d["numerator"], d["denominator"]) == (1, 1)
    # waiting list at end of March 2025: P1 (referred Jan), P2 (Feb), P4 (June 2024); P3 stopped on the 31st
    w = get("waiting_list", "2025-03-01")
    assert w["value"] == 3
    w18 = get("waiting_over_18", "2025-03-01")  # P4 has waited 43 weeks, P1 12, P2 7
    assert (w18["numerator"], w18["denominator"]) == (1, 3)
    assert get("completed_median_wait", "2025-05-01", "sex_age", "Female 16-64")["value"] == pytest.approx(17.0)


def test_every_series_has_every_month(derived):
    agg = measures.monthly_measures(derived, "2025-09-30", months=12, dimensions=("all",))
    sizes = agg.groupby(["measure", "dimension", "group", "specialty"]).size()
    assert (sizes == 12).all()


def test_equity_table_hand_worked(derived):
    t = measures.equity_table(derived, "2025-09-30", months=12, dimensions=("all", "imd_quintile"))
    a = t[t.dimension == "all"].iloc[0]
    assert a["completed"] == 3 and a["median_wait"] == pytest.approx(17.0)
    assert a["over_18"] == 1 and a["over_52"] == 1
    assert a["over_18_pct"] == pytest.approx(100 / 3) and a["over_52_pct"] == pytest.approx(100 / 3)
    assert a["dna_denominator"] == 2 and a["dna"] == 1  # first appts Feb and Mar 2025 in window
    assert a["waiting"] == 1
    q = t[t.dimension == "imd_quintile"].set_index("group")
    assert q.loc["Unmatched", "completed"] == 1 and q.loc["Q2", "over_52"] == 1


def test_data_quality_counts(derived):
    dq = measures.data_quality(derived).set_index("measure")
    assert dq.loc["ethnicity_unrecorded", "count"] == 2
    assert dq.loc["imd_unmatched", "count"] == 1
    assert dq.loc["first_appointment_missing", "count"] == 0
    assert dq.loc["ethnicity_not_stated", "percent"] == pytest.approx(25.0)


def test_month_end_snapshots_equal_a_month_by_month_count():
    """The running-sum snapshot (+1 at referral month, -1 at clock-stop month) against the
    definition applied month by month: open at the month end (referred on or before it, clock
    not stopped by it), and over 18 weeks when more than 126 days have passed."""
    from _support import CENSUS, _sample_derived

    d = _sample_derived("XQB")
    agg = measures.monthly_measures(d, CENSUS, 36, dimensions=("all", "sex_age", "imd_quintile"), by_specialty=True)
    ref, stop = d["referral_date"].to_numpy(), d["clock_stop_date"].to_numpy()
    checked = 0
    for m in measures.window(CENSUS, 36)[::5]:
        end = (m + pd.offsets.MonthEnd(0)).to_datetime64()
        open_ = (ref <= end) & (pd.isna(stop) | (stop > end))
        over = open_ & ((end - ref) / np.timedelta64(1, "D") > 126)
        frame = pd.DataFrame({"sex_age": C.dimension_values(d, "sex_age").to_numpy(), "specialty": d["specialty"],
                              "open": open_, "over": over})
        for (spec, grp), sub in list(frame.groupby(["specialty", "sex_age"]))[:6] + [(("all", "All"), frame)]:
            dim = "all" if grp == "All" else "sex_age"
            got = agg[(agg.month == m) & (agg.specialty == spec) & (agg.dimension == dim) & (agg.group == grp)]
            wl = got[got.measure == "waiting_list"].iloc[0]
            o18 = got[got.measure == "waiting_over_18"].iloc[0]
            assert wl["denominator"] == sub["open"].sum(), (m, spec, grp)
            assert o18["numerator"] == sub["over"].sum() and o18["denominator"] == sub["open"].sum(), (m, spec, grp)
            checked += 1
    assert checked >= 40


def _pathways(rows, census="2025-09-30"):
    """Derived pathways from (id, referral, clock stop or "", outcome) rows; everything else fixed
    (no first appointment, no DNA): :func:`_pathways_full` with those two fields."""
    return _pathways_full([(i, ref, "", stop, outcome, "0") for i, ref, stop, outcome in rows], census)


def test_boundary_over_18_and_52_weeks_in_days():
    """Over 18 weeks means strictly more than 126 days (NHS RTT rules: 18 weeks = 126 days is
    within the standard); over 52 weeks strictly more than 364 days. Referred 2025-01-01:
    stopped 2025-05-07 = 126 days, 2025-05-08 = 127; 2025-12-31 = 364, 2026-01-01 = 365."""
    d = _pathways([("A", "2025-01-01", "2025-05-07", "treated"), ("B", "2025-01-01", "2025-05-08", "treated"),
                   ("C", "2025-01-01", "2025-12-31", "treated"), ("D", "2025-01-01", "2026-01-01", "treated")],
                  census="2026-01-31").set_index("pathway_id")
    assert list(d["over_18_weeks"]) == [False, True, True, True]
    assert list(d["over_52_weeks"]) == [False, False, False, True]


def test_boundary_waiting_over_18_at_a_month_end_in_days():
    """At the end of March 2025 (the 31st): referred 2024-11-25 has waited 126 days (not over 18
    weeks), referred 2024-11-24 has waited 127 (over)."""
    d = _pathways([("A", "2024-11-25", "", "waiting"), ("B", "2024-11-24", "", "waiting")], census="2025-03-31")
    agg = measures.monthly_measures(d, "2025-03-31", months=3, dimensions=("all",))
    r = agg[(agg.measure == "waiting_over_18") & (agg.month == "2025-03-01")].iloc[0]
    assert (r["numerator"], r["denominator"]) == (1, 2)
    r = agg[(agg.measure == "waiting_over_18") & (agg.month == "2025-02-01")].iloc[0]
    assert (r["numerator"], r["denominator"]) == (0, 2)  # 95 and 96 days at 28 February


def test_boundary_a_referral_on_the_census_date_is_on_the_waiting_list():
    """Referred on the census date itself: on the list at the census (the list is everyone
    referred on or before the day whose clock has not stopped)."""
    d = _pathways([("A", "2025-09-30", "", "waiting"), ("B", "2025-09-01", "", "waiting")])
    t = measures.equity_table(d, "2025-09-30", months=12, dimensions=("all",))
    assert t.iloc[0]["waiting"] == 2
    agg = measures.monthly_measures(d, "2025-09-30", months=3, dimensions=("all",))
    assert agg[(agg.measure == "waiting_list") & (agg.month == "2025-09-01")].iloc[0]["value"] == 2


def test_boundary_the_median_wait_is_a_median_not_a_mean():
    """Three pathways completed in May 2025 after 2, 3 and 10 weeks: median 3 (the mean is 5);
    with a fourth of 4 weeks the median is the middle pair's mean, 3.5."""
    rows = [("A", "2025-04-14", "2025-04-28", "treated"), ("B", "2025-04-07", "2025-04-28", "treated"),
            ("C", "2025-02-17", "2025-04-28", "treated")]
    agg = measures.monthly_measures(_pathways(rows), "2025-09-30", months=12, dimensions=("all",))
    assert agg[(agg.measure == "completed_median_wait") & (agg.month == "2025-04-01")].iloc[0]["value"] == 3.0
    t = measures.equity_table(_pathways(rows), "2025-09-30", months=12, dimensions=("all",))
    assert t.iloc[0]["median_wait"] == 3.0
    rows.append(("D", "2025-03-31", "2025-04-28", "treated"))
    agg = measures.monthly_measures(_pathways(rows), "2025-09-30", months=12, dimensions=("all",))
    assert agg[(agg.measure == "completed_median_wait") & (agg.month == "2025-04-01")].iloc[0]["value"] == 3.5


def test_monthly_values_are_percentages_of_their_denominators_and_carry_the_provider():
    """Percent measures: value = 100 x numerator / denominator, NaN where the denominator is 0
    (not 0, and not a division by zero); every row names the extract's provider."""
    rows = [("A", "2025-01-06", "2025-05-30", "treated"), ("B", "2025-04-01", "2025-05-02", "treated"),
            ("C", "2025-03-03", "2025-05-06", "treated")]
    agg = measures.monthly_measures(_pathways(rows), "2025-09-30", months=6, dimensions=("all",))
    assert (agg["provider_code"] == "XQZ").all()
    o18 = agg[agg.measure == "completed_over_18"].set_index("month")
    may = o18.loc[pd.Timestamp("2025-05-01")]
    assert (may["numerator"], may["denominator"]) == (1, 3) and may["value"] == pytest.approx(100 / 3)
    june = o18.loc[pd.Timestamp("2025-06-01")]
    assert june["denominator"] == 0 and np.isnan(june["value"])
    only = measures.monthly_measures(_pathways(rows), "2025-09-30", months=6, dimensions=("all",),
                                     measures=("completed_over_18",))
    assert set(only["measure"]) == {"completed_over_18"}
    empty = measures.monthly_measures(_pathways(rows).iloc[:0], "2025-09-30", months=6, dimensions=("all",))
    assert (empty["provider_code"] == "").all()


def test_equity_table_lists_every_recorded_group_and_only_the_unknown_groups_it_has():
    """A recorded group with nobody (Q3 here) is a row of zeros with no median -- its absence is
    a finding; "Unmatched" and the "Not known" sex groups appear only when someone is in them."""
    import warnings

    rows = [("A", "2025-01-06", "2025-05-30", "treated")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = measures.equity_table(_pathways(rows), "2025-09-30", months=12, dimensions=("imd_quintile", "sex_age"))
    q = t[t.dimension == "imd_quintile"].set_index("group")
    assert list(q.index) == ["Q1 most deprived", "Q2", "Q3", "Q4", "Q5 least deprived"]
    assert q.loc["Q3", "completed"] == 0 and np.isnan(q.loc["Q3", "median_wait"])
    s = t[t.dimension == "sex_age"]
    assert not s["group"].str.startswith("Not known").any() and len(s) == 6


def _pathways_full(rows, census="2025-09-30"):
    """Derived pathways from (id, referral, first appointment or "", clock stop or "", outcome, DNAs)."""
    from _support import COLUMNS

    raw = pd.DataFrame([(i, "XQZ", "110", "Trauma and Orthopaedics", ref, first, stop, outcome, dna, "F", "40", "A",
                         "3", "0", "0") for i, ref, first, stop, outcome, dna in rows], columns=COLUMNS).astype("string")
    return C.derive(to_typed(raw.replace("", pd.NA)), census)


#: Five pathways worked by hand (days from referral in brackets):
#:   A referred 2025-01-06, first seen 2025-02-03 (28), treated 2025-05-30 (144), no DNA
#:   B referred 2025-04-01, first seen 2025-04-15 (14), treated 2025-05-02 (31), one DNA
#:   C referred 2025-03-03, never seen, removed 2025-05-06 (64), no DNA
#:   D referred 2025-01-02, first seen 2025-04-02 (90), treated 2025-05-20 (138), two DNAs
#:   E referred 2025-03-10, first seen 2025-04-07 (28), still waiting, no DNA
FIVE = [("A", "2025-01-06", "2025-02-03", "2025-05-30", "treated", "0"),
        ("B", "2025-04-01", "2025-04-15", "2025-05-02", "treated", "1"),
        ("C", "2025-03-03", "", "2025-05-06", "removed", "0"),
        ("D", "2025-01-02", "2025-04-02", "2025-05-20", "treated", "2"),
        ("E", "2025-03-10", "2025-04-07", "", "waiting", "0")]


@pytest.mark.parametrize("measure, month, numerator, denominator, value", [
    # May 2025, four clock stops: over 18 weeks (> 126 days) A and D, so 2 of 4; removed C, 1 of 4;
    # none over 52 weeks; median wait (64 + 138) / 2 days = 101 / 7 weeks
    ("completed_over_18", "2025-05-01", 2, 4, 50.0),
    ("removed_other", "2025-05-01", 1, 4, 25.0),
    ("completed_over_52", "2025-05-01", 0, 4, 0.0),
    ("completed_median_wait", "2025-05-01", np.nan, 4, 101 / 7),
    # first seen in April: B, D, E; B and D missed an appointment: 2 of 3; median first wait of
    # 14, 28 and 90 days: 28 days = 4 weeks. First seen in February: A alone, no DNA
    ("dna_rate", "2025-04-01", 2, 3, 200 / 3),
    ("first_appointment_wait", "2025-04-01", np.nan, 3, 4.0),
    ("dna_rate", "2025-02-01", 0, 1, 0.0),
    ("first_appointment_wait", "2025-02-01", np.nan, 1, 4.0),
    # referrals: January A and D, March C and E, April B
    ("referrals", "2025-01-01", np.nan, 2, 2.0),
    ("referrals", "2025-03-01", np.nan, 2, 2.0),
    ("referrals", "2025-04-01", np.nan, 1, 1.0),
    ("referrals", "2025-02-01", np.nan, 0, 0.0),          # nobody referred in February: a count of 0
    # the list at 30 April: all five; at 31 May: E alone (A stopped on the 30th). Over 18 weeks at
    # 31 July: E, 143 days; at 30 April A has waited 114 days and D 118: none
    ("waiting_list", "2025-04-01", np.nan, 5, 5.0),
    ("waiting_list", "2025-05-01", np.nan, 1, 1.0),
    ("waiting_over_18", "2025-04-01", 0, 5, 0.0),
    ("waiting_over_18", "2025-07-01", 1, 1, 100.0),
])
def test_every_measure_hand_worked_alone_and_with_the_others(measure, month, numerator, denominator, value):
    d = _pathways_full(FIVE)
    every = measures.monthly_measures(d, "2025-09-30", months=9, dimensions=("all",))
    alone = measures.monthly_measures(d, "2025-09-30", months=9, dimensions=("all",), measures=(measure,))
    assert set(alone["measure"]) == {measure}          # asked for alone, it comes alone
    for agg in (every, alone):
        r = agg[(agg.measure == measure) & (agg.month == month)]
        assert len(r) == 1
        r = r.iloc[0]
        assert r["denominator"] == denominator and r["value"] == pytest.approx(value)
        assert (np.isnan(r["numerator"]) if np.isnan(numerator) else r["numerator"] == numerator)
    # numerator and denominator are floats in every measure (NaN where a measure has no numerator)
    assert every["numerator"].dtype == float and every["denominator"].dtype == float


def test_data_quality_every_item_worked_by_hand(good_raw):
    """The extract of tests/_support.py, with P4's first appointment removed and a copy of P1 as
    P5. Five pathways: ethnic categories A, H, Z, 99, A; sexes F, M, F, U, F; IMD deciles 1, 10,
    blank, 3, 1; treated P1, P4 and P5 (P4 without a first appointment now); learning disability
    and interpreter flags blank for P4 alone."""
    raw = good_raw.copy()
    raw.loc[raw["pathway_id"] == "P4", "first_appointment_date"] = pd.NA
    p5 = raw[raw["pathway_id"] == "P1"].assign(pathway_id="P5")
    raw = pd.concat([raw, p5], ignore_index=True)
    dq = measures.data_quality(C.derive(to_typed(raw), "2025-09-30")).set_index("measure")
    expected = {
        "ethnicity_not_stated": ("Ethnic category Z (not stated)", 1, 5, 20.0),
        "ethnicity_not_known": ("Ethnic category 99 (not known)", 1, 5, 20.0),
        "ethnicity_unrecorded": ("Ethnicity not recorded (Z or 99)", 2, 5, 40.0),
        "imd_unmatched": ("IMD decile unmatched", 1, 5, 20.0),
        "sex_not_known": ("Sex not known", 1, 5, 20.0),
        "first_appointment_missing": ("Treated pathways without a first-appointment date", 1, 3, 100 / 3),
        "learning_disability_recorded": ("Learning disability flag recorded", 4, 5, 80.0),
        "interpreter_needed_recorded": ("Interpreter needed flag recorded", 4, 5, 80.0),
    }
    assert list(dq.index) == list(expected)
    for m, (label, count, den, pct) in expected.items():
        assert (dq.loc[m, "label"], dq.loc[m, "count"], dq.loc[m, "denominator"]) == (label, count, den)
        assert dq.loc[m, "percent"] == pytest.approx(pct)


def test_boundary_data_quality_percent_of_a_denominator_of_one():
    """One treated pathway, without a first appointment: 1 of 1 is 100% (a denominator of 1 is a
    denominator)."""
    dq = measures.data_quality(_pathways_full([("A", "2025-01-06", "", "2025-05-30", "treated", "0")]))
    r = dq.set_index("measure").loc["first_appointment_missing"]
    assert (r["count"], r["denominator"], r["percent"]) == (1, 1, 100.0)


def test_boundary_data_quality_with_no_treated_pathway_has_no_percent():
    dq = measures.data_quality(_pathways_full([FIVE[4]])).set_index("measure")   # E is still waiting
    r = dq.loc["first_appointment_missing"]
    assert r["denominator"] == 0 and np.isnan(r["percent"])


def test_equity_table_percentages_worked_by_hand():
    """FIVE (above), one group: in the 12 months to September 2025, A, B, C and D completed (2 over
    18 weeks, none over 52, C removed: 50%, 0%, 25%); first seen in the window A, B, D and E, of
    whom B and D missed an appointment (50%); E waiting at the census."""
    t = measures.equity_table(_pathways_full(FIVE), "2025-09-30", months=12, dimensions=("all",)).iloc[0]
    assert (t["completed"], t["over_18"], t["over_52"], t["removed"]) == (4, 2, 0, 1)
    assert (t["over_18_pct"], t["over_52_pct"], t["removed_pct"]) == (50.0, 0.0, 25.0)
    assert (t["dna_denominator"], t["dna"], t["dna_rate"], t["waiting"]) == (4, 2, 50.0, 1)
    assert t["median_wait"] == pytest.approx(101 / 7)
    # a group nobody completed in: no percentages (not 0%)
    empty = measures.equity_table(_pathways_full([FIVE[4]]), "2025-09-30", months=12, dimensions=("all",)).iloc[0]
    assert empty["completed"] == 0 and empty[["over_18_pct", "over_52_pct", "removed_pct"]].isna().all()
    assert empty["dna_denominator"] == 1 and empty["dna_rate"] == 0.0


def test_boundary_equity_table_skips_only_the_empty_unknown_groups():
    """Sex not known, aged 40: 'Not known 16-64' has a pathway, 'Not known 0-15' (listed before it)
    has none. The empty unknown group is left out; the one after it is kept."""
    from _support import COLUMNS

    raw = pd.DataFrame([("U1", "XQZ", "110", "Trauma and Orthopaedics", "2025-03-03", "", "2025-05-06", "treated",
                         "0", "U", "40", "A", "3", "0", "0"),
                        ("F1", "XQZ", "110", "Trauma and Orthopaedics", "2025-03-03", "", "2025-05-06", "treated",
                         "0", "F", "40", "A", "3", "0", "0")], columns=COLUMNS).astype("string")
    t = measures.equity_table(C.derive(to_typed(raw), "2025-09-30"), "2025-09-30", dimensions=("sex_age",))
    groups = t["group"].tolist()
    assert "Not known 16-64" in groups and "Not known 0-15" not in groups and "Female 16-64" in groups
    assert t.set_index("group").loc["Not known 16-64", "completed"] == 1


def test_equity_table_by_a_local_plus_flag():
    """A collaborative's own flag (declared in ``flags``) is a dimension like the others."""
    d = _pathways_full(FIVE)
    d["veteran"] = pd.array([True, False, True, pd.NA, False], dtype="boolean")
    t = measures.equity_table(d, "2025-09-30", dimensions=("veteran",), flags={"veteran": "Armed forces veterans"})
    assert set(t["dimension"]) == {"veteran"} and (t["dimension_label"] == "Armed forces veterans").all()
    assert t["completed"].sum() == 4 and len(t) >= 2


def test_default_windows_are_36_months_of_measures_and_12_of_the_equity_table():
    assert len(measures.window("2025-09-30")) == 36 and measures.window("2025-09-30")[0] == pd.Timestamp("2022-10-01")
    d = _pathways_full(FIVE)
    assert measures.monthly_measures(d, "2025-09-30", dimensions=("all",))["month"].nunique() == 36
    # the equity table pools 12 months: a clock stop 12 months before the census month's end is in,
    # one 13 months before is out
    rows = [("A", "2024-09-02", "", "2024-10-01", "treated", "0"), ("B", "2024-08-01", "", "2024-09-30", "treated", "0")]
    t = measures.equity_table(_pathways_full(rows), "2025-09-30", dimensions=("all",)).iloc[0]
    assert t["completed"] == 1


def test_measures_come_in_the_order_of_the_measure_list():
    agg = measures.monthly_measures(_pathways_full(FIVE), "2025-09-30", months=9, dimensions=("all",))
    assert list(dict.fromkeys(agg["measure"])) == list(measures.MEASURES)


@pytest.mark.parametrize("census, months", [("2025-09-30", 9), ("2025-11-30", 12), ("2026-02-28", 18)])
def test_boundary_waiting_lists_for_windows_across_a_year_end(census, months):
    """Windows starting in January, December and September: the same month-end lists (FIVE:
    five at 30 April 2025, E alone at 31 May; E over 18 weeks at 31 July). A pathway referred and
    completed before the window (F) is on none of them."""
    rows = FIVE + [("F", "2023-01-10", "", "2023-06-01", "treated", "0")]
    agg = measures.monthly_measures(_pathways_full(rows, census), census, months=months, dimensions=("all",))
    wl = agg[agg.measure == "waiting_list"].set_index("month")["value"]
    assert (wl["2025-04-01"], wl["2025-05-01"], wl["2025-06-01"]) == (5, 1, 1)
    o18 = agg[agg.measure == "waiting_over_18"].set_index("month")
    assert (o18.loc["2025-07-01", "numerator"], o18.loc["2025-06-01", "numerator"]) == (1, 0)
    assert (wl[wl.index >= "2025-05-01"] == 1).all()   # E alone, on every later list to the census


def test_boundary_a_one_month_window_counts_the_list_at_its_end():
    """A window of one month: a pathway never stopped is on the list at its end."""
    agg = measures.monthly_measures(_pathways_full([FIVE[4]], "2025-04-30"), "2025-04-30", months=1,
                                    dimensions=("all",), measures=("waiting_list",))
    assert agg["value"].tolist() == [1.0]


def test_row_ids_are_one_per_distinct_combination_missing_values_included():
    # three columns, the first with more values than the others, missing values in each: ids must
    # be equal exactly when the combinations are (checked against pandas' own grouping)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.choice(["p", "q", "r", "s", "t", None], 400),
                          "b": rng.choice(["x", None], 400), "c": rng.choice([1.0, 2.0, np.nan], 400)})
    ids, keys = measures._row_ids(frame, ["a", "b", "c"])
    ref = frame.groupby(["a", "b", "c"], dropna=False, sort=False).ngroup().to_numpy()
    same_ids = ids[:, None] == ids[None, :]
    same_ref = ref[:, None] == ref[None, :]
    assert (same_ids == same_ref).all() and len(keys) == len(set(ref))
