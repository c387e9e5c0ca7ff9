"""Provider report tables: the batched SPC calls give what one call per series gives."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.variation.spc import SPCInputError
from qi_equity.reports import provider as R

ROOT = Path(__file__).resolve().parents[2]
CENSUS = "2026-03-31"
NAMES = [R.HEADLINE, "completed_over_18", "dna_rate"]


@pytest.fixture(scope="module", params=["XQB", "XQE"])
def provider(request):
    derived = R.load_provider(ROOT / "data_samples" / "providers" / f"{request.param}.csv", CENSUS, validate=False)
    return derived, R.monthly(derived, CENSUS, 36, by_specialty=False)


def _none_for_missing(df):
    return df.astype(object).where(df.notna(), None)


def test_several_measures_in_one_call_equal_one_call_per_measure(provider):
    _, agg = provider
    batch = R.measure_spc(agg, NAMES, "sex_age", targets={"completed_over_18": R.OVER_18_TARGET})
    assert batch.by == ["measure", "group"]
    for name in NAMES:
        kw = {"target": R.OVER_18_TARGET} if name == "completed_over_18" else {}
        one = R.measure_spc(agg, name, "sex_age", **kw)
        got = batch.summary[batch.summary["measure"] == name].drop(columns="measure").reset_index(drop=True)
        want = one.summary.reset_index(drop=True)
        pd.testing.assert_frame_equal(_none_for_missing(got[want.columns]), _none_for_missing(want), check_dtype=False)
        assert sorted(g for m, g in batch.options["dropped"] if m == name) == one.options["dropped"]


def test_icon_table_has_each_measures_own_icons(provider):
    _, agg = provider
    table = R.icon_table(agg, "imd_quintile")
    for name in NAMES:
        icons = R.measure_spc(agg, name, "imd_quintile").icons().set_index("group")["variation"]
        col = table.set_index("Group")[R.measures.MEASURES[name].label]
        for group, icon in col.items():
            assert (icon if isinstance(icon, str) else None) == icons.get(group), (name, group)


def test_summary_gap_trends_equal_one_gap_chart_per_row(provider):
    derived, agg = provider
    table = R.summary_table(derived, agg, CENSUS, 12, 5)
    assert len(table) and table["Gap over time"].map(lambda v: isinstance(v, str)).all()
    labels = {R.measures.MEASURES[n].label: n for n in NAMES}
    dims = {R.C.DIMENSIONS[d].label: d for d in R.REFERENCES}
    for row in table.itertuples():
        name, dim = labels[row.Measure], dims[row.Dimension]
        group, ref = row._4.split(": ")[0], row.Reference.split(": ")[0]
        try:
            res = R.gap_spc(agg, name, dim, group, ref)
            want = res.icons()["variation"].iloc[0] if len(res.points) else None
        except SPCInputError as exc:  # only a gap with no months to chart reads "n/a"
            assert "no" in str(exc).lower() or "not found" in str(exc).lower(), str(exc)
            want = None
        want = None if want is None or (isinstance(want, float) and np.isnan(want)) else want
        assert row._7 == (want or "n/a"), (name, dim, group)
