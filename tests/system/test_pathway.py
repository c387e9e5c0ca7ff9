"""Pathway stage analysis: hand-worked values, and the planted stage where the gap opens."""

import json

import pandas as pd
import pytest

from _support import CENSUS, SAMPLE, _sample_derived
from qi_equity.data import contract as C
from qi_equity.data.io import to_typed
from qi_equity.system import gap_opens_at, stage_analysis


def test_stage_times_and_conversion_hand_worked(good_raw):
    d = C.derive(to_typed(good_raw), "2025-09-30")
    s = stage_analysis(d, "2025-09-30", "all", months=12).set_index("stage")
    # completed in window with a first appointment: P1 (4 wk then 13 wk), P4 (13 wk then 48 wk)
    assert s.loc["referral_to_first_appointment", "completed"] == 2
    assert s.loc["referral_to_first_appointment", "median_weeks"] == pytest.approx((4 + 13) / 2)
    assert s.loc["first_appointment_to_clock_stop", "median_weeks"] == pytest.approx((13 + 48) / 2)
    # cohort referred in the window (Oct 2024 - Sep 2025): P1, P2, P3; seen: P1, P2
    assert s.loc["referral_to_first_appointment", "cohort"] == 3
    assert s.loc["referral_to_first_appointment", "converted_pct"] == pytest.approx(200 / 3)
    # of those seen and completed (P1), treated: P1
    assert s.loc["first_appointment_to_clock_stop", "converted_pct"] == 100
    assert (s["gap_weeks"] == 0).all()


def test_planted_gap_opens_between_first_appointment_and_treatment():
    gt = {p["id"]: p for p in json.loads((SAMPLE / "ground_truth.json").read_text())["planted"]}["a2"]
    s = stage_analysis(_sample_derived(gt["provider_code"]), CENSUS, gt["dimension"], specialty=gt["specialty"])
    assert gap_opens_at(s, gt["group"]) == gt["stage"]
    steps = s[s.group == gt["group"]].set_index("stage")["gap_step"]
    assert steps[gt["stage"]] > 4 and abs(steps["referral_to_first_appointment"]) < 1


def test_no_group_no_gap():
    assert gap_opens_at(pd.DataFrame({"group": [], "gap_step": [], "stage": []}), "x") is None
