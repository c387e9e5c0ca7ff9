"""qi_equity.variation.spc against NHSRplotthedots 0.2.2 and qicharts2 0.8.1 outputs.

The expected values are the R packages' own outputs (tests/fixtures/spc, see
tests/fixtures/PROVENANCE.md); nothing here is derived from qi_equity.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.variation import spc

FIX = Path(__file__).parents[1] / "fixtures" / "spc"
MANIFEST = pd.read_csv(FIX / "manifest.csv")
PTD_RUNS = MANIFEST[MANIFEST.tool == "NHSRplotthedots"]
QIC_RUNS = MANIFEST[MANIFEST.tool == "qicharts2"]
RTOL = 1e-9

PTD_RULE = {"Above UCL": "outside_upper", "Below LCL": "outside_lower",
            "7 Point Trend (Increasing)": "trend_increasing", "7 Point Trend (Decreasing)": "trend_decreasing",
            "2 in 3 Above CL": "two_of_three_above", "2 in 3 Below CL": "two_of_three_below",
            "7 Points Above CL": "shift_above", "7 Points Below CL": "shift_below", "Common Cause": "common_cause"}


def _input(case):
    return pd.read_csv(FIX / "inputs" / f"{case}.csv", parse_dates=["date"])


def _close(actual, expected, what):
    a = np.asarray(actual, float)
    e = np.asarray(expected, float)
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=1e-12, equal_nan=True, err_msg=what)


def _ptd(row):
    args = json.loads(row.args_json)
    data = _input(row.case_id)
    res = spc(data, value="value", date="date", chart="xmr",
              improvement=args.get("improvement_direction", "increase"), target=args.get("target"),
              rebase=args.get("rebase"), fix_after=args.get("fix_after_n_points"),
              screen_outliers=args.get("screen_outliers", True))
    return res, pd.read_csv(FIX / row.file)


@pytest.mark.parametrize("row", list(PTD_RUNS.itertuples()), ids=lambda r: f"{r.case_id}-{r.run}")
def test_ptd_points(row):
    res, ref = _ptd(row)
    p = res.points
    assert len(p) == len(ref)
    _close(p["value"], ref["value"], "value")
    _close(p["centre"], ref["mean"], "mean")
    _close(p["lower"], ref["lpl"], "lpl")
    _close(p["upper"], ref["upl"], "upl")
    assert p["period"].tolist() == ref["rebase_group"].tolist()
    assert p["outside_limits"].tolist() == ref["outside_limits"].tolist()
    assert p["close_to_limits"].tolist() == ref["close_to_limits"].tolist()
    assert p["relative_to_centre"].tolist() == ref["relative_to_mean"].tolist()
    assert p["rule"].astype(str).tolist() == ref["special_cause_type"].map(PTD_RULE).tolist()
    assert p["special_cause"].tolist() == ref["special_cause_flag"].tolist()
    assert p["point_type"].astype(str).tolist() == ref["point_type"].tolist()
    assert p["short_period"].tolist() == ref["short_group_warning"].tolist()
    _close(p["target"], ref["target"], "target")


@pytest.mark.parametrize("row", list(PTD_RUNS.itertuples()), ids=lambda r: f"{r.case_id}-{r.run}")
def test_ptd_summary_and_icons(row):
    res, _ = _ptd(row)
    ref = pd.read_csv(FIX / "ptd_summary.csv")
    ref = ref[(ref.case_id == row.case_id) & (ref.run == row.run)].reset_index(drop=True)
    s = res.summary
    assert s["period"].tolist() == ref["rebase_group"].tolist()
    assert s["n"].tolist() == ref["n"].tolist()
    _close(s["centre"], ref["mean"], "mean")
    _close(s["lower"], ref["lpl"], "lpl")
    _close(s["upper"], ref["upl"], "upl")
    for col in ("common_cause", "special_cause_improvement", "special_cause_concern"):
        assert s[col].tolist() == ref[col].tolist(), col
    assert s["variation_type"].tolist() == ref["variation_type"].tolist()
    assert s["variation"].tolist() == ref["variation_icon"].tolist()
    expected_assurance = [None if pd.isna(v) else v for v in ref["assurance_icon"]]
    assert s["assurance"].tolist() == expected_assurance


def _qic(row):
    args = json.loads(row.args_json)
    data = _input(row.case_id)
    kw = {}
    if args.get("use_n"):
        kw.update(numerator="numerator", denominator="denominator", value=None)
    if "freeze" in args:
        kw["fix_after"] = args["freeze"]
    if "part" in args:
        kw["rebase"] = data["date"].iloc[args["part"]]
    if "exclude" in args:
        kw["exclude"] = data["date"].iloc[np.asarray(args["exclude"]) - 1].tolist()
    kw["screen_outliers"] = args.get("screenedmr", True)
    res = spc(data, date="date", chart=args["chart"], multiply=args.get("multiply", 1), **({"value": "value"} | kw))
    return res, pd.read_csv(FIX / row.file)


@pytest.mark.parametrize("row", list(QIC_RUNS.itertuples()), ids=lambda r: f"{r.case_id}-{r.run}")
def test_qic_points(row):
    res, ref = _qic(row)
    p = res.points
    assert len(p) == len(ref)
    _close(p["value"], ref["y"], "y")
    _close(p["centre"], ref["cl"], "cl")
    _close(p["lower"], ref["lcl"], "lcl")
    _close(p["upper"], ref["ucl"], "ucl")
    _close(p["lower_2sigma"], ref["lcl_95"], "lcl_95")
    _close(p["upper_2sigma"], ref["ucl_95"], "ucl_95")
    assert (p["period"] + 1).tolist() == ref["part"].tolist()
    assert p["outside_limits"].tolist() == ref["sigma_signal"].tolist()


@pytest.mark.parametrize("row", list(QIC_RUNS.itertuples()), ids=lambda r: f"{r.case_id}-{r.run}")
def test_qic_anhoej(row):
    res, ref = _qic(row)
    s = res.summary
    ref = ref.groupby("part", as_index=False).first()
    assert s["n_obs"].tolist() == ref["n_obs"].tolist()
    assert s["n_useful"].tolist() == ref["n_useful"].tolist()
    assert s["longest_run"].tolist() == ref["longest_run"].tolist()
    assert s["longest_run_max"].tolist() == ref["longest_run_max"].tolist()
    assert s["crossings"].tolist() == ref["n_crossings"].tolist()
    assert s["crossings_min"].tolist() == ref["n_crossings_min"].tolist()
    assert s["runs_signal"].tolist() == ref["runs_signal"].tolist()


def test_qic_summary_file_agrees_with_point_files():
    """The per-run summary file is the same data as the point files (guards the fixture copy)."""
    summ = pd.read_csv(FIX / "qic_summary.csv")
    for row in QIC_RUNS.itertuples():
        res, _ = _qic(row)
        ref = summ[(summ.case_id == row.case_id) & (summ.run == row.run)]
        _close(res.summary["centre"], ref["cl_first"], f"{row.case_id} {row.run} cl")
        assert res.summary["n"].tolist() == (ref["n_points"] - (1 if row.run == "mr" else 0)).tolist()
