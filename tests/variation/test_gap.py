"""gap() and variation_matrix() on hand-made series."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.plotting import plot_variation_matrix
from qi_equity.variation import SPCInputError, gap, spc, variation_matrix

MONTHS = pd.date_range("2023-01-01", periods=24, freq="MS")


def _data(widen=True):
    ref = 10 + np.tile([0.0, 0.5, -0.5], 8)
    grp = ref + 2 + np.tile([0.3, -0.3, 0.0, 0.1], 6) + (np.r_[np.zeros(14), np.full(10, 4.0)] if widen else 0)
    return pd.concat([pd.DataFrame({"month": MONTHS, "group": "ref", "value": ref}),
                      pd.DataFrame({"month": MONTHS, "group": "g", "value": grp})])


def test_gap_values_and_orientation():
    d = _data(widen=False)
    r = gap(d, reference="ref", statistic="both")
    diff = r.points[r.points.statistic == "difference"]["value"].to_numpy()
    ratio = r.points[r.points.statistic == "ratio"]["value"].to_numpy()
    ref = d[d.group == "ref"]["value"].to_numpy()
    g = d[d.group == "g"]["value"].to_numpy()
    np.testing.assert_allclose(diff, g - ref)
    np.testing.assert_allclose(ratio, g / ref)
    flipped = gap(d, reference="ref", higher_is_worse=False)
    np.testing.assert_allclose(flipped.points["value"], ref - g)
    assert (r.options["gap_reference"], r.options["higher_is_worse"]) == ("ref", True)  # recorded for readers
    assert flipped.options["higher_is_worse"] is False


def test_widening_gap_is_special_cause_concern():
    r = gap(_data(widen=True), reference="ref")
    p = r.points
    assert (p["point_type"].astype(str)[14:] == "special_cause_concern").all()
    assert r.summary["variation"].iloc[0] == "concern_high"


def test_missing_reference_month_is_a_missing_gap():
    d = _data().reset_index(drop=True)
    gone = (d["group"] == "ref") & (d["month"] == MONTHS[3])  # the reference's 4th month only
    assert gone.sum() == 1 and ((d["group"] == "g") & (d["month"] == MONTHS[3])).sum() == 1
    r = gap(d[~gone], reference="ref")
    p = r.points.set_index("date") if "date" in r.points else r.points.set_index("month")
    assert len(p) == 24 and p["missing"].sum() == 1 and bool(p.loc[MONTHS[3], "missing"])
    assert np.isnan(p.loc[MONTHS[3], "value"]) and p["value"].notna().sum() == 23


def test_bad_reference():
    with pytest.raises(SPCInputError, match="reference group 'nope' not found"):
        gap(_data(), reference="nope")


def test_variation_matrix_and_figure():
    d = pd.concat([_data().assign(measure=m) for m in ("wait", "dna")])
    res = spc(d, value="value", date="month", by=["group", "measure"], improvement="decrease")
    mat = variation_matrix(res, "group", "measure")
    assert list(mat.columns) == ["group", "dna", "wait"]
    assert set(mat["group"]) == {"g", "ref"}
    assert mat.set_index("group").loc["g", "wait"] == "concern_high"
    fig = plot_variation_matrix(mat, title="Icons")
    assert "g / wait: concern (higher)" in fig.qi_alt_text
    with pytest.raises(SPCInputError):
        variation_matrix(res, "group", "nope")


def test_boundary_ratio_at_a_zero_value_and_flipped():
    """A ratio is not drawn when its denominator is 0 (the reference, or the group when lower is
    worse): NaN, a missing point; by hand otherwise."""
    d = pd.DataFrame({"month": list(MONTHS[:3]) * 2, "group": ["ref"] * 3 + ["g"] * 3,
                      "value": [0.0, 4.0, 5.0, 2.0, 0.0, 10.0]})
    worse = gap(d, reference="ref", statistic="ratio").points["value"].to_numpy()
    assert np.isnan(worse[0]) and worse[1:].tolist() == [0.0, 2.0]  # 0/4, 10/5
    better = gap(d, reference="ref", statistic="ratio", higher_is_worse=False).points["value"].to_numpy()
    assert better[0] == 0.0 and np.isnan(better[1]) and better[2] == 0.5  # 0/2, 4/0, 5/10


def test_groups_by_and_input_errors():
    d = pd.concat([_data(widen=False).assign(g2=lambda x: x["group"].replace({"g": "h"})).drop(columns="group")
                   .rename(columns={"g2": "group"}), _data(widen=False)]).drop_duplicates()
    only = gap(d, reference="ref", groups=["h"])
    assert set(only.points["group"]) == {"h"}
    two = pd.concat([_data(widen=False).assign(provider=p) for p in ("A", "B")])
    two.loc[(two["provider"] == "B") & (two["group"] == "g"), "value"] += 1.0
    res = gap(two, reference="ref", by="provider")
    means = res.points.groupby("provider")["value"].mean()
    assert means["B"] - means["A"] == pytest.approx(1.0)  # each provider against its own reference
    with pytest.raises(SPCInputError, match=r"column\(s\) \['rate'\] not found"):
        gap(_data(), reference="ref", value="rate")
    with pytest.raises(SPCInputError, match="statistic must be"):
        gap(_data(), reference="ref", statistic="share")


def test_variation_matrix_names_what_is_wrong():
    d = pd.concat([_data().assign(measure=m, provider=p) for m in ("wait", "dna") for p in ("A", "B")])
    res = spc(d, value="value", date="month", by=["group", "measure", "provider"], improvement="decrease")
    with pytest.raises(SPCInputError, match="'specialty' is not one of the result's by columns"):
        variation_matrix(res, "group", "specialty")
    with pytest.raises(SPCInputError, match=r"by columns \['provider'\] vary"):
        variation_matrix(res, "group", "measure")


def test_boundary_ratio_with_a_value_between_zero_and_one():
    """Rates below 1 (e.g. 0.5 per cent) still give ratios: only a zero denominator does not."""
    d = pd.DataFrame({"month": list(MONTHS[:2]) * 2, "group": ["ref"] * 2 + ["g"] * 2, "value": [0.5, 0.8, 1.0, 0.4]})
    assert gap(d, reference="ref", statistic="ratio").points["value"].tolist() == [2.0, 0.5]
    assert gap(d, reference="ref", statistic="ratio", higher_is_worse=False).points["value"].tolist() == [0.5, 2.0]
