"""The scan's cells agree with the pandas aggregation the reports use, on every shared series."""

import numpy as np
import pandas as pd
import pytest

from _support import CENSUS
from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.findings import cells
from qi_equity.findings.cells import MEASURE_EVENTS

DIMS = ("all", "sex_age", "ethnic_group", "imd_quintile", "learning_disability", "sex_age_core20")


@pytest.fixture(scope="module")
def built(sample_derived):
    d = sample_derived("XQB")
    return d, cells.build(d, CENSUS)


def test_cells_equal_monthly_measures(built):
    d, data = built
    agg = measures.monthly_measures(d, CENSUS, 36, dimensions=DIMS, by_specialty=True,
                                    measures=tuple(MEASURE_EVENTS))
    c = data.cells
    idx = {(r.specialty, r.dimension, r.group): r.cell for r in c.itertuples()}
    t = {m: i for i, m in enumerate(data.months)}
    agg = agg[agg["specialty"].isin(set(c["specialty"]))]
    checked = 0
    for measure, part in agg.groupby("measure"):
        arr = data.monthly[measure]
        cell = np.array([idx[(s, dm, g)] for s, dm, g in zip(part["specialty"], part["dimension"], part["group"])])
        ti = part["month"].map(t).to_numpy()
        np.testing.assert_array_equal(arr["n"][cell, ti], part["denominator"].to_numpy(), err_msg=measure)
        if "x" in arr:
            np.testing.assert_array_equal(arr["x"][cell, ti], part["numerator"].to_numpy(), err_msg=measure)
        else:
            got, want = arr["median"][cell, ti], part["value"].to_numpy(float)
            has = part["denominator"].to_numpy() > 0
            np.testing.assert_allclose(got[has], want[has], rtol=1e-12, err_msg=measure)
        checked += len(part)
    assert checked > 10_000


def test_two_monthly_medians_are_medians_of_the_pathways(built):
    d, data = built
    arr, dates = data.series("completed_median_wait", 2)
    cell = int(data.cells.query("specialty == 'all' and dimension == 'all'")["cell"].iloc[0])
    p = d[d["completed"]]
    lo = dates[3]
    hi = lo + pd.DateOffset(months=1)
    sel = p["clock_stop_month"].isin([lo, hi])
    assert arr["n"][cell, 3] == sel.sum()
    assert arr["median"][cell, 3] == pytest.approx(p.loc[sel, "wait_weeks"].median())
    assert dates[-1] == pd.Timestamp("2026-02-01")  # the last period ends with the census month


def test_pooled_window_is_the_last_twelve_months(built):
    d, data = built
    cell = int(data.cells.query("specialty == 'all' and dimension == 'sex_age' and group == 'Female 16-64'")["cell"].iloc[0])
    win = measures.window(CENSUS, 12)
    want = d[d["completed"] & d["clock_stop_month"].isin(win) & C.dimension_values(d, "sex_age").eq("Female 16-64")]
    pooled = data.pooled["completed_median_wait"].iloc[cell]
    assert pooled["n"] == len(want) and pooled["median"] == pytest.approx(want["wait_weeks"].median())


def test_plus_flags_are_scanned_and_declared_flags_must_exist(built):
    d, data = built
    assert {"learning_disability", "interpreter_needed"} <= set(data.dimensions)
    local = d.assign(carer=np.where(np.arange(len(d)) % 7 == 0, "Y", "N"))
    dims = cells.scan_dimensions(local.columns, {"carer": "Unpaid carers"})
    assert dims["carer"].groups == C.FLAG_GROUPS and dims["carer"].reference == "No"
    with pytest.raises(ValueError, match="declares the PLUS flag 'homeless'.*no column 'homeless'"):
        cells.scan_dimensions(d.columns, {"homeless": "Experiencing homelessness"})


def test_specialties_scanned_only_with_enough_volume(built):
    d, data = built
    scanned = set(data.cells["specialty"]) - {"all"}
    win = measures.window(CENSUS, 12)
    counts = d[d["completed"] & d["clock_stop_month"].isin(win)]["specialty"].value_counts()
    assert scanned == set(counts[counts >= cells.MIN_SPECIALTY_COMPLETED].index)


def test_aggregate_form_gives_the_same_counts(built):
    d, data = built
    agg = measures.monthly_measures(d, CENSUS, 36, dimensions=("all", "sex_age"), by_specialty=True,
                                    measures=tuple(MEASURE_EVENTS))
    from_agg = cells.from_aggregate(agg, CENSUS)
    c = from_agg.cells
    cell = int(c.query("specialty == 'all' and dimension == 'sex_age' and group == 'Male 16-64'")["cell"].iloc[0])
    mine = int(data.cells.query("specialty == 'all' and dimension == 'sex_age' and group == 'Male 16-64'")["cell"].iloc[0])
    np.testing.assert_array_equal(from_agg.monthly["dna_rate"]["x"][cell], data.monthly["dna_rate"]["x"][mine])
    assert from_agg.source == "aggregate"
