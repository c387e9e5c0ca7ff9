"""Co-design workshops (qi_equity.psychology.codesign)."""

import pandas as pd
import pytest

from qi_equity.data.validation import ContractError
from qi_equity.psychology.codesign import change_ideas_of, check_workshop, ideas_table, load_workshop
from qi_equity.psychology.coding import load_coding_frame

FRAME = load_coding_frame()
DIAGRAM = {"primary_drivers": [{"secondary_drivers": [{"change_ideas": [{"id": "C1", "statement": "Evening clinics"}]}]}]}


def _rows():
    return pd.DataFrame([
        ["XQB", "W1", "2026-02-20", "I1", "Saturday morning clinics", "14", "working_hours;flexible_times",
         "taken forward", "C1"],
        ["XQB", "W1", "2026-02-20", "I2", "A creche at the hospital", "9", "caring_responsibilities", "proposed", ""],
    ], columns=["provider_code", "workshop_id", "date", "idea_id", "idea", "votes", "themes", "status", "change_idea_id"])


def test_ideas_link_to_themes_and_to_the_change_idea_they_became(tmp_path):
    f = tmp_path / "w.csv"
    _rows().to_csv(f, index=False)
    w = load_workshop(f, FRAME, {"XQB": set(change_ideas_of(DIAGRAM))})
    t = ideas_table(w, FRAME, change_ideas_of(DIAGRAM))
    assert t["idea"].tolist() == ["Saturday morning clinics", "A creche at the hospital"]
    assert t.loc[0, "themes"] == "Working hours; Flexible times" and t.loc[0, "became"] == "Evening clinics"
    assert t.loc[1, "became"] == ""


def test_a_bad_workshop_file_names_the_problem(tmp_path):
    bad = _rows()
    bad.loc[0, "votes"] = "-2"
    bad.loc[1, "themes"] = "parking"
    bad.loc[1, "change_idea_id"] = "C9"
    rep = check_workshop(bad, FRAME, {"XQB": {"C1"}}, "w.csv").format()
    for w in ["w.csv", "votes: must be a whole number >= 0 -- 1 of 2", "themes: each must be a code of the coding frame",
              "change_idea_id: only for an idea taken forward", "change_idea_id: must be a change idea of the provider"]:
        assert w in rep, (w, rep)
    f = tmp_path / "w.csv"
    bad.to_csv(f, index=False)
    with pytest.raises(ContractError):
        load_workshop(f, FRAME)
