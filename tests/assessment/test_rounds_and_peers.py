"""Repeat self-assessments and who can help whom (qi_equity.assessment.selfassessment)."""

import pandas as pd
import pytest

from qi_equity.assessment.selfassessment import (heatmap_table, latest_assessment, movement, peer_matches,
                                                 validate_assessment)


def _row(p, code, now, target, on=None, action="a plan"):
    r = {"provider_code": p, "framework": "canvas", "code": code, "now": now, "target": target,
         "action": action if target > now else ""}
    if on:
        r["assessed_on"] = on
    return r


def test_repeat_rounds_validate_by_date_and_reports_use_the_latest():
    df = pd.DataFrame([_row("XQA", "T01", 1, 3, "2025-04-01"), _row("XQA", "T01", 2, 3, "2026-01-15"),
                       _row("XQB", "T01", 3, 3, "2025-04-01")])
    assert validate_assessment(df).ok
    assert latest_assessment(df)["now"].tolist() == [2, 3]
    t = heatmap_table(df).set_index("provider_code")
    assert t.loc["XQA"].iloc[0] == 2  # the latest round, not a pivot error
    bad = pd.concat([df, df.iloc[[0]]])
    rep = validate_assessment(bad)
    assert [(f.column, f.rule, f.failing_rows) for f in rep.failures] == [
        ("code", "must be scored once per provider and date", 2)]
    rep = validate_assessment(df.assign(assessed_on=["2025-04-01", "15/01/2026", "2025-04-01"]))
    assert [(f.column, f.failing_rows) for f in rep.failures] == [("assessed_on", 1)]


def test_movement_between_first_and_latest_round():
    df = pd.DataFrame([_row("XQA", "T02", 0, 2, "2025-04-01"), _row("XQA", "T01", 1, 3, "2025-04-01"),
                       _row("XQA", "T01", 3, 3, "2026-01-15"), _row("XQB", "T01", 2, 3, "2025-04-01")])
    m = movement(df)
    assert m[["provider_code", "code", "first_now", "latest_now", "moved"]].values.tolist() == [["XQA", "T01", 1, 3, 2]]
    assert m["label"].iloc[0] == "Co-design with lived experience"
    assert movement(df.drop(columns="assessed_on")).empty


def test_peers_pair_a_trust_doing_a_theme_with_one_that_wants_to_move():
    df = pd.DataFrame([_row("XQA", "T01", 3, 4), _row("XQB", "T01", 1, 3, action="start a panel"),
                       _row("XQC", "T01", 2, 3), _row("XQD", "T01", 0, 0), _row("XQE", "T01", 4, 4),
                       _row("XQA", "T02", 0, 2)])
    p = peer_matches(df)
    assert p[["code", "helper", "learner", "learner_action"]].values.tolist() == [
        ["T01", "XQA", "XQB", "start a panel"], ["T01", "XQE", "XQB", "start a panel"]]
    # XQC starts above 'aware'; XQD wants nothing more; no one is doing T02
    assert peer_matches(df, weak=2)["learner"].tolist() == ["XQB", "XQB", "XQC", "XQC"]


@pytest.mark.parametrize("strong", [3, 4])
def test_nobody_helps_themself(strong):
    df = pd.DataFrame([_row("XQA", "T01", 4, 4), _row("XQA", "T02", 0, 1)])
    assert peer_matches(df, strong=strong).empty
