"""Engagement log contract, reach against population (hand-worked), and the planted seldom-heard group."""

import json

import numpy as np
import pandas as pd
import pytest

from _support import SAMPLE
from qi_equity.equity.intervals import wilson
from qi_equity.psychology import (barrier_taxonomy, barriers_by_group, load_engagement, reach_by_channel,
                                  reach_vs_population, seldom_heard, validate_engagement)

ACT = pd.DataFrame({"provider_code": ["A", "A"], "activity_id": ["a1", "a2"], "date": ["2024-05-01", "2024-06-01"],
                    "channel": ["online", "offline"], "format": ["survey", "workshop"], "participants": [60, 40]})
REACH = pd.DataFrame({"activity_id": ["a1", "a1", "a2", "a2"], "dimension": "sex_age",
                      "group": ["Female 16-64", "Male 16-64", "Female 16-64", "Male 16-64"],
                      "participants": [10, 50, 0, 40]})
BARS = pd.DataFrame({"activity_id": ["a1", "a2"], "dimension": "sex_age", "group": ["Female 16-64", "Male 16-64"],
                     "theme": ["working_hours", "transport"], "mentions": [4, 2]})
POP = pd.DataFrame({"provider_code": "A", "sex": ["F", "M"], "age_band": ["30-44", "30-44"],
                    "ethnic_group": "White", "imd_decile": 3, "population": [500, 500]})


def test_valid_log():
    assert validate_engagement(ACT, REACH, BARS).ok


@pytest.mark.parametrize("table,col,value,rule", [
    ("act", "channel", "phone", "must be one of online / offline / hybrid"),
    ("act", "activity_id", "a1", "must be unique"),
    ("reach", "group", "Women", "must be a group of its dimension"),
    ("reach", "participants", 55, "must not add up to more than the activity's participants"),
    ("bars", "theme", "weather", "must be a code of the barrier taxonomy"),
    ("bars", "activity_id", "zz", "must match an activity"),
])
def test_failures_name_table_column_rule(table, col, value, rule):
    a, r, b = ACT.copy(), REACH.copy(), BARS.copy()
    {"act": a, "reach": r, "bars": b}[table].loc[1, col] = value
    rep = validate_engagement(a, r, b)
    assert any(f.rule == rule for f in rep.failures), rep.format()
    assert rule in rep.format()


def test_reach_vs_population_hand_worked():
    log = {"activities": ACT, "reach": REACH, "barriers": BARS}
    r = reach_vs_population(log, POP, "sex_age").set_index("group")
    assert r.loc["Female 16-64", "participants"] == 10 and r.loc["Female 16-64", "share"] == pytest.approx(0.1)
    lo, hi = wilson([10], [100])
    assert r.loc["Female 16-64", "share_upper"] == pytest.approx(hi[0])
    assert r.loc["Female 16-64", "population_share"] == pytest.approx(0.5)
    assert r.loc["Female 16-64", "representation"] == pytest.approx(0.2)
    assert bool(r.loc["Female 16-64", "under_represented"]) and not bool(r.loc["Male 16-64", "under_represented"])
    ch = reach_by_channel(log, "sex_age").set_index("group")
    assert ch.loc["Female 16-64", "offline"] == 0 and ch.loc["Male 16-64", "online"] == 50
    b = barriers_by_group(log, "sex_age")
    assert b.iloc[0].to_dict()["label"] == "Working hours"


def test_taxonomy_is_data():
    t = barrier_taxonomy()
    assert {"transport", "caring_responsibilities", "working_hours", "digital_access", "language", "cost", "trust",
            "awareness"} <= set(t["code"])


def test_planted_seldom_heard_group():
    gt = {p["id"]: p for p in json.loads((SAMPLE / "ground_truth.json").read_text())["planted"]}["f"]
    pop = pd.read_csv(SAMPLE / "population.csv")
    log = load_engagement(SAMPLE / "engagement", gt["provider_code"])
    top = seldom_heard(log, pop[pop.provider_code == gt["provider_code"]]).iloc[0]
    assert (top["dimension"], top["group"]) == (gt["dimension"], gt["group"])
    for other in ("XQA", "XQC", "XQD", "XQE"):
        s = seldom_heard(load_engagement(SAMPLE / "engagement", other), pop[pop.provider_code == other])
        assert gt["group"] not in set(s["group"])


def test_reach_by_channel_against_population_and_seldom_heard_hand_worked():
    log = {"activities": ACT, "reach": REACH, "barriers": BARS}
    off = reach_vs_population(log, POP, "sex_age", channel="offline").set_index("group")
    assert off.loc["Female 16-64", "participants"] == 0 and off.loc["Male 16-64", "share"] == 1
    s = seldom_heard(log, POP)
    assert s["group"].tolist() == ["Female 16-64"] and s.loc[0, "representation"] == pytest.approx(0.2)
    b = barriers_by_group(log, "sex_age", by_channel=True)
    assert b[["group", "channel", "theme", "mentions"]].values.tolist() == [
        ["Female 16-64", "online", "working_hours", 4], ["Male 16-64", "offline", "transport", 2]]


def test_a_collaboratives_own_taxonomy_is_read_and_labels_the_themes(tmp_path):
    # the engagement log checked against the folder's taxonomy.yaml (not only by validate_engagement)
    from qi_equity.psychology.engagement import barriers_by_group, load_engagement

    f = tmp_path / "eng"
    f.mkdir()
    (f / "activities.csv").write_text("provider_code,activity_id,date,channel,format,participants\n"
                                      "XQB,A1,2026-01-10,offline,workshop,12\n")
    (f / "reach.csv").write_text("activity_id,dimension,group,participants\nA1,sex_age,Female 16-64,12\n")
    (f / "barriers.csv").write_text("activity_id,dimension,group,theme,mentions\nA1,sex_age,Female 16-64,parking,5\n")
    from qi_equity.data.validation import ContractError

    with pytest.raises(ContractError, match="theme"):
        load_engagement(f)                                  # 'parking' is not in the kit's taxonomy
    (f / "taxonomy.yaml").write_text("- {code: parking, label: Parking at the hospital, about: cost and space}\n")
    log = load_engagement(f)
    assert barriers_by_group(log, "sex_age")["label"].tolist() == ["Parking at the hospital"]
